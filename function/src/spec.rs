//! The contract between `imgdeploy.toml`, the function's environment and the engine: what a variant is,
//! which limits apply, and how the provisioner hands both to the deployed function.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One output of the pipeline: `<name>/<key>.<ext>` in the processed bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantSpec {
    /// Folder of this variant in the processed bucket; also the output file stem for `render`.
    pub name: String,
    /// Target width in pixels; `None` means "derived from the height and the aspect ratio".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Target height in pixels; `None` means "derived from the width and the aspect ratio".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default)]
    pub fit: Fit,
    #[serde(default)]
    pub format: Format,
    /// Encoder quality, 1..=100 (JPEG, lossy WebP, AVIF); `None` is the format's default
    /// ([`VariantSpec::quality`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<u8>,
    /// AVIF only: encoder effort, 0 (fastest) ..= 9 (smallest), sharp's scale; `None` is
    /// [`DEFAULT_AVIF_EFFORT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<u8>,
    /// Where `cover` crops from.
    #[serde(default)]
    pub gravity: Gravity,
    /// Letterbox colour for `contain` (`#rrggbb` or `#rrggbbaa`); white when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Lossless WebP instead of lossy.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossless: bool,
    /// Progressive JPEG (smaller, renders early on slow links). On by default.
    #[serde(default = "default_true")]
    pub progressive: bool,
}

/// JPEG and WebP quality when a variant sets none.
pub const DEFAULT_QUALITY: u8 = 80;
/// AVIF quality when a variant sets none: libavif's scale, as sharp's (whose default is also 50).
pub const DEFAULT_AVIF_QUALITY: u8 = 50;
/// AVIF effort when a variant sets none (libaom speed 6): chosen from the measured curve in
/// docs/engine.md, "AVIF".
pub const DEFAULT_AVIF_EFFORT: u8 = 3;

impl VariantSpec {
    /// The encoder quality this variant is rendered at.
    pub fn quality(&self) -> u8 {
        self.quality.unwrap_or(match self.format {
            Format::Avif => DEFAULT_AVIF_QUALITY,
            _ => DEFAULT_QUALITY,
        })
    }
    /// The AVIF encoder effort this variant is rendered at.
    pub fn effort(&self) -> u8 {
        self.effort.unwrap_or(DEFAULT_AVIF_EFFORT)
    }
    /// This variant encodes AVIF (`format = "avif"` or `"auto"`), so its build needs the AVIF encoder and
    /// its `effort` applies.
    pub fn encodes_avif(&self) -> bool {
        matches!(self.format, Format::Avif | Format::Auto)
    }
    /// The objects this variant is written as: one, or three for `format = "auto"`.
    pub fn outputs(&self) -> &'static [Output] {
        match self.format {
            Format::Jpeg => &[Output::Named(Format::Jpeg)],
            Format::Png => &[Output::Named(Format::Png)],
            Format::Webp => &[Output::Named(Format::Webp)],
            Format::Avif => &[Output::Named(Format::Avif)],
            Format::Auto => &[
                Output::Named(Format::Avif),
                Output::Named(Format::Webp),
                Output::Fallback,
            ],
        }
    }
}

/// One object of a variant, by the suffix of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// `<stem>.<extension>`, in that format.
    Named(Format),
    /// `<stem>`, with no extension: the object a viewer gets when the edge negotiates nothing better
    /// (`format = "auto"`). JPEG, or PNG when the picture keeps alpha; its `Content-Type` says which.
    Fallback,
}

impl Output {
    /// What follows the stem in the object's key: `.webp`, or nothing for the fallback.
    pub fn suffix(self) -> String {
        match self {
            Output::Named(format) => format!(".{}", format.extension()),
            Output::Fallback => String::new(),
        }
    }
}
fn default_true() -> bool {
    true
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// How the picture is fitted into the `width` x `height` box (sharp's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fit {
    /// Fill the box, crop what overflows (by `gravity`).
    #[default]
    Cover,
    /// Fit inside the box and letterbox the rest with `background`.
    Contain,
    /// Stretch to the box, ignoring the aspect ratio.
    Fill,
    /// Fit inside the box, keep the aspect ratio, never enlarge.
    Inside,
    /// Cover the box, keep the aspect ratio, no crop, never enlarge.
    Outside,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Jpeg,
    Png,
    Webp,
    Avif,
    /// AVIF, WebP and a fallback (JPEG, or PNG with alpha), each its own object ([`Output`]), from one
    /// resample; the CDN serves each viewer the best its `Accept` header allows. Never a rendered format:
    /// every [`crate::engine::Rendered`] names the format it was encoded in.
    Auto,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
            Format::Auto => "auto",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
            // Never a rendered format; JPEG is its fallback's usual type.
            Format::Auto => "image/jpeg",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Gravity {
    #[default]
    #[serde(alias = "center")]
    Centre,
    Top,
    Bottom,
    Left,
    Right,
    /// Keep the window with the most detail (Shannon entropy of luminance).
    Entropy,
    /// Keep the window that draws the eye (detail, saturation and skin tones).
    Attention,
}

/// Input limits, checked from the image header before any large allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_max_pixels")]
    pub max_input_pixels: u64,
    #[serde(default = "default_max_bytes")]
    pub max_input_bytes: u64,
}

