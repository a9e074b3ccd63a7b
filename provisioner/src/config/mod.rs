//! `imgdeploy.toml`: parsing, defaults and validation. Every error names the file, the key and the fix.
use crate::artifact::Arch;
use imgdeploy_function::spec::OnDelete;
use imgdeploy_function::spec::{Fit, Limits, VariantSpec, DEFAULT_CACHE_CONTROL};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Absent in a variants-only file (accepted by `render`, refused by the commands that deploy).
    pub stack: Option<StackConfig>,
    #[serde(default)]
    pub source: SourceConfig,
    #[serde(default)]
    pub function: FunctionConfig,
    #[serde(default)]
    pub backup: BackupConfig,
    #[serde(default)]
    pub cdn: CdnConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub events: EventsConfig,
    #[serde(default, rename = "variant")]
    pub variants: Vec<VariantSpec>,
    #[serde(skip)]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StackConfig {
    pub name: String,
    pub region: Option<String>,
    /// Extra tags for every taggable resource, beside `imgdeploy:stack`.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// What deleting an original does to its variants: `delete-variants` (the default: they are
    /// deleted, and invalidated on the CDN) or `keep`.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// What starts the processing: `upload` (the default: every upload, through the bucket's
    /// notification) or `manual` (no notification; only `imgdeploy backfill` and an app's own
    /// batch invocation, e.g. once a whole order is uploaded).
    #[serde(default)]
    pub trigger: Trigger,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            prefix: default_prefix(),
            on_delete: OnDelete::default(),
            trigger: Trigger::default(),
        }
    }
}

/// `[source] trigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    #[default]
    Upload,
    Manual,
}

/// Where a CloudFront distribution's ACM certificate must be, whatever the stack's region (`[cdn]
/// certificate_arn` is checked against it; `Aws::acm` is a client pinned there).
pub const CLOUDFRONT_CERTIFICATE_REGION: &str = "us-east-1";

/// S3's limit for one `CopyObject` (5 GiB).
pub const MAX_SINGLE_COPY_BYTES: u64 = 5 * 1024 * 1024 * 1024;

fn default_prefix() -> String {
    "originals/".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionConfig {
    #[serde(default)]
    pub architecture: Arch,
    #[serde(default = "default_memory")]
    pub memory_mb: i32,
    #[serde(default = "default_timeout")]
    pub timeout_s: i32,
    pub reserved_concurrency: Option<i32>,
    #[serde(default = "default_max_pixels")]
    pub max_input_pixels: u64,
    #[serde(default = "default_max_bytes")]
    pub max_input_bytes: u64,
    #[serde(default = "default_retention")]
    pub log_retention_days: i32,
    #[serde(default = "default_cache_control")]
    pub cache_control: String,
    /// Lambda's retries of a failed invocation (0–2) before the event goes to the failure queue.
    #[serde(default = "default_retry_attempts")]
    pub retry_attempts: i32,
    /// The oldest an event may get (60–21600 s) while Lambda retries it, before the failure queue.
    #[serde(default = "default_max_event_age")]
    pub max_event_age_s: i32,
}

fn default_retry_attempts() -> i32 {
    2
}
fn default_max_event_age() -> i32 {
    6 * 3600
}

fn default_memory() -> i32 {
    2048
}
fn default_timeout() -> i32 {
    60
}
fn default_max_pixels() -> u64 {
    Limits::default().max_input_pixels
}
fn default_max_bytes() -> u64 {
    Limits::default().max_input_bytes
}
fn default_retention() -> i32 {
    30
}
fn default_cache_control() -> String {
    DEFAULT_CACHE_CONTROL.into()
}

impl Default for FunctionConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl FunctionConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            max_input_pixels: self.max_input_pixels,
            max_input_bytes: self.max_input_bytes,
        }
    }
}

