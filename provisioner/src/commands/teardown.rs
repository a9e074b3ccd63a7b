//! `imgdeploy teardown`: removes the stack in the reverse order of `up` (the order and its reasons
//! are stated once, in `resources/table.rs`). Every step treats "already gone" as success, so an
//! interrupted teardown is finished by running it again. Only what carries the stack's tag is deleted
//! (`resources/owner.rs`); the rest is left alone and listed. Buckets holding the user's data
//! (originals, backup) are kept unless they are empty or `--delete-data` is given.
use crate::cli::{GlobalArgs, TeardownArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::progress::Progress;
use crate::resources::plan::{Action, Plan, Step};
use crate::resources::resource::Teardown;
use crate::resources::{state, Stack};
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;
use std::io::{BufRead, IsTerminal, Write};

pub async fn run(g: &GlobalArgs, args: &TeardownArgs) -> Result<TeardownResult> {
    let config = Config::load(&g.config)?;
    let stack_name = config.stack()?.name.clone();
    let progress = Progress::new(g.json);
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &stack_name);
    let how = Teardown {
        delete_data: args.delete_data,
    };

    if g.dry_run {
        return Ok(TeardownResult::Planned(
            state::teardown_plan(&stack, how).await?,
        ));
    }
    if args.delete_data {
        confirm_data_deletion(&stack, g.yes).await?;
    }
    let done = state::teardown(&stack, how, &progress).await?;
    Ok(TeardownResult::Done(Done::of(done)))
}

/// What `teardown` did, or with `--dry-run` would do.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TeardownResult {
    Planned(#[serde(serialize_with = "planned")] Plan),
    Done(Done),
}

fn planned<S: serde::Serializer>(plan: &Plan, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Planned<'a> {
        stack: &'a str,
        dry_run: bool,
        plan: &'a Plan,
    }
    Planned {
        stack: &plan.stack,
        dry_run: true,
        plan,
    }
    .serialize(s)
}

#[derive(Debug, Serialize)]
pub struct Done {
    pub stack: String,
    /// Each resource and what became of it, in teardown order.
    pub steps: Vec<Step>,
    /// The buckets kept because they hold the user's data.
    pub kept: Vec<String>,
    /// What was left alone because it is not the stack's (`kind name`).
    pub left_alone: Vec<String>,
    /// Nothing was there to delete.
    pub already_gone: bool,
}

impl Done {
    fn of(done: Plan) -> Done {
        let kept = done
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Keep { .. }))
            .map(|s| s.name.clone())
            .collect();
        let left_alone = done
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::NotOurs { .. }))
            .map(|s| format!("{} {}", s.kind, s.name))
            .collect();
        let already_gone = done
            .steps
            .iter()
            .all(|s| matches!(s.action, Action::Absent));
        Done {
            stack: done.stack,
            steps: done.steps,
            kept,
            left_alone,
            already_gone,
        }
    }
}

impl fmt::Display for TeardownResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TeardownResult::Planned(plan) => {
                write!(
                    f,
                    "Teardown plan for stack {} (dry run):\n{plan}",
                    plan.stack
                )
            }
            TeardownResult::Done(done) if done.already_gone => {
                writeln!(f, "stack {} is already gone: nothing to delete", done.stack)
            }
            TeardownResult::Done(done) => {
                writeln!(f, "stack {} removed", done.stack)?;
                for step in &done.steps {
                    match &step.action {
                        Action::Keep { reason } => {
                            writeln!(f, "kept {} {}: {reason}", step.kind, step.name)?
                        }
                        Action::NotOurs { owner } => writeln!(
                            f,
                            "{} {}: {}",
                            step.kind,
                            step.name,
                            crate::resources::plan::not_ours(owner.as_deref())
                        )?,
                        _ => {}
                    }
                }
                if !done.kept.is_empty() {
                    writeln!(
                        f,
                        "`imgdeploy teardown --delete-data` removes the kept buckets"
                    )?;
                }
                Ok(())
            }
        }
    }
}

async fn confirm_data_deletion(stack: &Stack<'_>, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let n = &stack.names;
    if !std::io::stdin().is_terminal() {
        bail!("--delete-data would delete every object in {} and {}; no terminal to confirm on\n  fix: add --yes", n.originals_bucket, n.backup_bucket);
    }
    eprint!(
        "This deletes every object (all versions) in {} and {}. Type the stack name ({}) to confirm: ",
        n.originals_bucket, n.backup_bucket, n.stack
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != n.stack {
        bail!("not confirmed: nothing was deleted");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kind::Kind;

    fn done(steps: &[(Kind, &str, Action)]) -> TeardownResult {
        let mut plan = Plan::new("acme");
        for (kind, name, action) in steps {
            plan.push(*kind, *name, action.clone());
        }
        TeardownResult::Done(Done::of(plan))
    }

    #[test]
    fn teardown_names_what_it_kept_and_why() {
        let kept = Action::Keep {
            reason: "holds objects (your data)".into(),
        };
        let result = done(&[
            (Kind::Notification, "acme-originals", Action::Delete),
            (Kind::Function, "acme-variants", Action::Delete),
            (Kind::Bucket, "acme-backup", Action::Absent),
            (
                Kind::Role,
                "acme-function",
                Action::NotOurs {
                    owner: Some("prod".into()),
                },
            ),
            (Kind::Bucket, "acme-originals", kept),
        ]);
        insta::assert_snapshot!(result.to_string());
        insta::assert_json_snapshot!(result);
    }

    #[test]
    fn a_second_teardown_finds_it_already_gone() {
        let result = done(&[
            (Kind::Notification, "acme-originals", Action::Absent),
            (Kind::Bucket, "acme-originals", Action::Absent),
        ]);
        assert_eq!(
            result.to_string(),
            "stack acme is already gone: nothing to delete\n"
        );
    }

    #[test]
    fn the_dry_run_prints_the_plan() {
        let mut plan = Plan::new("acme");
        plan.push(Kind::Notification, "acme-originals", Action::Delete);
        plan.push(Kind::Topic, "acme-uploads", Action::Absent);
        let result = TeardownResult::Planned(plan);
        insta::assert_snapshot!(result.to_string());
        insta::assert_json_snapshot!(result);
    }
}
