//! The ACM certificate `up` requests for `[cdn] domain` (none when `certificate_arn` is given), in
//! us-east-1 whatever the stack's region, validated by DNS and tagged with the stack. It is found by
//! its domain and tag; another stack's certificate for the same domain is passed over. After the
//! domain is taken out of the configuration, teardown finds it by its tag alone.
use super::{fqdn, DnsRecord, DomainSpec};
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_acm::types::{CertificateStatus, Tag, ValidationMethod};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A certificate as ACM describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateState {
    pub arn: String,
    /// The domain it is for.
    pub domain: String,
    /// `PENDING_VALIDATION`, `ISSUED`, `FAILED`, ...
    pub status: String,
    /// The CNAME ACM checks; ACM fills it in seconds after the request.
    pub validation: Option<DnsRecord>,
    #[serde(skip)]
    pub tags: BTreeMap<String, String>,
}

/// The certificate of the stack's domain.
pub struct Certificate(pub DomainSpec);

pub fn desired(stack: &Stack<'_>) -> Certificate {
    Certificate(DomainSpec::of(stack))
}

/// How long `up` waits for ACM to fill in a new certificate's validation record.
const RECORD_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_secs(2);

pub async fn read(aws: &Aws, arn: &str) -> Result<Option<CertificateState>> {
    let out = match aws
        .acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).explain(aws, &format!("acm:DescribeCertificate {arn}")),
    };
    let detail = out
        .certificate
        .with_context(|| format!("ACM described {arn} without its details"))?;
    let validation = detail
        .domain_validation_options
        .clone()
        .unwrap_or_default()
        .into_iter()
        .find_map(|v| v.resource_record)
        .map(|r| DnsRecord {
            name: fqdn(&r.name),
            kind: r.r#type.as_str().to_string(),
            value: r.value,
        });
    let tags = tags_of(aws, arn).await?;
    Ok(Some(CertificateState {
        arn: arn.to_string(),
        domain: detail.domain_name.clone().unwrap_or_default(),
        status: detail
            .status
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        validation,
        tags,
    }))
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>> {
    Ok(aws
        .acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .explain(aws, &format!("acm:ListTagsForCertificate {arn}"))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

/// The stack's certificate for `domain`: the one with its tag, else an untagged one (a conflict,
/// or adopted with `--adopt`). Another stack's is passed over. `None`: the domain is no longer in
/// the configuration (teardown after it was removed): the stack's tagged certificate, whatever its
/// domain, read tag by tag.
pub async fn find(
    aws: &Aws,
    domain: Option<&str>,
    stack: &str,
) -> Result<Option<CertificateState>> {
    let statuses = [
        CertificateStatus::PendingValidation,
        CertificateStatus::Issued,
        CertificateStatus::Inactive,
        CertificateStatus::Expired,
        CertificateStatus::ValidationTimedOut,
        CertificateStatus::Revoked,
        CertificateStatus::Failed,
    ];
    let mut pages = aws
        .acm
        .list_certificates()
        .set_certificate_statuses(Some(statuses.to_vec()))
        .into_paginator()
        .send();
    let mut untagged = None;
    while let Some(page) = pages.next().await {
        let page = page.explain(aws, "acm:ListCertificates")?;
        for summary in page.certificate_summary_list.unwrap_or_default() {
            let (Some(arn), Some(name)) = (summary.certificate_arn, summary.domain_name) else {
                continue;
            };
            if domain.is_some_and(|d| !name.eq_ignore_ascii_case(d)) {
                continue;
            }
            // By domain: few candidates, read whole. By tag alone: every certificate of the account,
            // so its tags first (one call), and the whole of only the stack's.
            if domain.is_none() && Owner::of_tags(&tags_of(aws, &arn).await?, stack) != Owner::Us {
                continue;
            }
            let Some(state) = read(aws, &arn).await? else {
                continue;
            };
            match Owner::of_tags(&state.tags, stack) {
                Owner::Us => return Ok(Some(state)),
                Owner::Untagged if domain.is_some() => untagged = untagged.or(Some(state)),
                Owner::Untagged => {}
                Owner::Other(_) => {}
            }
        }
    }
    Ok(untagged)
}

fn acm_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Ok(Tag::builder().key(k).value(v).build()?))
        .collect()
}

