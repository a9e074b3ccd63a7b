//! Many originals at once: the backfill's fan-out and S3 Batch Operations. One orchestration event
//! makes the function list the originals and invoke itself asynchronously once per chunk
//! (`fanout.rs`); each chunk is an ordinary backfill list that also records its result under
//! [`BACKFILL_PREFIX`] of the processed bucket, so that `imgdeploy backfill --wait` can count progress
//! with one listing. S3 Batch Operations tasks (`operations.rs`) are answered with a result per task.
//!
//! Promises: a chunk never fans out again (only an orchestration event lists, and a chunk is not
//! one), an orchestration continues itself at most [`MAX_PARTS`] times, and whatever the event, the
//! work of one original is the same `created::process` an upload gets, so finished work is skipped.
pub mod fanout;
pub mod operations;

use super::{Handler, HandlerError, InvocationSummary};
use crate::handler::storage::{Condition, Put};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

pub use fanout::{Invoker, LambdaInvoker};

/// Where batches record their progress in the processed bucket (never served by the CDN, kept 30
/// days by the bucket's lifecycle rule, like `_failures/`).
pub const BACKFILL_PREFIX: &str = "_backfill/";

/// The top-level member of an orchestration event: `{"imgdeploy_backfill": {...}}`.
pub const ORCHESTRATION_KEY: &str = "imgdeploy_backfill";

/// How many times one orchestration may continue itself (each part lists until its invocation is
/// close to its timeout, then hands the rest to the next).
pub const MAX_PARTS: u32 = 100;

/// A backfill to fan out: list `prefixes` of `bucket`, invoke this function once per `chunk_size` keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Orchestration {
    /// Names this backfill's records (`_backfill/<id>/`); the CLI makes it unique.
    pub id: String,
    pub bucket: String,
    pub prefixes: Vec<String>,
    pub chunk_size: usize,
    /// Where a continued orchestration starts; `None` for the first part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
}

/// How far the previous parts of an orchestration got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    pub part: u32,
    pub prefix_index: usize,
    pub start_after: Option<String>,
    pub listed: u64,
    pub chunks: u64,
}

/// The tag a chunk event carries: `{"bucket": ..., "keys": [...], "backfill": {"id": ..., "chunk": 3}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkTag {
    pub id: String,
    pub chunk: u64,
}

/// What one chunk did, written to `_backfill/<id>/chunks/<chunk>.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub chunk: u64,
    pub keys: usize,
    pub processed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub ignored: usize,
    /// Records that hit a fault a retry may heal: Lambda retries the chunk, then sends it to the
    /// failure queue (`imgdeploy redrive`). A later attempt overwrites this record.
    pub retrying: usize,
    /// Each permanently failed original and why (also in `_failures/`).
    pub failures: Vec<KeyFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyFailure {
    pub key: String,
    pub reason: String,
}

/// Written once the whole listing is done and every chunk is invoked: `_backfill/<id>/listed.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedRecord {
    pub originals: u64,
    pub chunks: u64,
    pub parts: u32,
}

pub fn chunk_record_key(id: &str, chunk: u64) -> String {
    format!("{BACKFILL_PREFIX}{id}/chunks/{chunk:08}.json")
}

pub fn chunks_prefix(id: &str) -> String {
    format!("{BACKFILL_PREFIX}{id}/chunks/")
}

pub fn listed_record_key(id: &str) -> String {
    format!("{BACKFILL_PREFIX}{id}/listed.json")
}

/// Whether `event` is one that only [`Handler::invoke`] answers (an orchestration or S3 Batch
/// Operations tasks), not records.
pub fn is_batch_event(event: &Value) -> bool {
    !matches!(kind_of(event), Ok(Kind::Records))
}

/// The tag of a chunk event, if `event` is one.
pub fn chunk_tag(event: &Value) -> Option<ChunkTag> {
    serde_json::from_value(event.get("backfill")?.clone()).ok()
}

/// The three kinds of invocation.
enum Kind {
    Orchestration(Orchestration),
    Operations,
    Records,
}

fn kind_of(event: &Value) -> Result<Kind, HandlerError> {
    if let Some(inner) = event.get(ORCHESTRATION_KEY) {
        let o = serde_json::from_value(inner.clone()).map_err(|e| {
            HandlerError::Event(super::EventError::Malformed {
                what: "backfill orchestration",
                index: 0,
                reason: e.to_string(),
            })
        })?;
        return Ok(Kind::Orchestration(o));
    }
    if event.get("invocationSchemaVersion").is_some() && event.get("tasks").is_some() {
        return Ok(Kind::Operations);
    }
    Ok(Kind::Records)
}

impl Handler {
    /// Any event the function receives: an orchestration (fan out), S3 Batch Operations tasks (a
    /// result per task, never an error), or records (uploads, backfill lists and chunks). The answer
    /// is what Lambda returns to a synchronous caller.
    pub async fn invoke(
        &self,
        event: Value,
        deadline: Option<Instant>,
    ) -> Result<Value, HandlerError> {
        match kind_of(&event)? {
            Kind::Orchestration(o) => {
                let done = fanout::orchestrate(self, o, deadline).await?;
                Ok(serde_json::to_value(done).expect("plain data"))
            }
            Kind::Operations => Ok(operations::answer(self, &event, deadline).await),
            Kind::Records => self
                .handle_until(event, deadline)
                .await
                .map(|s| serde_json::to_value(s).expect("plain data")),
        }
    }

    /// Writes a chunk's record; a failure to write it is logged (the work itself is done).
    pub(super) async fn record_chunk(
        &self,
        tag: &ChunkTag,
        result: &Result<InvocationSummary, HandlerError>,
    ) {
        let record = chunk_record(tag.chunk, result);
        let key = chunk_record_key(&tag.id, tag.chunk);
        if let Err(e) = put_record(self, &key, &record).await {
            tracing::error!(error = %e, key = key.as_str(), "could not record the chunk's result");
        }
    }
}

/// Writes a batch record (JSON, never cached) to the processed bucket.
async fn put_record(
    h: &Handler,
    key: &str,
    record: &impl Serialize,
) -> Result<(), crate::handler::storage::StoreError> {
    h.store
        .put(Put {
            bucket: &h.settings.processed_bucket,
            key,
            body: serde_json::to_vec(record).expect("plain data"),
            content_type: "application/json",
            cache_control: Some("no-store"),
            metadata: HashMap::new(),
            condition: Condition::Always,
        })
        .await
}

fn chunk_record(chunk: u64, result: &Result<InvocationSummary, HandlerError>) -> ChunkRecord {
    let (summary, retrying) = match result {
        Ok(s) => (s, 0),
        Err(HandlerError::Retry { failures, summary }) => (summary.as_ref(), failures.len()),
        Err(HandlerError::Event(_)) | Err(HandlerError::Fanout(_)) => {
            return ChunkRecord {
                chunk,
                ..ChunkRecord::default()
            }
        }
    };
    let failures = summary
        .records
        .iter()
        .filter_map(|r| match &r.outcome {
            super::Outcome::Failed { report, .. } => Some(KeyFailure {
                key: report.key.clone(),
                reason: format!("{}: {}", report.error_kind, report.message),
            }),
            _ => None,
        })
        .collect();
    ChunkRecord {
        chunk,
        keys: summary.records.len() + retrying,
        processed: summary.processed,
        skipped: summary.skipped,
        failed: summary.failed,
        ignored: summary.ignored,
        retrying,
        failures,
    }
}

#[cfg(test)]
mod tests;
