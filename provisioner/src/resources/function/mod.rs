//! The Lambda function: code (compared by CodeSha256, so an unchanged build uploads nothing) and
//! configuration, created with retries while IAM propagates, updated with the SDK waiters.
use crate::artifact::Artifact;
use crate::names::SOURCE_TAG;
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::Result;
use aws_sdk_lambda::types::{DeadLetterConfig, Environment};
use imgdeploy_function::spec::{FunctionSettings, DEFAULT_FAILURES_PREFIX};
use std::collections::BTreeMap;

mod calls;
pub mod concurrency;
pub mod event_invoke;
#[cfg(test)]
use calls::is_iam_propagation;
pub use calls::{apply, describe, destroy};
use event_invoke::EventInvoke;

pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub role_arn: String,
    pub arch: String,
    pub memory_mb: i32,
    pub timeout_s: i32,
    pub env: BTreeMap<String, String>,
    pub dlq_arn: Option<String>,
    pub runtime: String,
    pub handler: String,
}

impl Config {
    /// The environment as the Lambda API takes it (create and update send the same).
    fn environment(&self) -> Environment {
        Environment::builder()
            .set_variables(Some(self.env.clone().into_iter().collect()))
            .build()
    }

    /// The dead-letter target as the Lambda API takes it; `None` clears it.
    fn dead_letter_config(&self) -> DeadLetterConfig {
        DeadLetterConfig::builder()
            .set_target_arn(self.dlq_arn.clone())
            .build()
    }
}

#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    pub config: Config,
    /// The code to deploy; `None` for `status`, which builds nothing and so compares no code.
    pub code: Option<Code>,
    pub reserved_concurrency: Option<i32>,
    /// `[function] reserved_concurrency`, when set; otherwise [`Desired::reserving`] picks the default.
    pub configured_reservation: Option<i32>,
    pub event_invoke: EventInvoke,
    pub tags: BTreeMap<String, String>,
}

/// A built zip and its CodeSha256 (base64, as Lambda reports it).
#[derive(Debug, Clone)]
pub struct Code {
    pub sha256: String,
    pub zip: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub config: Config,
    pub code_sha256: String,
    pub reserved_concurrency: Option<i32>,
    /// `None`: never set, Lambda's defaults apply.
    pub event_invoke: Option<EventInvoke>,
    pub tags: BTreeMap<String, String>,
    pub version: String,
    pub code_size: i64,
    pub last_modified: String,
    /// Lambda's `State` (`Active`, `Pending`, ...) and `LastUpdateStatus`, for `status`.
    pub state: String,
    pub last_update_status: String,
}

/// What the function finds in its environment: the same for the deployed function and `invoke --local`.
pub fn settings(stack: &Stack<'_>) -> FunctionSettings {
    let c = stack.config;
    FunctionSettings {
        variants: c.variants.clone(),
        limits: c.function.limits(),
        source_prefix: c.source.prefix.clone(),
        processed_bucket: stack.names.processed_bucket.clone(),
        backup_bucket: c.backup.enabled.then(|| stack.names.backup_bucket.clone()),
        failure_topic_arn: stack.arns.failure_topic.clone(),
        processed_topic_arn: (c.events.processed).then(|| stack.arns.processed_topic.clone()),
        failures_prefix: DEFAULT_FAILURES_PREFIX.to_string(),
        cache_control: c.function.cache_control.clone(),
        on_delete: c.source.on_delete,
        // Set once the distribution is known (`Desired::knowing`).
        distribution_id: None,
        account_id: Some(stack.aws.account.clone()),
    }
}

pub fn desired(stack: &Stack<'_>, artifact: Option<&Artifact>) -> Desired {
    let f = &stack.config.function;
    Desired {
        name: stack.names.function.clone(),
        config: Config {
            role_arn: stack.arns.role.clone(),
            // Without an artifact, the configured architecture (what the artifact would be built for).
            arch: artifact
                .map(|a| a.arch)
                .unwrap_or(f.architecture)
                .lambda_name()
                .to_string(),
            memory_mb: f.memory_mb,
            timeout_s: f.timeout_s,
            env: settings(stack).to_env(),
            dlq_arn: Some(stack.arns.failure_queue.clone()),
            runtime: RUNTIME.into(),
            handler: HANDLER.into(),
        },
        code: artifact.map(|a| Code {
            sha256: a.code_sha256.clone(),
            zip: a.zip_bytes.clone(),
        }),
        reserved_concurrency: f.reserved_concurrency,
        configured_reservation: f.reserved_concurrency,
        event_invoke: EventInvoke::of(stack),
        tags: code_tags(stack.tags(), artifact),
    }
}

/// The stack's tags, plus the source the code is built from when there is code to deploy (`status`
/// has none, and compares that tag with this CLI's instead).
fn code_tags(
    mut tags: BTreeMap<String, String>,
    artifact: Option<&Artifact>,
) -> BTreeMap<String, String> {
    if let Some(a) = artifact {
        tags.insert(SOURCE_TAG.to_string(), a.origin.tag_value());
    }
    tags
}