impl Resource for Certificate {
    type Current = CertificateState;
    const KIND: Kind = Kind::Certificate;

    fn name(&self) -> &str {
        self.0.name()
    }

    fn wanted(&self) -> bool {
        self.0.requests_certificate()
    }

    async fn describe(
        &self,
        stack: &Stack<'_>,
        known: &mut Known,
    ) -> Result<Option<CertificateState>> {
        let Some(domain) = &self.0.domain else {
            return Ok(None);
        };
        let found = find(stack.aws, Some(domain), &stack.names.stack).await?;
        known.domain.certificate = found.clone();
        Ok(found)
    }

    fn diff(&self, current: Option<&CertificateState>, _: &Known) -> Action {
        match current {
            None => Action::Create,
            Some(c) => Action::from_changes(tag_changes(&c.tags, &self.0.tags)),
        }
    }

    fn owner(&self, current: &CertificateState, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&CertificateState>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        let aws = stack.aws;
        let domain = self.0.domain.as_deref().context("no [cdn] domain")?;
        if let Some(c) = current {
            aws.acm
                .add_tags_to_certificate()
                .certificate_arn(&c.arn)
                .set_tags(Some(acm_tags(&self.0.tags)?))
                .send()
                .await
                .explain(aws, &format!("acm:AddTagsToCertificate {}", c.arn))?;
            known.domain.certificate = Some(c.clone());
            return Ok(());
        }
        // A token per request: the SDK's retries of this one request reuse it, so a lost answer does
        // not make a second certificate; a later `up` finds this one by its domain and tag instead.
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let arn = aws
            .acm
            .request_certificate()
            .domain_name(domain)
            .validation_method(ValidationMethod::Dns)
            .idempotency_token(format!("imgdeploy{millis}"))
            .set_tags(Some(acm_tags(&self.0.tags)?))
            .send()
            .await
            .explain(aws, &format!("acm:RequestCertificate {domain} (us-east-1)"))?
            .certificate_arn
            .context("ACM returned no certificate ARN")?;
        task.set_message("requested; waiting for its validation record");
        let started = std::time::Instant::now();
        loop {
            let state = read(aws, &arn).await?;
            let ready = state.as_ref().is_some_and(|s| s.validation.is_some());
            if ready || started.elapsed() >= RECORD_WAIT {
                known.domain.certificate = state;
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        if known.domain.certificate.is_none() {
            bail!("acm:DescribeCertificate {arn}: the certificate just requested cannot be read");
        }
        Ok(())
    }

    /// Without `[cdn] domain` (removed from the configuration), teardown still finds the stack's
    /// tagged certificate.
    async fn teardown_action(
        &self,
        stack: &Stack<'_>,
        current: Option<&CertificateState>,
        _: Teardown,
    ) -> Result<Action> {
        let found = match current {
            Some(_) => true,
            None if self.0.domain.is_none() => {
                find(stack.aws, None, &stack.names.stack).await?.is_some()
            }
            None => false,
        };
        Ok(if found {
            Action::Delete
        } else {
            Action::Absent
        })
    }

    /// Deletes the stack's certificate, after the distribution that used it. CloudFront releases a
    /// certificate some time after its distribution is deleted: "in use" is retried for a while.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, task: &Task) -> Result<Action> {
        let aws = stack.aws;
        let domain = self.0.domain.as_deref();
        let Some(c) = find(aws, domain, &stack.names.stack).await? else {
            return Ok(Action::Absent);
        };
        if Owner::of_tags(&c.tags, &stack.names.stack) != Owner::Us {
            return Ok(crate::resources::owner::not_ours(&Owner::Untagged));
        }
        for attempt in 0..30 {
            match aws
                .acm
                .delete_certificate()
                .certificate_arn(&c.arn)
                .send()
                .await
            {
                Ok(_) => return Ok(Action::Delete),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    return Ok(Action::Absent)
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_in_use_exception())
                        && attempt < 29 =>
                {
                    task.set_message("still in use by CloudFront; retrying");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                Err(e) => return Err(e).explain(aws, &format!("acm:DeleteCertificate {}", c.arn)),
            }
        }
        unreachable!("the last attempt returns")
    }
}
