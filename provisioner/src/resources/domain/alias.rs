//! The domain's A and AAAA aliases to the distribution, in the public Route 53 zone that holds it.
//! They are the stack's when nothing but its own aliases is at the domain's name; anything else there
//! (someone's CNAME, an alias to another distribution) is a conflict, never overwritten (`--adopt`
//! replaces it). Teardown deletes the aliases to the stack's distribution, nothing else.
use super::records::{change, no_zone, sets_at, ZoneView};
use super::{certificate, fqdn, zone, DomainSpec, CLOUDFRONT_ZONE_ID};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{cdn, Stack};
use anyhow::{Context, Result};
use aws_sdk_route53::types::{AliasTarget, ChangeAction, ResourceRecordSet, RrType};

/// The domain's A and AAAA aliases to the distribution.
pub struct AliasRecords(pub DomainSpec);

pub fn aliases(stack: &Stack<'_>) -> AliasRecords {
    AliasRecords(DomainSpec::of(stack))
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
        let addresses = view
            .sets
            .iter()
            .any(|s| matches!(s.r#type, RrType::A | RrType::Aaaa | RrType::Cname));
        if missing.len() == 2 && !addresses {
            return Action::Create;
        }
        Action::from_changes(missing)
    }

    /// The stack's when no address at the domain's name (A, AAAA or CNAME) is anything but its own
    /// aliases. Other types there (TXT, MX, CAA) are left alone and do not conflict.
    fn owner(&self, current: &ZoneView, _: &str, known: &Known) -> Option<Owner> {
        let target = self.target(known);
        let foreign = current
            .sets
            .iter()
            .filter(|s| matches!(s.r#type, RrType::A | RrType::Aaaa | RrType::Cname))
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
        // Without `[cdn] domain` (removed from the configuration): the requested certificate's.
        let domain = match &self.0.domain {
            Some(d) => d.clone(),
            None => match certificate::find(aws, None, &stack.names.stack).await? {
                Some(c) if !c.domain.is_empty() => c.domain,
                _ => return Ok(Action::Absent),
            },
        };
        let domain = domain.as_str();
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
