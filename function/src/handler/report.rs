//! Failure reports: a permanent failure of one upload is published to the failure topic and kept as a
//! JSON object under the failures prefix of the processed bucket (so that `imgdeploy status` lists it),
//! once per source version: a duplicate delivery of the same broken upload does not report it again.
use super::storage::{self, Condition, Put, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What went wrong with one upload, and where to find it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    pub bucket: String,
    pub key: String,
    /// Of the source object, when it could be read.
    pub etag: Option<String>,
    /// Stable snake_case reason: `object_gone`, `too_many_bytes`, `corrupt`, `unsupported_format`,
    /// `too_many_pixels`, `decompression_bomb`, `panic`, ...
    pub error_kind: String,
    pub message: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION` (`local` when run by `imgdeploy invoke --local`).
    pub function_version: String,
    pub function_name: String,
    /// RFC 3339, UTC.
    pub time: String,
}

/// Where the report of `source_key` is kept in the processed bucket.
pub fn report_key(failures_prefix: &str, source_key: &str) -> String {
    format!("{failures_prefix}{source_key}.json")
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("publishing the failure report of {key} to {topic} failed (transient): {message}")]
    Publish {
        key: String,
        topic: String,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where reports go.
pub struct Destination<'a> {
    pub store: &'a dyn Store,
    pub sns: &'a aws_sdk_sns::Client,
    pub topic_arn: &'a str,
    pub bucket: &'a str,
    pub failures_prefix: &'a str,
}

/// Publishes and stores `report`, unless the same report (same source ETag and kind) is already stored.
/// Returns whether it was new. Publishing comes first: if storing then fails, the retry publishes again
/// (at least once), rather than never.
pub async fn file(dest: &Destination<'_>, report: &FailureReport) -> Result<bool, ReportError> {
    let key = report_key(dest.failures_prefix, &report.key);
    if let Some(existing) = storage::head_output(dest.store, dest.bucket, &key).await? {
        let same_etag = existing.metadata.get("source-etag").map(String::as_str)
            == Some(report.etag.as_deref().unwrap_or(""));
        let same_kind = existing.metadata.get("error-kind") == Some(&report.error_kind);
        if same_etag && same_kind {
            return Ok(false);
        }
    }
    let body = serde_json::to_string_pretty(report).expect("a report serializes");
    let subject = format!("an upload failed ({})", report.error_kind);
    publish(dest, &subject, &body)
        .await
        .map_err(|message| ReportError::Publish {
            key: report.key.clone(),
            topic: dest.topic_arn.into(),
            message,
        })?;
    let metadata = HashMap::from([
        (
            "source-etag".to_owned(),
            report.etag.clone().unwrap_or_default(),
        ),
        ("error-kind".to_owned(), ascii_only(&report.error_kind)),
    ]);
    let put = Put {
        bucket: dest.bucket,
        key: &key,
        body: body.into_bytes(),
        content_type: "application/json",
        cache_control: Some("no-store"),
        metadata,
        condition: Condition::Always,
    };
    dest.store.put(put).await?;
    Ok(true)
}

/// Removes the report of an upload that now rendered (a fixed re-upload) or was deleted, if there is
/// one. A `DELETE` of a missing key succeeds (and S3 does not charge for it), so nothing is read first.
/// A refusal fails the record, so that the retry removes it: `imgdeploy status` must never list a
/// failure that is no longer true.
pub async fn clear(dest: &Destination<'_>, source_key: &str) -> Result<(), StoreError> {
    let key = report_key(dest.failures_prefix, source_key);
    dest.store.delete(dest.bucket, &key, None).await
}

/// Publishes a failure that belongs to no one upload (a failed CDN invalidation) to the failure
/// topic. Best effort: the caller has logged it already.
pub async fn notify(dest: &Destination<'_>, kind: &str, message: &str) {
    if let Err(error) = publish(dest, kind, message).await {
        tracing::error!(kind, error, "publishing to the failure topic failed");
    }
}

/// Publishes to the failure topic with the subject `imgdeploy: <subject>`.
async fn publish(dest: &Destination<'_>, subject: &str, message: &str) -> Result<(), String> {
    dest.sns
        .publish()
        .topic_arn(dest.topic_arn)
        .subject(format!("imgdeploy: {}", ascii_only(subject)))
        .message(message)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(&e).to_string())
}

/// SNS subjects and S3 metadata values must be printable ASCII.
fn ascii_only(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_shape_is_stable() {
        let report = FailureReport {
            bucket: "src".into(),
            key: "originals/bad.jpg".into(),
            etag: Some("abc".into()),
            error_kind: "corrupt".into(),
            message: "corrupt image: premature end".into(),
            function_version: "3".into(),
            function_name: "imgdeploy-demo".into(),
            time: "2026-01-01T00:00:00Z".into(),
        };
        let v = serde_json::to_value(&report).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "bucket",
                "error_kind",
                "etag",
                "function_name",
                "function_version",
                "key",
                "message",
                "time"
            ]
        );
        assert_eq!(serde_json::from_value::<FailureReport>(v).unwrap(), report);
        assert_eq!(
            report_key("_failures/", "originals/a b.jpg"),
            "_failures/originals/a b.jpg.json"
        );
    }

    #[test]
    fn time_is_rfc3339_utc() {
        let t = now_rfc3339();
        assert!(
            t.ends_with('Z') && t.len() >= 20 && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }

    #[test]
    fn ascii_only_replaces_what_headers_refuse() {
        assert_eq!(ascii_only("corrupt"), "corrupt");
        assert_eq!(ascii_only("é\n"), "__");
    }
}
