//! `imgdeploy status`: what the stack looks like now, read-only. Every resource and its state (ok,
//! missing or drifted from the configuration), the CDN's deployment and domain, the function's
//! configuration, the counts of originals and variants with the gaps, and the latest failure reports.
use crate::aws::{error_code, Explain};
use crate::cli::GlobalArgs;
use crate::commands::invoke::human_bytes;
use crate::commands::stack_objects::{self, Failures, Objects};
use crate::commands::{connect, print_json};
use crate::config::Config;
use crate::plan::{Action, Plan};
use crate::resources::function;
use crate::resources::state::bucket_policy;
use crate::resources::{bucket, cdn, log_group, notification, role, subscription, topic, Stack};
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::json;

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// How many of the latest failure reports to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub failures: usize,
}

/// One resource and how it compares with the configuration.
#[derive(Debug, Serialize)]
pub struct ResourceState {
    pub kind: String,
    pub name: String,
    /// `ok`, `missing` or `drifted`.
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
    /// Compared with the configuration, not printed (the variants' JSON is long).
    #[serde(skip)]
    pub environment: std::collections::HashMap<String, String>,
}

pub async fn run(g: &GlobalArgs, args: &StatusArgs) -> Result<()> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    let settings = function::settings(&stack);

    let (plan, cdn) = read_resources(&stack).await?;
    let function = read_function(&stack).await?;
    let mut resources: Vec<ResourceState> = plan.steps.iter().map(state_of).collect();
    resources.push(function_changes(&stack, function.as_ref(), &settings));
    let exists = |name: &str| {
        resources
            .iter()
            .any(|r| r.kind == "bucket" && r.name == name && r.state != "missing")
    };
    let originals = exists(&stack.names.originals_bucket);
    let processed = exists(&stack.names.processed_bucket);
    let prefix = settings.failures_prefix.as_str();
    let mut objects = stack_objects::count(&stack, originals, processed, prefix).await?;
    let failures = stack_objects::failures(&stack, processed, prefix, args.failures).await?;
    stack_objects::annotate(&mut objects, &failures);

    if g.json {
        print_json(&json!({
            "stack": stack.names.stack, "region": aws.region, "account": aws.account,
            "deployed": resources.iter().any(|r| r.state != "missing"),
            "resources": resources, "cdn": cdn, "function": function,
            "objects": objects, "failures": failures,
        }));
    } else {
        print_human(
            &stack,
            &resources,
            cdn.as_ref(),
            function.as_ref(),
            &objects,
            &failures,
        );
    }
    Ok(())
}

/// Every resource but the function, compared with what `up` would make of this configuration.
async fn read_resources(stack: &Stack<'_>) -> Result<(Plan, Option<CdnState>)> {
    let mut plan = Plan::new(&stack.names.stack);
    let mut buckets = Vec::new();
    for d in bucket::desired_all(stack) {
        let current = bucket::describe(stack, &d.name).await?;
        plan.push("bucket", &d.name, bucket::diff(current.as_ref(), &d));
        buckets.push((d, current));
    }
    for d in [topic::desired_failure(stack), topic::desired_upload(stack)] {
        let current = topic::describe(stack, &d).await?;
        plan.push("topic", &d.name, topic::diff(current.as_ref(), &d));
    }
    let d = log_group::desired(stack);
    let current = log_group::describe(stack, &d).await?;
    plan.push("log-group", &d.name, log_group::diff(current.as_ref(), &d));
    let d = role::desired(stack);
    let current = role::describe(stack, &d).await?;
    plan.push("role", &d.name, role::diff(current.as_ref(), &d));
    let d = subscription::desired(stack);
    let current = subscription::describe(stack, &d).await?;
    let (permission, sub) = subscription::diff(&current, &d);
    plan.push("permission", &stack.names.permission_sid, permission);
    plan.push("subscription", &stack.names.upload_topic, sub);
    let d = notification::desired(stack);
    let current = notification::describe(stack, &d).await?;
    let bucket_name = &stack.names.originals_bucket;
    plan.push(
        "notification",
        bucket_name,
        notification::diff(current.as_ref(), &d),
    );

    let mut cdn_state = None;
    let mut distribution_arn = None;
    if stack.config.cdn.enabled {
        let desired = cdn::desired(stack);
        let current = cdn::describe(stack).await?;
        let (oac, dist) = cdn::diff(&current, &desired);
        plan.push("cdn-oac", &stack.names.oac, oac);
        plan.push("cdn-distribution", &stack.names.distribution_comment, dist);
        distribution_arn = current.distribution_arn();
        cdn_state = current.distribution.map(|d| CdnState {
            deployed: d.status == "Deployed",
            id: d.id,
            domain: d.domain,
            status: d.status,
            enabled: d.enabled,
        });
    }
    for (d, c) in &buckets {
        if c.is_none() {
            continue;
        }
        let policy = bucket_policy(stack, &d.name, distribution_arn.as_deref());
        plan.push(
            "bucket-policy",
            &d.name,
            bucket::diff_policy(c.as_ref(), &policy),
        );
    }
    Ok((plan, cdn_state))
}

fn state_of(step: &crate::plan::Step) -> ResourceState {
    let (state, changes) = match &step.action {
        Action::Create => ("missing", Vec::new()),
        Action::Update { changes } => ("drifted", changes.clone()),
        _ => ("ok", Vec::new()),
    };
    ResourceState {
        kind: step.kind.to_string(),
        name: step.name.clone(),
        state,
        changes,
    }
}

