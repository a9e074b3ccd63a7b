//! CloudFront in front of the buckets: an Origin Access Control (CloudFront signs its S3 reads with
//! SigV4, so the buckets stay private) and one distribution. The default behaviour serves the processed
//! bucket; with `[cdn] serve_originals` a `<prefix>*` behaviour serves the originals bucket. The backup
//! bucket is never an origin.
//!
//! CloudFront has no names: the OAC is found by its name (`names.oac`), the distribution by its comment
//! (`names.distribution_comment`) and its stack tag (a look-alike of another stack is passed over). They are two resources of the stack's
//! table, [`Oac`] and [`Distribution`]; both are unwanted (left alone by `up`) without `[cdn] enabled`.
//!
//! With a `format = "auto"` variant, a third resource, [`EdgeFunction`] (`edge.rs`), is the CloudFront
//! Function each such variant's `<variant>/*` behaviour runs on its viewer request and response.
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
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;
use distribution::DistributionState;
use edge::{EdgeSpec, EdgeState};
use oac::OacState;
use spec::{
    BehaviorSpec, DistributionSpec, OacSpec, OriginSpec, ORIGINALS_ORIGIN, PROCESSED_ORIGIN,
};
use std::collections::BTreeMap;

pub mod distribution;
pub mod edge;
pub mod oac;
pub mod sdk;
pub mod spec;
pub mod teardown;
#[cfg(test)]
mod tests;

/// Both parts as they exist, for the tests that drive the two resources together.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub oac: Option<OacState>,
    pub distribution: Option<DistributionState>,
}

/// What the stack wants, built purely from the configuration, the names and the region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// `[cdn] enabled`: when false, `up` neither creates nor removes anything here.
    pub enabled: bool,
    pub oac: OacSpec,
    /// The CloudFront Function of the `auto` variants.
    pub edge: EdgeSpec,
    pub distribution: DistributionSpec,
    pub tags: BTreeMap<String, String>,
    /// `[cdn] domain`: the distribution answers to it once its certificate is issued.
    pub domain: crate::resources::domain::DomainSpec,
    /// The CallerReference of a new distribution starts with this (see [`distribution::caller_reference`]).
    pub caller_reference_prefix: String,
}

/// The distribution `up` leaves behind: its ARN goes into the bucket policies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deployed {
    pub id: String,
    pub arn: String,
    pub domain: String,
    /// CloudFront's `Status`: `Deployed` or `InProgress`.
    pub status: String,
    pub enabled: bool,
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
    // Each `auto` variant's path runs the negotiating function. These come first: CloudFront takes
    // the first pattern that matches, and the originals' `<prefix>*` may be as wide as `*`.
    let negotiated: Vec<String> = stack
        .config
        .variants
        .iter()
        .filter(|v| v.format == imgdeploy_function::spec::Format::Auto)
        .map(|v| v.name.clone())
        .collect();
    let edge = EdgeSpec::for_stack(&stack.names.edge_function, &stack.names.stack, negotiated);
    let mut behaviors: Vec<BehaviorSpec> = edge
        .variants
        .iter()
        .map(|v| {
            BehaviorSpec::read_only(Some(format!("{v}/*")), PROCESSED_ORIGIN).negotiated(&edge.name)
        })
        .collect();
    if cdn.serve_originals {
        origins.push(s3_origin(ORIGINALS_ORIGIN, &stack.names.originals_bucket));
        let pattern = format!("{}*", stack.config.source.prefix);
        behaviors.push(BehaviorSpec::read_only(Some(pattern), ORIGINALS_ORIGIN));
    }
    Desired {
        enabled: cdn.enabled,
        oac: OacSpec::for_stack(&stack.names.oac, &stack.names.stack),
        edge,
        distribution: DistributionSpec {
            comment: stack.names.distribution_comment.clone(),
            enabled: true,
            price_class: cdn.price_class.clone(),
            http_version: "http2and3".into(),
            ipv6: true,
            origins,
            default_behavior: BehaviorSpec::read_only(None, PROCESSED_ORIGIN),
            behaviors,
            // Set at plan time, once the certificate is known to be issued (`Desired::serving`).
            aliases: vec![],
            certificate_arn: None,
            minimum_protocol: None,
        },
        domain: crate::resources::domain::DomainSpec::of(stack),
        tags: stack.tags(),
        caller_reference_prefix: format!("imgdeploy-{}", stack.names.stack),
    }
}

impl Desired {
    /// The distribution as it should be now: with the custom domain and its certificate once that
    /// certificate can serve (the one given, or the requested one once issued), without them before.
    pub fn serving(&self, known: &Known) -> Desired {
        let mut d = self.clone();
        if let (Some(domain), Some(arn)) =
            (self.domain.served(), known.domain.serving(&self.domain))
        {
            d.distribution.aliases = vec![domain.to_string()];
            d.distribution.certificate_arn = Some(arn);
            d.distribution.minimum_protocol =
                Some(crate::resources::domain::MINIMUM_PROTOCOL.to_string());
        }
        d
    }
}

/// The OAC's plan step. Pure.
pub fn diff_oac(current: Option<&OacState>, desired: &Desired) -> Action {
    match current {
        None => Action::Create,
        Some(o) => Action::from_changes(o.spec.changes(&desired.oac)),
    }
}

