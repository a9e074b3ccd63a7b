//! The `lambda` engine from the CLI's side: one asynchronous `Invoke` of the deployed function with an
//! orchestration event (the function lists and fans out: `imgdeploy_function::handler::batch`), then,
//! with `--wait`, the batch's progress read from the records its chunks write under
//! `_backfill/<id>/` of the processed bucket: one listing, and one GET per finished chunk.
use crate::aws::Explain;
use crate::resources::bucket::list::list;
use crate::resources::Stack;
use anyhow::{bail, Context, Result};
use imgdeploy_function::handler::batch::{
    chunks_prefix, listed_record_key, ChunkRecord, KeyFailure, ListedRecord, Orchestration,
    BACKFILL_PREFIX, ORCHESTRATION_KEY,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// How often `--wait` looks.
const POLL: Duration = Duration::from_secs(2);

/// A fan-out the function was asked to run.
#[derive(Debug, Serialize)]
pub struct RemoteRun {
    /// Names the batch's records: `s3://<processed>/_backfill/<id>/`.
    pub id: String,
    pub function: String,
    pub records: String,
    /// What `--wait` saw at the end; `None` without `--wait`.
    pub progress: Option<Progress>,
}

#[derive(Debug, Default, Serialize)]
pub struct Progress {
    pub originals: u64,
    pub chunks: u64,
    pub chunks_done: u64,
    pub processed: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Originals whose chunk still failed after the wait: Lambda retries it, then the failure
    /// queue keeps it (`imgdeploy redrive`).
    pub retrying: usize,
    pub failures: Vec<KeyFailure>,
    /// `--wait` stopped because nothing moved for this long (seconds); 0 when the batch finished.
    pub stalled_after_s: u64,
}

/// Queues the orchestration: Lambda answers 202, and the function does the rest.
pub async fn start(
    stack: &Stack<'_>,
    id: &str,
    prefixes: &[String],
    chunk_size: usize,
) -> Result<RemoteRun> {
    let orchestration = Orchestration {
        id: id.to_string(),
        bucket: stack.names.originals_bucket.clone(),
        prefixes: prefixes.to_vec(),
        chunk_size,
        resume: None,
    };
    let payload = serde_json::to_vec(&serde_json::json!({ ORCHESTRATION_KEY: orchestration }))?;
    let function = &stack.names.function;
    let out = stack
        .aws
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(payload))
        .send()
        .await
        .explain(
            stack.aws,
            &format!("lambda:Invoke {function} (the backfill's orchestration)"),
        )?;
    if out.status_code() != 202 {
        bail!(
            "lambda:Invoke {function} answered {} instead of 202 (queued): the backfill was not started",
            out.status_code()
        );
    }
    Ok(started(stack, id))
}

/// The fan-out `id` of the stack's function, as started (by `backfill` or by an app).
pub fn started(stack: &Stack<'_>, id: &str) -> RemoteRun {
    RemoteRun {
        records: format!(
            "s3://{}/{BACKFILL_PREFIX}{id}/",
            stack.names.processed_bucket
        ),
        id: id.to_string(),
        function: stack.names.function.clone(),
        progress: None,
    }
}

async fn read<T: serde::de::DeserializeOwned>(stack: &Stack<'_>, key: &str) -> Result<Option<T>> {
    let Some(bytes) = super::get_processed(stack, key).await? else {
        return Ok(None);
    };
    let value = serde_json::from_slice(&bytes)
        .with_context(|| format!("s3://{}/{key}", stack.names.processed_bucket))?;
    Ok(Some(value))
}

