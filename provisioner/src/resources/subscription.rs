//! The upload topic's subscription of the function. It comes after the Lambda permission
//! (`permission.rs`): SNS delivers as soon as the subscription exists.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub function_arn: String,
    pub topic: String,
    pub topic_arn: String,
}

/// The subscription's ARN.
pub type Current = String;

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        function_arn: stack.arns.function.clone(),
        topic: stack.names.upload_topic.clone(),
        topic_arn: stack.arns.upload_topic.clone(),
    }
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
        let mut pages = stack
            .aws
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(&self.topic_arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) if error_code(&e) == Some("NotFound") => break,
                Err(e) => return Err(e).explain(stack.aws, "sns:ListSubscriptionsByTopic"),
            };
            let ours = page.subscriptions().iter().find(|s| {
                s.protocol() == Some("lambda") && s.endpoint() == Some(self.function_arn.as_str())
            });
            if let Some(s) = ours {
                // "PendingConfirmation" is not an ARN; lambda subscriptions confirm at once.
                return Ok(s
                    .subscription_arn()
                    .filter(|a| a.starts_with("arn:"))
                    .map(str::to_string));
            }
        }
        Ok(None)
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        match current {
            Some(_) => Action::Unchanged,
            None => Action::Create,
        }
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        _: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        stack
            .aws
            .sns
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol("lambda")
            .endpoint(&self.function_arn)
            .return_subscription_arn(true)
            .send()
            .await
            .explain(stack.aws, "sns:Subscribe")?;
        Ok(())
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let Some(arn) = self.describe(stack, &mut Known::default()).await? else {
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
