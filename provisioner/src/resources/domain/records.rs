//! The certificate's validation CNAME in Route 53, and what the domain's records share (`alias.rs`
//! holds the A and AAAA aliases). Records carry no tags: a record is the stack's when it is exactly
//! the one imgdeploy would write. Teardown deletes exactly what it would write, nothing else.
use super::{certificate, fqdn, zone, DnsRecord, DomainSpec, Zone};
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::{Context, Result};
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use std::time::Duration;

/// How long `up` waits for ACM to issue the certificate once the validation record is written.
const ISSUE_WAIT: Duration = Duration::from_secs(300);
const ISSUE_POLL: Duration = Duration::from_secs(5);
/// The validation CNAME's TTL.
const TTL: i64 = 300;

/// The record sets of a zone at the names that matter to one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneView {
    pub zone: Zone,
    pub sets: Vec<ResourceRecordSet>,
}

/// The sets named exactly `name` (any type).
pub async fn sets_at(aws: &Aws, zone: &Zone, name: &str) -> Result<Vec<ResourceRecordSet>> {
    let name = fqdn(name);
    let out = aws
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .start_record_name(&name)
        .max_items(20)
        .send()
        .await
        .explain(
            aws,
            &format!("route53:ListResourceRecordSets {}", zone.name),
        )?;
    Ok(out
        .resource_record_sets
        .into_iter()
        .filter(|s| fqdn(&s.name) == name)
        .collect())
}

pub(super) async fn change(
    aws: &Aws,
    zone: &Zone,
    action: ChangeAction,
    sets: Vec<ResourceRecordSet>,
) -> Result<()> {
    let changes = sets
        .into_iter()
        .map(|s| {
            Ok(Change::builder()
                .action(action.clone())
                .resource_record_set(s)
                .build()?)
        })
        .collect::<Result<Vec<_>>>()?;
    aws.route53
        .change_resource_record_sets()
        .hosted_zone_id(&zone.id)
        .change_batch(
            ChangeBatch::builder()
                .comment("imgdeploy: the CDN's custom domain")
                .set_changes(Some(changes))
                .build()?,
        )
        .send()
        .await
        .explain(
            aws,
            &format!(
                "route53:ChangeResourceRecordSets {} ({})",
                zone.name,
                action.as_str()
            ),
        )?;
    Ok(())
}

fn cname(r: &DnsRecord) -> Result<ResourceRecordSet> {
    Ok(ResourceRecordSet::builder()
        .name(&r.name)
        .r#type(RrType::Cname)
        .ttl(TTL)
        .resource_records(ResourceRecord::builder().value(&r.value).build()?)
        .build()?)
}

fn values(s: &ResourceRecordSet) -> Vec<String> {
    s.resource_records
        .iter()
        .flatten()
        .map(|r| fqdn(&r.value))
        .collect()
}

/// The validation CNAME of the certificate `up` requested.
pub struct ValidationRecord(pub DomainSpec);

pub fn validation(stack: &Stack<'_>) -> ValidationRecord {
    ValidationRecord(DomainSpec::of(stack))
}

/// The plan step when the account has no hosted zone for the domain.
pub(super) fn no_zone(domain: &str) -> Action {
    Action::Keep {
        reason: format!(
            "no Route 53 hosted zone holds {domain}: `up` prints the records to create at your DNS provider"
        ),
    }
}

impl Resource for ValidationRecord {
    type Current = ZoneView;
    const KIND: Kind = Kind::DnsValidation;

    fn name(&self) -> &str {
        self.0.name()
    }

    fn wanted(&self) -> bool {
        self.0.requests_certificate()
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known) -> Result<Option<ZoneView>> {
        let Some(domain) = self.0.domain.as_deref() else {
            return Ok(None);
        };
        let Some(zone) = zone(stack.aws, domain, &mut known.domain).await? else {
            return Ok(None);
        };
        let record = known
            .domain
            .certificate
            .as_ref()
            .and_then(|c| c.validation.clone());
        let sets = match record {
            Some(r) => sets_at(stack.aws, &zone, &r.name).await?,
            None => vec![],
        };
        Ok(Some(ZoneView { zone, sets }))
    }

    fn diff(&self, current: Option<&ZoneView>, known: &Known) -> Action {
        let Some(view) = current else {
            return no_zone(self.0.name());
        };
        let Some(want) = known
            .domain
            .certificate
            .as_ref()
            .and_then(|c| c.validation.as_ref())
        else {
            return Action::Create;
        };
        match view.sets.iter().find(|s| s.r#type == RrType::Cname) {
            None => Action::Create,
            Some(s) if values(s) == [fqdn(&want.value)] => Action::Unchanged,
            Some(s) => Action::Update {
                changes: vec![format!("CNAME {:?} -> {}", values(s), want.value)],
            },
        }
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Certificate, self.0.name().to_string()))
    }

    /// Writes the CNAME, then waits a bounded time for ACM to issue the certificate, so that one `up`
    /// usually serves the domain. Still pending then: the distribution waits for the next `up`.
    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&ZoneView>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        let aws = stack.aws;
        let view = current.context("no hosted zone to write the validation record to")?;
        let cert = known
            .domain
            .certificate
            .clone()
            .context("no certificate to validate")?;
        let record = cert.validation.clone().with_context(|| {
            format!(
                "ACM has not given certificate {}'s validation record yet: re-run `imgdeploy up`",
                cert.arn
            )
        })?;
        change(aws, &view.zone, ChangeAction::Upsert, vec![cname(&record)?]).await?;
        task.set_message("written; waiting for ACM to issue the certificate");
        let started = std::time::Instant::now();
        let mut state = Some(cert);
        while state
            .as_ref()
            .is_some_and(|c| c.status == "PENDING_VALIDATION")
            && started.elapsed() < ISSUE_WAIT
        {
            tokio::time::sleep(ISSUE_POLL).await;
            let arn = state.as_ref().map(|c| c.arn.clone()).unwrap_or_default();
            state = certificate::read(aws, &arn).await?;
        }
        known.domain.certificate = state;
        Ok(())
    }

    /// The stack's certificate's record, found by the certificate's own domain (so also after
    /// `[cdn] domain` was removed from the configuration).
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let aws = stack.aws;
        let found = certificate::find(aws, self.0.domain.as_deref(), &stack.names.stack).await?;
        let Some(cert) = found.filter(|c| !c.domain.is_empty()) else {
            return Ok(Action::Absent);
        };
        let zone = super::find_zone(aws, &cert.domain).await?;
        let (Some(record), Some(zone)) = (cert.validation, zone) else {
            return Ok(Action::Absent);
        };
        // Exactly the record imgdeploy writes: Route 53 deletes a set only with all its values.
        let ours: Vec<ResourceRecordSet> = sets_at(aws, &zone, &record.name)
            .await?
            .into_iter()
            .filter(|s| s.r#type == RrType::Cname && values(s) == [fqdn(&record.value)])
            .collect();
        if ours.is_empty() {
            return Ok(Action::Absent);
        }
        change(aws, &zone, ChangeAction::Delete, ours).await?;
        Ok(Action::Delete)
    }
}
