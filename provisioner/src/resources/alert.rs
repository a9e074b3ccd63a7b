//! `[alerts] email`: an e-mail subscription to the failure topic, so that failure reports reach a
//! person. SNS mails a confirmation link first; until it is followed, the subscription is pending
//! (and `status` says so). A pending subscription cannot be unsubscribed: it goes with its topic.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// The address; empty when no `[alerts] email` is configured (unwanted).
    pub email: String,
    pub topic: String,
    pub topic_arn: String,
}

/// The subscription's ARN, or `PendingConfirmation`.
pub type Current = String;

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        email: stack.config.alerts.email.clone().unwrap_or_default(),
        topic: stack.names.failure_topic.clone(),
        topic_arn: stack.arns.failure_topic.clone(),
    }
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Alert;

    fn name(&self) -> &str {
        if self.email.is_empty() {
            "e-mail"
        } else {
            &self.email
        }
    }

    fn wanted(&self) -> bool {
        !self.email.is_empty()
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Topic, self.topic.clone()))
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        crate::resources::subscription::find(stack, &self.topic_arn, |s| {
            s.protocol() == Some("email") && s.endpoint() == Some(self.email.as_str())
        })
        .await
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
        task: &Task,
    ) -> Result<()> {
        stack
            .aws
            .sns
            .subscribe()
            .topic_arn(&self.topic_arn)
            .protocol("email")
            .endpoint(&self.email)
            .send()
            .await
            .explain(stack.aws, &format!("sns:Subscribe email {}", self.email))?;
        task.set_message("confirm the subscription from the e-mail SNS sends");
        Ok(())
    }

    /// Unsubscribes a confirmed address; a pending one goes with the topic.
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let Some(arn) = self.describe(stack, &mut Known::default()).await? else {
            return Ok(Action::Absent);
        };
        if !arn.starts_with("arn:") {
            return Ok(Action::Absent);
        }
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