/// The distribution's plan step, its origins reading through the OAC `oac_id` (`None`: the OAC is
/// still to be created). Pure.
pub fn diff_distribution(
    current: Option<&DistributionState>,
    desired: &Desired,
    oac_id: Option<&str>,
) -> Action {
    match current {
        None => Action::Create,
        Some(d) => {
            let (mut changes, tags) = distribution::changes(d, desired, oac_id);
            changes.extend(tags);
            Action::from_changes(changes)
        }
    }
}

/// The origin access control: CloudFront signs its S3 reads with it.
pub struct Oac(pub Desired);

/// The CloudFront Function of the `auto` variants.
pub struct EdgeFunction(pub Desired);

/// The distribution in front of the buckets.
pub struct Distribution(pub Desired);

pub fn edge_function(stack: &Stack<'_>) -> EdgeFunction {
    EdgeFunction(desired(stack))
}

pub fn oac(stack: &Stack<'_>) -> Oac {
    Oac(desired(stack))
}

pub fn distribution(stack: &Stack<'_>) -> Distribution {
    Distribution(desired(stack))
}

impl Resource for Oac {
    type Current = OacState;
    const KIND: Kind = Kind::CdnOac;

    fn name(&self) -> &str {
        &self.0.oac.name
    }

    fn wanted(&self) -> bool {
        self.0.enabled
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known) -> Result<Option<OacState>> {
        let found = oac::describe(stack).await?;
        known.oac_id = found.as_ref().map(|o| o.id.clone());
        Ok(found)
    }

    fn diff(&self, current: Option<&OacState>, _: &Known) -> Action {
        diff_oac(current, &self.0)
    }

    /// An OAC has no tags: it is the stack's when the stack's distribution reads through it, or when
    /// its description is the one imgdeploy writes for this stack (before the distribution exists,
    /// and where, as on moto, the distribution's answer leaves its OACs out).
    fn owner(&self, current: &OacState, _: &str, known: &Known) -> Option<Owner> {
        let ours = known.distribution_oacs.contains(&current.id)
            || current.spec.description == self.0.oac.description;
        Some(if ours { Owner::Us } else { Owner::Untagged })
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&OacState>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        known.oac_id = Some(oac::apply(stack, current, &self.0.oac, task).await?);
        Ok(())
    }

    /// Every OAC with the stack's OAC name; after the distribution, which CloudFront requires.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        oac::destroy(stack).await
    }
}

impl Resource for EdgeFunction {
    type Current = EdgeState;
    const KIND: Kind = Kind::CdnFunction;

    fn name(&self) -> &str {
        &self.0.edge.name
    }

    fn wanted(&self) -> bool {
        self.0.enabled && !self.0.edge.variants.is_empty()
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known) -> Result<Option<EdgeState>> {
        let found = edge::describe(stack.aws, &self.0.edge.name).await?;
        if let Some(f) = &found {
            known
                .cdn_functions
                .insert(self.0.edge.name.clone(), f.arn.clone());
        }
        Ok(found)
    }

    fn diff(&self, current: Option<&EdgeState>, _: &Known) -> Action {
        match current {
            None => Action::Create,
            Some(c) => {
                let mut changes = c.changes(&self.0.edge);
                changes.extend(crate::resources::tag_changes(&c.tags, &self.0.tags));
                Action::from_changes(changes)
            }
        }
    }

    fn owner(&self, current: &EdgeState, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&EdgeState>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        let arn = edge::apply(stack, current, &self.0.edge, &self.0.tags, task).await?;
        known.cdn_functions.insert(self.0.edge.name.clone(), arn);
        Ok(())
    }

    /// After the distribution, which CloudFront requires.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        edge::destroy(stack.aws, &self.0.edge.name).await
    }
}

impl Resource for Distribution {
    type Current = DistributionState;
    const KIND: Kind = Kind::CdnDistribution;

    fn name(&self) -> &str {
        &self.0.distribution.comment
    }

    fn wanted(&self) -> bool {
        self.0.enabled
    }

    async fn describe(
        &self,
        stack: &Stack<'_>,
        known: &mut Known,
    ) -> Result<Option<DistributionState>> {
        let found = distribution::describe(stack).await?;
        known.distribution = found.as_ref().map(DistributionState::deployed);
        known.distribution_oacs = found
            .iter()
            .filter(|d| Owner::of_tags(&d.tags, &stack.names.stack) == Owner::Us)
            .flat_map(|d| sdk::origin_access_controls(&d.config))
            .filter_map(|(_, oac)| oac.filter(|id| !id.is_empty()))
            .collect();
        Ok(found)
    }

    fn diff(&self, current: Option<&DistributionState>, known: &Known) -> Action {
        diff_distribution(current, &self.0.serving(known), known.oac_id.as_deref())
    }

    fn owner(&self, current: &DistributionState, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&DistributionState>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        let oac_id = known.oac_id.clone().ok_or_else(|| {
            anyhow::anyhow!("no origin access control to read the buckets through")
        })?;
        let desired = self.0.serving(known);
        let deployed = distribution::apply(
            stack,
            current,
            &desired,
            &oac_id,
            &known.cdn_functions,
            task,
        )
        .await?;
        known.distribution = Some(deployed);
        Ok(())
    }

    /// Disables, waits for and deletes every distribution with the stack's comment.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, task: &Task) -> Result<Action> {
        teardown::destroy(stack, task).await
    }
}
