//! The whole stack at once, walked through the one table (`table.rs`): what exists, the plan between
//! that and the configuration, applying it in order, and tearing it down in the reverse order. `up`,
//! `status` and `teardown` call these; none of them lists resources of its own.
use crate::artifact::Artifact;
use crate::progress::Progress;
use crate::resources::plan::{Action, Plan};
use crate::resources::resource::{Known, Slot, Teardown};
use crate::resources::table::table;
use crate::resources::Stack;
use anyhow::Result;

/// Every wanted resource of the stack, described.
pub struct StackState {
    slots: Vec<Box<dyn Slot>>,
    pub known: Known,
}

impl StackState {
    /// Reads every resource the configuration wants (read-only calls only).
    pub async fn describe(stack: &Stack<'_>, artifact: Option<&Artifact>) -> Result<StackState> {
        let mut slots: Vec<Box<dyn Slot>> = table(stack, artifact)
            .into_iter()
            .filter(|s| s.wanted())
            .collect();
        let mut known = Known::default();
        for slot in &mut slots {
            slot.describe(stack, &mut known).await?;
        }
        Ok(StackState { slots, known })
    }

    /// The plan, in the order `up` applies it. Pure: every decision is a resource's `diff`.
    pub fn plan(&self, stack: &Stack<'_>) -> Plan {
        let mut plan = Plan::new(&stack.names.stack);
        for slot in &self.slots {
            plan.push(slot.kind(), slot.name(), slot.diff(&self.known));
        }
        plan
    }

    /// Applies the plan in table order under one progress line per resource. Each action is decided
    /// again just before it runs, with what the resources before it made known (the bucket policies
    /// name a distribution created moments earlier); unchanged resources get a line and no call.
    pub async fn apply(&mut self, stack: &Stack<'_>, progress: &Progress) -> Result<()> {
        for slot in &self.slots {
            let action = slot.diff(&self.known);
            let task = progress.start(slot.kind().as_str(), slot.name());
            if !action.mutates() {
                task.finish("unchanged");
                continue;
            }
            match slot.apply(stack, &mut self.known, &task).await {
                Ok(()) => task.finish(if action == Action::Create {
                    "created"
                } else {
                    "updated"
                }),
                Err(e) => {
                    task.fail("failed");
                    let what = if action == Action::Create {
                        "could not be created"
                    } else {
                        "could not be updated"
                    };
                    return Err(e.context(format!(
                        "{} {} {what}; everything before it in the plan is in place: fix this and re-run `imgdeploy up`",
                        slot.kind(),
                        slot.name()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The resources teardown deletes, in its order: the reverse of the table.
fn teardown_order(stack: &Stack<'_>) -> Vec<Box<dyn Slot>> {
    let mut slots = table(stack, None);
    slots.retain(|s| s.torn_down_alone());
    slots.reverse();
    slots
}

/// What `teardown` would do (its dry run), from read-only calls.
pub async fn teardown_plan(stack: &Stack<'_>, how: Teardown) -> Result<Plan> {
    let mut slots = table(stack, None);
    let mut known = Known::default();
    // Described in table order: a resource may read what an earlier one made known.
    for slot in &mut slots {
        slot.describe(stack, &mut known).await?;
    }
    let mut plan = Plan::new(&stack.names.stack);
    for slot in slots.iter().rev().filter(|s| s.torn_down_alone()) {
        plan.push(
            slot.kind(),
            slot.name(),
            slot.teardown_action(stack, how).await?,
        );
    }
    Ok(plan)
}

/// Deletes every resource of the stack in teardown order; what was deleted, kept or already gone.
pub async fn teardown(stack: &Stack<'_>, how: Teardown, progress: &Progress) -> Result<Plan> {
    let mut done = Plan::new(&stack.names.stack);
    for slot in teardown_order(stack) {
        let task = progress.start(slot.kind().as_str(), slot.name());
        match slot.destroy(stack, how, &task).await {
            Ok(action) => {
                task.finish(&match &action {
                    Action::Delete => "deleted".to_string(),
                    Action::Absent => "already gone".to_string(),
                    Action::Keep { reason } => format!("kept: {reason}"),
                    _ => "done".to_string(),
                });
                done.push(slot.kind(), slot.name(), action);
            }
            Err(e) => {
                task.fail("failed");
                return Err(e.context(format!(
                    "teardown stopped at {} {}; run `imgdeploy teardown` again to continue",
                    slot.kind(),
                    slot.name()
                )));
            }
        }
    }
    Ok(done)
}
