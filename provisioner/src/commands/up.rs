//! `imgdeploy up`: build (or take) the function, read what exists, print the plan, apply it in dependency
//! order, and print where everything is.
use crate::artifact::{self, Artifact, BuildProfile};
use crate::cli::{ArtifactSource, GlobalArgs, UpArgs};
use crate::commands::{connect, print_json};
use crate::config::Config;
use crate::plan::{Action, Plan};
use crate::progress::Progress;
use crate::resources::state::{action, bucket_policy, StackState};
use crate::resources::{
    bucket, cdn, function, log_group, notification, role, subscription, topic, Stack,
};
use anyhow::Result;
use serde::Serialize;
use serde_json::json;

pub async fn run(g: &GlobalArgs, args: &UpArgs) -> Result<()> {
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);

    let artifact = obtain_artifact(&args.source, &config, &progress)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);

    let task = progress.start(
        "read",
        &format!("stack {stack_name} in {} ({})", aws.region, aws.account),
    );
    let state = StackState::describe(&stack, &artifact).await?;
    task.finish("done");
    let plan = state.plan(&stack);
    if !g.json {
        eprintln!("\nPlan for stack {stack_name}:\n{plan}");
    }
    if g.dry_run {
        if g.json {
            print_json(&json!({ "stack": stack_name, "dry_run": true, "plan": plan }));
        }
        return Ok(());
    }

    let outputs = apply(&stack, &state, &plan, &progress).await?;
    let mutating = aws.calls.mutating();
    if g.json {
        print_json(
            &json!({ "stack": stack_name, "plan": plan, "changed": !mutating.is_empty(),
                            "mutating_calls": mutating, "outputs": outputs }),
        );
    } else {
        if mutating.is_empty() {
            eprintln!("\nno changes: stack {stack_name} is up to date");
        }
        print_outputs(&outputs);
    }
    Ok(())
}

/// The function's zip: built now, or the one given with `--artifact` (checked the same way).
pub fn obtain_artifact(
    source: &ArtifactSource,
    config: &Config,
    progress: &Progress,
) -> Result<Artifact> {
    let arch = config.function.architecture;
    match &source.artifact {
        Some(zip) => artifact::load(zip, arch),
        None => {
            let root = artifact::find_workspace_root(&std::env::current_dir()?)?;
            let profile = BuildProfile::from_quick(source.quick);
            artifact::build(&root, arch, profile, progress)
        }
    }
}

/// What `up` tells the user at the end.
#[derive(Debug, Serialize)]
pub struct Outputs {
    pub originals_bucket: String,
    pub processed_bucket: String,
    pub backup_bucket: Option<String>,
    pub upload_prefix: String,
    pub function: String,
    pub failure_topic: String,
    pub cdn_domain: Option<String>,
    pub upload_command: String,
}

