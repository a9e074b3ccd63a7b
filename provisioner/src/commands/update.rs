//! `imgdeploy update`: build (or take `--artifact`), check, then update only the function's code and
//! configuration that differ, waiting for Lambda to finish; an unchanged function gets "no changes" and
//! no upload.
use crate::artifact::human_size;
use crate::cli::{GlobalArgs, UpdateArgs};
use crate::commands::build::artifact_json;
use crate::commands::up::obtain_artifact;
use crate::commands::{connect, print_json};
use crate::config::Config;
use crate::progress::Progress;
use crate::resources::{function, Stack};
use anyhow::{bail, Result};
use serde_json::json;
use std::time::Instant;

pub async fn run(g: &GlobalArgs, args: &UpdateArgs) -> Result<()> {
    let started = Instant::now();
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);

    let artifact = obtain_artifact(&args.source, &config, &progress)?;
    let built_s = started.elapsed().as_secs_f64();
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);
    let desired = function::desired(&stack, &artifact);

    let task = progress.start("read", &format!("function {}", desired.name));
    let Some(current) = function::describe(&stack, &desired).await? else {
        task.fail("not found");
        bail!(
            "the function {} of stack {stack_name} does not exist in {} ({})\n  fix: run `imgdeploy up` first; `update` only changes a deployed function",
            desired.name,
            aws.region,
            aws.account
        );
    };
    let changes = function::changes(&current, &desired);
    task.finish(if changes.is_empty() {
        "unchanged"
    } else {
        "differs"
    });

    let mut applied_s = None;
    if !changes.is_empty() && !g.dry_run {
        let task = progress.start("function", &desired.name);
        let applying = Instant::now();
        if let Err(e) = function::apply(&stack, &desired, Some(&current), &progress).await {
            task.fail("failed");
            return Err(e);
        }
        applied_s = Some(applying.elapsed().as_secs_f64());
        task.finish(&format!("updated {}", changes.join(", ")));
    }
    let total_s = started.elapsed().as_secs_f64();

    if g.json {
        print_json(&json!({
            "stack": stack_name,
            "function": desired.name,
            "dry_run": g.dry_run,
            "changed": applied_s.is_some(),
            "changes": changes,
            "mutating_calls": aws.calls.mutating(),
            "artifact": artifact_json(&artifact),
            "timings": { "build_s": built_s, "update_s": applied_s, "total_s": total_s },
        }));
        return Ok(());
    }
    println!(
        "{}",
        summary(
            &desired.name,
            &changes,
            g.dry_run,
            &artifact,
            applied_s,
            total_s
        )
    );
    Ok(())
}

/// The closing lines: what changed (or would, with `--dry-run`), with timings.
fn summary(
    function: &str,
    changes: &[String],
    dry_run: bool,
    artifact: &crate::artifact::Artifact,
    applied_s: Option<f64>,
    total_s: f64,
) -> String {
    if changes.is_empty() {
        return format!("no changes: function {function} already runs this code and configuration [{total_s:.1}s]");
    }
    let mut lines = vec![if dry_run {
        format!("function {function} would change (dry run, nothing sent):")
    } else {
        format!(
            "updated function {function} in {:.1}s ({total_s:.1}s in all):",
            applied_s.unwrap_or_default()
        )
    }];
    for change in changes {
        if change == "code" {
            lines.push(format!(
                "  code          {} ({}, sha256 {})",
                artifact.zip_path.display(),
                human_size(artifact.zip_bytes.len() as u64),
                artifact.sha256_hex
            ));
        } else {
            lines.push(format!("  {change}"));
        }
    }
    lines.join("\n")
}
