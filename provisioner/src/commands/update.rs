//! `imgdeploy update`: build (or take `--artifact`), check, then update only the function's code and
//! configuration that differ, waiting for Lambda to finish; an unchanged function gets "no changes" and
//! no upload.
use crate::artifact::{self, BuildProfile, Summary};
use crate::cli::{GlobalArgs, UpdateArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::output::size;
use crate::progress::Progress;
use crate::resources::function::BackfillHint;
use crate::resources::{function, Stack};
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;
use std::time::Instant;

pub async fn run(g: &GlobalArgs, args: &UpdateArgs) -> Result<UpdateResult> {
    let started = Instant::now();
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);

    let profile = BuildProfile::from_quick(args.source.quick);
    let given = args.source.artifact.as_deref();
    let artifact = artifact::obtain(given, profile, &config, &progress)?;
    let built_s = started.elapsed().as_secs_f64();
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);
    // The function's environment names the distribution (for invalidations): read it, as `up` does.
    let known = function::known(&stack).await?;
    let desired = function::desired(&stack, Some(&artifact)).knowing(&known);

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
    // The default reservation fits the account given what the function reserves now.
    let desired = desired.reserving(known.account_concurrency, Some(&current));
    let changes = function::changes(&current, &desired);
    task.finish(if changes.is_empty() {
        "unchanged"
    } else {
        "differs"
    });

    let mut update_s = None;
    if !changes.is_empty() && !g.dry_run {
        let task = progress.start("function", &desired.name);
        let applying = Instant::now();
        if let Err(e) = function::apply(&stack, &desired, Some(&current), &task).await {
            task.fail("failed");
            return Err(e);
        }
        update_s = Some(applying.elapsed().as_secs_f64());
        task.finish(&format!("updated {}", changes.join(", ")));
    }
    // A changed variant set leaves the existing originals with the previous variants: say how many.
    let backfill = match function::variants_changed(&current, &desired) {
        true => function::backfill_hint(&stack).await?,
        false => None,
    };
    Ok(UpdateResult {
        stack: stack_name,
        function: desired.name,
        dry_run: g.dry_run,
        changed: update_s.is_some(),
        changes,
        mutating_calls: aws.calls.mutating(),
        artifact: artifact.summary(),
        timings: Timings {
            build_s: built_s,
            update_s,
            total_s: started.elapsed().as_secs_f64(),
        },
        backfill,
    })
}

/// What `update` changed (or, with `--dry-run`, would change), with the artifact and timings.
#[derive(Debug, Serialize)]
pub struct UpdateResult {
    pub stack: String,
    pub function: String,
    pub dry_run: bool,
    pub changed: bool,
    pub changes: Vec<String>,
    pub mutating_calls: Vec<String>,
    pub artifact: Summary,
    pub timings: Timings,
    /// When the variant set changed: the originals made with the previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backfill: Option<BackfillHint>,
}

#[derive(Debug, Serialize)]
pub struct Timings {
    pub build_s: f64,
    pub update_s: Option<f64>,
    pub total_s: f64,
}

impl fmt::Display for UpdateResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, total_s) = (&self.function, self.timings.total_s);
        if self.changes.is_empty() {
            return writeln!(
                f,
                "no changes: function {name} already runs this code and configuration [{total_s:.1}s]"
            );
        }
        if self.dry_run {
            writeln!(f, "function {name} would change (dry run, nothing sent):")?;
        } else {
            writeln!(
                f,
                "updated function {name} in {:.1}s ({total_s:.1}s in all):",
                self.timings.update_s.unwrap_or_default()
            )?;
        }
        for change in &self.changes {
            if change == "code" {
                let a = &self.artifact;
                writeln!(
                    f,
                    "  code          {} ({}, sha256 {})",
                    a.zip.display(),
                    size(a.size),
                    a.sha256
                )?;
            } else {
                writeln!(f, "  {change}")?;
            }
        }
        match &self.backfill {
            Some(hint) => write!(f, "\n{hint}"),
            None => Ok(()),
        }
    }
}
