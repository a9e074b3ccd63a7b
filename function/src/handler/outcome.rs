//! What an invocation did, record by record: returned by the function (and by `imgdeploy invoke
//! --local`), logged one JSON line per image, and summed up in one line per invocation.
use super::invalidate::Invalidation;
use super::report::FailureReport;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvocationSummary {
    pub records: Vec<RecordOutcome>,
    pub processed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub ignored: usize,
    /// Originals whose deletion removed their variants.
    #[serde(default)]
    pub deleted: usize,
    pub millis: f64,
    /// The CDN paths of the variants this invocation replaced or deleted, and what CloudFront said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalidation: Option<Invalidation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordOutcome {
    pub bucket: Option<String>,
    pub key: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Every variant written (and the original backed up, when a backup bucket is configured).
    Processed {
        etag: String,
        bytes_in: u64,
        bytes_out: u64,
        variants: Vec<VariantWritten>,
        backup_bucket: Option<String>,
        /// The whole record: S3 calls, waiting for memory, rendering.
        millis: f64,
        /// The engine's share of `millis`: decode, resize and encode every variant (0 from a function
        /// older than the field).
        #[serde(default)]
        render_millis: f64,
        /// The engine's decoder for this image ("dct-parallel", "libjpeg-turbo", "png-pipe",
        /// "png-crate", "image"; empty from a function older than the field).
        #[serde(default)]
        decoder: String,
        /// The original's manifest (`None` from a function older than manifests, or when a newer
        /// upload owns some of the objects).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manifest: Option<ManifestWritten>,
    },
    /// Nothing to do: every variant already existed for this source ETag (a duplicate delivery), or a
    /// newer upload of the key owns them (a late or stale event).
    Skipped { etag: String, reason: String },
    /// The original was deleted: these variant objects (and its manifest) were deleted with it (`kept`: made from a newer upload
    /// of the key, left alone).
    Deleted {
        variants: Vec<String>,
        #[serde(default)]
        kept: Vec<String>,
    },
    /// A permanent failure, reported (or already reported for this ETag: `newly_reported` false).
    Failed {
        report: FailureReport,
        newly_reported: bool,
    },
    /// Not work for this function (test event, deletion, outside the source prefix, ...).
    Ignored { reason: String },
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Processed { .. } => "processed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Failed { .. } => "failed",
            Outcome::Ignored { .. } => "ignored",
            Outcome::Deleted { .. } => "deleted",
        }
    }

    /// The processed-bucket keys the CDN may hold an old copy of: variants written over an older
    /// version, or deleted.
    pub fn stale_keys(&self) -> Vec<&str> {
        match self {
            Outcome::Processed {
                variants, manifest, ..
            } => variants
                .iter()
                .filter(|v| v.replaced)
                .map(|v| v.key.as_str())
                .chain(
                    manifest
                        .iter()
                        .filter(|m| m.replaced)
                        .map(|m| m.key.as_str()),
                )
                .collect(),
            Outcome::Deleted { variants, .. } => variants.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The manifest written beside the variants (`handler::manifest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestWritten {
    pub key: String,
    pub bytes: u64,
    /// Written over the manifest of an older version of the original (or of older settings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
}

/// One variant object written to the processed bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantWritten {
    pub name: String,
    pub key: String,
    pub content_type: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// Resample + encode time of this variant (the shared decode is not included).
    pub millis: f64,
    /// Written over a variant of an older version of the original (or of older settings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced: bool,
}

impl InvocationSummary {
    pub fn new(records: Vec<RecordOutcome>, millis: f64) -> Self {
        let count = |name: &str| records.iter().filter(|r| r.outcome.name() == name).count();
        InvocationSummary {
            processed: count("processed"),
            skipped: count("skipped"),
            failed: count("failed"),
            ignored: count("ignored"),
            deleted: count("deleted"),
            records,
            millis,
            invalidation: None,
        }
    }
}

/// The structured log line of one record (`tracing`, JSON in the Lambda).
pub fn log_record(record: &RecordOutcome) {
    let key = record.key.as_deref().unwrap_or("");
    let bucket = record.bucket.as_deref().unwrap_or("");
    match &record.outcome {
        Outcome::Processed {
            etag,
            bytes_in,
            bytes_out,
            variants,
            millis,
            render_millis,
            decoder,
            ..
        } => {
            let timings: Vec<_> = variants
                .iter()
                .map(|v| serde_json::json!({"name": v.name, "millis": round(v.millis), "bytes": v.bytes, "width": v.width, "height": v.height}))
                .collect();
            tracing::info!(
                bucket, key, etag = etag.as_str(), outcome = "processed", bytes_in, bytes_out,
                decoder = decoder.as_str(), variants = %serde_json::Value::Array(timings),
                millis = round(*millis), render_millis = round(*render_millis), "image"
            );
        }
        Outcome::Skipped { etag, reason } => {
            tracing::info!(
                bucket,
                key,
                etag = etag.as_str(),
                outcome = "skipped",
                reason = reason.as_str(),
                "image"
            );
        }
        Outcome::Failed {
            report,
            newly_reported,
        } => {
            tracing::warn!(
                bucket,
                key,
                etag = report.etag.as_deref().unwrap_or(""),
                outcome = "failed",
                error_kind = report.error_kind.as_str(),
                message = report.message.as_str(),
                newly_reported = *newly_reported,
                "image"
            );
        }
        Outcome::Deleted { variants, kept } => {
            tracing::info!(
                bucket,
                key,
                outcome = "deleted",
                variants = %variants.join(","),
                kept = %kept.join(","),
                "image"
            );
        }
        Outcome::Ignored { reason } => {
            tracing::info!(
                bucket,
                key,
                outcome = "ignored",
                reason = reason.as_str(),
                "record ignored"
            );
        }
    }
}

pub fn round(millis: f64) -> f64 {
    (millis * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_serializes_flat_records() {
        let records = vec![
            RecordOutcome {
                bucket: Some("b".into()),
                key: Some("originals/a.jpg".into()),
                outcome: Outcome::Skipped {
                    etag: "e".into(),
                    reason: "duplicate".into(),
                },
            },
            RecordOutcome {
                bucket: None,
                key: None,
                outcome: Outcome::Ignored {
                    reason: "s3:TestEvent".into(),
                },
            },
        ];
        let summary = InvocationSummary::new(records, 12.0);
        assert_eq!(
            (
                summary.processed,
                summary.skipped,
                summary.failed,
                summary.ignored
            ),
            (0, 1, 0, 1)
        );
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["records"][0]["outcome"], "skipped");
        assert_eq!(json["records"][0]["key"], "originals/a.jpg");
        assert_eq!(
            serde_json::from_value::<InvocationSummary>(json).unwrap(),
            summary
        );
    }
}
