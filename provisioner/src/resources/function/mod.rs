//! The Lambda function: code (compared by CodeSha256, so an unchanged build uploads nothing) and
//! configuration, created with retries while IAM propagates, updated with the SDK waiters.
use crate::artifact::Artifact;
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, DeadLetterConfig, Environment, FunctionCode, Runtime};
use imgdeploy_function::spec::{FunctionSettings, DEFAULT_FAILURES_PREFIX};
use std::collections::BTreeMap;
use std::time::Duration;

pub mod concurrency;
pub mod event_invoke;
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
        tags: stack.tags(),
    }
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
        command: "imgdeploy backfill --local".into(),
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

pub async fn describe(stack: &Stack<'_>, desired: &Desired) -> Result<Option<Current>> {
    let out = match stack
        .aws
        .lambda
        .get_function()
        .function_name(&desired.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            return Err(e).explain(stack.aws, &format!("lambda:GetFunction {}", desired.name))
        }
    };
    let Some(f) = out.configuration() else {
        return Ok(None);
    };
    Ok(Some(Current {
        config: Config {
            role_arn: f.role().unwrap_or_default().to_string(),
            arch: f
                .architectures()
                .first()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| "x86_64".into()),
            memory_mb: f.memory_size().unwrap_or_default(),
            timeout_s: f.timeout().unwrap_or_default(),
            env: f
                .environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            dlq_arn: match f.dead_letter_config().and_then(|d| d.target_arn()) {
                Some(arn) => Some(arn.to_string()),
                // moto drops DeadLetterConfig on create and update: on an emulator a missing one is not
                // drift (what is sent is pinned at the request level, tests/it/requests.rs).
                None if stack.aws.endpoint.is_some() => desired.config.dlq_arn.clone(),
                None => None,
            },
            runtime: f
                .runtime()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            handler: f.handler().unwrap_or_default().to_string(),
        },
        code_sha256: f.code_sha256().unwrap_or_default().to_string(),
        reserved_concurrency: out
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        event_invoke: event_invoke::describe(stack, &desired.name).await?,
        tags: out
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        version: f.version().unwrap_or_default().to_string(),
        code_size: f.code_size(),
        last_modified: f.last_modified().unwrap_or_default().to_string(),
        state: f
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        last_update_status: f
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    }))
}

const WAIT: Duration = Duration::from_secs(300);

/// Creates the function, or updates only what differs: code, then configuration, each followed by the
/// `LastUpdateStatus` waiter (Lambda refuses a second update while one is in progress).
pub async fn apply(
    stack: &Stack<'_>,
    desired: &Desired,
    current: Option<&Current>,
    task: &Task,
) -> Result<()> {
    let lambda = &stack.aws.lambda;
    let name = desired.name.as_str();
    let d = &desired.config;
    let arch = Architecture::from(d.arch.as_str());
    let Some(current) = current else {
        let code = desired
            .code
            .as_ref()
            .context("no code to create the function with")?;
        create_with_retry(stack, desired, code, task).await?;
        lambda
            .wait_until_function_active_v2()
            .function_name(name)
            .wait(WAIT)
            .await
            .map_err(|e| anyhow::anyhow!("lambda {name} did not become active: {e}"))?;
        event_invoke::apply(stack, name, &desired.event_invoke).await?;
        return put_concurrency(stack, desired, None).await;
    };
    let changed = changes(current, desired);
    if let (true, Some(code)) = (changed.iter().any(|c| c == "code"), &desired.code) {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(code.zip.clone()))
            .architectures(arch)
            .send()
            .await
            .explain(stack.aws, &format!("lambda:UpdateFunctionCode {name}"))?;
        wait_updated(stack, name).await?;
    }
    let config_changed = current.config
        != Config {
            arch: current.config.arch.clone(),
            ..d.clone()
        };
    if config_changed {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(&d.role_arn)
            .memory_size(d.memory_mb)
            .timeout(d.timeout_s)
            .runtime(Runtime::from(d.runtime.as_str()))
            .handler(&d.handler)
            .environment(d.environment())
            .dead_letter_config(d.dead_letter_config())
            .send()
            .await
            .explain(
                stack.aws,
                &format!("lambda:UpdateFunctionConfiguration {name}"),
            )?;
        wait_updated(stack, name).await?;
    }
    if current.event_invoke.as_ref() != Some(&desired.event_invoke) {
        event_invoke::apply(stack, name, &desired.event_invoke).await?;
    }
    put_concurrency(stack, desired, Some(current)).await?;
    if !tag_changes(&current.tags, &desired.tags).is_empty() {
        lambda
            .tag_resource()
            .resource(&stack.arns.function)
            .set_tags(Some(desired.tags.clone().into_iter().collect()))
            .send()
            .await
            .explain(stack.aws, &format!("lambda:TagResource {name}"))?;
    }
    Ok(())
}

