//! The Lambda handler: turns an event (S3 notifications wrapped in SNS, direct S3 notifications, or a
//! backfill list) into variants, backups, deletions and failure reports, then one CDN invalidation of
//! what it replaced or deleted. Records run concurrently (bounded by the vCPUs and by a memory budget);
//! a permanent failure is reported and the record succeeds; a fault a retry may heal fails the
//! invocation, so that Lambda retries it and finally dead-letters it. `bootstrap` drives it through
//! [`Handler::invoke`], which also answers a backfill's orchestration and S3 Batch Operations tasks
//! (`batch/`); `imgdeploy invoke --local` and `backfill --local` through [`Handler::handle`].
pub mod batch;
pub mod created;
pub mod event;
pub mod events;
pub mod invalidate;
pub mod manifest;
pub mod outcome;
pub mod record;
pub mod removed;
pub mod render;
pub mod report;
pub mod storage;
pub mod write;

pub use event::{
    decode_key, parse_event, sns_event, sns_s3_event, Change, EventError, Notice, ObjectRef, Work,
};
pub use invalidate::{Cdn, Invalidation};
pub use outcome::{InvocationSummary, Outcome, RecordOutcome, VariantWritten};
pub use render::{EngineRenderer, MemoryBudget, RenderError, Renderer};
pub use report::FailureReport;

use crate::spec::{FunctionSettings, VariantSpec};
use futures::{FutureExt, StreamExt};
use std::sync::Arc;
use std::time::Instant;
use storage::{s3::S3Store, Store};

/// Why an invocation fails (so that Lambda retries it, then dead-letters it).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
    /// The backfill's fan-out could not list or queue its chunks (Lambda retries the orchestration;
    /// chunks queued twice find their work done).
    #[error("backfill fan-out: {0}")]
    Fanout(String),
    #[error("{} of {} record(s) hit a fault that a retry may heal; failing the invocation so that Lambda retries it: {}",
        .failures.len(), .summary.records.len() + .failures.len(), .failures.join("; "))]
    Retry {
        failures: Vec<String>,
        summary: Box<InvocationSummary>,
    },
}

