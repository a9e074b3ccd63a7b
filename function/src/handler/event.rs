//! What an invocation names: the objects in S3 notifications (direct or wrapped in SNS), in backfill
//! lists, or nothing at all (`s3:TestEvent`, deletions). Keys come out decoded, exactly as stored in S3.
use aws_lambda_events::event::s3::S3Entity;
use aws_lambda_events::event::sns::SnsRecord;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Value};

/// One item of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// An object to turn into variants.
    Object(ObjectRef),
    /// Recognised, but not work for this function (logged and counted, never retried).
    Ignore {
        bucket: Option<String>,
        key: Option<String>,
        reason: String,
    },
}

/// An uploaded object, with its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
}

/// The event is not one this function understands. It fails the invocation, so that the event is kept
/// (retries, then the dead-letter topic) instead of being dropped.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("unrecognised event (neither S3, SNS-wrapped S3 nor a backfill list): {0}")]
    Unrecognised(String),
    #[error("malformed {what} in record {index}: {reason}")]
    Malformed {
        what: &'static str,
        index: usize,
        reason: String,
    },
}

/// A backfill: raw (not URL-encoded) keys of one bucket, e.g. `{"bucket": "b", "keys": ["originals/a.jpg"]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Backfill {
    bucket: String,
    keys: Vec<String>,
}

/// An S3 record, read leniently: only the event name, bucket and key matter, and emulators omit some
/// fields that `aws_lambda_events::S3EventRecord` requires (moto sends no `userIdentity`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Record {
    #[serde(default)]
    event_name: Option<String>,
    s3: S3Entity,
}

/// SNS delivers the S3 notification as a JSON string inside the SNS record; it is never nested deeper.
const MAX_DEPTH: usize = 2;

/// Everything `event` asks for, in order.
pub fn parse_event(event: &Value) -> Result<Vec<Work>, EventError> {
    parse_at(event, 0)
}

fn parse_at(event: &Value, depth: usize) -> Result<Vec<Work>, EventError> {
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let mut out = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            out.extend(parse_record(record, index, depth)?);
        }
        return Ok(out);
    }
    if event.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        let bucket = event
            .get("Bucket")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Ok(vec![Work::Ignore {
            bucket,
            key: None,
            reason: "s3:TestEvent (sent once when the notification is configured)".into(),
        }]);
    }
    if event.get("bucket").is_some() && event.get("keys").is_some() {
        let backfill: Backfill =
            serde_json::from_value(event.clone()).map_err(|e| EventError::Malformed {
                what: "backfill list",
                index: 0,
                reason: e.to_string(),
            })?;
        return Ok(backfill
            .keys
            .into_iter()
            .map(|key| {
                Work::Object(ObjectRef {
                    bucket: backfill.bucket.clone(),
                    key,
                })
            })
            .collect());
    }
    Err(EventError::Unrecognised(abbreviate(event)))
}

fn parse_record(record: &Value, index: usize, depth: usize) -> Result<Vec<Work>, EventError> {
    let source = record
        .get("EventSource")
        .or_else(|| record.get("eventSource"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match source {
        "aws:sns" if depth < MAX_DEPTH => {
            let sns: SnsRecord =
                serde_json::from_value(record.clone()).map_err(|e| EventError::Malformed {
                    what: "SNS record",
                    index,
                    reason: e.to_string(),
                })?;
            let inner: Value =
                serde_json::from_str(&sns.sns.message).map_err(|e| EventError::Malformed {
                    what: "SNS message (not JSON)",
                    index,
                    reason: e.to_string(),
                })?;
            parse_at(&inner, depth + 1)
        }
        "aws:s3" => {
            let s3: S3Record =
                serde_json::from_value(record.clone()).map_err(|e| EventError::Malformed {
                    what: "S3 record",
                    index,
                    reason: e.to_string(),
                })?;
            Ok(vec![s3_work(s3, index)?])
        }
        _ => Err(EventError::Unrecognised(abbreviate(record))),
    }
}

fn s3_work(record: S3Record, index: usize) -> Result<Work, EventError> {
    let missing = |what: &'static str| EventError::Malformed {
        what,
        index,
        reason: "missing".into(),
    };
    let bucket = record
        .s3
        .bucket
        .name
        .ok_or_else(|| missing("s3.bucket.name"))?;
    let raw_key = record
        .s3
        .object
        .key
        .ok_or_else(|| missing("s3.object.key"))?;
    let key = decode_key(&raw_key).map_err(|reason| EventError::Malformed {
        what: "s3.object.key",
        index,
        reason,
    })?;
    let event_name = record.event_name.unwrap_or_default();
    if !event_name.starts_with("ObjectCreated:") {
        let reason = format!(
            "event {event_name:?} is not an upload (only ObjectCreated:* events are processed)"
        );
        return Ok(Work::Ignore {
            bucket: Some(bucket),
            key: Some(key),
            reason,
        });
    }
    Ok(Work::Object(ObjectRef { bucket, key }))
}

/// Decodes a key as S3 notifications encode it: `+` is a space, then percent-decoding (UTF-8).
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| format!("{raw:?} is not UTF-8 once percent-decoded: {e}"))
}

/// What S3 leaves unencoded in notification keys (besides alphanumerics); a space becomes `+`.
const S3_KEY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*')
    .remove(b'/');

/// Encodes a key the way S3 notifications do (the inverse of [`decode_key`]).
pub fn encode_key(key: &str) -> String {
    key.split(' ')
        .map(|part| utf8_percent_encode(part, S3_KEY_KEEP).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// The event SNS delivers to the function for uploads of `keys` to `bucket`: an S3 notification (one
/// record per key, keys URL-encoded) as the JSON message of one SNS record each, like the AWS samples.
pub fn sns_s3_event(bucket: &str, keys: &[impl AsRef<str>]) -> Value {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let records: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let s3 = json!({"Records": [s3_record(bucket, &encode_key(key.as_ref()), &now)]});
            json!({
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:000000000000:imgdeploy-local:local",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": format!("imgdeploy-local-{i}"),
                    "TopicArn": "arn:aws:sns:us-east-1:000000000000:imgdeploy-local",
                    "Subject": "Amazon S3 Notification",
                    "Message": s3.to_string(),
                    "Timestamp": now,
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {}
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

fn s3_record(bucket: &str, encoded_key: &str, now: &str) -> Value {
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": now,
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "imgdeploy-local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "imgdeploy",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "imgdeploy-local"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": {"key": encoded_key}
        }
    })
}

fn abbreviate(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
