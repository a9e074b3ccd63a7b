//! `status` for people: the resources, the CDN and function lines, the counts, the gaps and the latest
//! failures.
use super::{CodeSource, StatusResult};
use crate::output::size;
use std::fmt;

impl fmt::Display for CodeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeSource::Current { id } => write!(f, "imgdeploy-function {id}, what this CLI deploys"),
            CodeSource::Artifact => f.write_str("a zip given with --artifact"),
            CodeSource::Other {
                deployed,
                ours,
                older,
            } => write!(
                f,
                "deployed from {} imgdeploy (imgdeploy-function {deployed}; this CLI deploys {ours}): run `imgdeploy update`",
                if *older { "an older" } else { "another" }
            ),
            CodeSource::Unrecorded { ours } => write!(
                f,
                "deployed without a source tag, by an older imgdeploy or by hand (this CLI deploys {ours}): run `imgdeploy update`"
            ),
        }
    }
}

/// How many originals with a gap are listed; `--json` lists them all.
const SHOWN: usize = 20;

impl fmt::Display for StatusResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Stack {} in {} (account {})",
            self.stack, self.region, self.account
        )?;
        if !self.deployed {
            return writeln!(
                f,
                "\nNothing of this stack exists: create it with `imgdeploy up`."
            );
        }
        writeln!(f, "\nResources")?;
        for r in &self.resources {
            let (mark, detail) = match r.state {
                "ok" => ("✓", "ok".to_string()),
                "missing" => ("✗", "missing (`imgdeploy up` creates it)".to_string()),
                "not-ours" => ("x", format!("not this stack's: {}", r.changes.join(", "))),
                "waiting" => ("…", format!("waiting: {}", r.changes.join(", "))),
                _ => ("~", format!("drifted: {}", r.changes.join(", "))),
            };
            writeln!(f, "  {mark} {:<17} {:<44} {detail}", r.kind, r.name)?;
        }
        match &self.cdn {
            Some(c) => writeln!(
                f,
                "\nCDN          https://{}/  ({}, {}{})",
                c.domain,
                c.id,
                c.status,
                if c.enabled { "" } else { ", disabled" }
            )?,
            None if self.cdn_configured => writeln!(f, "\nCDN          no distribution")?,
            None => writeln!(f, "\nCDN          off ([cdn] enabled = false)")?,
        }
        if let Some(func) = &self.function {
            writeln!(
                f,
                "Function     {}  version {}, {}, {} MB, timeout {} s, code {}, updated {} ({}, last update {})",
                func.name,
                func.version,
                func.architecture,
                func.memory_mb,
                func.timeout_s,
                size(func.code_size.max(0) as u64),
                func.last_modified,
                func.state,
                func.last_update_status
            )?;
            writeln!(f, "Code         {}", func.code_source)?;
        }
        if let Some(q) = &self.failure_queue {
            let oldest = q
                .oldest_age_s
                .map(|s| format!(", oldest {}", age(s)))
                .unwrap_or_default();
            let fix = if q.messages > 0 {
                "  (fix the cause, deploy, then `imgdeploy redrive`)"
            } else {
                ""
            };
            writeln!(
                f,
                "Failed       {} event(s) waiting in SQS {}{oldest}{}{fix}",
                q.messages,
                q.name,
                if q.in_flight > 0 {
                    format!(", {} being redriven", q.in_flight)
                } else {
                    String::new()
                }
            )?;
        }
        self.fmt_objects(f)?;
        self.fmt_failures(f)
    }
}

/// An age in the largest whole unit: `42 s`, `17 min`, `5 h`, `3 d`.
fn age(seconds: u64) -> String {
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86400),
    }
}

impl StatusResult {
    fn fmt_objects(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.objects;
        writeln!(
            f,
            "\nOriginals    {} under s3://{}/{}",
            o.originals, self.originals_bucket, o.source_prefix
        )?;
        let counts: Vec<String> = o
            .variants
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(f, "Variants     {}", counts.join(", "))?;
        if o.missing.is_empty() {
            return writeln!(f, "Missing      none: every original has every variant");
        }
        writeln!(
            f,
            "Missing      {} original(s) lack a variant:",
            o.missing.len()
        )?;
        for m in o.missing.iter().take(SHOWN) {
            let why = m
                .failure
                .as_deref()
                .map(|k| format!("  (failed: {k})"))
                .unwrap_or_default();
            writeln!(f, "  {}: {}{why}", m.key, m.missing.join(", "))?;
        }
        if o.missing.len() > SHOWN {
            writeln!(
                f,
                "  ... and {} more (`--json` lists them all)",
                o.missing.len() - SHOWN
            )?;
        }
        Ok(())
    }

