//! What the stack's buckets hold, for `imgdeploy status`: originals under the source prefix, variants
//! per variant name, the originals missing a variant, and the failure reports the function keeps under
//! the failures prefix of the processed bucket (latest first).
use crate::aws::Explain;
use crate::resources::bucket::list::list;
use crate::resources::Stack;
use anyhow::Result;
use imgdeploy_function::handler::record::variant_keys;
use imgdeploy_function::handler::report::report_key;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Serialize)]
pub struct Objects {
    pub source_prefix: String,
    /// Objects under the source prefix (folder placeholders excluded).
    pub originals: usize,
    /// Per variant name (sorted by name).
    pub variants: BTreeMap<String, usize>,
    /// Originals that lack at least one variant.
    pub missing: Vec<MissingVariants>,
}

#[derive(Debug, Serialize)]
pub struct MissingVariants {
    pub key: String,
    pub missing: Vec<String>,
    /// The kind of the failure report of this original, when the function filed one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Failures {
    pub prefix: String,
    pub count: usize,
    /// The latest reports, newest first: the report as the function wrote it, plus where it is.
    pub latest: Vec<Value>,
}

/// Counts originals and variants and lists the gaps; a bucket that does not exist counts as empty.
pub async fn count(
    stack: &Stack<'_>,
    originals_exist: bool,
    processed_exists: bool,
    failures_prefix: &str,
) -> Result<Objects> {
    let prefix = stack.config.source.prefix.clone();
    let originals: Vec<String> = if originals_exist {
        list(stack, &stack.names.originals_bucket, &prefix)
            .await?
            .into_iter()
            .map(|o| o.key)
            .filter(|k| !k.ends_with('/') && k.len() > prefix.len())
            .collect()
    } else {
        Vec::new()
    };
    let processed: HashSet<String> = if processed_exists {
        list(stack, &stack.names.processed_bucket, "")
            .await?
            .into_iter()
            .map(|o| o.key)
            .collect()
    } else {
        HashSet::new()
    };
    let variants = &stack.config.variants;
    let per_variant: BTreeMap<String, usize> = variants
        .iter()
        .map(|v| (v.name.clone(), processed_count(&processed, &v.name)))
        .collect();
    let missing = originals
        .iter()
        .filter_map(|key| {
            let relative = &key[prefix.len()..];
            let missing: Vec<String> = variants
                .iter()
                .filter(|v| {
                    variant_keys(v, relative)
                        .iter()
                        .any(|k| !processed.contains(k))
                })
                .map(|v| v.name.clone())
                .collect();
            (!missing.is_empty()).then(|| MissingVariants {
                key: key.clone(),
                missing,
                failure: processed
                    .contains(&report_key(failures_prefix, key))
                    .then(|| "reported".to_string()),
            })
        })
        .collect();
    Ok(Objects {
        source_prefix: prefix,
        originals: originals.len(),
        variants: per_variant,
        missing,
    })
}

fn processed_count(processed: &HashSet<String>, variant: &str) -> usize {
    let folder = format!("{variant}/");
    processed.iter().filter(|k| k.starts_with(&folder)).count()
}

/// The failure reports under `prefix` in the processed bucket: how many, and the `latest` newest.
pub async fn failures(
    stack: &Stack<'_>,
    processed_exists: bool,
    prefix: &str,
    latest: usize,
) -> Result<Failures> {
    if !processed_exists {
        return Ok(Failures {
            prefix: prefix.to_string(),
            count: 0,
            latest: Vec::new(),
        });
    }
    let bucket = &stack.names.processed_bucket;
    let mut listed = list(stack, bucket, prefix).await?;
    // RFC 3339 in UTC sorts as text; the key breaks ties so that the order is stable.
    listed.sort_by(|a, b| {
        (b.last_modified.as_str(), b.key.as_str()).cmp(&(a.last_modified.as_str(), a.key.as_str()))
    });
    let count = listed.len();
    let mut reports = Vec::new();
    for o in listed.into_iter().take(latest) {
        let body = stack
            .aws
            .s3
            .get_object()
            .bucket(bucket)
            .key(&o.key)
            .send()
            .await
            .explain(stack.aws, &format!("s3:GetObject {bucket}/{}", o.key))?
            .body
            .collect()
            .await?
            .into_bytes();
        let mut report = serde_json::from_slice::<Value>(&body).unwrap_or_else(|e| {
            serde_json::json!({ "message": format!("unreadable report ({e}): {}", String::from_utf8_lossy(&body)) })
        });
        if let Some(map) = report.as_object_mut() {
            map.insert("report_key".into(), o.key.clone().into());
            map.insert("last_modified".into(), o.last_modified.into());
        }
        reports.push(report);
    }
    Ok(Failures {
        prefix: prefix.to_string(),
        count,
        latest: reports,
    })
}

/// Fills in the kind of each missing original's failure report, from the reports read.
pub fn annotate(objects: &mut Objects, failures: &Failures) {
    let kinds: HashMap<&str, &str> = failures
        .latest
        .iter()
        .filter_map(|r| Some((r["key"].as_str()?, r["error_kind"].as_str()?)))
        .collect();
    for m in &mut objects.missing {
        if let Some(kind) = kinds.get(m.key.as_str()) {
            m.failure = Some((*kind).to_string());
        }
    }
}
