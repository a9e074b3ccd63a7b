//! What an invocation names: the objects in S3 notifications (direct or wrapped in SNS) and in backfill
//! lists, created or removed, or nothing at all (`s3:TestEvent`). Keys come out decoded, exactly as
//! stored in S3; each notification's ETag and `sequencer` come along, to order the events of one key.
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

/// An object named by an event, with its key decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub change: Change,
    /// The ETag the notification names (uploads only; `None` in backfill lists).
    pub etag: Option<String>,
    /// Orders the notifications of this key (`None` in backfill lists).
    pub sequencer: Option<Sequencer>,
}

impl ObjectRef {
    /// An upload known only by its key (a backfill list, `imgdeploy invoke --local KEY`).
    pub fn created(bucket: impl Into<String>, key: impl Into<String>) -> ObjectRef {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            change: Change::Created,
            etag: None,
            sequencer: None,
        }
    }
}

/// What happened to the object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `ObjectCreated:*`: a new upload, or an overwrite.
    Created,
    /// `ObjectRemoved:*`: deleted (or, in a versioned bucket, hidden by a delete marker).
    Removed,
}

/// S3's `sequencer`: hexadecimal, of varying length. Of two events of the same key, the one with the
/// greater sequencer happened later; S3's documented comparison left-pads the shorter with zeros, then
/// compares the strings (so, as hexadecimal numbers). Sequencers of different keys are not comparable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequencer(String);

impl Sequencer {
    pub fn new(hex: &str) -> Sequencer {
        Sequencer(hex.to_ascii_uppercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialOrd for Sequencer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Sequencer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let width = self.0.len().max(other.0.len());
        let pad = |s: &str| format!("{s:0>width$}");
        pad(&self.0).cmp(&pad(&other.0))
    }
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
    /// A chunk of a fanned-out backfill carries its tag (`batch::ChunkTag`); the keys are the work.
    #[serde(default, rename = "backfill")]
    _tag: Option<Value>,
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
            .map(|key| Work::Object(ObjectRef::created(&backfill.bucket, key)))
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
    let object = record.s3.object;
    let raw_key = object.key.ok_or_else(|| missing("s3.object.key"))?;
    let key = decode_key(&raw_key).map_err(|reason| EventError::Malformed {
        what: "s3.object.key",
        index,
        reason,
    })?;
    let event_name = record.event_name.unwrap_or_default();
    let change = if event_name.starts_with("ObjectCreated:") {
        Change::Created
    } else if event_name.starts_with("ObjectRemoved:") {
        Change::Removed
    } else {
        let reason = format!(
            "event {event_name:?} is neither an upload nor a deletion (only ObjectCreated:* and ObjectRemoved:* are handled)"
        );
        return Ok(Work::Ignore {
            bucket: Some(bucket),
            key: Some(key),
            reason,
        });
    };
    Ok(Work::Object(ObjectRef {
        bucket,
        key,
        change,
        etag: object
            .e_tag
            .filter(|e| !e.is_empty() && change == Change::Created)
            .map(|e| e.trim_matches('"').to_owned()),
        sequencer: object
            .sequencer
            .filter(|s| !s.is_empty())
            .map(|s| Sequencer::new(&s)),
    }))
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

/// One S3 notification record, as S3 writes it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub key: String,
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, ...
    pub event_name: String,
    pub etag: Option<String>,
    pub sequencer: Option<String>,
}

impl Notice {
    /// An upload known by its key only.
    pub fn created(key: impl Into<String>) -> Notice {
        Notice {
            key: key.into(),
            event_name: "ObjectCreated:Put".into(),
            etag: None,
            sequencer: None,
        }
    }
}

/// The event SNS delivers to the function for uploads of `keys` to `bucket`: an S3 notification (one
/// record per key, keys URL-encoded) as the JSON message of one SNS record each, like the AWS samples.
pub fn sns_s3_event(bucket: &str, keys: &[impl AsRef<str>]) -> Value {
    let notices: Vec<Notice> = keys.iter().map(|k| Notice::created(k.as_ref())).collect();
    sns_event(bucket, &notices)
}

/// The event SNS delivers for `notices` of `bucket`, one SNS record per notice.
pub fn sns_event(bucket: &str, notices: &[Notice]) -> Value {
    let now = aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let records: Vec<Value> = notices
        .iter()
        .enumerate()
        .map(|(i, notice)| {
            let s3 = json!({"Records": [s3_record(bucket, notice, &now)]});
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

fn s3_record(bucket: &str, notice: &Notice, now: &str) -> Value {
    let mut object = json!({"key": encode_key(&notice.key)});
    if let Some(etag) = &notice.etag {
        object["eTag"] = json!(etag);
    }
    if let Some(sequencer) = &notice.sequencer {
        object["sequencer"] = json!(sequencer);
    }
    json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": now,
        "eventName": notice.event_name,
        "userIdentity": {"principalId": "imgdeploy-local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "imgdeploy",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "imgdeploy-local"}, "arn": format!("arn:aws:s3:::{bucket}")},
            "object": object
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
