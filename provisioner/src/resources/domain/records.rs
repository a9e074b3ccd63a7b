//! The domain's Route 53 records: the certificate's validation CNAME, and the A and AAAA aliases of the
//! domain to the distribution. Records carry no tags: a record is the stack's when it is exactly the
//! one imgdeploy would write, and anything else at the domain's name is not overwritten (a conflict;
//! `--adopt` replaces it). Teardown deletes exactly what it would write, nothing else.
use super::{certificate, fqdn, zone, DnsRecord, DomainSpec, Zone, CLOUDFRONT_ZONE_ID};
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{cdn, Stack};
use anyhow::{Context, Result};
use aws_sdk_route53::types::{
    AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
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

async fn change(
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

/// The domain's A and AAAA aliases to the distribution.
pub struct AliasRecords(pub DomainSpec);

pub fn validation(stack: &Stack<'_>) -> ValidationRecord {
    ValidationRecord(DomainSpec::of(stack))
}

pub fn aliases(stack: &Stack<'_>) -> AliasRecords {
    AliasRecords(DomainSpec::of(stack))
}

/// The plan step when the account has no hosted zone for the domain.
fn no_zone(domain: &str) -> Action {
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

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let aws = stack.aws;
        let Some(domain) = self.0.domain.as_deref() else {
            return Ok(Action::Absent);
        };
        let Some(cert) = certificate::find(aws, domain, &stack.names.stack).await? else {
            return Ok(Action::Absent);
        };
        let (Some(record), Some(zone)) = (cert.validation, super::find_zone(aws, domain).await?)
        else {
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

fn alias(domain: &str, kind: RrType, target: &str) -> Result<ResourceRecordSet> {
    Ok(ResourceRecordSet::builder()
        .name(fqdn(domain))
        .r#type(kind)
        .alias_target(
            AliasTarget::builder()
                .hosted_zone_id(CLOUDFRONT_ZONE_ID)
                .dns_name(fqdn(target))
                .evaluate_target_health(false)
                .build()?,
        )
        .build()?)
}

/// Whether `s` is an A or AAAA alias to the CloudFront domain `target`.
fn aliases_to(s: &ResourceRecordSet, target: &str) -> bool {
    matches!(s.r#type, RrType::A | RrType::Aaaa)
        && s.alias_target.as_ref().is_some_and(|a| {
            a.hosted_zone_id == CLOUDFRONT_ZONE_ID && fqdn(&a.dns_name) == fqdn(target)
        })
}

impl AliasRecords {
    fn target<'k>(&self, known: &'k Known) -> Option<&'k str> {
        known.distribution.as_ref().map(|d| d.domain.as_str())
    }
}

impl Resource for AliasRecords {
    type Current = ZoneView;
    const KIND: Kind = Kind::DnsAlias;

    fn name(&self) -> &str {
        self.0.name()
    }

    fn wanted(&self) -> bool {
        self.0.served().is_some()
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known) -> Result<Option<ZoneView>> {
        let Some(domain) = self.0.domain.as_deref() else {
            return Ok(None);
        };
        let Some(zone) = zone(stack.aws, domain, &mut known.domain).await? else {
            return Ok(None);
        };
        let sets = sets_at(stack.aws, &zone, domain).await?;
        Ok(Some(ZoneView { zone, sets }))
    }

    fn diff(&self, current: Option<&ZoneView>, known: &Known) -> Action {
        let Some(view) = current else {
            return no_zone(self.0.name());
        };
        if known.domain.serving(&self.0).is_none() {
            let status = known.domain.certificate.as_ref().map(|c| c.status.as_str());
            return Action::Keep {
                reason: format!(
                    "the certificate is not issued yet ({})",
                    status.unwrap_or("not requested yet")
                ),
            };
        }
        let Some(target) = self.target(known) else {
            return Action::Create;
        };
        let missing: Vec<String> = [RrType::A, RrType::Aaaa]
            .into_iter()
            .filter(|t| {
                !view
                    .sets
                    .iter()
                    .any(|s| s.r#type == *t && aliases_to(s, target))
            })
            .map(|t| format!("{} alias -> {target}", t.as_str()))
            .collect();
        if missing.len() == 2 && view.sets.is_empty() {
            return Action::Create;
        }
        Action::from_changes(missing)
    }

    /// The stack's when nothing but its own aliases is at the domain's name.
    fn owner(&self, current: &ZoneView, _: &str, known: &Known) -> Option<Owner> {
        let target = self.target(known);
        let foreign = current
            .sets
            .iter()
            .any(|s| !target.is_some_and(|t| aliases_to(s, t)));
        Some(if foreign { Owner::Untagged } else { Owner::Us })
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&ZoneView>,
        known: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let view = current.context("no hosted zone to write the domain's records to")?;
        let domain = self.0.domain.as_deref().context("no [cdn] domain")?;
        let target = self
            .target(known)
            .context("no distribution to point the domain at")?;
        let sets = vec![
            alias(domain, RrType::A, target)?,
            alias(domain, RrType::Aaaa, target)?,
        ];
        // A CNAME at the name (adopted) must go first: Route 53 allows nothing beside a CNAME.
        let cnames: Vec<_> = view
            .sets
            .iter()
            .filter(|s| s.r#type == RrType::Cname)
            .cloned()
            .collect();
        if !cnames.is_empty() {
            change(stack.aws, &view.zone, ChangeAction::Delete, cnames).await?;
        }
        change(stack.aws, &view.zone, ChangeAction::Upsert, sets).await
    }

    /// Before the distribution: deletes the aliases to the stack's distribution, and nothing else.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let aws = stack.aws;
        let Some(domain) = self.0.domain.as_deref() else {
            return Ok(Action::Absent);
        };
        let Some(dist) = cdn::distribution::describe(stack).await? else {
            return Ok(Action::Absent);
        };
        if Owner::of_tags(&dist.tags, &stack.names.stack) != Owner::Us {
            return Ok(Action::Absent);
        }
        let Some(zone) = super::find_zone(aws, domain).await? else {
            return Ok(Action::Absent);
        };
        let ours: Vec<_> = sets_at(aws, &zone, domain)
            .await?
            .into_iter()
            .filter(|s| aliases_to(s, &dist.domain))
            .collect();
        if ours.is_empty() {
            return Ok(Action::Absent);
        }
        change(aws, &zone, ChangeAction::Delete, ours).await?;
        Ok(Action::Delete)
    }
}
