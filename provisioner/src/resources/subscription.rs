//! The upload topic's subscription of the function. It comes after the Lambda permission
//! (`permission.rs`): SNS delivers as soon as the subscription exists. Its redrive policy sends an
//! upload SNS could not deliver to the function (after SNS's own retries) to the failure queue, so
//! that it is kept, not dropped.
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
    pub function_arn: String,
    pub topic: String,
    pub topic_arn: String,
    /// The `RedrivePolicy` attribute: the failure queue.
    pub redrive: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub arn: String,
    pub redrive: Option<String>,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        function_arn: stack.arns.function.clone(),
        topic: stack.names.upload_topic.clone(),
        topic_arn: stack.arns.upload_topic.clone(),
        redrive: serde_json::json!({ "deadLetterTargetArn": stack.arns.failure_queue }),
    }
}

/// Whether the stored redrive policy is the desired one (compared as JSON).
fn same_redrive(current: Option<&str>, desired: &Value) -> bool {
    current
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .is_some_and(|c| &c == desired)
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Subscription;

    fn name(&self) -> &str {
        &self.topic
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Topic, self.topic.clone()))
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let Some(arn) = self.find(stack).await? else {
            return Ok(None);
        };
        let attributes = stack
            .aws
            .sns
            .get_subscription_attributes()
            .subscription_arn(&arn)
            .send()
            .await
            .explain(stack.aws, "sns:GetSubscriptionAttributes")?
            .attributes
            .unwrap_or_default();
        Ok(Some(Current {
            arn,
            redrive: attributes.get("RedrivePolicy").cloned(),
        }))
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        match current {
            None => Action::Create,
            Some(c) if same_redrive(c.redrive.as_deref(), &self.redrive) => Action::Unchanged,
            Some(_) => Action::Update {
                changes: vec!["redrive policy".into()],
            },
        }
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let sns = &stack.aws.sns;
        match current {
            None => {
                sns.subscribe()
                    .topic_arn(&self.topic_arn)
                    .protocol("lambda")
                    .endpoint(&self.function_arn)
                    .attributes("RedrivePolicy", self.redrive.to_string())
                    .return_subscription_arn(true)
                    .send()
                    .await
                    .explain(stack.aws, "sns:Subscribe")?;
            }
            Some(c) => {
                sns.set_subscription_attributes()
                    .subscription_arn(&c.arn)
                    .attribute_name("RedrivePolicy")
                    .attribute_value(self.redrive.to_string())
                    .send()
                    .await
                    .explain(stack.aws, "sns:SetSubscriptionAttributes RedrivePolicy")?;
            }
        }
        Ok(())
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let Some(arn) = self.find(stack).await? else {
            return Ok(Action::Absent);
        };
        match stack
            .aws
            .sns
            .unsubscribe()
            .subscription_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(Action::Delete),
            Err(e) if error_code(&e) == Some("NotFound") => Ok(Action::Absent),
            Err(e) => Err(e).explain(stack.aws, "sns:Unsubscribe"),
        }
    }
}

impl Desired {
    /// The ARN of the topic's subscription of the function, if any.
    async fn find(&self, stack: &Stack<'_>) -> Result<Option<String>> {
        let found = find(stack, &self.topic_arn, |s| {
            s.protocol() == Some("lambda") && s.endpoint() == Some(self.function_arn.as_str())
        })
        .await?;
        // "PendingConfirmation" is not an ARN; lambda subscriptions confirm at once.
        Ok(found.filter(|a| a.starts_with("arn:")))
    }
}

/// The `SubscriptionArn` (an ARN, or `PendingConfirmation`) of the first subscription of the topic
/// that `matches`; `None` when there is none or the topic is gone.
pub async fn find(
    stack: &Stack<'_>,
    topic_arn: &str,
    matches: impl Fn(&aws_sdk_sns::types::Subscription) -> bool,
) -> Result<Option<String>> {
    let mut pages = stack
        .aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("NotFound") => break,
            Err(e) => return Err(e).explain(stack.aws, "sns:ListSubscriptionsByTopic"),
        };
        if let Some(s) = page.subscriptions().iter().find(|s| matches(s)) {
            return Ok(Some(s.subscription_arn().unwrap_or_default().to_string()));
        }
    }
    Ok(None)
}
