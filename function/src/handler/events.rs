//! `[events] processed`: telling apps when an original's variants are ready, so that they can switch
//! from the original to them, and when they are gone. One SNS message per original, to the stack's
//! processed topic (apps subscribe a queue, an HTTPS endpoint or a function):
//! - `processed`: its manifest, published once every variant object is written and before the
//!   manifest itself is, so that a failed publish leaves the manifest unwritten and the retry (which
//!   finds the manifest missing) publishes again;
//! - `deleted`: the objects deleted with it, published after the deletes.
//!
//! Delivery is at least once: a retried record may publish twice (a `processed` copy carries the same
//! source ETag in its manifest).
use super::manifest::Manifest;
use super::{Handler, RetryCause};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    Processed {
        bucket: &'a str,
        key: &'a str,
        /// Where the manifest is in the processed bucket (and so on the CDN).
        manifest_key: &'a str,
        manifest: &'a Manifest,
    },
    Deleted {
        bucket: &'a str,
        key: &'a str,
        /// The processed bucket's keys deleted with it.
        deleted: &'a [String],
    },
}

#[derive(Debug, thiserror::Error)]
#[error("publishing the {event} event of {key} to {topic} failed (transient): {message}")]
pub struct PublishError {
    pub event: &'static str,
    pub key: String,
    pub topic: String,
    pub message: String,
}

impl Event<'_> {
    fn name(&self) -> &'static str {
        match self {
            Event::Processed { .. } => "processed",
            Event::Deleted { .. } => "deleted",
        }
    }
    fn key(&self) -> &str {
        match self {
            Event::Processed { key, .. } | Event::Deleted { key, .. } => key,
        }
    }
}

/// Publishes `event` when the stack has a processed topic; a failure is transient (the record is
/// retried).
pub async fn publish(h: &Handler, event: &Event<'_>) -> Result<(), RetryCause> {
    let Some(topic) = h.settings.processed_topic_arn.as_deref() else {
        return Ok(());
    };
    let message = serde_json::to_string(event).expect("an event serializes");
    h.sns
        .publish()
        .topic_arn(topic)
        .message(message)
        .message_attributes(
            "event",
            aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(event.name())
                .build()
                .expect("data type is set"),
        )
        .send()
        .await
        .map_err(|e| PublishError {
            event: event.name(),
            key: event.key().to_owned(),
            topic: topic.to_owned(),
            message: aws_sdk_sns::error::DisplayErrorContext(&e).to_string(),
        })?;
    Ok(())
}
