//! `imgdeploy.toml`: parsing, defaults and validation. Every error names the file, the key and the fix.
use crate::artifact::Arch;
use crate::names::MAX_STACK_NAME;
use imgdeploy_function::spec::OnDelete;
use imgdeploy_function::spec::{Fit, Format, Limits, VariantSpec, DEFAULT_CACHE_CONTROL};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
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
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            prefix: default_prefix(),
            on_delete: OnDelete::default(),
        }
    }
}

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
}

impl Default for CdnConfig {
    fn default() -> Self {
        CdnConfig {
            enabled: true,
            serve_originals: false,
            price_class: default_price_class(),
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
        let config: Config = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map(|s| text[s].lines().next().unwrap_or("").trim().to_string());
            ConfigError {
                file: file.into(),
                key: key
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "(syntax)".into()),
                problem: format!("is invalid: {}", e.message()),
                fix: "check the spelling and the type against the README's configuration reference"
                    .into(),
            }
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

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError {
            file: file.into(),
            key: key.into(),
            problem,
            fix: fix.into(),
        };
        if let Some(stack) = &self.stack {
            check_stack_name(&stack.name).map_err(|p| {
                err(
                    "[stack] name",
                    p,
                    "use 3 to 53 lowercase letters, digits and hyphens, e.g. \"acme-photos\"",
                )
            })?;
        }
        let prefix = &self.source.prefix;
        if prefix.is_empty()
            || prefix.starts_with('/')
            || !prefix.ends_with('/')
            || prefix.contains('*')
        {
            return Err(err(
                "[source] prefix",
                format!("is {prefix:?}: it must be a folder such as \"originals/\""),
                "use a non-empty folder name ending in '/', without a leading '/' or '*'",
            ));
        }
        if let Some(email) = &self.alerts.email {
            let plausible = email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if !plausible || email.chars().any(char::is_whitespace) {
                return Err(err(
                    "[alerts] email",
                    format!("is {email:?}: not an e-mail address"),
                    "use one address, e.g. \"ops@example.com\"",
                ));
            }
        }
        if self.backup.noncurrent_days == 0 {
            return Err(err(
                "[backup] noncurrent_days",
                "is 0: S3 expires noncurrent versions after at least one day".into(),
                "use a number of days, 1 or more (default 90)",
            ));
        }
        let f = &self.function;
        if !(128..=10240).contains(&f.memory_mb) {
            return Err(err(
                "[function] memory_mb",
                format!("is {}", f.memory_mb),
                "use 128 to 10240",
            ));
        }
        if !(1..=900).contains(&f.timeout_s) {
            return Err(err(
                "[function] timeout_s",
                format!("is {}", f.timeout_s),
                "use 1 to 900",
            ));
        }
        if let Some(c) = f.reserved_concurrency.filter(|c| *c < 1) {
            return Err(err(
                "[function] reserved_concurrency",
                format!("is {c}: the function would never run"),
                "use 1 or more, or remove the key for unreserved concurrency",
            ));
        }
        if !(0..=2).contains(&f.retry_attempts) {
            return Err(err(
                "[function] retry_attempts",
                format!("is {}: Lambda retries at most twice", f.retry_attempts),
                "use 0, 1 or 2 (default 2)",
            ));
        }
        if !(60..=21600).contains(&f.max_event_age_s) {
            return Err(err(
                "[function] max_event_age_s",
                format!("is {}", f.max_event_age_s),
                "use 60 to 21600 seconds (default 21600, six hours)",
            ));
        }
        if f.max_input_pixels == 0 || f.max_input_bytes == 0 {
            return Err(err(
                "[function] max_input_pixels/max_input_bytes",
                "is 0".into(),
                "use a positive limit",
            ));
        }
        // S3 copies at most 5 GB in one CopyObject; the backup copy of a larger original would fail
        // on every retry. The cap is checked before any copy, so it keeps every copy within S3's.
        if f.max_input_bytes > MAX_SINGLE_COPY_BYTES {
            return Err(err(
                "[function] max_input_bytes",
                format!(
                    "is {}: more than the 5 GB S3 copies in one request",
                    f.max_input_bytes
                ),
                "use at most 5368709120 (an image that large would not fit Lambda's memory anyway)",
            ));
        }
        if ![
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653,
        ]
        .contains(&f.log_retention_days)
        {
            return Err(err(
                "[function] log_retention_days",
                format!("is {}: CloudWatch Logs does not offer it", f.log_retention_days),
                "use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653",
            ));
        }
        if !["PriceClass_100", "PriceClass_200", "PriceClass_All"]
            .contains(&self.cdn.price_class.as_str())
        {
            return Err(err(
                "[cdn] price_class",
                format!("is {:?}", self.cdn.price_class),
                "use PriceClass_100, PriceClass_200 or PriceClass_All",
            ));
        }
        self.validate_variants(file)
    }

