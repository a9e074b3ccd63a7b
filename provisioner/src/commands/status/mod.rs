//! `imgdeploy status`: what the stack looks like now, read-only. Every resource of the stack's table
//! and its state against the configuration (ok, missing, drifted or not the stack's, from the same diff as `up`'s
//! plan), the CDN's deployment and domain, the function's configuration, the counts of originals and
//! variants with the gaps, and the latest failure reports.
use crate::cli::{GlobalArgs, StatusArgs};
use crate::commands::connect;
use crate::config::Config;
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
    }
}