/// Follows the batch until every chunk has recorded a final result, or nothing moved for longer
/// than a chunk's retries can take.
pub async fn wait(stack: &Stack<'_>, mut run: RemoteRun, json: bool) -> Result<RemoteRun> {
    let f = &stack.config.function;
    // Lambda retries a failed asynchronous event after about 1 and 2 minutes.
    let stall = Duration::from_secs((f.timeout_s.max(1) as u64) * 3 + 180);
    let bar = (!json).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} chunks [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let mut records: BTreeMap<String, ChunkRecord> = BTreeMap::new();
    let mut listed: Option<ListedRecord> = None;
    let mut moved = Instant::now();
    let stalled_after_s = loop {
        if listed.is_none() {
            listed = read(stack, &listed_record_key(&run.id)).await?;
        }
        let keys = list(
            stack,
            &stack.names.processed_bucket,
            &chunks_prefix(&run.id),
        )
        .await?;
        for key in keys.into_iter().map(|o| o.key) {
            // A chunk that was retrying may have been overwritten by a later attempt.
            let stale = records.get(&key).is_none_or(|r| r.retrying > 0);
            if stale {
                if let Some(record) = read::<ChunkRecord>(stack, &key).await? {
                    if records.get(&key) != Some(&record) {
                        moved = Instant::now();
                    }
                    records.insert(key, record);
                }
            }
        }
        let progress = summarise(listed.as_ref(), &records);
        if let Some(bar) = &bar {
            bar.set_length(progress.chunks.max(progress.chunks_done));
            bar.set_position(progress.chunks_done);
            bar.set_message(format!(
                "{} processed, {} skipped, {} failed",
                progress.processed, progress.skipped, progress.failed
            ));
        }
        let all_in = listed.is_some() && progress.chunks_done >= progress.chunks;
        if all_in && progress.retrying == 0 {
            break 0;
        }
        if moved.elapsed() > stall {
            break moved.elapsed().as_secs();
        }
        tokio::time::sleep(POLL).await;
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut progress = summarise(listed.as_ref(), &records);
    progress.stalled_after_s = stalled_after_s;
    run.progress = Some(progress);
    Ok(run)
}

fn summarise(listed: Option<&ListedRecord>, records: &BTreeMap<String, ChunkRecord>) -> Progress {
    let mut p = Progress {
        originals: listed.map_or(0, |l| l.originals),
        chunks: listed.map_or(0, |l| l.chunks),
        chunks_done: records.len() as u64,
        ..Progress::default()
    };
    for r in records.values() {
        p.processed += r.processed;
        p.skipped += r.skipped;
        p.failed += r.failed;
        p.retrying += r.retrying;
        p.failures.extend(r.failures.iter().cloned());
    }
    p
}

impl RemoteRun {
    /// After `--wait`: an error when an original failed, is still retrying, or the wait stalled.
    pub fn check(&self) -> Result<()> {
        let Some(p) = &self.progress else {
            return Ok(());
        };
        if p.stalled_after_s > 0 {
            bail!(
                "backfill {}: nothing moved for {} s with {} of {} chunk(s) recorded; see `imgdeploy status` (the failure queue) and the function's logs",
                self.id, p.stalled_after_s, p.chunks_done, p.chunks
            );
        }
        if p.failed + p.retrying > 0 {
            bail!(
                "backfill {}: {} original(s) failed and {} are being retried; the reports are in `imgdeploy status` and {}",
                self.id, p.failed, p.retrying, self.records
            );
        }
        Ok(())
    }
}

impl fmt::Display for RemoteRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(p) = &self.progress else {
            writeln!(
                f,
                "backfill {} queued on {}: the function lists the originals and fans out",
                self.id, self.function
            )?;
            return writeln!(
                f,
                "  progress: the chunks' records in {} (or add --wait next time)",
                self.records
            );
        };
        writeln!(
            f,
            "backfill {}: {} original(s) in {} chunk(s): {} processed, {} skipped, {} failed, {} retrying",
            self.id, p.originals, p.chunks, p.processed, p.skipped, p.failed, p.retrying
        )?;
        for failure in &p.failures {
            writeln!(f, "  failed: {}: {}", failure.key, failure.reason)?;
        }
        if p.retrying > 0 {
            writeln!(f, "  retrying: Lambda retries those chunks, then keeps them in the failure queue (`imgdeploy redrive`)")?;
        }
        writeln!(f, "  records: {}", self.records)
    }
}