fn default_max_pixels() -> u64 {
    100_000_000
}
fn default_max_bytes() -> u64 {
    64 * 1024 * 1024
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_pixels: default_max_pixels(),
            max_input_bytes: default_max_bytes(),
        }
    }
}

/// Everything the deployed function needs, passed through its environment by the provisioner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSettings {
    pub variants: Vec<VariantSpec>,
    pub limits: Limits,
    /// Only keys under this prefix are processed: the guard against upload loops.
    pub source_prefix: String,
    pub processed_bucket: String,
    /// `None` when `[backup] enabled = false`.
    pub backup_bucket: Option<String>,
    pub failure_topic_arn: String,
    /// `[events] processed`: each processed original's manifest, and each deletion, is published
    /// here once its objects are written or deleted.
    pub processed_topic_arn: Option<String>,
    /// Failure reports are also written as JSON objects under this prefix of the processed bucket,
    /// so that `imgdeploy status` can list them.
    pub failures_prefix: String,
    pub cache_control: String,
    /// What a deleted original does to its variants.
    pub on_delete: OnDelete,
    /// The stack's CloudFront distribution, whose cached copies of a replaced or deleted variant are
    /// invalidated; `None` without `[cdn]`.
    pub distribution_id: Option<String>,
    /// The stack's account: every S3 request names it as the bucket's expected owner.
    pub account_id: Option<String>,
}

/// `[source] on_delete`: what happens to the variants when their original is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDelete {
    /// Delete every variant and the failure report, and invalidate the variants on the CDN.
    #[default]
    DeleteVariants,
    /// Leave the variants where they are.
    Keep,
}

impl OnDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::DeleteVariants => "delete-variants",
            OnDelete::Keep => "keep",
        }
    }
}

/// The CDN may keep a variant for a year (`s-maxage`): a replaced or deleted variant is invalidated
/// there. Browsers, which cannot be invalidated, keep it a day (`max-age`), so a replaced photo shows
/// within a day everywhere. Not `immutable`: a variant's key keeps its name when its original is
/// overwritten.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=86400, s-maxage=31536000";
pub const DEFAULT_FAILURES_PREFIX: &str = "_failures/";
/// Where the function writes each original's manifest in the processed bucket (`handler::manifest`).
pub const MANIFESTS_PREFIX: &str = "_manifests/";

