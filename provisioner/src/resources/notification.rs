//! The S3 event notification: `s3:ObjectCreated:*` and (unless `[source] on_delete = "keep"`)
//! `s3:ObjectRemoved:*` under the source prefix of the originals bucket, sent to the upload topic;
//! none with `[source] trigger = "manual"` (a switch to it removes ours). Notification configurations are one document per bucket: ours is found by its Id, and
//! any other configuration on the bucket is kept.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    S3KeyFilter, TopicConfiguration,
};

pub const NOTIFICATION_ID: &str = "imgdeploy-uploads";

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub bucket: String,
    pub topic_arn: String,
    pub prefix: String,
    /// S3 event types, sorted.
    pub events: Vec<&'static str>,
    /// False with `[source] trigger = "manual"`: the stack's notification must not exist (a
    /// configuration switched to manual removes it; the bucket's other notifications stay).
    pub uploads: bool,
}

pub const CREATED: &str = "s3:ObjectCreated:*";
pub const REMOVED: &str = "s3:ObjectRemoved:*";

/// The bucket's whole notification document (ours and anybody else's).
#[derive(Debug, Clone)]
pub struct Current {
    pub config: NotificationConfiguration,
}

impl Current {
    fn ours(&self) -> Option<&TopicConfiguration> {
        self.config
            .topic_configurations()
            .iter()
            .find(|t| t.id() == Some(NOTIFICATION_ID))
    }
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        bucket: stack.names.originals_bucket.clone(),
        topic_arn: stack.arns.upload_topic.clone(),
        prefix: stack.config.source.prefix.clone(),
        events: match stack.config.source.on_delete {
            imgdeploy_function::spec::OnDelete::DeleteVariants => vec![CREATED, REMOVED],
            imgdeploy_function::spec::OnDelete::Keep => vec![CREATED],
        },
        uploads: stack.config.source.trigger == crate::config::Trigger::Upload,
    }
}

fn prefix_of(t: &TopicConfiguration) -> Option<&str> {
    let rules = t.filter()?.key()?.filter_rules();
    rules
        .iter()
        .find(|r| r.name() == Some(&FilterRuleName::Prefix))
        .and_then(|r| r.value())
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let ours = current.and_then(Current::ours);
    if !desired.uploads {
        return match ours {
            Some(_) => Action::Delete,
            None => Action::Unchanged,
        };
    }
    let Some(t) = ours else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    if t.topic_arn() != desired.topic_arn {
        changes.push("topic".to_string());
    }
    let mut events: Vec<&str> = t.events().iter().map(Event::as_str).collect();
    events.sort_unstable();
    if events != desired.events {
        changes.push(format!(
            "events {} -> {}",
            events.join(","),
            desired.events.join(",")
        ));
    }
    if prefix_of(t) != Some(desired.prefix.as_str()) {
        changes.push(format!(
            "prefix {:?} -> {:?}",
            prefix_of(t).unwrap_or(""),
            desired.prefix
        ));
    }
    Action::from_changes(changes)
}

