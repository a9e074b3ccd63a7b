//! The function's own handler run in this process, against the configured endpoint, with the
//! settings the deployed function gets (the distribution's id included): `invoke --local` and
//! `backfill --local` share it. Events run concurrently up to the vCPUs, with a progress bar and one
//! line per record on stdout; the result counts each outcome, and [`LocalRun::check`] turns anything not
//! done into an error (a non-zero exit).
use crate::output::size;
use crate::resources::{function, Stack};
use anyhow::{bail, Context, Result};
use imgdeploy_function::handler::{
    batch, Handler, HandlerError, InvocationSummary, Outcome, RecordOutcome,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Serialize)]
pub struct LocalRun {
    pub stack: String,
    pub mode: &'static str,
    pub bucket: String,
    pub records: Vec<RecordOutcome>,
    pub processed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub ignored: usize,
    /// Deleted originals whose variants were removed.
    pub deleted: usize,
    /// Failures a retry may heal (the deployed function's invocation would fail and be retried).
    pub retry: Vec<String>,
    #[serde(skip)]
    pub keys: usize,
}

/// The events (one per key as SNS delivers them, one record per invocation; or the one given), run
/// concurrently up to the vCPUs; the handler's memory budget is shared by every clone. The handler
/// gets the settings the deployed function gets, the distribution's id included.
pub async fn run(
    stack: &Stack<'_>,
    events: Vec<(String, serde_json::Value)>,
    json: bool,
) -> Result<LocalRun> {
    let handler = handler(stack).await?;
    let bucket = stack.names.originals_bucket.clone();
    let count = events.len();
    let bar = local_bar(json, count);
    let parallel = std::thread::available_parallelism().map_or(1, |n| n.get());
    let permits = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, (key, event)) in events.into_iter().enumerate() {
        let (handler, permits) = (handler.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let result = handler.handle(event).await;
            (index, key, result)
        });
    }
    let mut results = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        let (index, key, result) = joined.context("an invocation task panicked")?;
        if let Some(bar) = &bar {
            // Each upload's outcome on stdout (the bar is on stderr, and hidden when it is no terminal).
            bar.suspend(|| println!("{}", describe_result(&key, &result)));
            bar.inc(1);
        }
        results.push((index, key, result));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    results.sort_by_key(|(index, ..)| *index);

    let mut records: Vec<RecordOutcome> = Vec::new();
    let mut retry: Vec<String> = Vec::new();
    for (_, _, result) in results {
        match result {
            Ok(summary) => records.extend(summary.records),
            Err(HandlerError::Retry { failures, summary }) => {
                records.extend(summary.records);
                retry.extend(failures);
            }
            Err(e @ (HandlerError::Event(_) | HandlerError::Fanout(_))) => {
                retry.push(e.to_string())
            }
        }
    }
    let summary = InvocationSummary::new(records, 0.0);
    Ok(LocalRun {
        stack: stack.names.stack.clone(),
        mode: "local",
        bucket,
        processed: summary.processed,
        skipped: summary.skipped,
        failed: summary.failed,
        ignored: summary.ignored,
        deleted: summary.deleted,
        records: summary.records,
        retry,
        keys: count,
    })
}

/// The handler with the deployed function's settings; a backfill's orchestration run here queues its
/// chunks on the deployed function.
async fn handler(stack: &Stack<'_>) -> Result<Handler> {
    let mut settings = function::settings(stack);
    settings.distribution_id = function::known(stack).await?.distribution.map(|d| d.id);
    let invoker = batch::LambdaInvoker {
        client: stack.aws.lambda.clone(),
        function: stack.names.function.clone(),
    };
    Ok(Handler::from_settings(settings, &stack.aws.sdk_config)
        .await
        .with_invoker(Some(Arc::new(invoker))))
}

/// Runs an orchestration or S3 Batch Operations event here, as the deployed function would, and
/// returns its answer.
pub async fn answer(stack: &Stack<'_>, event: serde_json::Value) -> Result<serde_json::Value> {
    let handler = handler(stack).await?;
    Ok(handler.invoke(event, None).await?)
}

fn local_bar(json: bool, total: usize) -> Option<ProgressBar> {
    if json {
        return None;
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} processing [{bar:30}] {pos}/{len} {elapsed}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}

/// The lines printed for one key: its outcome and, when processed, one line per variant.
fn describe_result(key: &str, result: &Result<InvocationSummary, HandlerError>) -> String {
    match result {
        Ok(summary) => summary
            .records
            .iter()
            .map(describe_record)
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("✗ {key}  needs a retry: {e}"),
    }
}

pub fn describe_record(record: &RecordOutcome) -> String {
    let key = record.key.as_deref().unwrap_or("(no key)");
    match &record.outcome {
        Outcome::Processed {
            bytes_in,
            bytes_out,
            variants,
            millis,
            render_millis,
            backup_bucket,
            decoder,
            ..
        } => {
            // The engine's time apart from the S3 round trips (on the emulator, those dominate).
            let mut lines = vec![format!(
                "✓ {key}  processed: {} variant(s), {} in ({decoder}), {} out, {:.0} ms rendering + {:.0} ms S3 and the rest{}",
                variants.len(),
                size(*bytes_in),
                size(*bytes_out),
                render_millis,
                (millis - render_millis).max(0.0),
                backup_bucket
                    .as_deref()
                    .map(|b| format!(", backed up to {b}"))
                    .unwrap_or_default()
            )];
            for v in variants {
                lines.push(format!(
                    "    {:<10} {:>5}x{:<5} {:>9}  {}{}",
                    v.name,
                    v.width,
                    v.height,
                    size(v.bytes),
                    v.key,
                    if v.replaced {
                        "  (replaced an older one)"
                    } else {
                        ""
                    }
                ));
            }
            lines.join("\n")
        }
        Outcome::Skipped { reason, .. } => format!("= {key}  nothing to do: {reason}"),
        Outcome::Deleted { variants, kept } => {
            let mut line = format!("- {key}  deleted: {} variant(s) removed", variants.len());
            if !kept.is_empty() {
                line.push_str(&format!(", {} kept (made from a newer upload)", kept.len()));
            }
            for v in variants {
                line.push_str(&format!("\n    {v}"));
            }
            line
        }
        Outcome::Failed {
            report,
            newly_reported,
        } => format!(
            "✗ {key}  failed ({}): {}{}",
            report.error_kind,
            report.message,
            if *newly_reported {
                ", reported"
            } else {
                " (already reported)"
            }
        ),
        Outcome::Ignored { reason } => format!("- {key}  ignored: {reason}"),
    }
}

impl LocalRun {
    /// An error when a record did not become variants (failed, ignored, or needing a retry).
    pub fn check(&self) -> Result<()> {
        let not_done = self.failed + self.ignored + self.retry.len();
        if not_done > 0 {
            let retry: String = self.retry.iter().map(|m| format!("\n  {m}")).collect();
            bail!("{not_done} of {} record(s) did not become variants (see above); failure reports are listed by `imgdeploy status`{retry}", self.keys);
        }
        Ok(())
    }
}

impl fmt::Display for LocalRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} processed, {} already done, {} deleted, {} failed, {} ignored, {} to retry",
            self.processed,
            self.skipped,
            self.deleted,
            self.failed,
            self.ignored,
            self.retry.len()
        )
    }
}
