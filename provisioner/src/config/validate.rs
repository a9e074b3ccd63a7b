//! The configuration's checks, run by `Config::parse`: every key's range and every rule that crosses
//! keys (variant names against the prefix, caps against S3's limits). Each failure is a `ConfigError`
//! naming the file, the key and the fix.
use super::*;
use crate::names::MAX_STACK_NAME;
use std::collections::HashSet;

/// Every retention CloudWatch Logs' `PutRetentionPolicy` accepts, in days (its API reference).
pub const LOG_RETENTION_DAYS: [i32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

impl Config {
    pub(super) fn validate(&self, file: &str) -> Result<(), ConfigError> {
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
        if !LOG_RETENTION_DAYS.contains(&f.log_retention_days) {
            let offered = LOG_RETENTION_DAYS.map(|d| d.to_string()).join(", ");
            return Err(err(
                "[function] log_retention_days",
                format!(
                    "is {}: CloudWatch Logs does not offer it",
                    f.log_retention_days
                ),
                &format!("use one of {offered}"),
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
        self.validate_domain(file)?;
        self.validate_variants(file)
    }

    /// `[cdn] domain`: a lower-case DNS name of two labels or more; `certificate_arn`: an ACM ARN in
    /// us-east-1, and only beside a domain.
    fn validate_domain(&self, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError {
            file: file.to_string(),
            key: key.to_string(),
            problem,
            fix: fix.to_string(),
        };
        let cdn = &self.cdn;
        if let Some(domain) = &cdn.domain {
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            };
            let labels: Vec<&str> = domain.split('.').collect();
            if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
                return Err(err(
                    "[cdn] domain",
                    format!("is {domain:?}: not a DNS name"),
                    "use a lower-case host name such as \"img.example.com\" (no scheme, no path, no wildcard)",
                ));
            }
            if !cdn.enabled {
                return Err(err(
                    "[cdn] domain",
                    "is set while [cdn] enabled = false".into(),
                    "remove `domain`, or enable the CDN",
                ));
            }
        }
        if let Some(arn) = &cdn.certificate_arn {
            if cdn.domain.is_none() {
                return Err(err(
                    "[cdn] certificate_arn",
                    "is set without [cdn] domain".into(),
                    "set the domain the certificate covers, or remove `certificate_arn`",
                ));
            }
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "acm"
                && parts[5].starts_with("certificate/");
            if !ok || parts[3] != super::CLOUDFRONT_CERTIFICATE_REGION {
                return Err(err(
                    "[cdn] certificate_arn",
                    format!("is {arn:?}: CloudFront takes only ACM certificates in us-east-1"),
                    "import or request the certificate in ACM in us-east-1 (N. Virginia) and use its ARN, or \
                     remove `certificate_arn` and let `up` request one",
                ));
            }
        }
        Ok(())
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
            if let Some(q) = v.quality.filter(|q| !(1..=100).contains(q)) {
                return Err(err(i, "quality", format!("is {q}"), "use 1 to 100"));
            }
            match v.effort {
                Some(_) if !v.encodes_avif() => {
                    return Err(err(
                        i,
                        "effort",
                        format!("is set for format {:?}", v.format).to_lowercase(),
                        "remove it: effort applies to AVIF (format = \"avif\" or \"auto\") only",
                    ))
                }
                Some(e) if e > 9 => {
                    return Err(err(
                        i,
                        "effort",
                        format!("is {e}"),
                        "use 0 (fastest) to 9 (smallest)",
                    ))
                }
                _ => {}
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
