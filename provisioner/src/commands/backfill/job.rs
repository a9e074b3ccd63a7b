//! `imgdeploy backfill --status JOB`: an S3 Batch Operations job's progress, and once it ended, the
//! failed tasks its completion report lists (each original and the function's reason).
use crate::aws::Explain;
use crate::resources::Stack;
use anyhow::{bail, Context, Result};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use std::fmt;

/// At most this many failures are read from the report and printed.
const SHOWN_FAILURES: usize = 20;

#[derive(Debug, Serialize)]
pub struct JobStatus {
    pub job_id: String,
    /// S3's status: `Active`, `Complete`, `Failed`, ...
    pub status: String,
    pub total: i64,
    pub succeeded: i64,
    pub failed: i64,
    /// Why S3 failed the job itself (a manifest it cannot read, a role it cannot assume).
    pub job_failures: Vec<String>,
    /// Failed tasks from the completion report (at most [`SHOWN_FAILURES`]).
    pub failures: Vec<TaskFailure>,
    pub report: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskFailure {
    pub key: String,
    pub result: String,
    pub message: String,
}

/// The completion report's own manifest: which result files it wrote.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReportManifest {
    results: Vec<ReportResult>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReportResult {
    task_execution_status: String,
    key: String,
}

pub async fn status(stack: &Stack<'_>, job_id: &str) -> Result<JobStatus> {
    let out = stack
        .aws
        .s3control
        .describe_job()
        .account_id(&stack.aws.account)
        .job_id(job_id)
        .send()
        .await
        .explain(stack.aws, &format!("s3control:DescribeJob {job_id}"))?;
    let job = out.job().context("DescribeJob returned no job")?;
    let progress = job.progress_summary();
    let status = job
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let mut result = JobStatus {
        job_id: job_id.to_string(),
        total: progress
            .and_then(|p| p.total_number_of_tasks())
            .unwrap_or(0),
        succeeded: progress
            .and_then(|p| p.number_of_tasks_succeeded())
            .unwrap_or(0),
        failed: progress
            .and_then(|p| p.number_of_tasks_failed())
            .unwrap_or(0),
        job_failures: job
            .failure_reasons()
            .iter()
            .map(|f| {
                format!(
                    "{}: {}",
                    f.failure_code().unwrap_or("?"),
                    f.failure_reason().unwrap_or("")
                )
            })
            .collect(),
        failures: Vec::new(),
        report: None,
        status,
    };
    let ended = matches!(result.status.as_str(), "Complete" | "Failed" | "Cancelled");
    if let (true, Some(prefix)) = (ended, job.report().and_then(|r| r.prefix())) {
        let bucket = &stack.names.processed_bucket;
        let manifest_key = format!("{prefix}/job-{job_id}/manifest.json");
        result.report = Some(format!("s3://{bucket}/{prefix}/job-{job_id}/"));
        if let Some(bytes) = super::get_processed(stack, &manifest_key).await? {
            let manifest: ReportManifest = serde_json::from_slice(&bytes)
                .with_context(|| format!("s3://{bucket}/{manifest_key}"))?;
            for failed in manifest
                .results
                .iter()
                .filter(|r| r.task_execution_status == "failed")
            {
                let Some(csv) = super::get_processed(stack, &failed.key).await? else {
                    continue;
                };
                result
                    .failures
                    .extend(parse_report(&String::from_utf8_lossy(&csv)));
                if result.failures.len() >= SHOWN_FAILURES {
                    result.failures.truncate(SHOWN_FAILURES);
                    break;
                }
            }
        }
    }
    Ok(result)
}

/// The rows of a completion report: `Bucket,Key,VersionId,TaskStatus,ErrorCode,HTTPStatusCode,
/// ResultMessage`, keys URL-encoded, the message last (it may hold commas, and quotes).
pub fn parse_report(csv: &str) -> Vec<TaskFailure> {
    csv.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(7, ',').collect();
            let [_, key, _, _, code, _, message] = fields.as_slice() else {
                return None;
            };
            Some(TaskFailure {
                key: percent_decode_str(key).decode_utf8_lossy().into_owned(),
                result: code.to_string(),
                message: message.trim_matches('"').replace("\"\"", "\""),
            })
        })
        .collect()
}

impl JobStatus {
    /// An error when the job or any of its tasks failed (after printing, a non-zero exit).
    pub fn check(&self) -> Result<()> {
        if self.status == "Failed" || self.failed > 0 {
            bail!(
                "S3 Batch Operations job {}: {} ({} of {} task(s) failed)",
                self.job_id,
                self.status,
                self.failed,
                self.total
            );
        }
        Ok(())
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "job {}: {}, {} of {} task(s) done: {} succeeded, {} failed",
            self.job_id,
            self.status,
            self.succeeded + self.failed,
            self.total,
            self.succeeded,
            self.failed
        )?;
        for reason in &self.job_failures {
            writeln!(f, "  job failure: {reason}")?;
        }
        for t in &self.failures {
            writeln!(f, "  failed: {} ({}): {}", t.key, t.result, t.message)?;
        }
        if let Some(report) = &self.report {
            writeln!(f, "  completion report: {report}")?;
        }
        Ok(())
    }
}
