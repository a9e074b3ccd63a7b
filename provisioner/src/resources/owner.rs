//! Whose a resource is. imgdeploy keeps no state file, so a resource belongs to the stack when it
//! carries the tag `imgdeploy:stack = <name>` (an OAC, which has no tags, when its description is the
//! one imgdeploy writes for the stack or the stack's distribution uses it). Promises:
//! - `up` mutates nothing while any resource it would touch belongs to another stack or to nobody:
//!   the plan shows a [`Action::Conflict`] for each, with its owner and the fix;
//! - `--adopt` takes over untagged resources (tagging them is part of the plan), never another
//!   stack's, and never a role that carries policies imgdeploy does not manage;
//! - `teardown` deletes only what is the stack's; the rest is [`Action::NotOurs`], left alone.
use crate::names::STACK_TAG;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use serde::Serialize;
use std::collections::BTreeMap;

/// Who an existing resource belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "owner", content = "stack", rename_all = "snake_case")]
pub enum Owner {
    /// Tagged for this stack.
    Us,
    /// No stack tag: made by hand, by another tool, or by an `up` interrupted before it tagged it.
    Untagged,
    /// Tagged for the named stack.
    Other(String),
}

impl Owner {
    /// The owner a tag set says, for the stack `stack`.
    pub fn of_tags(tags: &BTreeMap<String, String>, stack: &str) -> Owner {
        match tags.get(STACK_TAG) {
            Some(s) if s == stack => Owner::Us,
            Some(s) => Owner::Other(s.clone()),
            None => Owner::Untagged,
        }
    }
}

/// The plan step for a resource that exists and is not the stack's, or `None` when `up` may go on
/// (it is ours, or untagged and adopted). `diff` is the resource's own plan step, `refused` why
/// `--adopt` must still refuse it.
pub fn up_step(
    kind: Kind,
    owner: &Owner,
    adopt: bool,
    refused: Option<String>,
    diff: Action,
) -> Action {
    match owner {
        Owner::Us => diff,
        Owner::Other(stack) => Action::Conflict {
            owner: Some(stack.clone()),
            reason: format!("belongs to stack {stack} (its {STACK_TAG} tag)"),
            fix: format!(
                "choose another `[stack] name`, or deploy from stack {stack}'s configuration"
            ),
        },
        Owner::Untagged if !adopt => Action::Conflict {
            owner: None,
            reason: format!("exists without the {STACK_TAG} tag: this stack did not create it"),
            fix: format!(
                "`imgdeploy up --adopt` takes it over{}; or delete or rename it; or choose another `[stack] name`",
                if kind == Kind::CdnOac {
                    " (sets its description)"
                } else {
                    " (tags it)"
                }
            ),
        },
        Owner::Untagged => match refused {
            Some(why) => Action::Conflict {
                owner: None,
                reason: format!("cannot be adopted: {why}"),
                fix: "remove what imgdeploy does not manage from it, or delete it, then re-run `up --adopt`"
                    .into(),
            },
            None => adopted(diff),
        },
    }
}

/// An adopted resource's step: its own changes, marked so the plan says it is being taken over.
fn adopted(diff: Action) -> Action {
    let changes = match diff {
        Action::Update { changes } => changes,
        _ => Vec::new(),
    };
    let mut all = vec!["adopt".to_string()];
    all.extend(changes);
    Action::Update { changes: all }
}

/// The teardown step for a resource that is not the stack's: left alone.
pub fn not_ours(owner: &Owner) -> Action {
    Action::NotOurs {
        owner: match owner {
            Owner::Other(s) => Some(s.clone()),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: Option<&str>) -> BTreeMap<String, String> {
        v.map(|v| BTreeMap::from([(STACK_TAG.to_string(), v.to_string())]))
            .unwrap_or_default()
    }

    #[test]
    fn the_stack_tag_decides() {
        assert_eq!(Owner::of_tags(&tags(Some("acme")), "acme"), Owner::Us);
        assert_eq!(
            Owner::of_tags(&tags(Some("prod")), "acme"),
            Owner::Other("prod".into())
        );
        assert_eq!(Owner::of_tags(&tags(None), "acme"), Owner::Untagged);
    }

    #[test]
    fn another_stacks_resource_is_a_conflict_even_with_adopt() {
        let step = up_step(
            Kind::Role,
            &Owner::Other("prod".into()),
            true,
            None,
            Action::Unchanged,
        );
        let Action::Conflict { owner, reason, fix } = step else {
            panic!("{step:?}")
        };
        assert_eq!(owner.as_deref(), Some("prod"));
        assert!(reason.contains("stack prod"), "{reason}");
        assert!(fix.contains("stack prod's configuration"), "{fix}");
    }

    #[test]
    fn untagged_is_a_conflict_until_adopted_and_adopting_is_a_change() {
        let diff = Action::Update {
            changes: vec!["tag imgdeploy:stack=acme".into()],
        };
        let step = up_step(Kind::Bucket, &Owner::Untagged, false, None, diff.clone());
        assert!(matches!(&step, Action::Conflict { fix, .. } if fix.contains("--adopt")));
        assert!(!step.mutates());
        let step = up_step(Kind::Bucket, &Owner::Untagged, true, None, diff);
        assert_eq!(
            step,
            Action::Update {
                changes: vec!["adopt".into(), "tag imgdeploy:stack=acme".into()]
            }
        );
        // An OAC adopted as it is still says so.
        let step = up_step(
            Kind::CdnOac,
            &Owner::Untagged,
            true,
            None,
            Action::Unchanged,
        );
        assert!(step.mutates(), "{step:?}");
    }

    #[test]
    fn a_refused_adoption_names_why() {
        let why = "managed policies attached: AdministratorAccess".to_string();
        let step = up_step(
            Kind::Role,
            &Owner::Untagged,
            true,
            Some(why),
            Action::Unchanged,
        );
        assert!(
            matches!(&step, Action::Conflict { reason, .. } if reason.contains("AdministratorAccess")),
            "{step:?}"
        );
    }

    #[test]
    fn ours_plans_as_its_diff() {
        let step = up_step(Kind::Topic, &Owner::Us, false, None, Action::Create);
        assert_eq!(step, Action::Create);
    }
}