/// Applies the plan in dependency order; unchanged resources get a line and no call.
async fn apply(
    stack: &Stack<'_>,
    state: &StackState,
    plan: &Plan,
    progress: &Progress,
) -> Result<Outputs> {
    for (d, c) in &state.buckets {
        step(
            progress,
            "bucket",
            &d.name,
            action(plan, "bucket", &d.name),
            bucket::apply(stack, d, c.as_ref()),
        )
        .await?;
    }
    let (d, c) = &state.failure_topic;
    step(
        progress,
        "topic",
        &d.name,
        action(plan, "topic", &d.name),
        topic::apply(stack, d, c.as_ref()),
    )
    .await?;
    // The upload topic's policy must exist before S3 is told to publish to it (S3 checks on Put).
    let (d, c) = &state.upload_topic;
    step(
        progress,
        "topic",
        &d.name,
        action(plan, "topic", &d.name),
        topic::apply(stack, d, c.as_ref()),
    )
    .await?;
    // The log group comes before the function, or Lambda creates it without retention or tags.
    let (d, c) = &state.log_group;
    step(
        progress,
        "log-group",
        &d.name,
        action(plan, "log-group", &d.name),
        log_group::apply(stack, d, c.as_ref()),
    )
    .await?;
    let (d, c) = &state.role;
    step(
        progress,
        "role",
        &d.name,
        action(plan, "role", &d.name),
        role::apply(stack, d, c.as_ref()),
    )
    .await?;
    // The function needs the role (and retries while IAM propagates) and the failure topic (its DLQ).
    let (d, c) = &state.function;
    step(
        progress,
        "function",
        &stack.names.function,
        action(plan, "function", &stack.names.function),
        function::apply(stack, d, c.as_ref(), progress),
    )
    .await?;
    // Permission before subscription: SNS delivers as soon as the subscription exists.
    let (d, c) = &state.subscription;
    let act = combined(
        plan,
        &[
            ("permission", &stack.names.permission_sid),
            ("subscription", &stack.names.upload_topic),
        ],
    );
    step(
        progress,
        "subscription",
        &stack.names.upload_topic,
        &act,
        subscription::apply(stack, d, c),
    )
    .await?;
    let (d, c) = &state.notification;
    step(
        progress,
        "notification",
        &stack.names.originals_bucket,
        action(plan, "notification", &stack.names.originals_bucket),
        notification::apply(stack, d, c.as_ref()),
    )
    .await?;

    let deployed = match &state.cdn {
        Some((_, current)) => cdn::apply(stack, current, progress).await?,
        None => None,
    };
    // Bucket policies name the distribution, so they come last.
    let distribution_arn = deployed.as_ref().map(|d| d.arn.clone());
    for (d, c) in &state.buckets {
        let policy = bucket_policy(stack, &d.name, distribution_arn.as_deref());
        let act = bucket::diff_policy(c.as_ref(), &policy);
        step(
            progress,
            "bucket-policy",
            &d.name,
            &act,
            bucket::put_policy(stack, &d.name, &policy),
        )
        .await?;
    }

    let n = &stack.names;
    let prefix = &stack.config.source.prefix;
    let endpoint = stack
        .aws
        .endpoint
        .as_deref()
        .map(|e| format!(" --endpoint-url {e}"))
        .unwrap_or_default();
    Ok(Outputs {
        originals_bucket: n.originals_bucket.clone(),
        processed_bucket: n.processed_bucket.clone(),
        backup_bucket: stack.config.backup.enabled.then(|| n.backup_bucket.clone()),
        upload_prefix: prefix.clone(),
        function: n.function.clone(),
        failure_topic: stack.arns.failure_topic.clone(),
        cdn_domain: deployed.map(|d| d.domain),
        upload_command: format!(
            "aws s3 cp photo.jpg s3://{}/{prefix}photo.jpg{endpoint}",
            n.originals_bucket
        ),
    })
}

/// The combined action of several plan steps applied by one call.
fn combined(plan: &Plan, steps: &[(&str, &str)]) -> Action {
    let changes: Vec<String> = steps
        .iter()
        .filter(|(k, n)| action(plan, k, n).mutates())
        .map(|(k, _)| k.to_string())
        .collect();
    Action::from_changes(changes)
}

/// Runs one resource's work under a progress line; skips the work when the plan says it is unchanged.
async fn step(
    progress: &Progress,
    kind: &str,
    name: &str,
    act: &Action,
    work: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let task = progress.start(kind, name);
    if !act.mutates() {
        task.finish("unchanged");
        return Ok(());
    }
    match work.await {
        Ok(()) => {
            task.finish(if *act == Action::Create {
                "created"
            } else {
                "updated"
            });
            Ok(())
        }
        Err(e) => {
            task.fail("failed");
            Err(e.context(format!(
                "{kind} {name} {}; everything before it in the plan is in place: fix this and re-run `imgdeploy up`",
                describe_action(act)
            )))
        }
    }
}

fn describe_action(a: &Action) -> &'static str {
    match a {
        Action::Create => "could not be created",
        _ => "could not be updated",
    }
}

fn print_outputs(o: &Outputs) {
    eprintln!();
    println!(
        "originals bucket : {}  (uploads under {})",
        o.originals_bucket, o.upload_prefix
    );
    println!("processed bucket : {}", o.processed_bucket);
    if let Some(b) = &o.backup_bucket {
        println!("backup bucket    : {b}");
    }
    println!("function         : {}", o.function);
    println!("failure reports  : {}", o.failure_topic);
    match &o.cdn_domain {
        Some(d) => println!("CDN              : https://{d}/<variant>/<key>"),
        None => println!("CDN              : off"),
    }
    println!("\nUpload a photo:\n  {}", o.upload_command);
}