async fn wait_updated(stack: &Stack<'_>, name: &str) -> Result<()> {
    stack
        .aws
        .lambda
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(WAIT)
        .await
        .map_err(|e| anyhow::anyhow!("lambda {name}: the update did not finish: {e}"))?;
    Ok(())
}

/// Lambda refuses a role it cannot assume yet; a new role takes a few seconds to propagate through IAM.
pub fn is_iam_propagation(err: &CreateFunctionError) -> bool {
    match err {
        CreateFunctionError::InvalidParameterValueException(e) => e
            .message()
            .or(err.meta().message())
            .is_some_and(|m| m.contains("cannot be assumed")),
        _ => false,
    }
}

async fn create_with_retry(
    stack: &Stack<'_>,
    desired: &Desired,
    code: &Code,
    task: &Task,
) -> Result<()> {
    let d = &desired.config;
    let name = desired.name.as_str();
    let mut delay = Duration::from_millis(500);
    let started = std::time::Instant::now();
    loop {
        let sent = stack
            .aws
            .lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::from(d.runtime.as_str()))
            .handler(&d.handler)
            .role(&d.role_arn)
            .architectures(Architecture::from(d.arch.as_str()))
            .memory_size(d.memory_mb)
            .timeout(d.timeout_s)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(code.zip.clone()))
                    .build(),
            )
            .environment(d.environment())
            .dead_letter_config(d.dead_letter_config())
            .description(format!(
                "imgdeploy stack {}: renders each upload's variants",
                stack.names.stack
            ))
            .set_tags(Some(desired.tags.clone().into_iter().collect()))
            .send()
            .await;
        match sent {
            Ok(_) => break,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_conflict_exception()) =>
            {
                break
            }
            Err(e) if e.as_service_error().is_some_and(is_iam_propagation) => {
                if started.elapsed() > Duration::from_secs(120) {
                    bail!("lambda:CreateFunction {name}: the role {} still cannot be assumed after 2 minutes\n  fix: check its trust policy (policies/lambda-trust.json) and re-run", d.role_arn);
                }
                task.set_message(&format!(
                    "waiting for the role to propagate: retrying in {:.1}s",
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            Err(e) => {
                return Err(e).explain(stack.aws, &format!("lambda:CreateFunction {name}"));
            }
        }
    }
    Ok(())
}

async fn put_concurrency(
    stack: &Stack<'_>,
    desired: &Desired,
    current: Option<&Current>,
) -> Result<()> {
    let lambda = &stack.aws.lambda;
    let name = desired.name.as_str();
    let now = current.and_then(|c| c.reserved_concurrency);
    match desired.reserved_concurrency {
        Some(n) if now != Some(n) => {
            lambda
                .put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .explain(stack.aws, &format!("lambda:PutFunctionConcurrency {name}"))?;
        }
        None if now.is_some() => {
            lambda
                .delete_function_concurrency()
                .function_name(name)
                .send()
                .await
                .explain(
                    stack.aws,
                    &format!("lambda:DeleteFunctionConcurrency {name}"),
                )?;
        }
        _ => {}
    }
    Ok(())
}

/// Deletes the function; Absent when already gone.
pub async fn destroy(stack: &Stack<'_>) -> Result<Action> {
    let name = &stack.names.function;
    match stack
        .aws
        .lambda
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(Action::Delete),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Action::Absent),
        Err(e) => Err(e).explain(stack.aws, &format!("lambda:DeleteFunction {name}")),
    }
}

#[cfg(test)]
mod tests;