/// Writes the bucket's notification document with ours replaced (or removed when `ours` is None).
async fn put(
    stack: &Stack<'_>,
    desired: &Desired,
    current: Option<&Current>,
    ours: Option<TopicConfiguration>,
) -> Result<()> {
    let base = current
        .map(|c| c.config.clone())
        .unwrap_or_else(|| NotificationConfiguration::builder().build());
    let mut topics: Vec<TopicConfiguration> = base
        .topic_configurations()
        .iter()
        .filter(|t| t.id() != Some(NOTIFICATION_ID))
        .cloned()
        .collect();
    topics.extend(ours);
    let config = NotificationConfiguration::builder()
        .set_topic_configurations(Some(topics))
        .set_queue_configurations(base.queue_configurations)
        .set_lambda_function_configurations(base.lambda_function_configurations)
        .set_event_bridge_configuration(base.event_bridge_configuration)
        .build();
    stack
        .aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(&desired.bucket)
        .notification_configuration(config)
        .send()
        .await
        .explain(
            stack.aws,
            &format!("s3:PutBucketNotificationConfiguration {}", desired.bucket),
        )?;
    Ok(())
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Notification;

    fn name(&self) -> &str {
        &self.bucket
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let desired = self;
        match stack
            .aws
            .s3
            .get_bucket_notification_configuration()
            .bucket(&desired.bucket)
            .send()
            .await
        {
            Ok(out) => {
                let config = NotificationConfiguration::builder()
                    .set_topic_configurations(out.topic_configurations)
                    .set_queue_configurations(out.queue_configurations)
                    .set_lambda_function_configurations(out.lambda_function_configurations)
                    .set_event_bridge_configuration(out.event_bridge_configuration)
                    .build();
                Ok(Some(Current { config }))
            }
            Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(None),
            // moto 5.2 answers an empty configuration with an empty `<GetBucketNotificationResponse/>` root that
            // the SDK cannot parse (AWS sends an empty `NotificationConfiguration`): a 200 is "no notifications".
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => {
                Ok(Some(Current {
                    config: NotificationConfiguration::builder().build(),
                }))
            }
            Err(e) => Err(e).explain(
                stack.aws,
                &format!("s3:GetBucketNotificationConfiguration {}", desired.bucket),
            ),
        }
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        diff(current, self)
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Bucket, self.bucket.clone()))
    }

    /// Must run after the upload topic's policy exists: S3 checks that it may publish, and refuses otherwise.
    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let desired = self;
        if !desired.uploads {
            return put(stack, desired, current, None).await;
        }
        let rule = FilterRule::builder()
            .name(FilterRuleName::Prefix)
            .value(&desired.prefix)
            .build();
        let ours = TopicConfiguration::builder()
            .id(NOTIFICATION_ID)
            .topic_arn(&desired.topic_arn)
            .set_events(Some(
                desired.events.iter().map(|e| Event::from(*e)).collect(),
            ))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().filter_rules(rule).build())
                    .build(),
            )
            .build()?;
        put(stack, desired, current, Some(ours)).await
    }

    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let desired = self;
        let current = desired.describe(stack, &mut Known::default()).await?;
        if current.as_ref().and_then(Current::ours).is_none() {
            return Ok(Action::Absent);
        }
        put(stack, desired, current.as_ref(), None).await?;
        Ok(Action::Delete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> Desired {
        Desired {
            bucket: "acme-originals".into(),
            topic_arn: "arn:aws:sns:us-east-1:1:acme-uploads".into(),
            prefix: "originals/".into(),
            events: vec![CREATED, REMOVED],
            uploads: true,
        }
    }

    fn current(prefix: &str, id: &str) -> Current {
        let rule = FilterRule::builder()
            .name(FilterRuleName::Prefix)
            .value(prefix)
            .build();
        let t = TopicConfiguration::builder()
            .id(id)
            .topic_arn(desired().topic_arn)
            .events(Event::from(REMOVED))
            .events(Event::from(CREATED))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().filter_rules(rule).build())
                    .build(),
            )
            .build()
            .unwrap();
        Current {
            config: NotificationConfiguration::builder()
                .topic_configurations(t)
                .build(),
        }
    }

    #[test]
    fn ours_is_found_by_id() {
        assert_eq!(
            diff(Some(&current("originals/", NOTIFICATION_ID)), &desired()),
            Action::Unchanged
        );
        assert_eq!(
            diff(Some(&current("originals/", "someone-elses")), &desired()),
            Action::Create
        );
        assert_eq!(diff(None, &desired()), Action::Create);
    }

    #[test]
    fn a_changed_prefix_is_an_update() {
        let Action::Update { changes } =
            diff(Some(&current("uploads/", NOTIFICATION_ID)), &desired())
        else {
            panic!()
        };
        assert_eq!(changes, ["prefix \"uploads/\" -> \"originals/\""]);
    }

    #[test]
    fn a_manual_trigger_removes_ours_and_leaves_the_others() {
        let manual = Desired {
            uploads: false,
            ..desired()
        };
        assert_eq!(
            diff(Some(&current("originals/", NOTIFICATION_ID)), &manual),
            Action::Delete
        );
        assert_eq!(
            diff(Some(&current("originals/", "someone-elses")), &manual),
            Action::Unchanged
        );
        assert_eq!(diff(None, &manual), Action::Unchanged);
    }
}
