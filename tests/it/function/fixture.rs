//! A fresh function stack per test (source, processed and backup buckets, a failure topic with a test
//! queue on it), on the moto server that authorises S3 as AWS does: the handler's S3 calls are signed
//! as an IAM user holding exactly the function role's policy, rendered by `imgdeploy policies` for
//! this stack. Plus generated photos, and readers (as an admin) for what the function left behind.
use crate::harness::{self, moto_s3_iam as moto, Moto};
use crate::stack::StackDir;
use aws_sdk_s3::primitives::ByteStream;
use imgdeploy_function::handler::{Handler, InvocationSummary, Notice, Outcome, RecordOutcome};
use imgdeploy_function::spec::{
    FunctionSettings, Limits, VariantSpec, DEFAULT_CACHE_CONTROL, DEFAULT_FAILURES_PREFIX,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

pub const PREFIX: &str = "originals/";
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Fixture {
    /// The harness's own S3 client (an admin of the S3-enforcing moto).
    pub s3: aws_sdk_s3::Client,
    /// The keys of the IAM user that holds exactly the function role's policy.
    pub function_keys: (String, String),
    pub source: String,
    pub processed: String,
    pub backup: String,
    pub failures_queue: String,
    pub settings: FunctionSettings,
}

/// An object as read back from moto.
pub struct Stored {
    pub bytes: Vec<u8>,
    pub etag: String,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub metadata: HashMap<String, String>,
}

/// A square JPEG thumbnail and a WebP bounded to 320 px wide: two encoders, two fits.
pub fn variants() -> Vec<VariantSpec> {
    serde_json::from_value(json!([
        {"name": "thumb", "width": 96, "height": 96, "fit": "cover", "format": "jpeg", "quality": 80},
        {"name": "web", "width": 320, "fit": "inside", "format": "webp", "quality": 75}
    ]))
    .unwrap()
}

/// The function role's policy for `stack`, rendered by `imgdeploy policies` from a configuration with
/// the fixture's variant names and no CDN (so no invalidation grant).
pub fn function_policy(moto: &Moto, stack: &StackDir) -> Value {
    stack.write_config("[cdn]\nenabled = false");
    let policies = stack.ok(moto, &["policies"]);
    policies["function_access"].clone()
}

pub async fn fixture(name: &str) -> Fixture {
    let moto = moto();
    let s3 = moto.s3().await;
    let dir = StackDir::new(name, "");
    let stack = dir.name.clone();
    let (source, processed, backup) = (
        format!("{stack}-originals"),
        format!("{stack}-processed"),
        format!("{stack}-backup"),
    );
    for bucket in [&source, &processed, &backup] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));
    }
    let topic_arn = moto
        .sns()
        .await
        .create_topic()
        .name(format!("{stack}-failures"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let failures_queue = harness::subscribe_queue(moto, &topic_arn).await;
    let function_policy = function_policy(moto, &dir);
    let function_keys = moto
        .iam_user(&format!("{stack}-function"), &function_policy)
        .await;
    let settings = FunctionSettings {
        variants: variants(),
        limits: Limits::default(),
        source_prefix: PREFIX.into(),
        processed_bucket: processed.clone(),
        backup_bucket: Some(backup.clone()),
        failure_topic_arn: topic_arn.clone(),
        processed_topic_arn: None,
        failures_prefix: DEFAULT_FAILURES_PREFIX.into(),
        cache_control: DEFAULT_CACHE_CONTROL.into(),
        on_delete: Default::default(),
        distribution_id: None,
        account_id: Some(crate::harness::moto::ACCOUNT.into()),
    };
    Fixture {
        s3,
        function_keys,
        source,
        processed,
        backup,
        failures_queue,
        settings,
    }
}

impl Fixture {
    /// The real handler (engine, S3 and SNS of moto), as the Lambda builds it, with the credentials of
    /// the user that holds exactly the role's policy.
    pub async fn handler(&self) -> Handler {
        Handler::from_settings(self.settings.clone(), &self.function_config().await).await
    }

    /// SDK configuration with the function role's credentials.
    pub async fn function_config(&self) -> aws_config::SdkConfig {
        let (key, secret) = &self.function_keys;
        moto().sdk_config_as(key, secret).await
    }

    /// Uploads to the source bucket; returns the ETag (without quotes).
    pub async fn upload(&self, key: &str, bytes: Vec<u8>) -> String {
        let out = self
            .s3
            .put_object()
            .bucket(&self.source)
            .key(key)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
        out.e_tag.unwrap().trim_matches('"').to_owned()
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Option<Stored> {
        let out = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return None,
            Err(e) => panic!("GetObject s3://{bucket}/{key}: {e:?}"),
        };
        Some(Stored {
            etag: out
                .e_tag
                .clone()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
            content_type: out.content_type.clone(),
            cache_control: out.cache_control.clone(),
            metadata: out.metadata.clone().unwrap_or_default(),
            bytes: out.body.collect().await.unwrap().into_bytes().to_vec(),
        })
    }

    /// Deletes an object, as a user would.
    pub async fn delete(&self, bucket: &str, key: &str) {
        self.s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteObject {bucket}/{key}: {e:?}"));
    }

    pub async fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            keys.extend(
                page.unwrap()
                    .contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key),
            );
        }
        keys.sort();
        keys
    }

    /// The failure reports published to the topic (exactly `expect`, or what came within the wait).
    pub async fn reports(&self, expect: usize) -> Vec<Value> {
        harness::drain_messages(moto(), &self.failures_queue, expect, WAIT).await
    }

    /// Asserts the variants of `source_key` (under the prefix, with `relative` its rest) are in the
    /// processed bucket: right type, caching, metadata and a sane size. Returns them by variant name.
    pub async fn assert_variants(
        &self,
        source_key: &str,
        source_etag: &str,
    ) -> HashMap<String, Stored> {
        let relative = source_key.strip_prefix(PREFIX).unwrap();
        let stem = relative.rsplit_once('.').map_or(relative, |(stem, _)| stem);
        let mut found = HashMap::new();
        for (name, ext, content_type, magic) in [
            ("thumb", "jpg", "image/jpeg", &b"\xFF\xD8\xFF"[..]),
            ("web", "webp", "image/webp", &b"RIFF"[..]),
        ] {
            let key = format!("{name}/{stem}.{ext}");
            let stored = self
                .get(&self.processed, &key)
                .await
                .unwrap_or_else(|| panic!("missing variant {key}"));
            assert_eq!(stored.content_type.as_deref(), Some(content_type), "{key}");
            assert_eq!(
                stored.cache_control.as_deref(),
                Some(DEFAULT_CACHE_CONTROL),
                "{key}"
            );
            assert!(
                stored.bytes.starts_with(magic),
                "{key} is not a {content_type}"
            );
            assert_eq!(
                stored.metadata.get("source-etag").map(String::as_str),
                Some(source_etag),
                "{key}"
            );
            let encoded_source = stored
                .metadata
                .get("source-key")
                .expect("source-key metadata");
            assert_eq!(
                urlencoding::decode(encoded_source).unwrap(),
                source_key,
                "{key}"
            );
            let width: u32 = stored.metadata["width"].parse().unwrap();
            let height: u32 = stored.metadata["height"].parse().unwrap();
            let (w, h) = image_size(&stored.bytes);
            assert_eq!(
                (w, h),
                (width, height),
                "{key}: metadata says {width}x{height}"
            );
            match name {
                "thumb" => assert_eq!((w, h), (96, 96), "{key}"),
                _ => assert!(w <= 320 && w > 0 && h > 0, "{key} is {w}x{h}"),
            }
            found.insert(name.to_owned(), stored);
        }
        found
    }
}

