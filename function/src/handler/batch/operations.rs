//! S3 Batch Operations' `LambdaInvoke`: each task names one original (schema 1.0 by bucket ARN, 2.0 by
//! bucket name; keys URL-encoded, as in the job's CSV manifest). Each gets a result the job records:
//! `Succeeded` (processed, or already done), `TemporaryFailure` for a fault a retry may heal (S3
//! retries the task), `PermanentFailure` for a broken image or an object that is not the function's
//! to process. The invocation itself never fails: every task is answered.
use crate::handler::event::ObjectRef;
use crate::handler::{Handler, InvocationSummary, Outcome, RecordOutcome, Work};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Instant;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    invocation_schema_version: String,
    invocation_id: String,
    tasks: Vec<Task>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    task_id: String,
    s3_key: String,
    /// Schema 1.0.
    #[serde(default)]
    s3_bucket_arn: Option<String>,
    /// Schema 2.0.
    #[serde(default)]
    s3_bucket: Option<String>,
}

/// The answer S3 Batch Operations reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub invocation_schema_version: String,
    pub treat_missing_keys_as: String,
    pub invocation_id: String,
    pub results: Vec<TaskResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskResult {
    pub task_id: String,
    pub result_code: String,
    pub result_string: String,
}

pub const SUCCEEDED: &str = "Succeeded";
pub const TEMPORARY: &str = "TemporaryFailure";
pub const PERMANENT: &str = "PermanentFailure";

/// Runs every task of `event` and answers each.
pub async fn answer(h: &Handler, event: &Value, deadline: Option<Instant>) -> Value {
    let started = Instant::now();
    let text = |name: &str| {
        event
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let parsed: Event = match serde_json::from_value(event.clone()) {
        Ok(e) => e,
        Err(e) => {
            // Without tasks to answer, every task counts as missing: a permanent failure.
            tracing::error!(error = %e, "unreadable S3 Batch Operations event");
            return to_value(Response {
                invocation_schema_version: text("invocationSchemaVersion"),
                treat_missing_keys_as: PERMANENT.into(),
                invocation_id: text("invocationId"),
                results: Vec::new(),
            });
        }
    };
    let mut results = Vec::with_capacity(parsed.tasks.len());
    let mut records = Vec::new();
    for task in parsed.tasks {
        let (code, message, record) = run_task(h, &task, deadline).await;
        records.extend(record);
        results.push(TaskResult {
            task_id: task.task_id,
            result_code: code.into(),
            result_string: message,
        });
    }
    let summary = InvocationSummary::new(records, started.elapsed().as_secs_f64() * 1000.0);
    h.invalidate(&summary).await;
    to_value(Response {
        invocation_schema_version: parsed.invocation_schema_version,
        treat_missing_keys_as: PERMANENT.into(),
        invocation_id: parsed.invocation_id,
        results,
    })
}

fn to_value(r: Response) -> Value {
    serde_json::to_value(r).expect("plain data")
}

async fn run_task(
    h: &Handler,
    task: &Task,
    deadline: Option<Instant>,
) -> (&'static str, String, Option<RecordOutcome>) {
    let bucket = match (&task.s3_bucket, &task.s3_bucket_arn) {
        (Some(b), _) => b.clone(),
        (None, Some(arn)) => arn.rsplit(':').next().unwrap_or_default().to_string(),
        (None, None) => return (PERMANENT, "the task names no bucket".into(), None),
    };
    let key = match percent_decode_str(&task.s3_key).decode_utf8() {
        Ok(k) => k.into_owned(),
        Err(e) => {
            return (
                PERMANENT,
                format!("key {:?} is not URL-encoded UTF-8: {e}", task.s3_key),
                None,
            )
        }
    };
    let (record, retry) = h
        .run(Work::Object(ObjectRef::created(&bucket, key)), deadline)
        .await;
    if let Some(message) = retry {
        return (TEMPORARY, message, None);
    }
    let (code, message) = match &record.outcome {
        Outcome::Processed { variants, .. } => (
            SUCCEEDED,
            format!("processed: {} variant(s) written", variants.len()),
        ),
        Outcome::Skipped { reason, .. } => (SUCCEEDED, format!("skipped: {reason}")),
        Outcome::Failed { report, .. } => (
            PERMANENT,
            format!("{}: {}", report.error_kind, report.message),
        ),
        Outcome::Ignored { reason } => (PERMANENT, format!("not processed: {reason}")),
        Outcome::Deleted { .. } => (SUCCEEDED, "deleted".into()),
    };
    (code, message, Some(record))
}
