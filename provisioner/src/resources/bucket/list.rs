//! Listing a bucket's objects under a prefix, page by page: what `status` counts, `backfill` plans from,
//! and `up` counts after a change of the variant set. Read-only.
use crate::aws::Explain;
use crate::resources::Stack;
use anyhow::Result;
use aws_sdk_s3::types::Object;

/// One object of a listing.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// RFC 3339, UTC.
    pub last_modified: String,
}

/// Every object of `bucket` under `prefix`.
pub async fn list(stack: &Stack<'_>, bucket: &str, prefix: &str) -> Result<Vec<Listed>> {
    let mut out = Vec::new();
    walk(stack, bucket, prefix, |o| {
        let Some(key) = o.key() else { return true };
        let last_modified = o
            .last_modified()
            .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
            .unwrap_or_default();
        out.push(Listed {
            key: key.to_string(),
            size: o.size().unwrap_or(0).max(0) as u64,
            last_modified,
        });
        true
    })
    .await?;
    Ok(out)
}

/// How many objects (folder placeholders aside) `bucket` holds under `prefix`, counting at most about
/// `cap` (then `true`: there are more): a count cheap enough to print after `up`.
pub async fn count(
    stack: &Stack<'_>,
    bucket: &str,
    prefix: &str,
    cap: usize,
) -> Result<(usize, bool)> {
    let mut n = 0;
    walk(stack, bucket, prefix, |o| {
        n += !o.key().unwrap_or("/").ends_with('/') as usize;
        n < cap
    })
    .await?;
    Ok((n, n >= cap))
}

/// Calls `each` on every object under `prefix`, in key order, until it returns `false` (the rest of
/// that page is still visited; no further page is read).
async fn walk(
    stack: &Stack<'_>,
    bucket: &str,
    prefix: &str,
    mut each: impl FnMut(&Object) -> bool,
) -> Result<()> {
    let mut pages = stack
        .aws
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.explain(stack.aws, &format!("s3:ListObjectsV2 {bucket}/{prefix}"))?;
        let mut more = true;
        for o in page.contents() {
            more &= each(o);
        }
        if !more {
            break;
        }
    }
    Ok(())
}