/// Pure: which of code, configuration fields, concurrency and tags differ.
pub fn changes(current: &Current, desired: &Desired) -> Vec<String> {
    let (c, d) = (&current.config, &desired.config);
    let mut out = Vec::new();
    let code_differs = desired
        .code
        .as_ref()
        .is_some_and(|code| code.sha256 != current.code_sha256);
    if code_differs || c.arch != d.arch {
        out.push("code".to_string());
    }
    if c.arch != d.arch {
        out.push(format!("architecture {} -> {}", c.arch, d.arch));
    }
    if c.memory_mb != d.memory_mb {
        out.push(format!("memory {} -> {} MB", c.memory_mb, d.memory_mb));
    }
    if c.timeout_s != d.timeout_s {
        out.push(format!("timeout {} -> {} s", c.timeout_s, d.timeout_s));
    }
    for key in c
        .env
        .keys()
        .chain(d.env.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        if c.env.get(key) != d.env.get(key) {
            out.push(format!("environment {key}"));
        }
    }
    for (what, cur, want) in [
        ("role", &c.role_arn, &d.role_arn),
        ("runtime", &c.runtime, &d.runtime),
        ("handler", &c.handler, &d.handler),
    ] {
        if cur != want {
            out.push(format!("{what} {cur} -> {want}"));
        }
    }
    if c.dlq_arn != d.dlq_arn {
        out.push("dead-letter target".to_string());
    }
    if current.reserved_concurrency != desired.reserved_concurrency {
        out.push(format!(
            "reserved concurrency {:?} -> {:?}",
            current.reserved_concurrency, desired.reserved_concurrency
        ));
    }
    out.extend(EventInvoke::changes(
        current.event_invoke.as_ref(),
        &desired.event_invoke,
    ));
    out.extend(tag_changes(&current.tags, &desired.tags));
    out
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    match current {
        None => Action::Create,
        Some(c) => Action::from_changes(changes(c, desired)),
    }
}

/// After a change of the variant set: the originals made with the previous one, and how to bring
/// them up to date.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackfillHint {
    pub originals: usize,
    /// More originals than were counted (the count stops at 10,000 to stay cheap).
    pub at_least: bool,
    pub command: String,
}

impl std::fmt::Display for BackfillHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let more = if self.at_least { "at least " } else { "" };
        writeln!(
            f,
            "The variants changed: {more}{} original(s) were made with the previous ones. Bring them up to date with `{}` (add --dry-run to see the plan and its cost first).",
            self.originals, self.command
        )
    }
}

/// Whether the deployed function makes other variants than the configuration asks for.
pub fn variants_changed(current: &Current, desired: &Desired) -> bool {
    let name = imgdeploy_function::spec::env::VARIANTS;
    current.config.env.get(name) != desired.config.env.get(name)
}

/// The backfill hint of a stack whose variant set just changed (`None` without originals).
pub async fn backfill_hint(stack: &Stack<'_>) -> Result<Option<BackfillHint>> {
    let bucket = &stack.names.originals_bucket;
    let prefix = &stack.config.source.prefix;
    let (originals, at_least) =
        crate::resources::bucket::list::count(stack, bucket, prefix, 10_000).await?;
    Ok((originals > 0).then(|| BackfillHint {
        originals,
        at_least,
        // An emulator runs no functions: the handler runs here.
        command: match stack.aws.endpoint {
            Some(_) => "imgdeploy backfill --local",
            None => "imgdeploy backfill",
        }
        .into(),
    }))
}

/// What the function needs to know beyond the stack: the distribution (when `[cdn]` wants one and it
/// exists), whose id is in its environment. For the commands that do not walk the whole table
/// (`update`, the local runner).
pub async fn known(stack: &Stack<'_>) -> Result<Known> {
    let mut known = Known::default();
    if stack.config.function.reserved_concurrency.is_none() {
        known.account_concurrency = concurrency::account(stack).await?;
    }
    let distribution = crate::resources::cdn::distribution(stack);
    if distribution.wanted() {
        distribution.describe(stack, &mut known).await?;
    }
    Ok(known)
}

impl Desired {
    /// The function as wanted once the distribution (if any) is known: its id is in the environment,
    /// for the invalidation of replaced and deleted variants.
    pub fn knowing(&self, known: &Known) -> Desired {
        let mut desired = self.clone();
        if let Some(d) = &known.distribution {
            let name = imgdeploy_function::spec::env::DISTRIBUTION_ID;
            desired.config.env.insert(name.into(), d.id.clone());
        }
        desired.reserving(known.account_concurrency, known.function.as_ref())
    }

    /// The reservation once the account is known: the configured one, else the default cap that fits
    /// (`concurrency.rs`), given what the function (`current`) reserves now.
    pub fn reserving(
        mut self,
        account: Option<concurrency::Account>,
        current: Option<&Current>,
    ) -> Desired {
        if self.configured_reservation.is_none() {
            let now = current.and_then(|c| c.reserved_concurrency);
            self.reserved_concurrency = account.and_then(|a| concurrency::default_cap(a, now));
        }
        self
    }
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Function;

    fn name(&self) -> &str {
        &self.name
    }

    async fn describe(&self, stack: &Stack<'_>, known: &mut Known) -> Result<Option<Current>> {
        let current = describe(stack, self).await?;
        known.function = current.clone();
        if stack.config.function.reserved_concurrency.is_none() {
            known.account_concurrency = concurrency::account(stack).await?;
        }
        Ok(current)
    }

    fn diff(&self, current: Option<&Current>, known: &Known) -> Action {
        diff(current, &self.knowing(known))
    }

    fn owner(&self, current: &Current, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        known: &mut Known,
        task: &Task,
    ) -> Result<()> {
        apply(stack, &self.knowing(known), current, task).await
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        destroy(stack).await
    }
}

#[cfg(test)]
mod tests;
