//! CloudFront in front of the buckets: an Origin Access Control (CloudFront signs its S3 reads with
//! SigV4, so the buckets stay private) and one distribution. The default behaviour serves the processed
//! bucket; with `[cdn] serve_originals` a `<prefix>*` behaviour serves the originals bucket. The backup
//! bucket is never an origin.
//!
//! CloudFront has no names: the OAC is found by its name (`names.oac`), the distribution by its comment
//! (`names.distribution_comment`), and it carries the stack tag. Plan step kinds: [`OAC_KIND`] (named
//! `names.oac`) and [`DISTRIBUTION_KIND`] (named `names.distribution_comment`).
//!
//! Teardown order: the distribution first (disable, wait until deployed, delete with the latest ETag),
//! then the OAC, which CloudFront refuses to delete while a distribution uses it.
//!
//! What moto 5.2 does not keep or check, and how this module copes (the request-level tests in
//! `tests.rs` pin these behaviours instead):
//! - it drops `OriginAccessControlId` and `S3OriginConfig` from the origins it returns: an origin whose
//!   `OriginAccessControlId` is absent from the answer is not reported as a change (real CloudFront always
//!   returns the element, empty when unset, and that is compared);
//! - it ignores `If-Match` values, keeps one ETag for a distribution's life and never raises
//!   `DistributionNotDisabled`, `OriginAccessControlInUse` or `OriginAccessControlAlreadyExists` (so it
//!   may hold several OACs of one name: teardown deletes every OAC with the stack's OAC name);
//! - its distributions are `Deployed` as soon as they are read, so the waiter returns at once.
use crate::plan::Action;
use crate::progress::Progress;
use crate::resources::Stack;
use anyhow::Result;
use spec::{
    BehaviorSpec, DistributionSpec, OacSpec, OriginSpec, ORIGINALS_ORIGIN, PROCESSED_ORIGIN,
};
use std::collections::BTreeMap;

pub mod distribution;
pub mod oac;
pub mod sdk;
pub mod spec;
pub mod teardown;
#[cfg(test)]
mod tests;

pub const OAC_KIND: &str = "cdn-oac";
pub const DISTRIBUTION_KIND: &str = "cdn-distribution";

/// What exists now.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub oac: Option<oac::OacState>,
    pub distribution: Option<distribution::DistributionState>,
}

impl Current {
    /// The ARN of the existing distribution: the bucket policies name it.
    pub fn distribution_arn(&self) -> Option<String> {
        self.distribution.as_ref().map(|d| d.arn.clone())
    }
}

/// What the stack wants, built purely from the configuration, the names and the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// `[cdn] enabled`: when false, `up` neither creates nor removes anything here.
    pub enabled: bool,
    pub oac: OacSpec,
    pub distribution: DistributionSpec,
    pub tags: BTreeMap<String, String>,
    /// The CallerReference of a new distribution starts with this (see [`distribution::caller_reference`]).
    pub caller_reference_prefix: String,
}

/// The distribution `up` leaves behind: its ARN goes into the bucket policies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployed {
    pub id: String,
    pub arn: String,
    pub domain: String,
    pub status: String,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    let cdn = &stack.config.cdn;
    let region = &stack.aws.region;
    let suffix = if stack.aws.partition == "aws-cn" {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let s3_origin = |id: &str, bucket: &str| OriginSpec {
        id: id.into(),
        domain: format!("{bucket}.s3.{region}.{suffix}"),
    };
    let mut origins = vec![s3_origin(PROCESSED_ORIGIN, &stack.names.processed_bucket)];
    let mut behaviors = Vec::new();
    if cdn.serve_originals {
        origins.push(s3_origin(ORIGINALS_ORIGIN, &stack.names.originals_bucket));
        let pattern = format!("{}*", stack.config.source.prefix);
        behaviors.push(BehaviorSpec::read_only(Some(pattern), ORIGINALS_ORIGIN));
    }
    Desired {
        enabled: cdn.enabled,
        oac: OacSpec::for_stack(&stack.names.oac, &stack.names.stack),
        distribution: DistributionSpec {
            comment: stack.names.distribution_comment.clone(),
            enabled: true,
            price_class: cdn.price_class.clone(),
            http_version: "http2and3".into(),
            ipv6: true,
            origins,
            default_behavior: BehaviorSpec::read_only(None, PROCESSED_ORIGIN),
            behaviors,
        },
        tags: stack.tags(),
        caller_reference_prefix: format!("imgdeploy-{}", stack.names.stack),
    }
}

/// Reads the OAC and the distribution (read-only calls).
pub async fn describe(stack: &Stack<'_>) -> Result<Current> {
    Ok(Current {
        oac: oac::describe(stack).await?,
        distribution: distribution::describe(stack).await?,
    })
}

/// (OAC action, distribution action). Pure.
pub fn diff(current: &Current, desired: &Desired) -> (Action, Action) {
    if !desired.enabled {
        let leave = |exists: bool| match exists {
            true => Action::Keep {
                reason: "[cdn] enabled = false; `imgdeploy teardown` removes it".into(),
            },
            false => Action::Unchanged,
        };
        return (
            leave(current.oac.is_some()),
            leave(current.distribution.is_some()),
        );
    }
    let oac = match &current.oac {
        None => Action::Create,
        Some(o) => Action::from_changes(o.spec.changes(&desired.oac)),
    };
    let dist = match &current.distribution {
        None => Action::Create,
        Some(d) => {
            let (mut changes, tags) =
                distribution::changes(d, desired, current.oac.as_ref().map(|o| o.id.as_str()));
            changes.extend(tags);
            Action::from_changes(changes)
        }
    };
    (oac, dist)
}

/// Creates or updates what differs; no mutating call when `diff` says unchanged. `None` when
/// `[cdn] enabled = false` (an existing CDN is then left alone and reported; teardown removes it).
pub async fn apply(
    stack: &Stack<'_>,
    current: &Current,
    progress: &Progress,
) -> Result<Option<Deployed>> {
    let desired = desired(stack);
    if !desired.enabled {
        let (oac_action, dist_action) = diff(current, &desired);
        for (kind, name, action) in [
            (OAC_KIND, &stack.names.oac, oac_action),
            (
                DISTRIBUTION_KIND,
                &stack.names.distribution_comment,
                dist_action,
            ),
        ] {
            let outcome = match action {
                Action::Keep { .. } => "left in place: [cdn] enabled = false",
                _ => "skipped: [cdn] enabled = false",
            };
            progress.start(kind, name).finish(outcome);
        }
        return Ok(None);
    }
    let oac_id = oac::apply(stack, current.oac.as_ref(), &desired.oac, progress).await?;
    let deployed = distribution::apply(
        stack,
        current.distribution.as_ref(),
        &desired,
        &oac_id,
        progress,
    )
    .await?;
    Ok(Some(deployed))
}

/// Deletes the distribution (disable, wait, delete), then the OAC. (OAC action, distribution action);
/// `Absent` for what was already gone.
pub async fn destroy(stack: &Stack<'_>, progress: &Progress) -> Result<(Action, Action)> {
    let dist = teardown::destroy(stack, progress).await?;
    let oac = oac::destroy(stack, progress).await?;
    Ok((oac, dist))
}
