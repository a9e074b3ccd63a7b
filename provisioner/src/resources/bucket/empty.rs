//! Emptying a bucket for teardown: every object version and delete marker, in batches of 1,000, then
//! the bucket itself. "Already gone" is success.
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

/// Deletes every object version and delete marker, then the bucket. Returns how many objects went.
/// A bucket that is already gone is success.
pub async fn empty_and_delete(stack: &Stack<'_>, bucket: &str) -> Result<Action> {
    let s3 = &stack.aws.s3;
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
            Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(Action::Absent),
            Err(e) => return Err(e).explain(stack.aws, &format!("s3:ListObjectVersions {bucket}")),
        };
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            let key = key.context("listed object without a key")?;
            batch.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()?,
            );
            if batch.len() == 1000 {
                delete_batch(stack, bucket, std::mem::take(&mut batch)).await?;
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    if !batch.is_empty() {
        delete_batch(stack, bucket, batch).await?;
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(Action::Delete),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(Action::Absent),
        Err(e) => Err(e).explain(stack.aws, &format!("s3:DeleteBucket {bucket}")),
    }
}

async fn delete_batch(
    stack: &Stack<'_>,
    bucket: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<()> {
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
    if let Some(e) = out.errors().first() {
        bail!(
            "s3:DeleteObjects {bucket}: {} {}: {}",
            e.key().unwrap_or("?"),
            e.code().unwrap_or("?"),
            e.message().unwrap_or("")
        );
    }
    Ok(())
}
