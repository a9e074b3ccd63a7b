//! Wires the function to the upload topic: a Lambda permission that lets only that topic invoke it, and the
//! SNS subscription itself. The permission comes first: SNS delivers as soon as the subscription exists.
use crate::aws::{error_code, Explain};
use crate::plan::Action;
use crate::resources::Stack;
use anyhow::Result;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub function: String,
    pub function_arn: String,
    pub topic_arn: String,
    pub sid: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    /// The permission statement with our Sid, as Lambda returns it.
    pub permission: Option<Value>,
    pub subscription_arn: Option<String>,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        function: stack.names.function.clone(),
        function_arn: stack.arns.function.clone(),
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

/// Two plan steps: the permission and the subscription.
pub fn diff(current: &Current, desired: &Desired) -> (Action, Action) {
    let permission = match &current.permission {
        None => Action::Create,
        Some(s) if permission_matches(s, desired) => Action::Unchanged,
        Some(_) => Action::Update {
            changes: vec!["statement (principal, action or source)".into()],
        },
    };
    let subscription = if current.subscription_arn.is_some() {
        Action::Unchanged
    } else {
        Action::Create
    };
    (permission, subscription)
}

pub async fn describe(stack: &Stack<'_>, desired: &Desired) -> Result<Current> {
    let permission = match stack
        .aws
        .lambda
        .get_policy()
        .function_name(&desired.function)
        .send()
        .await
    {
        Ok(out) => out
            .policy()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .and_then(|doc| {
                doc["Statement"].as_array().and_then(|ss| {
                    ss.iter()
                        .find(|s| s["Sid"] == desired.sid.as_str())
                        .cloned()
                })
            }),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => None,
        Err(e) => {
            return Err(e).explain(stack.aws, &format!("lambda:GetPolicy {}", desired.function))
        }
    };
    let mut subscription_arn = None;
    let mut pages = stack
        .aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&desired.topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("NotFound") => break,
            Err(e) => return Err(e).explain(stack.aws, "sns:ListSubscriptionsByTopic"),
        };
        let ours = page.subscriptions().iter().find(|s| {
            s.protocol() == Some("lambda") && s.endpoint() == Some(desired.function_arn.as_str())
        });
        if let Some(s) = ours {
            // "PendingConfirmation" is not an ARN; lambda subscriptions confirm at once.
            subscription_arn = s
                .subscription_arn()
                .filter(|a| a.starts_with("arn:"))
                .map(str::to_string);
            break;
        }
    }
    Ok(Current {
        permission,
        subscription_arn,
    })
}

pub async fn apply(stack: &Stack<'_>, desired: &Desired, current: &Current) -> Result<()> {
    let (permission, subscription) = diff(current, desired);
    let lambda = &stack.aws.lambda;
    if matches!(permission, Action::Update { .. }) {
        remove_permission(stack, desired).await?;
    }
    if permission.mutates() {
        let added = lambda
            .add_permission()
            .function_name(&desired.function)
            .statement_id(&desired.sid)
            .action("lambda:InvokeFunction")
            .principal("sns.amazonaws.com")
            .source_arn(&desired.topic_arn)
            .send()
            .await;
        match added {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("ResourceConflictException") => {}
            Err(e) => {
                return Err(e).explain(
                    stack.aws,
                    &format!("lambda:AddPermission {}", desired.function),
                )
            }
        }
    }
    if subscription.mutates() {
        stack
            .aws
            .sns
            .subscribe()
            .topic_arn(&desired.topic_arn)
            .protocol("lambda")
            .endpoint(&desired.function_arn)
            .return_subscription_arn(true)
            .send()
            .await
            .explain(stack.aws, "sns:Subscribe")?;
    }
    Ok(())
}

async fn remove_permission(stack: &Stack<'_>, desired: &Desired) -> Result<Action> {
    match stack
        .aws
        .lambda
        .remove_permission()
        .function_name(&desired.function)
        .statement_id(&desired.sid)
        .send()
        .await
    {
        Ok(_) => Ok(Action::Delete),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Action::Absent),
        Err(e) => Err(e).explain(
            stack.aws,
            &format!("lambda:RemovePermission {}", desired.function),
        ),
    }
}

/// Unsubscribes, then removes the permission: the reverse of `apply`.
pub async fn destroy(stack: &Stack<'_>, desired: &Desired) -> Result<(Action, Action)> {
    let current = describe(stack, desired).await?;
    let subscription = match &current.subscription_arn {
        None => Action::Absent,
        Some(arn) => match stack
            .aws
            .sns
            .unsubscribe()
            .subscription_arn(arn)
            .send()
            .await
        {
            Ok(_) => Action::Delete,
            Err(e) if error_code(&e) == Some("NotFound") => Action::Absent,
            Err(e) => return Err(e).explain(stack.aws, "sns:Unsubscribe"),
        },
    };
    let permission = match current.permission {
        None => Action::Absent,
        Some(_) => remove_permission(stack, desired).await?,
    };
    Ok((permission, subscription))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn desired() -> Desired {
        Desired {
            function: "acme-variants".into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:acme-variants".into(),
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
    fn matching_permission_and_subscription_are_unchanged() {
        let c = Current {
            permission: Some(statement(&desired().topic_arn)),
            subscription_arn: Some("arn:sub".into()),
        };
        assert_eq!(diff(&c, &desired()), (Action::Unchanged, Action::Unchanged));
    }

    #[test]
    fn a_permission_for_another_topic_is_replaced() {
        let c = Current {
            permission: Some(statement("arn:aws:sns:us-east-1:1:other")),
            subscription_arn: None,
        };
        let (p, s) = diff(&c, &desired());
        assert!(matches!(p, Action::Update { .. }));
        assert_eq!(s, Action::Create);
    }
}