/// Environment variable names; the provisioner writes them, the function reads them.
pub mod env {
    pub const VARIANTS: &str = "IMGDEPLOY_VARIANTS";
    pub const MAX_INPUT_PIXELS: &str = "IMGDEPLOY_MAX_INPUT_PIXELS";
    pub const MAX_INPUT_BYTES: &str = "IMGDEPLOY_MAX_INPUT_BYTES";
    pub const SOURCE_PREFIX: &str = "IMGDEPLOY_SOURCE_PREFIX";
    pub const PROCESSED_BUCKET: &str = "IMGDEPLOY_PROCESSED_BUCKET";
    pub const BACKUP_BUCKET: &str = "IMGDEPLOY_BACKUP_BUCKET";
    pub const FAILURE_TOPIC_ARN: &str = "IMGDEPLOY_FAILURE_TOPIC_ARN";
    pub const PROCESSED_TOPIC_ARN: &str = "IMGDEPLOY_PROCESSED_TOPIC_ARN";
    pub const FAILURES_PREFIX: &str = "IMGDEPLOY_FAILURES_PREFIX";
    pub const CACHE_CONTROL: &str = "IMGDEPLOY_CACHE_CONTROL";
    pub const ON_DELETE: &str = "IMGDEPLOY_ON_DELETE";
    pub const DISTRIBUTION_ID: &str = "IMGDEPLOY_DISTRIBUTION_ID";
    pub const ACCOUNT_ID: &str = "IMGDEPLOY_ACCOUNT_ID";
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl FunctionSettings {
    /// The function's environment. Deterministic (sorted, compact JSON), so that the provisioner can
    /// compare it with what is deployed and skip a no-op update.
    pub fn to_env(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        let variants = serde_json::to_string(&self.variants).expect("variants serialize");
        m.insert(env::VARIANTS.into(), variants);
        m.insert(
            env::MAX_INPUT_PIXELS.into(),
            self.limits.max_input_pixels.to_string(),
        );
        m.insert(
            env::MAX_INPUT_BYTES.into(),
            self.limits.max_input_bytes.to_string(),
        );
        m.insert(env::SOURCE_PREFIX.into(), self.source_prefix.clone());
        m.insert(env::PROCESSED_BUCKET.into(), self.processed_bucket.clone());
        if let Some(b) = &self.backup_bucket {
            m.insert(env::BACKUP_BUCKET.into(), b.clone());
        }
        m.insert(
            env::FAILURE_TOPIC_ARN.into(),
            self.failure_topic_arn.clone(),
        );
        if let Some(arn) = &self.processed_topic_arn {
            m.insert(env::PROCESSED_TOPIC_ARN.into(), arn.clone());
        }
        m.insert(env::FAILURES_PREFIX.into(), self.failures_prefix.clone());
        m.insert(env::CACHE_CONTROL.into(), self.cache_control.clone());
        m.insert(env::ON_DELETE.into(), self.on_delete.as_str().into());
        if let Some(id) = &self.distribution_id {
            m.insert(env::DISTRIBUTION_ID.into(), id.clone());
        }
        if let Some(account) = &self.account_id {
            m.insert(env::ACCOUNT_ID.into(), account.clone());
        }
        m
    }

    /// Reads the settings through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let req = |name: &'static str| get(name).ok_or(SettingsError::Missing(name));
        let num = |name: &'static str, default: u64| -> Result<u64, SettingsError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|e: std::num::ParseIntError| SettingsError::Invalid {
                        name,
                        reason: e.to_string(),
                    }),
            }
        };
        let variants: Vec<VariantSpec> =
            serde_json::from_str(&req(env::VARIANTS)?).map_err(|e| SettingsError::Invalid {
                name: env::VARIANTS,
                reason: e.to_string(),
            })?;
        Ok(FunctionSettings {
            variants,
            limits: Limits {
                max_input_pixels: num(env::MAX_INPUT_PIXELS, default_max_pixels())?,
                max_input_bytes: num(env::MAX_INPUT_BYTES, default_max_bytes())?,
            },
            source_prefix: req(env::SOURCE_PREFIX)?,
            processed_bucket: req(env::PROCESSED_BUCKET)?,
            backup_bucket: get(env::BACKUP_BUCKET).filter(|b| !b.is_empty()),
            failure_topic_arn: req(env::FAILURE_TOPIC_ARN)?,
            processed_topic_arn: get(env::PROCESSED_TOPIC_ARN).filter(|a| !a.is_empty()),
            failures_prefix: get(env::FAILURES_PREFIX)
                .unwrap_or_else(|| DEFAULT_FAILURES_PREFIX.into()),
            cache_control: get(env::CACHE_CONTROL).unwrap_or_else(|| DEFAULT_CACHE_CONTROL.into()),
            on_delete: match get(env::ON_DELETE).as_deref() {
                None | Some("delete-variants") => OnDelete::DeleteVariants,
                Some("keep") => OnDelete::Keep,
                Some(other) => {
                    return Err(SettingsError::Invalid {
                        name: env::ON_DELETE,
                        reason: format!("{other:?} is neither \"delete-variants\" nor \"keep\""),
                    })
                }
            },
            distribution_id: get(env::DISTRIBUTION_ID).filter(|d| !d.is_empty()),
            account_id: get(env::ACCOUNT_ID).filter(|a| !a.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_job_variant_parses_with_defaults() {
        let v: VariantSpec = toml_like(
            r#"{"name":"thumb1000","width":1000,"height":1000,"fit":"inside","format":"jpeg","quality":80}"#,
        );
        assert_eq!(v.fit, Fit::Inside);
        assert!(v.progressive);
        assert_eq!(v.gravity, Gravity::Centre);
    }

    #[test]
    fn settings_round_trip_through_env() {
        let s = FunctionSettings {
            variants: vec![toml_like(r#"{"name":"w","width":10}"#)],
            limits: Limits::default(),
            source_prefix: "originals/".into(),
            processed_bucket: "p".into(),
            backup_bucket: None,
            failure_topic_arn: "arn:aws:sns:us-east-1:123456789012:f".into(),
            processed_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:p".into()),
            failures_prefix: DEFAULT_FAILURES_PREFIX.into(),
            cache_control: DEFAULT_CACHE_CONTROL.into(),
            on_delete: OnDelete::Keep,
            distribution_id: Some("E2EXAMPLE".into()),
            account_id: Some("123456789012".into()),
        };
        let env = s.to_env();
        let back = FunctionSettings::from_env(|k| env.get(k).cloned()).unwrap();
        assert_eq!(back, s);
        assert!(matches!(
            FunctionSettings::from_env(|_| None),
            Err(SettingsError::Missing(_))
        ));
    }

    fn toml_like(json: &str) -> VariantSpec {
        serde_json::from_str(json).unwrap()
    }
}
