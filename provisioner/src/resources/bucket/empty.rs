//! Emptying a bucket for teardown: object versions and delete markers, in batches of 1,000, then the
//! bucket itself. "Already gone" is success. Uploads can land while teardown runs, so what is deleted
//! is never more than what was asked for:
//! - a data bucket kept unless empty is deleted without emptying: S3 refuses a bucket that is no
//!   longer empty, and it is then kept;
//! - under `--delete-data`, exactly the versions listed, each only while unchanged (its ETag): an
//!   upload that lands or replaces a key later is kept, and so is the bucket;
//! - the processed bucket (variants only) is emptied again until S3 lets it go.
use crate::aws::{error_code, Explain};
use crate::resources::plan::Action;
use crate::resources::Stack;
use anyhow::{bail, Context, Result};
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

/// Whether the bucket holds any object, version or delete marker.
pub async fn is_empty(stack: &Stack<'_>, bucket: &str) -> Result<bool> {
    let out = stack
        .aws
        .s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .explain(stack.aws, &format!("s3:ListObjectVersions {bucket}"))?;
    Ok(out.versions().is_empty() && out.delete_markers().is_empty())
}

/// What teardown deletes of a bucket's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emptying {
    /// Nothing: the bucket was empty when checked, and is deleted only if it still is.
    None,
    /// The versions listed now, each only while unchanged; once (the user's data, `--delete-data`).
    Listed,
    /// Everything, listed again until S3 lets the bucket go (variants a last invocation wrote).
    Everything,
}

/// Passes over a bucket of [`Emptying::Everything`] before giving up.
const PASSES: usize = 3;

/// Empties the bucket as `how` says, then deletes it; a bucket S3 still finds non-empty is kept.
pub async fn empty_and_delete(stack: &Stack<'_>, bucket: &str, how: Emptying) -> Result<Action> {
    let passes = if how == Emptying::Everything {
        PASSES
    } else {
        1
    };
    for pass in 1..=passes {
        if how != Emptying::None && delete_listed(stack, bucket, how).await?.is_none() {
            return Ok(Action::Absent);
        }
        match stack.aws.s3.delete_bucket().bucket(bucket).send().await {
            Ok(_) => return Ok(Action::Delete),
            Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(Action::Absent),
            Err(e) if error_code(&e) == Some("BucketNotEmpty") && pass < passes => continue,
            Err(e) if error_code(&e) == Some("BucketNotEmpty") => {
                return Ok(Action::Keep {
                    reason: "objects arrived or changed while teardown ran; they are kept (run teardown again to \
                             remove them)"
                        .into(),
                })
            }
            Err(e) => return Err(e).explain(stack.aws, &format!("s3:DeleteBucket {bucket}")),
        }
    }
    unreachable!("the last pass returns")
}

/// Deletes what one listing shows (with `Listed`, each version only while its ETag is unchanged);
/// `None` when the bucket is gone. Returns how many were skipped because they changed.
async fn delete_listed(stack: &Stack<'_>, bucket: &str, how: Emptying) -> Result<Option<usize>> {
    let s3 = &stack.aws.s3;
    let guarded = how == Emptying::Listed;
    let mut skipped = 0;
    let mut batch = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(None),
            Err(e) => return Err(e).explain(stack.aws, &format!("s3:ListObjectVersions {bucket}")),
        };
        let versions = page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id(), v.e_tag()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id(), None));
        for (key, version, etag) in versions.chain(markers) {
            let key = key.context("listed object without a key")?;
            batch.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .set_e_tag(etag.filter(|_| guarded).map(str::to_string))
                    .build()?,
            );
            if batch.len() == 1000 {
                skipped += delete_batch(stack, bucket, std::mem::take(&mut batch)).await?;
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    if !batch.is_empty() {
        skipped += delete_batch(stack, bucket, batch).await?;
    }
    Ok(Some(skipped))
}

/// Deletes one batch; returns how many S3 skipped because they changed since the listing (412).
async fn delete_batch(
    stack: &Stack<'_>,
    bucket: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<usize> {
    let out = stack
        .aws
        .s3
        .delete_objects()
        .bucket(bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()?,
        )
        .send()
        .await
        .explain(stack.aws, &format!("s3:DeleteObjects {bucket}"))?;
    let (changed, failed): (Vec<_>, Vec<_>) = out
        .errors()
        .iter()
        .partition(|e| e.code() == Some("PreconditionFailed"));
    if let Some(e) = failed.first() {
        bail!(
            "s3:DeleteObjects {bucket}: {} {}: {}",
            e.key().unwrap_or("?"),
            e.code().unwrap_or("?"),
            e.message().unwrap_or("")
        );
    }
    Ok(changed.len())
}

#[cfg(test)]
#[path = "empty_tests.rs"]
mod tests;