    fn fmt_failures(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failures = &self.failures;
        if failures.count == 0 {
            return writeln!(f, "\nFailures     none reported");
        }
        writeln!(
            f,
            "\nFailures     {} report(s) under s3://{}/{}; latest first:",
            failures.count, self.processed_bucket, failures.prefix
        )?;
        for r in &failures.latest {
            let s = |k: &str| r[k].as_str().unwrap_or("?").to_string();
            writeln!(
                f,
                "  {}  {}  {}: {}",
                s("time"),
                s("key"),
                s("error_kind"),
                s("message")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::objects::{Failures, MissingVariants, Objects};
    use super::super::{CdnState, FunctionState, ResourceState};
    use super::*;
    use crate::resources::kind::Kind;

    fn status(deployed: bool) -> StatusResult {
        let resource = |kind, name: &str, state, changes: &[&str]| ResourceState {
            kind,
            name: name.into(),
            state,
            changes: changes.iter().map(|c| c.to_string()).collect(),
        };
        StatusResult {
            stack: "acme".into(),
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            deployed,
            resources: vec![
                resource(Kind::Bucket, "acme-originals", "ok", &[]),
                resource(Kind::LogGroup, "/aws/lambda/acme-variants", "missing", &[]),
                resource(
                    Kind::Function,
                    "acme-variants",
                    "drifted",
                    &["memory 2048 -> 1024 MB"],
                ),
                resource(
                    Kind::Role,
                    "acme-function",
                    "not-ours",
                    &["belongs to stack prod (its imgdeploy:stack tag)"],
                ),
                resource(
                    Kind::DnsAlias,
                    "img.example.com",
                    "waiting",
                    &["the certificate is not issued yet (PENDING_VALIDATION)"],
                ),
            ],
            failure_queue: Some(crate::resources::queue::Depth {
                name: "acme-failures".into(),
                messages: 4,
                in_flight: 0,
                oldest_age_s: Some(7300),
            }),
            cdn: Some(CdnState {
                id: "E2QWRUHAPOMQZL".into(),
                domain: "d111111abcdef8.cloudfront.net".into(),
                status: "Deployed".into(),
                deployed: true,
                enabled: true,
            }),
            function: Some(FunctionState {
                name: "acme-variants".into(),
                version: "$LATEST".into(),
                architecture: "arm64".into(),
                memory_mb: 2048,
                timeout_s: 60,
                code_size: 3_400_000,
                code_sha256: "abc=".into(),
                last_modified: "2026-12-03T10:00:00.000+0000".into(),
                state: "Active".into(),
                last_update_status: "Successful".into(),
                runtime: "provided.al2023".into(),
                code_source: CodeSource::Other {
                    deployed: "0.1.0-0123456789ab".into(),
                    ours: "0.2.0-ba9876543210".into(),
                    older: true,
                },
            }),
            objects: Objects {
                source_prefix: "originals/".into(),
                originals: 3,
                variants: [("thumb".to_string(), 2), ("web".to_string(), 1)].into(),
                missing: vec![MissingVariants {
                    key: "originals/broken.jpg".into(),
                    missing: vec!["thumb".into(), "web".into()],
                    failure: Some("corrupt".into()),
                }],
            },
            failures: Failures {
                prefix: "_failures/".into(),
                count: 1,
                latest: vec![serde_json::json!({"time": "2026-12-03T10:01:00Z",
                    "key": "originals/broken.jpg", "error_kind": "corrupt",
                    "message": "originals/broken.jpg: not a JPEG (truncated at byte 12)"})],
            },
            cdn_configured: true,
            originals_bucket: "acme-originals".into(),
            processed_bucket: "acme-processed".into(),
        }
    }

    #[test]
    fn status_reads_as_resources_then_cdn_function_objects_and_failures() {
        insta::assert_snapshot!(status(true).to_string());
    }

    #[test]
    fn a_stack_that_does_not_exist_says_how_to_create_it() {
        insta::assert_snapshot!(status(false).to_string());
    }
}
