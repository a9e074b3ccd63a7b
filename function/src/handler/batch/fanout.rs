//! The backfill's fan-out, the two-tier design of "orchestrator Lambda, worker Lambdas" done inside
//! one function: an orchestration event lists the originals a page at a time and queues one
//! asynchronous invocation of this same function per chunk of keys (`InvocationType=Event`). Lambda's
//! own queue then runs the chunks within the function's reserved concurrency, retries a failed one
//! and finally sends it to the failure queue, as for uploads.
//!
//! A part of the orchestration that comes close to its timeout queues the rest of the listing as a
//! continuation of itself ([`Resume`]), at most [`MAX_PARTS`] times. Chunks are plain backfill lists:
//! nothing in them lists or invokes, so the depth is bounded at two.
use super::{
    listed_record_key, ChunkTag, ListedRecord, Orchestration, Resume, MAX_PARTS, ORCHESTRATION_KEY,
};
use crate::handler::{Handler, HandlerError};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Queues asynchronous invocations of the function.
pub trait Invoker: Send + Sync {
    /// One `Invoke` with `InvocationType=Event`: Lambda queues `payload` and answers 202.
    fn invoke_async(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;
}

/// The real [`Invoker`]: Lambda's `Invoke` API on the named function.
pub struct LambdaInvoker {
    pub client: aws_sdk_lambda::Client,
    pub function: String,
}

impl Invoker for LambdaInvoker {
    fn invoke_async(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        async move {
            let out = self
                .client
                .invoke()
                .function_name(&self.function)
                .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "lambda:Invoke {}: {}",
                        self.function,
                        aws_sdk_lambda::error::DisplayErrorContext(&e)
                    )
                })?;
            match out.status_code() {
                202 => Ok(()),
                other => Err(format!(
                    "lambda:Invoke {} answered {other}, not 202 (queued)",
                    self.function
                )),
            }
        }
        .boxed()
    }
}

/// Keys per chunk, at most: an asynchronous payload is at most 256 KB, and a key at most 1 KB.
pub const MAX_CHUNK_KEYS: usize = 200;

/// Chunk invocations queued at once.
const ENQUEUE_CONCURRENCY: usize = 32;

/// A part hands the rest of the listing over when less than this is left before its timeout.
const HANDOVER_MARGIN: Duration = Duration::from_secs(30);

/// What one part of an orchestration did (the invocation's answer, and its log line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fanned {
    pub id: String,
    pub part: u32,
    /// Originals listed and chunks queued by this part and the ones before it.
    pub listed: u64,
    pub chunks: u64,
    /// The listing continues in another part.
    pub continued: bool,
    /// This part's time listing, and queueing invocations (milliseconds).
    pub listing_ms: u64,
    pub queueing_ms: u64,
    /// Why nothing (more) was fanned out; `None` when all went well.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// Why this function must not fan out `o`.
fn refusal(h: &Handler, o: &Orchestration) -> Option<String> {
    let part = o.resume.as_ref().map_or(0, |r| r.part);
    if part >= MAX_PARTS {
        return Some(format!(
            "backfill {} reached {MAX_PARTS} parts of listing; the rest is not fanned out (use `imgdeploy backfill --engine batch` for sets this large)",
            o.id
        ));
    }
    if o.chunk_size == 0 || o.chunk_size > MAX_CHUNK_KEYS {
        return Some(format!(
            "backfill {}: chunk_size {} is outside 1..={MAX_CHUNK_KEYS}",
            o.id, o.chunk_size
        ));
    }
    let source = &h.settings.source_prefix;
    if let Some(p) = o.prefixes.iter().find(|p| !p.starts_with(source.as_str())) {
        return Some(format!(
            "backfill {}: prefix {p:?} is outside the source prefix {source:?}",
            o.id
        ));
    }
    if h.invoker.is_none() {
        return Some(
            "this handler has no way to invoke the function (not running on Lambda)".into(),
        );
    }
    None
}

fn fault(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Fanout(e.to_string())
}

