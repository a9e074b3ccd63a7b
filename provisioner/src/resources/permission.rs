//! The Lambda permission that lets only the upload topic invoke the function. It comes before the
//! subscription: SNS delivers as soon as the subscription exists.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub function: String,
    pub topic_arn: String,
    pub sid: String,
}

/// The permission statement with our Sid, as Lambda returns it.
pub type Current = Value;

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        function: stack.names.function.clone(),
        topic_arn: stack.arns.upload_topic.clone(),
        sid: stack.names.permission_sid.clone(),
    }
}

/// Whether a statement from GetPolicy grants exactly what we want: SNS, InvokeFunction, this topic.
pub fn permission_matches(statement: &Value, desired: &Desired) -> bool {
    let principal = &statement["Principal"];
    let service = principal.get("Service").unwrap_or(principal);
    let source = &statement["Condition"]["ArnLike"]["AWS:SourceArn"];
    service == "sns.amazonaws.com"
        && statement["Action"] == "lambda:InvokeFunction"
        && statement["Effect"] == "Allow"
        && source == desired.topic_arn.as_str()
}

pub fn diff(current: Option<&Value>, desired: &Desired) -> Action {
    match current {
        None => Action::Create,
        Some(s) if permission_matches(s, desired) => Action::Unchanged,
        Some(_) => Action::Update {
            changes: vec!["statement (principal, action or source)".into()],
        },
    }
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Permission;

    fn name(&self) -> &str {
        &self.sid
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        match stack
            .aws
            .lambda
            .get_policy()
            .function_name(&self.function)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .policy()
                .and_then(|p| serde_json::from_str::<Value>(p).ok())
                .and_then(|doc| {
                    doc["Statement"]
                        .as_array()
                        .and_then(|ss| ss.iter().find(|s| s["Sid"] == self.sid.as_str()).cloned())
                })),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(e).explain(stack.aws, &format!("lambda:GetPolicy {}", self.function)),
        }
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        diff(current, self)
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Function, self.function.clone()))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        if current.is_some() {
            // A statement of ours that grants something else: Lambda has no update, so replace it.
            self.remove(stack).await?;
        }
        let added = stack
            .aws
            .lambda
            .add_permission()
            .function_name(&self.function)
            .statement_id(&self.sid)
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com")
            .source_arn(&self.topic_arn)
            .send()
            .await;
        match added {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ResourceConflictException") => Ok(()),
            Err(e) => Err(e).explain(
                stack.aws,
                &format!("lambda:AddPermission {}", self.function),
            ),
        }
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        self.remove(stack).await
    }
}

impl Desired {
    async fn remove(&self, stack: &Stack<'_>) -> Result<Action> {
        match stack
            .aws
            .lambda
            .remove_permission()
            .function_name(&self.function)
            .statement_id(&self.sid)
            .send()
            .await
        {
            Ok(_) => Ok(Action::Delete),
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Action::Absent),
            Err(e) => Err(e).explain(
                stack.aws,
                &format!("lambda:RemovePermission {}", self.function),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Desired {
        Desired {
            function: "acme-variants".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:acme-uploads".into(),
            sid: "imgdeploy-sns-invoke".into(),
        }
    }

    fn statement(topic: &str) -> Value {
        json!({"Sid": "imgdeploy-sns-invoke", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
               "Action": "lambda:InvokeFunction", "Resource": "x",
               "Condition": {"ArnLike": {"AWS:SourceArn": topic}}})
    }

    #[test]
    fn matching_permission_is_unchanged() {
        let s = statement(&desired().topic_arn);
        assert_eq!(diff(Some(&s), &desired()), Action::Unchanged);
        assert_eq!(diff(None, &desired()), Action::Create);
    }

    #[test]
    fn a_permission_for_another_topic_is_replaced() {
        let s = statement("arn:aws:sns:us-east-1:1:other");
        assert!(matches!(diff(Some(&s), &desired()), Action::Update { .. }));
    }
}
