//! `imgdeploy logs`: the function's log group, read for people. The function logs one JSON line per
//! image (`outcome`, `key`, `variants`, `millis`); this renders them as one line each, filters by key or
//! by failure with a CloudWatch filter pattern (so that CloudWatch, not this machine, scans the group),
//! and with `--follow` tails the group until interrupted.
use super::connect;
use crate::aws::Explain;
use crate::cli::{GlobalArgs, LogsArgs};
use crate::config::Config;
use crate::names::Names;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How often `--follow` asks for new events (CloudWatch Logs allows 10 FilterLogEvents a second).
const POLL: Duration = Duration::from_secs(2);

pub async fn run(g: &GlobalArgs, args: &LogsArgs) -> Result<()> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let names = Names::new(&config.stack()?.name);
    let since = parse_duration(&args.since).with_context(|| format!("--since {:?}", args.since))?;
    let key = args
        .key
        .as_deref()
        .map(|k| super::invoke::full_key(&config.source.prefix, k));
    let pattern = filter_pattern(key.as_deref(), args.failures);
    let mut view = View {
        group: names.log_group.clone(),
        pattern,
        key,
        failures: args.failures,
        json: g.json,
        start: now_ms().saturating_sub(since.as_millis() as i64),
        seen: HashMap::new(),
        shown: 0,
    };
    if !args.follow {
        view.poll(&aws).await?;
    } else {
        // Registered before the first read, so that a Ctrl-C during a request is not lost.
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("listening for Ctrl-C")?;
        loop {
            tokio::select! {
                read = view.poll(&aws) => read?,
                _ = interrupt.recv() => break,
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = interrupt.recv() => break,
            }
        }
    }
    let shown = view.shown;
    if shown == 0 && !g.json && !args.follow {
        eprintln!(
            "no matching events in {} since {} ago",
            names.log_group, args.since
        );
    }
    Ok(())
}

/// What is being read, and what was shown already.
struct View {
    group: String,
    pattern: Option<String>,
    key: Option<String>,
    failures: bool,
    json: bool,
    /// Milliseconds since the epoch: where the next read starts (the newest event seen).
    start: i64,
    /// Ids (and times) of the events read at the newest millisecond: the next read starts there, and
    /// shows none of them twice. Older ids are dropped, so that a long `--follow` keeps little.
    seen: HashMap<String, i64>,
    shown: usize,
}

impl View {
    /// Reads every event from `start` on and prints the new ones.
    async fn poll(&mut self, aws: &crate::aws::Aws) -> Result<()> {
        let mut pages = aws
            .logs
            .filter_log_events()
            .log_group_name(&self.group)
            .start_time(self.start)
            .set_filter_pattern(self.pattern.clone())
            .into_paginator()
            .send();
        let mut newest = self.start;
        while let Some(page) = pages.next().await {
            let page = page.explain(aws, &format!("logs:FilterLogEvents {}", self.group))?;
            for event in page.events() {
                let id = event.event_id().unwrap_or_default().to_string();
                let time = event.timestamp().unwrap_or_default();
                if self.seen.insert(id, time).is_some() {
                    continue;
                }
                newest = newest.max(time);
                let message = event.message().unwrap_or_default().trim_end();
                if let Some(line) =
                    render(time, message, self.key.as_deref(), self.failures, self.json)
                {
                    println!("{line}");
                    self.shown += 1;
                }
            }
        }
        self.start = newest;
        self.seen.retain(|_, time| *time >= newest);
        Ok(())
    }
}

/// The CloudWatch filter pattern for `--key` and `--failures` (JSON patterns, which match the
/// function's one-object-per-line logs), or none.
pub fn filter_pattern(key: Option<&str>, failures: bool) -> Option<String> {
    let key = key.map(|k| format!("$.key = {}", quote(k)));
    let failures =
        failures.then(|| "($.outcome = \"failed\" || $.outcome = \"retry\")".to_string());
    match (key, failures) {
        (None, None) => None,
        (Some(k), None) => Some(format!("{{ {k} }}")),
        (None, Some(f)) => Some(format!("{{ {f} }}")),
        (Some(k), Some(f)) => Some(format!("{{ {k} && {f} }}")),
    }
}

/// A string value of a filter pattern: in double quotes, with `"` and `\` escaped.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One event for people (or, with `json`, passed through), or `None` when it is not for this view:
/// Lambda's own lines (START, END, REPORT) and debug chatter are left out of the human view, and events
/// are checked again against `--key` and `--failures` (emulators ignore JSON filter patterns).
pub fn render(
    time_ms: i64,
    message: &str,
    key: Option<&str>,
    failures: bool,
    json: bool,
) -> Option<String> {
    let parsed: Option<Value> = serde_json::from_str(message).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let outcome = field("outcome");
    if key.is_some_and(|k| field("key") != k)
        || (failures && !matches!(outcome.as_str(), "failed" | "retry"))
    {
        return None;
    }
    if json {
        return Some(message.to_string());
    }
    let parsed = parsed.as_ref()?;
    let clock = clock(time_ms);
    if outcome.is_empty() {
        let level = field("level");
        if !matches!(level.as_str(), "WARN" | "ERROR") {
            return None;
        }
        let detail = [field("error"), field("fix")]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Some(
            format!("{clock}  {level:<9}  {}  {detail}", field("message"))
                .trim_end()
                .to_string(),
        );
    }
    let key = field("key");
    let detail = match outcome.as_str() {
        "processed" => {
            let variants: Vec<Value> = serde_json::from_str(&field("variants")).unwrap_or_default();
            let names: Vec<&str> = variants.iter().filter_map(|v| v["name"].as_str()).collect();
            let millis = parsed
                .get("millis")
                .and_then(Value::as_f64)
                .unwrap_or_default();
            format!("{}  {millis:.0} ms", names.join(","))
        }
        "failed" => format!("{}: {}", field("error_kind"), field("message")),
        "retry" => field("error"),
        "deleted" => format!("variants {}", field("variants")),
        _ => field("reason"),
    };
    Some(
        format!("{clock}  {outcome:<9}  {key}  {detail}")
            .trim_end()
            .to_string(),
    )
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, the log events' own clock.
fn clock(time_ms: i64) -> String {
    use aws_smithy_types::date_time::{DateTime, Format};
    let text = DateTime::from_millis(time_ms)
        .fmt(Format::DateTime)
        .unwrap_or_default();
    // RFC 3339 (`2026-12-04T03:51:29.123Z`) to seconds, with a space.
    text.get(..19).unwrap_or(&text).replace('T', " ")
}

/// `30s`, `15m`, `2h`, `7d` (a bare number is minutes).
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .context("expected a positive number with a unit: 30s, 15m, 2h or 7d")?;
    let secs = match unit {
        "s" => n,
        "" | "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        other => bail!("unknown unit {other:?}: use s, m, h or d"),
    };
    Ok(Duration::from_secs(secs))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
