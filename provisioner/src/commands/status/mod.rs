//! `imgdeploy status`: what the stack looks like now, read-only. Every resource of the stack's table
//! and its state against the configuration (ok, missing, drifted or not the stack's, from the same diff as `up`'s
//! plan), the CDN's deployment and domain, the function's configuration, the counts of originals and
//! variants with the gaps, whether the deployed code is what this CLI deploys, and the latest failure
//! reports.
use crate::artifact::source::SOURCE_ID;
use crate::cli::{GlobalArgs, StatusArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::names::{GIVEN_SOURCE, SOURCE_TAG};
use crate::resources::function::{self, Current as FunctionCurrent};
use crate::resources::kind::Kind;
use crate::resources::plan::{Action, Step};
use crate::resources::state::StackState;
use crate::resources::Stack;
use anyhow::Result;
use objects::{Failures, Objects};
use serde::Serialize;

mod objects;
mod report;

/// One resource and how it compares with the configuration.
#[derive(Debug, Serialize)]
pub struct ResourceState {
    pub kind: Kind,
    pub name: String,
    /// `ok`, `missing`, `drifted` or `not-ours`.
    pub state: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct CdnState {
    pub id: String,
    pub domain: String,
    /// CloudFront's `Status`: `Deployed` or `InProgress`.
    pub status: String,
    pub deployed: bool,
    pub enabled: bool,
}

#[derive(Debug, Serialize)]
pub struct FunctionState {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub memory_mb: i32,
    pub timeout_s: i32,
    pub code_size: i64,
    pub code_sha256: String,
    pub last_modified: String,
    pub state: String,
    pub last_update_status: String,
    pub runtime: String,
    /// Whether the deployed code is what this CLI would deploy.
    pub code_source: CodeSource,
}

/// The deployed code's source (its `imgdeploy:function-source` tag) against this CLI's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CodeSource {
    /// Built from the source this CLI deploys.
    Current { id: String },
    /// A zip given with `--artifact`: its source is not known.
    Artifact,
    /// Built from another imgdeploy's source (`older` when its version is lower than this CLI's).
    Other {
        deployed: String,
        ours: String,
        older: bool,
    },
    /// Deployed without the tag (by an imgdeploy before it, or by hand).
    Unrecorded { ours: String },
}

impl CodeSource {
    pub fn of(tags: &std::collections::BTreeMap<String, String>, ours: &str) -> CodeSource {
        let ours = ours.to_string();
        match tags.get(SOURCE_TAG) {
            Some(id) if *id == ours => CodeSource::Current { id: ours },
            Some(id) if id == GIVEN_SOURCE => CodeSource::Artifact,
            Some(id) => CodeSource::Other {
                older: version_of(id) < version_of(&ours),
                deployed: id.clone(),
                ours,
            },
            None => CodeSource::Unrecorded { ours },
        }
    }
}

/// The numeric version of a source id (`0.1.0-0123456789ab` is `[0, 1, 0]`), for ordering.
fn version_of(id: &str) -> Vec<u64> {
    let version = id.rsplit_once('-').map_or(id, |(v, _)| v);
    version
        .split(['.', '-', '+'])
        .map_while(|part| part.parse().ok())
        .collect()
}

/// `status`'s whole answer.
#[derive(Debug, Serialize)]
pub struct StatusResult {
    pub stack: String,
    pub region: String,
    pub account: String,
    /// Whether any resource of the stack exists.
    pub deployed: bool,
    pub resources: Vec<ResourceState>,
    pub cdn: Option<CdnState>,
    pub function: Option<FunctionState>,
    pub objects: Objects,
    pub failures: Failures,
    /// The failure queue: events nothing could process, waiting for `imgdeploy redrive`.
    pub failure_queue: Option<crate::resources::queue::Depth>,
    /// `[cdn] enabled`: says whether a missing `cdn` is expected.
    #[serde(skip)]
    pub cdn_configured: bool,
    #[serde(skip)]
    pub originals_bucket: String,
    #[serde(skip)]
    pub processed_bucket: String,
}

pub async fn run(g: &GlobalArgs, args: &StatusArgs) -> Result<StatusResult> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    let n = &stack.names;

    // The same table and diffs as `up`'s plan; without a build, the function's code is not compared.
    let state = StackState::describe(&stack, None).await?;
    let resources: Vec<ResourceState> = state
        .plan(&stack, false)
        .steps
        .iter()
        .map(state_of)
        .collect();
    let exists = |name: &str| {
        resources
            .iter()
            .any(|r| r.kind == Kind::Bucket && r.name == name && r.state != "missing")
    };
    let originals = exists(&n.originals_bucket);
    let processed = exists(&n.processed_bucket);
    let prefix = function::settings(&stack).failures_prefix;
    let mut objects = objects::count(&stack, originals, processed, &prefix).await?;
    let failures = objects::failures(&stack, processed, &prefix, args.failures).await?;
    objects::annotate(&mut objects, &failures);

    Ok(StatusResult {
        stack: n.stack.clone(),
        region: aws.region.clone(),
        account: aws.account.clone(),
        deployed: resources.iter().any(|r| r.state != "missing"),
        resources,
        cdn: state.known.distribution.as_ref().map(|d| CdnState {
            deployed: d.status == "Deployed",
            id: d.id.clone(),
            domain: d.domain.clone(),
            status: d.status.clone(),
            enabled: d.enabled,
        }),
        function: state
            .known
            .function
            .as_ref()
            .map(|f| function_state(&n.function, f)),
        objects,
        failures,
        failure_queue: crate::resources::queue::depth(&stack).await?,
        cdn_configured: config.cdn.enabled,
        originals_bucket: n.originals_bucket.clone(),
        processed_bucket: n.processed_bucket.clone(),
    })
}