async fn read_function(stack: &Stack<'_>) -> Result<Option<FunctionState>> {
    let name = &stack.names.function;
    let out = match stack
        .aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            return Err(e).explain(
                stack.aws,
                &format!("lambda:GetFunctionConfiguration {name}"),
            )
        }
    };
    let text = |s: Option<String>| s.unwrap_or_default();
    Ok(Some(FunctionState {
        name: name.clone(),
        version: text(out.version().map(str::to_string)),
        architecture: out
            .architectures()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect::<Vec<_>>()
            .join(","),
        memory_mb: out.memory_size().unwrap_or_default(),
        timeout_s: out.timeout().unwrap_or_default(),
        code_size: out.code_size(),
        code_sha256: text(out.code_sha256().map(str::to_string)),
        last_modified: text(out.last_modified().map(str::to_string)),
        state: text(out.state().map(|s| s.as_str().to_string())),
        last_update_status: text(out.last_update_status().map(|s| s.as_str().to_string())),
        runtime: text(out.runtime().map(|r| r.as_str().to_string())),
        environment: out
            .environment()
            .and_then(|e| e.variables())
            .cloned()
            .unwrap_or_default(),
    }))
}

/// The function's line: missing, or what differs from the configuration (memory, timeout,
/// architecture, environment). The code is not compared: that needs a build (`imgdeploy up` does it).
fn function_changes(
    stack: &Stack<'_>,
    function: Option<&FunctionState>,
    settings: &imgdeploy_function::spec::FunctionSettings,
) -> ResourceState {
    let name = stack.names.function.clone();
    let Some(f) = function else {
        return ResourceState {
            kind: "function".into(),
            name,
            state: "missing",
            changes: Vec::new(),
        };
    };
    let fc = &stack.config.function;
    let mut changes = Vec::new();
    if f.memory_mb != fc.memory_mb {
        changes.push(format!("memory {} -> {}", f.memory_mb, fc.memory_mb));
    }
    if f.timeout_s != fc.timeout_s {
        changes.push(format!("timeout {} -> {}", f.timeout_s, fc.timeout_s));
    }
    let arch = fc.architecture.to_string();
    if f.architecture != arch {
        changes.push(format!("architecture {} -> {arch}", f.architecture));
    }
    for (key, value) in settings.to_env() {
        if f.environment.get(&key) != Some(&value) {
            changes.push(format!("environment {key}"));
        }
    }
    let state = if changes.is_empty() { "ok" } else { "drifted" };
    ResourceState {
        kind: "function".into(),
        name,
        state,
        changes,
    }
}

fn print_human(
    stack: &Stack<'_>,
    resources: &[ResourceState],
    cdn: Option<&CdnState>,
    function: Option<&FunctionState>,
    objects: &Objects,
    failures: &Failures,
) {
    let aws = stack.aws;
    println!(
        "Stack {} in {} (account {})",
        stack.names.stack, aws.region, aws.account
    );
    if resources.iter().all(|r| r.state == "missing") {
        println!("\nNothing of this stack exists: create it with `imgdeploy up`.");
        return;
    }
    println!("\nResources");
    for r in resources {
        let (mark, detail) = match r.state {
            "ok" => ("✓", "ok".to_string()),
            "missing" => ("✗", "missing (`imgdeploy up` creates it)".to_string()),
            _ => ("~", format!("drifted: {}", r.changes.join(", "))),
        };
        println!("  {mark} {:<17} {:<44} {detail}", r.kind, r.name);
    }
    match cdn {
        Some(c) => println!(
            "\nCDN          https://{}/  ({}, {}{})",
            c.domain,
            c.id,
            c.status,
            if c.enabled { "" } else { ", disabled" }
        ),
        None if stack.config.cdn.enabled => println!("\nCDN          no distribution"),
        None => println!("\nCDN          off ([cdn] enabled = false)"),
    }
    if let Some(f) = function {
        println!(
            "Function     {}  version {}, {}, {} MB, timeout {} s, code {}, updated {} ({}, last update {})",
            f.name,
            f.version,
            f.architecture,
            f.memory_mb,
            f.timeout_s,
            human_bytes(f.code_size.max(0) as u64),
            f.last_modified,
            f.state,
            f.last_update_status
        );
    }
    println!(
        "\nOriginals    {} under s3://{}/{}",
        objects.originals, stack.names.originals_bucket, objects.source_prefix
    );
    let counts: Vec<String> = objects
        .variants
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!("Variants     {}", counts.join(", "));
    if objects.missing.is_empty() {
        println!("Missing      none: every original has every variant");
    } else {
        println!(
            "Missing      {} original(s) lack a variant:",
            objects.missing.len()
        );
        const SHOWN: usize = 20;
        for m in objects.missing.iter().take(SHOWN) {
            let why = m
                .failure
                .as_deref()
                .map(|k| format!("  (failed: {k})"))
                .unwrap_or_default();
            println!("  {}: {}{why}", m.key, m.missing.join(", "));
        }
        if objects.missing.len() > SHOWN {
            println!(
                "  ... and {} more (`--json` lists them all)",
                objects.missing.len() - SHOWN
            );
        }
    }
    if failures.count == 0 {
        println!("\nFailures     none reported");
        return;
    }
    println!(
        "\nFailures     {} report(s) under s3://{}/{}; latest first:",
        failures.count, stack.names.processed_bucket, failures.prefix
    );
    for r in &failures.latest {
        let s = |k: &str| r[k].as_str().unwrap_or("?").to_string();
        println!(
            "  {}  {}  {}: {}",
            s("time"),
            s("key"),
            s("error_kind"),
            s("message")
        );
    }
}
