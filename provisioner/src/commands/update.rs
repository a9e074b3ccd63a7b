//! `imgdeploy update`: build (or take `--artifact`), check, refuse when the configuration changed more
//! than the function (that is `up`'s), then update only the function's code and
//! configuration that differ, waiting for Lambda to finish; an unchanged function gets "no changes" and
//! no upload.
use crate::artifact::{self, BuildProfile, Summary};
use crate::cli::{GlobalArgs, UpdateArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::output::size;
use crate::progress::Progress;
use crate::resources::function::BackfillHint;
use crate::resources::kind::Kind;
use crate::resources::plan::{Action, Plan};
use crate::resources::state::StackState;
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
    // `update` changes the function alone: a configuration change anything else must follow (the
    // prefix the notification and the role name, a new variant's prefix in the role's policy, the
    // CDN, backup, retention, tags) needs `up`, or the function would run against the old ones.
    let plan = StackState::describe(&stack, Some(&artifact))
        .await?
        .plan(&stack, false);
    if let Some(refusal) = needs_up(&plan) {
        task.fail("needs `imgdeploy up`");
        bail!(refusal);
    }
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

/// Why `update` must not run with this plan, if it must not: a resource other than the function
/// differs from the configuration, or something the stack needs is not the stack's.
fn needs_up(plan: &Plan) -> Option<String> {
    let others: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| match &s.action {
            Action::Conflict { .. } => true,
            action => s.kind != Kind::Function && action.mutates(),
        })
        .map(|s| {
            let what = match &s.action {
                Action::Create => "to be created".to_string(),
                Action::Update { changes } => changes.join(", "),
                Action::Delete => "to be deleted".to_string(),
                Action::Conflict { reason, fix, .. } => {
                    format!("not the stack's: {reason} (fix: {fix})")
                }
                _ => unreachable!("filtered above"),
            };
            format!("  {} {}: {what}", s.kind, s.name)
        })
        .collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "the configuration changes more than the function, and `update` changes only the function:\n{}\n  fix: run `imgdeploy up`, which applies all of it (`imgdeploy up --dry-run` shows its plan)",
        others.join("\n")
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_beyond_the_function_is_refused_with_each_resource_named() {
        let mut plan = Plan::new("acme");
        plan.push(Kind::Bucket, "acme-originals", Action::Unchanged);
        plan.push(
            Kind::Function,
            "acme-variants",
            Action::Update {
                changes: vec!["environment".into()],
            },
        );
        assert_eq!(needs_up(&plan), None, "the function alone is update's job");
        plan.push(
            Kind::Role,
            "acme-variants",
            Action::Update {
                changes: vec!["policy".into()],
            },
        );
        plan.push(
            Kind::Notification,
            "acme-originals",
            Action::Update {
                changes: vec!["prefix originals/ -> uploads/".into()],
            },
        );
        let refusal = needs_up(&plan).expect("refused");
        assert!(
            refusal.contains("  role acme-variants: policy\n"),
            "{refusal}"
        );
        assert!(
            refusal.contains("  notification acme-originals: prefix originals/ -> uploads/\n"),
            "{refusal}"
        );
        assert!(refusal.contains("run `imgdeploy up`"), "{refusal}");
    }

    #[test]
    fn a_function_that_is_not_the_stacks_is_refused() {
        let mut plan = Plan::new("acme");
        plan.push(
            Kind::Function,
            "acme-variants",
            Action::Conflict {
                owner: Some("other".into()),
                reason: "tagged for stack other".into(),
                fix: "rename".into(),
            },
        );
        let refusal = needs_up(&plan).expect("refused");
        assert!(
            refusal.contains("function acme-variants: not the stack's"),
            "{refusal}"
        );
    }
}