    fn validate_variants(&self, file: &str) -> Result<(), ConfigError> {
        let err = |i: usize, key: &str, problem: String, fix: &str| ConfigError {
            file: file.into(),
            key: format!("[[variant]] #{} {key}", i + 1),
            problem,
            fix: fix.into(),
        };
        if self.variants.is_empty() {
            return Err(ConfigError {
                file: file.into(),
                key: "[[variant]]".into(),
                problem: "is missing: there is nothing to produce".into(),
                fix: "add at least one [[variant]] table with name, width, height".into(),
            });
        }
        let source_folder = self.source.prefix.split('/').next().unwrap_or_default();
        let mut seen = HashSet::new();
        for (i, v) in self.variants.iter().enumerate() {
            let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
            if v.name.is_empty() || !v.name.chars().all(ok_char) || v.name.starts_with(['_', '.']) {
                return Err(err(
                    i,
                    "name",
                    format!("is {:?}", v.name),
                    "use letters, digits, '-', '_' and '.', not starting with '_' or '.'",
                ));
            }
            if !seen.insert(v.name.as_str()) {
                return Err(err(
                    i,
                    "name",
                    format!("{:?} is used twice", v.name),
                    "give every variant its own name",
                ));
            }
            // The CDN serves `<prefix>*` from the originals bucket: a variant folder of the same name
            // would be unreachable, and writing outputs under the trigger prefix is how upload loops start.
            if v.name == source_folder {
                return Err(err(
                    i,
                    "name",
                    format!("{:?} equals the source prefix's folder", v.name),
                    "rename the variant or change [source] prefix",
                ));
            }
            let needs_both = matches!(v.fit, Fit::Cover | Fit::Contain | Fit::Fill);
            match (v.width, v.height) {
                (None, None) => {
                    return Err(err(
                        i,
                        "width/height",
                        "are both missing".into(),
                        "set width, height or both",
                    ))
                }
                (Some(_), None) | (None, Some(_)) if needs_both => {
                    return Err(err(
                        i,
                        "width/height",
                        format!("fit {:?} needs both", v.fit).to_lowercase(),
                        "set both width and height, or use fit = \"inside\"",
                    ))
                }
                _ => {}
            }
            for (key, dim) in [("width", v.width), ("height", v.height)] {
                if let Some(d) = dim.filter(|d| *d == 0 || *d > 16383) {
                    return Err(err(i, key, format!("is {d}"), "use 1 to 16383 pixels"));
                }
            }
            if v.format == Format::Avif {
                return Err(err(
                    i,
                    "format",
                    "is \"avif\": this engine build has no AVIF encoder".into(),
                    "use \"webp\" (smaller than JPEG, decoded by every current browser)",
                ));
            }
            if !(1..=100).contains(&v.quality) {
                return Err(err(
                    i,
                    "quality",
                    format!("is {}", v.quality),
                    "use 1 to 100",
                ));
            }
            if let Some(bg) = &v.background {
                if parse_colour(bg).is_none() {
                    return Err(err(
                        i,
                        "background",
                        format!("is {bg:?}"),
                        "use #rrggbb or #rrggbbaa",
                    ));
                }
            }
        }
        let env_size = serde_json::to_string(&self.variants)
            .map(|s| s.len())
            .unwrap_or(0);
        if env_size > LAMBDA_ENV_LIMIT - 1024 {
            return Err(ConfigError {
                file: file.into(),
                key: "[[variant]]".into(),
                problem: format!(
                    "tables take {env_size} bytes: Lambda's environment holds 4 KB in all"
                ),
                fix: "use fewer variants, or drop fields that repeat their defaults".into(),
            });
        }
        Ok(())
    }
}

/// `#rrggbb` or `#rrggbbaa` -> RGBA.
pub fn parse_colour(s: &str) -> Option<[u8; 4]> {
    let hex = s.strip_prefix('#')?;
    if !(hex.len() == 6 || hex.len() == 8) || !hex.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([
        byte(0)?,
        byte(2)?,
        byte(4)?,
        if hex.len() == 8 { byte(6)? } else { 255 },
    ])
}

/// S3's bucket-name rules, applied to the stack name (every bucket name is `<stack>-<role>`).
pub fn check_stack_name(name: &str) -> Result<(), String> {
    let problem = if name.len() < 3 || name.len() > MAX_STACK_NAME {
        format!("is {} characters long", name.len())
    } else if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        format!("{name:?} has characters other than lowercase letters, digits and hyphens")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) || name.ends_with('-') {
        format!("{name:?} must start with a letter or digit and not end with a hyphen")
    } else if name.starts_with("xn--") || name.starts_with("sthree-") || name.contains("--") {
        format!("{name:?} uses a prefix or a double hyphen that S3 reserves")
    } else {
        return Ok(());
    };
    Err(problem)
}

#[cfg(test)]
mod tests;
