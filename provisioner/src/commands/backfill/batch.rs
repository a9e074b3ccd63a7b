//! The `batch` engine: S3 Batch Operations, for sets too large to fan out from one function. The
//! originals go into a CSV manifest under `_backfill/<id>/` of the processed bucket; `s3control:
//! CreateJob` then invokes the function once per original (`LambdaInvoke`, schema 2.0), as the stack's
//! batch role, and writes a completion report next to the manifest. The function answers each task
//! `Succeeded`, `TemporaryFailure` (S3 retries it) or `PermanentFailure`
//! (`imgdeploy_function::handler::batch::operations`). `backfill --status JOB` reads the job's
//! progress and the failures of its report.
use crate::aws::{error_code, Explain};
use crate::progress::Progress;
use crate::resources::owner::Owner;
use crate::resources::resource::{entry, Known};
use crate::resources::{role, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_s3control::types::{
    JobManifest, JobManifestFieldName, JobManifestFormat, JobManifestLocation, JobManifestSpec,
    JobOperation, JobReport, JobReportFormat, JobReportScope, LambdaInvokeOperation, S3Tag,
};
use imgdeploy_function::handler::batch::BACKFILL_PREFIX;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Keys are URL-encoded in the manifest: everything but unreserved characters and `/`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// How long `CreateJob` is retried while IAM makes a new role assumable.
const ROLE_PROPAGATION: Duration = Duration::from_secs(60);

/// A job S3 Batch Operations runs.
#[derive(Debug, Serialize)]
pub struct BatchRun {
    pub id: String,
    pub job_id: String,
    pub manifest: String,
    pub report: String,
    pub role: String,
}

/// The manifest: one `bucket,key` line per original, keys URL-encoded.
pub fn manifest_csv(bucket: &str, keys: &[String]) -> String {
    let mut csv = String::with_capacity(keys.len() * 64);
    for key in keys {
        csv.push_str(bucket);
        csv.push(',');
        csv.extend(utf8_percent_encode(key, KEY));
        csv.push('\n');
    }
    csv
}

/// Makes (or converges) the batch role, writes the manifest and creates the job.
pub async fn start(stack: &Stack<'_>, id: &str, keys: &[String]) -> Result<BatchRun> {
    let created = ensure_role(stack).await?;
    let manifest_key = format!("{BACKFILL_PREFIX}{id}/manifest.csv");
    let csv = manifest_csv(&stack.names.originals_bucket, keys);
    let bucket = &stack.names.processed_bucket;
    let put = stack
        .aws
        .s3
        .put_object()
        .bucket(bucket)
        .key(&manifest_key)
        .content_type("text/csv")
        .body(csv.into_bytes().into())
        .send()
        .await
        .explain(stack.aws, &format!("s3:PutObject {bucket}/{manifest_key}"))?;
    let etag = put
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string();
    let patience = if created {
        ROLE_PROPAGATION
    } else {
        Duration::ZERO
    };
    let job_id = create_job(stack, id, &manifest_key, &etag, patience).await?;
    Ok(BatchRun {
        id: id.to_string(),
        job_id,
        manifest: format!("s3://{bucket}/{manifest_key}"),
        report: format!("s3://{bucket}/{BACKFILL_PREFIX}{id}/report/"),
        role: stack.names.batch_role.clone(),
    })
}

/// The batch role, through the stack's table line: described, checked for ownership, converged.
/// True when it was created now (IAM may take seconds to let S3 assume it).
async fn ensure_role(stack: &Stack<'_>) -> Result<bool> {
    let mut slot = entry(role::batch(stack));
    let mut known = Known::default();
    slot.describe(stack, &mut known).await?;
    match slot.owner(&stack.names.stack, &known) {
        None | Some(Owner::Us) => {}
        Some(owner) => bail!(
            "role {} exists and is not stack {}'s ({owner:?}): S3 Batch Operations would run as it\n  \
             fix: delete or rename that role, or use `--engine lambda`",
            stack.names.batch_role,
            stack.names.stack
        ),
    }
    let action = slot.diff(&known);
    if action.mutates() {
        let task = Progress::new(true).start("role", &stack.names.batch_role);
        slot.apply(stack, &mut known, &task).await?;
    }
    Ok(action == crate::resources::plan::Action::Create)
}

/// `CreateJob`, retried for up to `patience` while S3 cannot yet assume a new role.
pub async fn create_job(
    stack: &Stack<'_>,
    id: &str,
    manifest_key: &str,
    etag: &str,
    patience: Duration,
) -> Result<String> {
    let started = std::time::Instant::now();
    loop {
        let sent = request(stack, id, manifest_key, etag)?.send().await;
        match sent {
            Ok(out) => {
                return Ok(out
                    .job_id()
                    .context("CreateJob returned no job id")?
                    .to_string())
            }
            Err(e)
                if started.elapsed() < patience
                    && matches!(error_code(&e), Some("AccessDenied" | "InvalidRequest")) =>
            {
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => {
                return Err(e).explain(
                    stack.aws,
                    &format!(
                        "s3control:CreateJob (backfill {id}, role {})",
                        stack.names.batch_role
                    ),
                )
            }
        }
    }
}

fn request(
    stack: &Stack<'_>,
    id: &str,
    manifest_key: &str,
    etag: &str,
) -> Result<aws_sdk_s3control::operation::create_job::builders::CreateJobFluentBuilder> {
    let processed = &stack.arns.processed_bucket;
    let operation = JobOperation::builder()
        .lambda_invoke(
            LambdaInvokeOperation::builder()
                .function_arn(&stack.arns.function)
                .invocation_schema_version("2.0")
                .user_arguments("backfill", id)
                .build(),
        )
        .build();
    let manifest = JobManifest::builder()
        .spec(
            JobManifestSpec::builder()
                .format(JobManifestFormat::S3BatchOperationsCsv20180820)
                .fields(JobManifestFieldName::Bucket)
                .fields(JobManifestFieldName::Key)
                .build()?,
        )
        .location(
            JobManifestLocation::builder()
                .object_arn(format!("{processed}/{manifest_key}"))
                .e_tag(etag)
                .build()?,
        )
        .build();
    let report = JobReport::builder()
        .bucket(processed)
        .prefix(format!("{BACKFILL_PREFIX}{id}/report"))
        .format(JobReportFormat::ReportCsv20180820)
        .enabled(true)
        .report_scope(JobReportScope::AllTasks)
        .expected_bucket_owner(&stack.aws.account)
        .build();
    let tag = S3Tag::builder()
        .key(crate::names::STACK_TAG)
        .value(&stack.names.stack)
        .build()?;
    Ok(stack
        .aws
        .s3control
        .create_job()
        .account_id(&stack.aws.account)
        .confirmation_required(false)
        .operation(operation)
        .manifest(manifest)
        .report(report)
        .priority(10)
        .role_arn(&stack.arns.batch_role)
        .client_request_token(id)
        .description(format!(
            "imgdeploy backfill {id} of stack {}",
            stack.names.stack
        ))
        .tags(tag))
}

impl fmt::Display for BatchRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "S3 Batch Operations job {} created (backfill {}, role {})",
            self.job_id, self.id, self.role
        )?;
        writeln!(f, "  manifest: {}", self.manifest)?;
        writeln!(f, "  completion report: {}", self.report)?;
        writeln!(f, "  progress: imgdeploy backfill --status {}", self.job_id)
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