/// Width and height from the header of a JPEG or WebP (decoded by the `image` crate for JPEG; the
/// VP8/VP8L header for WebP, which the test's `image` build does not decode).
pub fn image_size(bytes: &[u8]) -> (u32, u32) {
    if bytes.starts_with(b"RIFF") {
        return webp_size(bytes);
    }
    let img = image::load_from_memory(bytes).expect("a decodable image");
    (img.width(), img.height())
}

fn webp_size(b: &[u8]) -> (u32, u32) {
    match &b[12..16] {
        b"VP8 " => (
            u16::from_le_bytes([b[26], b[27]]) as u32 & 0x3fff,
            u16::from_le_bytes([b[28], b[29]]) as u32 & 0x3fff,
        ),
        b"VP8L" => {
            let bits = u32::from_le_bytes([b[21], b[22], b[23], b[24]]);
            ((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1)
        }
        b"VP8X" => (
            1 + u32::from_le_bytes([b[24], b[25], b[26], 0]),
            1 + u32::from_le_bytes([b[27], b[28], b[29], 0]),
        ),
        other => panic!("unknown WebP chunk {other:?}"),
    }
}

/// A generated photo-like JPEG (gradients and a ring pattern), `width` x `height`.
pub fn photo(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let ring = (((fx - 0.5).powi(2) + (fy - 0.5).powi(2)).sqrt() * 40.0).sin() * 0.5 + 0.5;
        image::Rgb([(fx * 255.0) as u8, (ring * 255.0) as u8, (fy * 255.0) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// The one outcome of a one-record summary.
/// One record of an S3 event as S3 sends it through SNS.
pub fn notice(key: &str, event_name: &str, etag: Option<&str>, sequencer: &str) -> Notice {
    Notice {
        key: key.into(),
        event_name: event_name.into(),
        etag: etag.map(str::to_owned),
        sequencer: Some(sequencer.into()),
    }
}

pub fn only(summary: &InvocationSummary) -> &RecordOutcome {
    assert_eq!(summary.records.len(), 1, "{summary:#?}");
    &summary.records[0]
}

pub fn reason_of(outcome: &Outcome) -> &str {
    match outcome {
        Outcome::Ignored { reason } | Outcome::Skipped { reason, .. } => reason,
        other => panic!("expected ignored or skipped, got {other:?}"),
    }
}

/// `../shared/<path>` when the shared corpus is present (CI has it); `None` (and a note) otherwise.
pub fn shared(path: &str) -> Option<PathBuf> {
    let root = harness::venv::repo_root().join("..").join("shared");
    let full = root.join(path);
    if full.exists() {
        Some(full)
    } else {
        // CI always lays ../shared beside the checkout: there a missing one is a failure, never a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is missing",
            full.display()
        );
        eprintln!(
            "SKIPPED: {} is not present (../shared is only on CI and the team's machines)",
            full.display()
        );
        None
    }
}
