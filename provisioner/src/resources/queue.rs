//! The failure queue, `<stack>-failures` (SQS): where an event that nothing could process is kept,
//! instead of being published to a topic nobody reads. Two things send to it: Lambda, with the
//! function's role, once an event has used up its retries or its age (the function's dead-letter
//! target); and SNS, for an upload it could not deliver to the function (the subscription's redrive
//! policy). Encrypted (SSE-SQS), messages kept 14 days (SQS's longest), a policy that admits those two
//! senders only. `imgdeploy redrive` re-invokes the function with what it holds.
use crate::aws::{error_code, Explain};
use crate::policy::same_policy;
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::{Context, Result};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Fourteen days, in seconds: the longest SQS keeps a message.
pub const RETENTION_S: u32 = 14 * 24 * 3600;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub policy: Value,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub url: String,
    /// `GetQueueAttributes` as SQS answers it.
    pub attributes: HashMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.failure_queue.clone(),
        policy: stack.policies.failure_queue(),
        tags: stack.tags(),
    }
}

/// The attributes imgdeploy sets, as SQS spells them.
fn attributes(desired: &Desired) -> Vec<(QueueAttributeName, String)> {
    vec![
        (QueueAttributeName::SqsManagedSseEnabled, "true".into()),
        (
            QueueAttributeName::MessageRetentionPeriod,
            RETENTION_S.to_string(),
        ),
        (QueueAttributeName::Policy, desired.policy.to_string()),
    ]
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let Some(c) = current else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    for (name, want) in attributes(desired) {
        let have = c.attributes.get(name.as_str()).map(String::as_str);
        let same = match name {
            QueueAttributeName::Policy => have.is_some_and(|h| same_policy(h, &desired.policy)),
            _ => have == Some(want.as_str()),
        };
        if !same {
            changes.push(format!("{name}"));
        }
    }
    changes.extend(tag_changes(&c.tags, &desired.tags));
    Action::from_changes(changes)
}

/// The queue's URL, or `None` when it does not exist.
pub async fn url(stack: &Stack<'_>, name: &str) -> Result<Option<String>> {
    match stack.aws.sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url),
        Err(e) if is_missing(error_code(&e)) => Ok(None),
        Err(e) => Err(e).explain(stack.aws, &format!("sqs:GetQueueUrl {name}")),
    }
}

fn is_missing(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
    )
}

pub async fn describe(stack: &Stack<'_>, name: &str) -> Result<Option<Current>> {
    let sqs = &stack.aws.sqs;
    let Some(url) = url(stack, name).await? else {
        return Ok(None);
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .explain(stack.aws, &format!("sqs:GetQueueAttributes {name}"))?
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect();
    let tags = sqs
        .list_queue_tags()
        .queue_url(&url)
        .send()
        .await
        .explain(stack.aws, &format!("sqs:ListQueueTags {name}"))?
        .tags
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Some(Current {
        url,
        attributes,
        tags,
    }))
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Queue;

    fn name(&self) -> &str {
        &self.name
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        describe(stack, &self.name).await
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
        let sqs = &stack.aws.sqs;
        let name = &self.name;
        let attributes: HashMap<_, _> = attributes(self).into_iter().collect();
        let Some(c) = current else {
            // CreateQueue is idempotent for the same name and attributes, and tags at creation.
            sqs.create_queue()
                .queue_name(name)
                .set_attributes(Some(attributes))
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .explain(stack.aws, &format!("sqs:CreateQueue {name}"))?;
            return Ok(());
        };
        if !tag_changes(&c.tags, &self.tags).is_empty() {
            sqs.tag_queue()
                .queue_url(&c.url)
                .set_tags(Some(self.tags.clone().into_iter().collect()))
                .send()
                .await
                .explain(stack.aws, &format!("sqs:TagQueue {name}"))?;
        }
        if diff(current, self) != Action::Unchanged {
            sqs.set_queue_attributes()
                .queue_url(&c.url)
                .set_attributes(Some(attributes))
                .send()
                .await
                .explain(stack.aws, &format!("sqs:SetQueueAttributes {name}"))?;
        }
        Ok(())
    }

    /// Deletes the queue and whatever it still holds (teardown says so in its plan).
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let Some(url) = url(stack, &self.name).await? else {
            return Ok(Action::Absent);
        };
        match stack.aws.sqs.delete_queue().queue_url(&url).send().await {
            Ok(_) => Ok(Action::Delete),
            Err(e) if is_missing(error_code(&e)) => Ok(Action::Absent),
            Err(e) => Err(e)
                .explain(stack.aws, &format!("sqs:DeleteQueue {}", self.name))
                .context("the failure queue could not be deleted"),
        }
    }
}

/// How much the failure queue holds, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    pub name: String,
    /// Messages waiting (SQS's approximate count).
    pub messages: u64,
    /// Messages received and not yet deleted (a `redrive` under way).
    pub in_flight: u64,
    /// Age in seconds of the oldest message among those sampled (up to 10), when any.
    pub oldest_age_s: Option<u64>,
}

/// The queue's depth and the age of its oldest message, or `None` when it does not exist. The age
/// comes from a sample received with a zero visibility timeout: the messages stay visible, and only
/// their receive count moves (SQS states no age without CloudWatch).
pub async fn depth(stack: &Stack<'_>) -> Result<Option<Depth>> {
    let name = &stack.names.failure_queue;
    let sqs = &stack.aws.sqs;
    let Some(url) = url(stack, name).await? else {
        return Ok(None);
    };
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .explain(stack.aws, &format!("sqs:GetQueueAttributes {name}"))?
        .attributes
        .unwrap_or_default();
    let count =
        |a: QueueAttributeName| attributes.get(&a).and_then(|v| v.parse().ok()).unwrap_or(0);
    let messages = count(QueueAttributeName::ApproximateNumberOfMessages);
    let oldest_age_s = match messages {
        0 => None,
        _ => {
            let sample = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_system_attribute_names(
                    aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp,
                )
                .send()
                .await
                .explain(stack.aws, &format!("sqs:ReceiveMessage {name}"))?;
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            sample
                .messages()
                .iter()
                .filter_map(|m| {
                    m.attributes()?
                        .get(&aws_sdk_sqs::types::MessageSystemAttributeName::SentTimestamp)?
                        .parse::<u64>()
                        .ok()
                })
                .min()
                .map(|sent| now_ms.saturating_sub(sent) / 1000)
        }
    };
    Ok(Some(Depth {
        name: name.clone(),
        messages,
        in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        oldest_age_s,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            name: "acme-failures".into(),
            policy: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
            tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
        }
    }

    fn as_created(d: &Desired) -> Current {
        Current {
            url: "http://q".into(),
            attributes: attributes(d)
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect(),
            tags: d.tags.clone(),
        }
    }

    #[test]
    fn a_queue_as_created_is_unchanged_and_each_drift_is_named() {
        let d = desired();
        let mut c = as_created(&d);
        // SQS answers more attributes than imgdeploy sets: they are not changes.
        c.attributes.insert("VisibilityTimeout".into(), "30".into());
        assert_eq!(diff(Some(&c), &d), Action::Unchanged);
        c.attributes
            .insert("MessageRetentionPeriod".into(), "345600".into());
        c.attributes.remove("SqsManagedSseEnabled");
        assert_eq!(
            diff(Some(&c), &d),
            Action::Update {
                changes: vec![
                    "SqsManagedSseEnabled".into(),
                    "MessageRetentionPeriod".into()
                ]
            }
        );
    }
}