/// A fault of one record that a retry may heal.
#[derive(Debug, thiserror::Error)]
pub enum RetryCause {
    #[error(transparent)]
    Store(#[from] storage::StoreError),
    #[error(transparent)]
    Report(#[from] report::ReportError),
    #[error(transparent)]
    Event(#[from] events::PublishError),
}

/// Everything the handler needs, built once per process (clients, settings, the memory budget).
#[derive(Clone)]
pub struct Handler {
    settings: FunctionSettings,
    variants: Arc<Vec<VariantSpec>>,
    store: Arc<dyn Store>,
    sns: aws_sdk_sns::Client,
    cdn: Option<Arc<dyn Cdn>>,
    renderer: Arc<dyn Renderer>,
    budget: MemoryBudget,
    parallelism: usize,
    function_version: String,
    function_name: String,
    /// Queues the backfill's chunk invocations; `None` off Lambda (`batch/fanout.rs`).
    invoker: Option<Arc<dyn batch::Invoker>>,
}

/// An S3 client for `sdk`, with path-style addressing when a custom endpoint is set (moto, MinIO, ...),
/// and `account` as the expected owner of every bucket it names (`storage/owner.rs`).
pub fn s3_client(sdk: &aws_config::SdkConfig, account: Option<&str>) -> aws_sdk_s3::Client {
    let custom_endpoint =
        sdk.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let mut config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(custom_endpoint);
    if let Some(account) = account {
        config = config.interceptor(storage::owner::ExpectedBucketOwner(account.to_string()));
    }
    aws_sdk_s3::Client::from_conf(config.build())
}

impl Handler {
    /// The real handler: the variant engine, S3 and SNS clients from `sdk`, and CloudFront when the
    /// settings name a distribution.
    pub async fn from_settings(settings: FunctionSettings, sdk: &aws_config::SdkConfig) -> Handler {
        let cdn = settings.distribution_id.clone().map(|id| {
            Arc::new(invalidate::CloudFront {
                client: aws_sdk_cloudfront::Client::new(sdk),
                distribution_id: id,
            }) as Arc<dyn Cdn>
        });
        let s3 = s3_client(sdk, settings.account_id.as_deref());
        let invoker = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
            .ok()
            .map(|function| {
                Arc::new(batch::LambdaInvoker {
                    client: aws_sdk_lambda::Client::new(sdk),
                    function,
                }) as Arc<dyn batch::Invoker>
            });
        Handler::new(
            settings,
            s3,
            aws_sdk_sns::Client::new(sdk),
            Arc::new(EngineRenderer),
        )
        .with_cdn(cdn)
        .with_invoker(invoker)
    }

    /// A handler with the given clients and renderer. Parallelism: the vCPUs; memory: three quarters
    /// of the function's memory (see [`MemoryBudget::from_lambda_env`]).
    pub fn new(
        settings: FunctionSettings,
        s3: aws_sdk_s3::Client,
        sns: aws_sdk_sns::Client,
        renderer: Arc<dyn Renderer>,
    ) -> Handler {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Handler {
            variants: Arc::new(settings.variants.clone()),
            settings,
            store: Arc::new(S3Store::new(s3)),
            sns,
            cdn: None,
            renderer,
            budget: MemoryBudget::from_lambda_env(),
            parallelism: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            function_version: env("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "local".into()),
            function_name: env("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_else(|| "imgdeploy-local".into()),
            invoker: None,
        }
    }

    /// How many records run at once (default: the vCPUs).
    pub fn with_parallelism(mut self, records: usize) -> Handler {
        self.parallelism = records.max(1);
        self
    }

    /// Another object store (tests drive the handler through an in-memory one).
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Handler {
        self.store = store;
        self
    }

    /// The CDN whose copies of replaced and deleted variants are invalidated.
    pub fn with_cdn(mut self, cdn: Option<Arc<dyn Cdn>>) -> Handler {
        self.cdn = cdn;
        self
    }

    /// How the backfill's orchestration queues its chunks (the function itself, on Lambda).
    pub fn with_invoker(mut self, invoker: Option<Arc<dyn batch::Invoker>>) -> Handler {
        self.invoker = invoker;
        self
    }

    pub fn with_memory_budget(mut self, budget: MemoryBudget) -> Handler {
        self.budget = budget;
        self
    }

    pub fn settings(&self) -> &FunctionSettings {
        &self.settings
    }

    /// Processes every record of `event`. `Ok` when every record is done (processed, skipped as a
    /// duplicate, deleted, reported as a permanent failure, or ignored); `Err` when one needs a retry.
    pub async fn handle(
        &self,
        event: serde_json::Value,
    ) -> Result<InvocationSummary, HandlerError> {
        self.handle_until(event, None).await
    }

    /// [`Handler::handle`] within a deadline: when the invocation times out (Lambda's context). A
    /// render that cannot finish before it is reported as too slow.
    pub async fn handle_until(
        &self,
        event: serde_json::Value,
        deadline: Option<Instant>,
    ) -> Result<InvocationSummary, HandlerError> {
        let started = Instant::now();
        let chunk = batch::chunk_tag(&event);
        let result = self.handle_parsed(&event, deadline, started).await;
        if let Some(tag) = chunk {
            self.record_chunk(&tag, &result).await;
        }
        result
    }

    async fn handle_parsed(
        &self,
        event: &serde_json::Value,
        deadline: Option<Instant>,
        started: Instant,
    ) -> Result<InvocationSummary, HandlerError> {
        let works = parse_event(event)
            .inspect_err(|e| tracing::error!(error = %e, "unrecognised event"))?;
        let mut results: Vec<(usize, RecordOutcome, Option<String>)> =
            futures::stream::iter(works.into_iter().enumerate())
                .map(|(index, work)| async move {
                    let (outcome, retry) = self.run(work, deadline).await;
                    (index, outcome, retry)
                })
                .buffer_unordered(self.parallelism)
                .collect()
                .await;
        results.sort_by_key(|(index, ..)| *index);
        let mut records = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for (_, outcome, retry) in results {
            match retry {
                Some(message) => failures.push(message),
                None => records.push(outcome),
            }
        }
        let mut summary = InvocationSummary::new(records, started.elapsed().as_secs_f64() * 1000.0);
        summary.invalidation = self.invalidate(&summary).await;
        tracing::info!(
            records = summary.records.len() + failures.len(),
            processed = summary.processed,
            skipped = summary.skipped,
            failed = summary.failed,
            ignored = summary.ignored,
            deleted = summary.deleted,
            invalidated = summary.invalidation.as_ref().map_or(0, |i| i.paths.len()),
            retry = failures.len(),
            millis = outcome::round(summary.millis),
            "invocation"
        );
        if failures.is_empty() {
            Ok(summary)
        } else {
            Err(HandlerError::Retry {
                failures,
                summary: Box::new(summary),
            })
        }
    }

    /// One record: its outcome, or the message of a fault that needs a retry.
    async fn run(&self, work: Work, deadline: Option<Instant>) -> (RecordOutcome, Option<String>) {
        let (obj, relative) = match work {
            Work::Ignore {
                bucket,
                key,
                reason,
            } => {
                let record = RecordOutcome {
                    bucket,
                    key,
                    outcome: Outcome::Ignored { reason },
                };
                outcome::log_record(&record);
                return (record, None);
            }
            Work::Object(obj) => match self.triage(&obj) {
                Ok(relative) => {
                    let relative = relative.to_owned();
                    (obj, relative)
                }
                Err(reason) => {
                    let record = RecordOutcome {
                        bucket: Some(obj.bucket),
                        key: Some(obj.key),
                        outcome: Outcome::Ignored { reason },
                    };
                    outcome::log_record(&record);
                    return (record, None);
                }
            },
        };
        let processing = async {
            match obj.change {
                Change::Created => created::process(self, &obj, &relative, deadline).await,
                Change::Removed => removed::process(self, &obj, &relative, deadline).await,
            }
        };
        let processing = std::panic::AssertUnwindSafe(processing).catch_unwind();
        let result = match processing.await {
            Ok(result) => result,
            Err(panic) => {
                let message = format!(
                    "processing s3://{}/{} panicked: {}",
                    obj.bucket,
                    obj.key,
                    render::panic_text(panic)
                );
                record::fail(self, &obj, None, "panic", message).await
            }
        };
        let retry = match &result {
            Ok(_) => None,
            Err(cause) => {
                tracing::error!(bucket = obj.bucket.as_str(), key = obj.key.as_str(), outcome = "retry", error = %cause, "image");
                Some(format!("s3://{}/{}: {cause}", obj.bucket, obj.key))
            }
        };
        let outcome = match result {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Ignored {
                reason: "retry".into(),
            },
        };
        let record = RecordOutcome {
            bucket: Some(obj.bucket),
            key: Some(obj.key),
            outcome,
        };
        if retry.is_none() {
            outcome::log_record(&record);
        }
        (record, retry)
    }

    /// The key relative to the source prefix, or why this object is not ours to process.
    fn triage<'k>(&self, obj: &'k ObjectRef) -> Result<&'k str, String> {
        let s = &self.settings;
        if obj.bucket == s.processed_bucket {
            let ours = obj.key.starts_with(&s.failures_prefix)
                || self
                    .variants
                    .iter()
                    .any(|v| obj.key.starts_with(&format!("{}/", v.name)));
            if ours {
                return Err(format!(
                    "s3://{}/{} is an output of this function (variant or failure report); processing it would loop",
                    obj.bucket, obj.key
                ));
            }
        }
        let Some(relative) = obj.key.strip_prefix(&s.source_prefix) else {
            return Err(format!(
                "key {:?} is outside the source prefix {:?}; only uploads under it are processed (the guard against processing outputs in a loop)",
                obj.key, s.source_prefix
            ));
        };
        if relative.is_empty() || obj.key.ends_with('/') {
            return Err(format!(
                "key {:?} is a folder placeholder, not an image",
                obj.key
            ));
        }
        Ok(relative)
    }

    /// One invalidation of every CDN path this invocation made stale. A failure is logged and
    /// published to the failure topic with the command that does it by hand: the writes are done, so
    /// a retry of the invocation would find nothing left to invalidate.
    async fn invalidate(&self, summary: &InvocationSummary) -> Option<Invalidation> {
        let cdn = self.cdn.as_ref()?;
        let mut paths: Vec<String> = summary
            .records
            .iter()
            .flat_map(|r| r.outcome.stale_keys())
            .map(invalidate::path_of)
            .collect();
        paths.sort();
        paths.dedup();
        if paths.is_empty() {
            return None;
        }
        let reference = format!("imgdeploy-{}-{}", self.function_name, report::now_rfc3339());
        let (id, error) = match cdn.invalidate(&paths, &reference).await {
            Ok(id) => (Some(id), None),
            Err(error) => {
                let fix = invalidate::manual_fix(
                    self.settings
                        .distribution_id
                        .as_deref()
                        .unwrap_or("DISTRIBUTION"),
                    &paths,
                );
                tracing::error!(
                    error = error.as_str(),
                    fix = fix.as_str(),
                    "CDN invalidation failed"
                );
                report::notify(
                    &self.report_destination(),
                    "invalidation_failed",
                    &format!("{error}\nfix: {fix}"),
                )
                .await;
                (None, Some(error))
            }
        };
        Some(Invalidation { paths, id, error })
    }

    fn report_destination(&self) -> report::Destination<'_> {
        report::Destination {
            store: self.store.as_ref(),
            sns: &self.sns,
            topic_arn: &self.settings.failure_topic_arn,
            bucket: &self.settings.processed_bucket,
            failures_prefix: &self.settings.failures_prefix,
        }
    }
}

#[cfg(test)]
#[path = "handler_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "interleave_tests.rs"]
mod interleave_tests;

#[cfg(test)]
#[path = "auto_tests.rs"]
mod auto_tests;
