//! The whole stack at once, walked through the one table (`table.rs`): what exists, the plan between
//! that and the configuration, applying it in order, and tearing it down in the reverse order. `up`,
//! `status` and `teardown` call these; none of them lists resources of its own.
use crate::artifact::Artifact;
use crate::progress::Progress;
use crate::resources::kind::Kind;
use crate::resources::owner::{self, Owner};
use crate::resources::plan::{Action, Plan};
use crate::resources::resource::{Known, Slot, Teardown};
use crate::resources::table::table;
use crate::resources::Stack;
use anyhow::Result;
use std::collections::HashMap;

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

    /// The plan, in the order `up` applies it. Pure: every decision is a resource's `diff`, except
    /// that a resource that exists and is not the stack's is a conflict (or, untagged and with
    /// `adopt`, taken over): see `owner.rs`.
    pub fn plan(&self, stack: &Stack<'_>, adopt: bool) -> Plan {
        let mut plan = Plan::new(&stack.names.stack);
        for slot in &self.slots {
            let diff = slot.diff(&self.known);
            let action = match slot.owner(&stack.names.stack, &self.known) {
                Some(who) => {
                    owner::up_step(slot.kind(), &who, adopt, slot.adoption_refused(), diff)
                }
                None => diff,
            };
            plan.push(slot.kind(), slot.name(), action);
        }
        if let Some(account) = self.known.account_concurrency {
            let ours = self
                .known
                .function
                .as_ref()
                .and_then(|f| f.reserved_concurrency);
            if crate::resources::function::concurrency::default_cap(account, ours).is_none() {
                plan.warnings
                    .push(crate::resources::function::concurrency::no_room_warning(
                        account,
                    ));
            }
        }
        let cdn = &stack.config.cdn;
        if cdn.enabled && cdn.serve_originals {
            plan.warnings.push(format!(
                "[cdn] serve_originals: every original under {} is public, with its EXIF metadata (GPS position included)",
                stack.config.source.prefix
            ));
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

/// Every resource of the stack, wanted or not, described in table order (a resource may read what an
/// earlier one made known), with whose each is.
async fn described(stack: &Stack<'_>) -> Result<(Vec<Box<dyn Slot>>, Known)> {
    let mut slots = table(stack, None);
    let mut known = Known::default();
    for slot in &mut slots {
        slot.describe(stack, &mut known).await?;
    }
    Ok((slots, known))
}

/// Whose each existing resource is; a part (a function's permission) is its whole's. A part whose
/// whole is gone has no owner to ask: it is left to its own destroy, which finds it gone too.
fn owners(slots: &[Box<dyn Slot>], stack: &str, known: &Known) -> Vec<Option<Owner>> {
    let wholes: HashMap<(Kind, &str), Owner> = slots
        .iter()
        .filter_map(|s| Some(((s.kind(), s.name()), s.owner(stack, known)?)))
        .collect();
    slots
        .iter()
        .map(|s| match s.part_of() {
            Some((kind, name)) => wholes.get(&(kind, name.as_str())).cloned(),
            None => s.owner(stack, known),
        })
        .collect()
}

/// The resources teardown visits, in its order (the reverse of the table), each with its owner.
async fn teardown_order(stack: &Stack<'_>) -> Result<Vec<(Box<dyn Slot>, Option<Owner>)>> {
    let (slots, known) = described(stack).await?;
    let owners = owners(&slots, &stack.names.stack, &known);
    let mut order: Vec<_> = slots
        .into_iter()
        .zip(owners)
        .filter(|(s, _)| s.torn_down_alone())
        .collect();
    order.reverse();
    Ok(order)
}

/// What teardown does with a resource of this owner, when it is not the stack's.
fn left_alone(owner: &Option<Owner>) -> Option<Action> {
    match owner {
        Some(o) if *o != Owner::Us => Some(owner::not_ours(o)),
        _ => None,
    }
}

/// What `teardown` would do (its dry run), from read-only calls.
pub async fn teardown_plan(stack: &Stack<'_>, how: Teardown) -> Result<Plan> {
    let mut plan = Plan::new(&stack.names.stack);
    for (slot, owner) in teardown_order(stack).await? {
        let action = match left_alone(&owner) {
            Some(action) => action,
            None => slot.teardown_action(stack, how).await?,
        };
        plan.push(slot.kind(), slot.name(), action);
    }
    Ok(plan)
}

/// Deletes every resource of the stack in teardown order; what was deleted, kept, left alone (not the
/// stack's) or already gone.
pub async fn teardown(stack: &Stack<'_>, how: Teardown, progress: &Progress) -> Result<Plan> {
    let mut done = Plan::new(&stack.names.stack);
    for (slot, owner) in teardown_order(stack).await? {
        let task = progress.start(slot.kind().as_str(), slot.name());
        if let Some(action) = left_alone(&owner) {
            task.finish(&action_line(&action));
            done.push(slot.kind(), slot.name(), action);
            continue;
        }
        match slot.destroy(stack, how, &task).await {
            Ok(action) => {
                task.finish(&action_line(&action));
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

/// A teardown step's progress line.
fn action_line(action: &Action) -> String {
    match action {
        Action::Delete => "deleted".to_string(),
        Action::Absent => "already gone".to_string(),
        Action::Keep { reason } => format!("kept: {reason}"),
        Action::NotOurs { owner } => crate::resources::plan::not_ours(owner.as_deref()),
        _ => "done".to_string(),
    }
}
