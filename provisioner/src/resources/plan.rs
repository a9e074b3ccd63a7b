//! A plan is plain data: what each resource needs (create, update, nothing), printable for people and
//! serializable to JSON for `--json` and `--dry-run`.
use crate::resources::kind::Kind;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Create,
    Update {
        changes: Vec<String>,
    },
    Unchanged,
    Delete,
    /// Teardown leaves it in place (e.g. a bucket that holds the user's data).
    Keep {
        reason: String,
    },
    /// Nothing to delete: already gone.
    Absent,
    /// It exists but is not the stack's (see `owner.rs`): `up` refuses to touch it.
    Conflict {
        /// The stack its tag names; `None` when it has no stack tag.
        owner: Option<String>,
        reason: String,
        fix: String,
    },
    /// Teardown leaves it alone: it is not the stack's.
    NotOurs {
        /// The stack its tag names; `None` when it has no stack tag.
        owner: Option<String>,
    },
}

impl Action {
    /// An update when `changes` is non-empty, else unchanged.
    pub fn from_changes(changes: Vec<String>) -> Action {
        if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update { changes }
        }
    }

    pub fn mutates(&self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update { .. } | Action::Delete
        )
    }

    fn symbol(&self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update { .. } => "~",
            Action::Delete => "-",
            Action::Unchanged | Action::Absent => "=",
            Action::Keep { .. } => "!",
            Action::Conflict { .. } => "x",
            Action::NotOurs { .. } => "?",
        }
    }
}

/// One resource of the stack and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub kind: Kind,
    pub name: String,
    #[serde(flatten)]
    pub action: Action,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub stack: String,
    pub steps: Vec<Step>,
    /// Settings the plan applies that deserve a second look (one line each).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn new(stack: &str) -> Self {
        Plan {
            stack: stack.to_string(),
            steps: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn push(&mut self, kind: Kind, name: impl Into<String>, action: Action) {
        self.steps.push(Step {
            kind,
            name: name.into(),
            action,
        });
    }

    pub fn has_changes(&self) -> bool {
        self.steps.iter().any(|s| s.action.mutates())
    }

    /// The steps `up` must not take: resources that exist and are not the stack's.
    pub fn conflicts(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| matches!(s.action, Action::Conflict { .. }))
            .collect()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .steps
            .iter()
            .map(|s| s.kind.as_str().len())
            .max()
            .unwrap_or(0);
        for s in &self.steps {
            let what = match &s.action {
                Action::Create => "create".to_string(),
                Action::Update { changes } => format!("update: {}", changes.join(", ")),
                Action::Unchanged => "unchanged".to_string(),
                Action::Delete => "delete".to_string(),
                Action::Keep { reason } => format!("keep: {reason}"),
                Action::Absent => "already gone".to_string(),
                Action::Conflict { reason, .. } => format!("refused: {reason}"),
                Action::NotOurs { owner } => not_ours(owner.as_deref()),
            };
            writeln!(
                f,
                "  {} {:width$}  {}  ({what})",
                s.action.symbol(),
                s.kind,
                s.name
            )?;
        }
        if !self.has_changes() {
            writeln!(f, "  no changes")?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {w}")?;
        }
        Ok(())
    }
}

/// How a resource teardown leaves alone is described.
pub fn not_ours(owner: Option<&str>) -> String {
    match owner {
        Some(stack) => format!("not ours (stack {stack}'s), left alone"),
        None => "not ours (untagged), left alone".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_prints_and_serializes() {
        let mut p = Plan::new("acme");
        p.push(Kind::Bucket, "acme-originals", Action::Create);
        p.push(
            Kind::Function,
            "acme-variants",
            Action::Update {
                changes: vec!["memory 1024 -> 2048".into()],
            },
        );
        p.push(Kind::Role, "acme-function", Action::Unchanged);
        assert!(p.has_changes());
        insta::assert_snapshot!(p.to_string());
        insta::assert_json_snapshot!(p);
    }

    #[test]
    fn unchanged_plan_says_no_changes() {
        let mut p = Plan::new("acme");
        p.push(Kind::Role, "acme-function", Action::from_changes(vec![]));
        assert!(!p.has_changes());
        assert!(p.to_string().contains("no changes"));
    }
}
