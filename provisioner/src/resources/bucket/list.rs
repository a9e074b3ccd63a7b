//! Listing a bucket's objects under a prefix, every page: what `status` counts and `backfill` plans
//! from. Read-only.
use crate::aws::Explain;
use crate::resources::Stack;
use anyhow::Result;

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
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let last_modified = o
                .last_modified()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_default();
            out.push(Listed {
                key: key.to_string(),
                size: o.size().unwrap_or(0).max(0) as u64,
                last_modified,
            });
        }
    }
    Ok(out)
}