/// Who hears about failures: each failure report and each event moved to the failure queue.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// An address subscribed to the failure topic (SNS mails a confirmation link first).
    pub email: Option<String>,
}

/// What the stack tells apps.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Publish each processed original's manifest, and each deletion, to the `<stack>-processed`
    /// SNS topic, once its objects are written (or deleted).
    #[serde(default)]
    pub processed: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Days a replaced or deleted original's earlier version is kept in the backup bucket before a
    /// lifecycle rule expires it.
    #[serde(default = "default_noncurrent_days")]
    pub noncurrent_days: u32,
}

fn default_noncurrent_days() -> u32 {
    90
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            enabled: true,
            noncurrent_days: default_noncurrent_days(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CdnConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Serve `<prefix>*` from the originals bucket too. Off by default: originals keep their EXIF
    /// metadata, GPS position included; the plan warns when it is on.
    #[serde(default)]
    pub serve_originals: bool,
    #[serde(default = "default_price_class")]
    pub price_class: String,
    /// A custom domain the distribution answers to (`img.example.com`). Without `certificate_arn`,
    /// `up` requests an ACM certificate for it in us-east-1, validated by DNS.
    #[serde(default)]
    pub domain: Option<String>,
    /// An ISSUED ACM certificate in us-east-1 that covers `domain`, to use instead of requesting one.
    #[serde(default)]
    pub certificate_arn: Option<String>,
}

impl Default for CdnConfig {
    fn default() -> Self {
        CdnConfig {
            enabled: true,
            serve_originals: false,
            price_class: default_price_class(),
            domain: None,
            certificate_arn: None,
        }
    }
}

fn yes() -> bool {
    true
}
fn default_price_class() -> String {
    "PriceClass_100".into()
}

/// A configuration problem: which file, which key, what is wrong, how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: `{key}` {problem}\n  fix: {fix}")]
pub struct ConfigError {
    pub file: String,
    pub key: String,
    pub problem: String,
    pub fix: String,
}

const LAMBDA_ENV_LIMIT: usize = 4096;

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            key: "(file)".into(),
            problem: format!("cannot be read: {e}"),
            fix: "create it (see the README's configuration reference) or pass --config PATH"
                .into(),
        })?;
        let mut config = Self::parse(&text, &file)?;
        config.path = path.to_path_buf();
        Ok(config)
    }

    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError {
            file: file.into(),
            key: e
                .span()
                .and_then(|span| key_at(text, span))
                .unwrap_or_else(|| "(syntax)".into()),
            problem: format!("is invalid: {}", e.message().trim_end()),
            fix: "check the spelling and the type against the README's configuration reference"
                .into(),
        })?;
        config.validate(file)?;
        Ok(config)
    }

    /// The stack section, required by every command that talks to AWS.
    pub fn stack(&self) -> Result<&StackConfig, ConfigError> {
        self.stack.as_ref().ok_or_else(|| ConfigError {
            file: self.path.display().to_string(),
            key: "[stack] name".into(),
            problem: "is missing: this file only describes variants".into(),
            fix:
                "add `[stack]` with `name = \"my-photos\"` (lowercase letters, digits and hyphens)"
                    .into(),
        })
    }
}

pub mod validate;
#[cfg(test)]
use validate::{check_stack_name, parse_colour};

#[cfg(test)]
mod tests;

/// The key a TOML error's span points into, as `[table] key`: the span is the value for a type
/// error, the key for an unknown field, and the header for a table-wide error.
fn key_at(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    // The nearest header above: `[function]`, or `[[variant]]` for the variant being defined.
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['));
    if line.trim_start().starts_with('[') {
        return Some(line.trim().to_string());
    }
    let key = match line.split_once('=') {
        Some((key, _)) => key.trim(),
        None => text.get(span)?.trim(),
    };
    if key.is_empty() {
        return None;
    }
    Some(match table {
        Some(t) => format!("{t} {key}"),
        None => key.to_string(),
    })
}