fn state_of(step: &Step) -> ResourceState {
    let (state, changes) = match &step.action {
        Action::Create => ("missing", Vec::new()),
        Action::Update { changes } => ("drifted", changes.clone()),
        Action::Conflict { reason, .. } => ("not-ours", vec![reason.clone()]),
        // The custom domain's records and aliases while its certificate or DNS is not there yet.
        Action::Keep { reason } => ("waiting", vec![reason.clone()]),
        _ => ("ok", Vec::new()),
    };
    ResourceState {
        kind: step.kind,
        name: step.name.clone(),
        state,
        changes,
    }
}

fn function_state(name: &str, f: &FunctionCurrent) -> FunctionState {
    FunctionState {
        name: name.to_string(),
        version: f.version.clone(),
        architecture: f.config.arch.clone(),
        memory_mb: f.config.memory_mb,
        timeout_s: f.config.timeout_s,
        code_size: f.code_size,
        code_sha256: f.code_sha256.clone(),
        last_modified: f.last_modified.clone(),
        state: f.state.clone(),
        last_update_status: f.last_update_status.clone(),
        runtime: f.config.runtime.clone(),
        code_source: CodeSource::of(&f.tags, &SOURCE_ID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn tagged(value: Option<&str>) -> BTreeMap<String, String> {
        value
            .map(|v| BTreeMap::from([(SOURCE_TAG.to_string(), v.to_string())]))
            .unwrap_or_default()
    }

    #[test]
    fn the_deployed_source_is_compared_with_this_clis() {
        let ours = "0.2.0-0123456789ab";
        assert_eq!(
            CodeSource::of(&tagged(Some(ours)), ours),
            CodeSource::Current { id: ours.into() }
        );
        assert_eq!(
            CodeSource::of(&tagged(Some("artifact")), ours),
            CodeSource::Artifact
        );
        let older = |deployed: &str| match CodeSource::of(&tagged(Some(deployed)), ours) {
            CodeSource::Other { older, .. } => older,
            other => panic!("{other:?}"),
        };
        assert!(older("0.1.9-ffffffffffff"));
        assert!(older("0.1.0-ffffffffffff"));
        assert!(!older("0.2.0-ffffffffffff"), "same version, other source");
        assert!(!older("0.10.0-ffffffffffff"), "numeric, not lexical");
        assert_eq!(
            CodeSource::of(&tagged(None), ours),
            CodeSource::Unrecorded { ours: ours.into() }
        );
    }
}