/// Lists the originals of `o` and queues one invocation per chunk. A listing or invocation error
/// fails the invocation, so that Lambda retries it (chunks queued twice are skipped as done work).
pub async fn orchestrate(
    h: &Handler,
    o: Orchestration,
    deadline: Option<Instant>,
) -> Result<Fanned, HandlerError> {
    let mut at = o.resume.clone().unwrap_or_default();
    let mut fanned = Fanned {
        id: o.id.clone(),
        part: at.part,
        ..Fanned::default()
    };
    if let Some(reason) = refusal(h, &o) {
        tracing::error!(
            backfill = o.id.as_str(),
            reason = reason.as_str(),
            "backfill refused"
        );
        fanned.refused = Some(reason);
        return Ok(fanned);
    }
    let invoker = h.invoker.as_deref().expect("checked by refusal");
    let mut pending: Vec<String> = Vec::new();
    while at.prefix_index < o.prefixes.len() {
        let prefix = &o.prefixes[at.prefix_index];
        let listing = Instant::now();
        let page = h
            .store
            .list_page(&o.bucket, prefix, at.start_after.as_deref())
            .await
            .map_err(fault)?;
        fanned.listing_ms += listing.elapsed().as_millis() as u64;
        at.start_after = page.keys.last().cloned();
        let mut full = Vec::new();
        for key in page.keys.into_iter().filter(|k| !k.ends_with('/')) {
            at.listed += 1;
            pending.push(key);
            if pending.len() == o.chunk_size {
                full.push(std::mem::take(&mut pending));
            }
        }
        if !page.truncated {
            at.prefix_index += 1;
            at.start_after = None;
        }
        let last = at.prefix_index == o.prefixes.len();
        let handover = !last && deadline.is_some_and(|d| d <= Instant::now() + HANDOVER_MARGIN);
        if (last || handover) && !pending.is_empty() {
            full.push(std::mem::take(&mut pending));
        }
        let queueing = Instant::now();
        queue_chunks(invoker, &o, &mut at, full).await?;
        fanned.queueing_ms += queueing.elapsed().as_millis() as u64;
        if handover {
            let next = Orchestration {
                resume: Some(Resume {
                    part: at.part + 1,
                    ..at.clone()
                }),
                ..o.clone()
            };
            let payload = json!({ ORCHESTRATION_KEY: next });
            invoker
                .invoke_async(serde_json::to_vec(&payload).expect("plain data"))
                .await
                .map_err(fault)?;
            fanned.listed = at.listed;
            fanned.chunks = at.chunks;
            fanned.continued = true;
            tracing::info!(
                backfill = o.id.as_str(),
                part = at.part,
                listed = at.listed,
                chunks = at.chunks,
                "backfill continues in the next part"
            );
            return Ok(fanned);
        }
    }
    let record = ListedRecord {
        originals: at.listed,
        chunks: at.chunks,
        parts: at.part + 1,
    };
    super::put_record(h, &listed_record_key(&o.id), &record)
        .await
        .map_err(fault)?;
    fanned.listed = at.listed;
    fanned.chunks = at.chunks;
    tracing::info!(
        backfill = o.id.as_str(),
        listed = at.listed,
        chunks = at.chunks,
        "backfill fanned out"
    );
    Ok(fanned)
}

/// Queues each chunk as a backfill list tagged with its number.
async fn queue_chunks(
    invoker: &dyn Invoker,
    o: &Orchestration,
    at: &mut Resume,
    chunks: Vec<Vec<String>>,
) -> Result<(), HandlerError> {
    let payloads: Vec<Vec<u8>> = chunks
        .into_iter()
        .map(|keys| {
            let tag = ChunkTag {
                id: o.id.clone(),
                chunk: at.chunks,
            };
            at.chunks += 1;
            chunk_event(&o.bucket, keys, tag)
        })
        .collect();
    futures::stream::iter(payloads)
        .map(|p| invoker.invoke_async(p))
        .buffer_unordered(ENQUEUE_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .map_err(fault)?;
    Ok(())
}

/// A chunk's event: an ordinary backfill list, with its tag.
pub fn chunk_event(bucket: &str, keys: Vec<String>, tag: ChunkTag) -> Vec<u8> {
    let event: Value = json!({ "bucket": bucket, "keys": keys, "backfill": tag });
    serde_json::to_vec(&event).expect("plain data")
}
