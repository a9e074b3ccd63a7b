//! The function's log group, created ahead of the function so that it carries a retention period and the
//! stack tag instead of Lambda's never-expiring default.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::Result;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    /// Without the trailing `:*` that DescribeLogGroups adds.
    pub arn: String,
    pub retention_days: i32,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub retention_days: Option<i32>,
    pub tags: BTreeMap<String, String>,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.log_group.clone(),
        arn: stack.arns.log_group.clone(),
        retention_days: stack.config.function.log_retention_days,
        tags: stack.tags(),
    }
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let Some(c) = current else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    if c.retention_days != Some(desired.retention_days) {
        let was = c
            .retention_days
            .map_or("never expire".to_string(), |d| format!("{d} days"));
        changes.push(format!(
            "retention {was} -> {} days",
            desired.retention_days
        ));
    }
    changes.extend(tag_changes(&c.tags, &desired.tags));
    Action::from_changes(changes)
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::LogGroup;

    fn name(&self) -> &str {
        &self.name
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let desired = self;
        let logs = &stack.aws.logs;
        let out = logs
            .describe_log_groups()
            .log_group_name_prefix(&desired.name)
            .send()
            .await
            .explain(
                stack.aws,
                &format!("logs:DescribeLogGroups {}", desired.name),
            )?;
        let Some(group) = out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(desired.name.as_str()))
        else {
            return Ok(None);
        };
        let tags = logs
            .list_tags_for_resource()
            .resource_arn(&desired.arn)
            .send()
            .await
            .explain(
                stack.aws,
                &format!("logs:ListTagsForResource {}", desired.name),
            )?;
        Ok(Some(Current {
            retention_days: group.retention_in_days(),
            tags: tags
                .tags()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        }))
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        diff(current, self)
    }

    fn owner(&self, current: &Current, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let desired = self;
        let logs = &stack.aws.logs;
        let name = desired.name.as_str();
        let c = match current {
            Some(c) => c.clone(),
            None => {
                match logs
                    .create_log_group()
                    .log_group_name(name)
                    .set_tags(Some(desired.tags.clone().into_iter().collect()))
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e) if error_code(&e) == Some("ResourceAlreadyExistsException") => {}
                    Err(e) => {
                        return Err(e).explain(stack.aws, &format!("logs:CreateLogGroup {name}"))
                    }
                }
                Current {
                    retention_days: None,
                    tags: desired.tags.clone(),
                }
            }
        };
        if c.retention_days != Some(desired.retention_days) {
            logs.put_retention_policy()
                .log_group_name(name)
                .retention_in_days(desired.retention_days)
                .send()
                .await
                .explain(stack.aws, &format!("logs:PutRetentionPolicy {name}"))?;
        }
        if !tag_changes(&c.tags, &desired.tags).is_empty() {
            logs.tag_resource()
                .resource_arn(&desired.arn)
                .set_tags(Some(desired.tags.clone().into_iter().collect()))
                .send()
                .await
                .explain(stack.aws, &format!("logs:TagResource {name}"))?;
        }
        Ok(())
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let desired = self;
        match stack
            .aws
            .logs
            .delete_log_group()
            .log_group_name(&desired.name)
            .send()
            .await
        {
            Ok(_) => Ok(Action::Delete),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Action::Absent),
            Err(e) => Err(e).explain(stack.aws, &format!("logs:DeleteLogGroup {}", desired.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_drift_is_named() {
        let d = Desired {
            name: "/aws/lambda/x".into(),
            arn: "arn".into(),
            retention_days: 30,
            tags: BTreeMap::new(),
        };
        assert_eq!(diff(None, &d), Action::Create);
        let c = Current {
            retention_days: None,
            tags: BTreeMap::new(),
        };
        assert_eq!(
            diff(Some(&c), &d),
            Action::Update {
                changes: vec!["retention never expire -> 30 days".into()]
            }
        );
        let c = Current {
            retention_days: Some(30),
            tags: BTreeMap::new(),
        };
        assert_eq!(diff(Some(&c), &d), Action::Unchanged);
    }
}
