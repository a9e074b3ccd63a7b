//! `imgdeploy invoke KEY...`: sends the function the event SNS would deliver for these uploads. `--local`
//! runs the function's own handler in this process against the configured endpoint (the demo's way to
//! process uploads on moto, and a debugger for one failing image on a real account); otherwise the
//! deployed function is invoked asynchronously, and `--wait` polls until every variant is written.
use crate::aws::{Aws, Explain};
use crate::cli::{GlobalArgs, InvokeArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::local::{self, LocalRun};
use crate::resources::Stack;
use anyhow::{bail, Context, Result};
use imgdeploy_function::handler::record::variant_keys;
use imgdeploy_function::handler::sns_s3_event;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `invoke` did: each upload's outcome (`--local`), or the asynchronous invocation.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum InvokeResult {
    Local(LocalRun),
    Event(EventRun),
    /// A backfill orchestration or S3 Batch Operations event run here: the function's answer.
    Answer(serde_json::Value),
}

#[derive(Debug, Serialize)]
pub struct EventRun {
    pub stack: String,
    pub mode: &'static str,
    pub function: String,
    pub status_code: i32,
    pub keys: Vec<String>,
    pub expected_variants: Vec<String>,
    pub waited_seconds: Option<f64>,
    #[serde(skip)]
    pub processed_bucket: String,
}

impl InvokeResult {
    /// An error when an upload did not become variants: after printing, the command exits non-zero.
    pub fn check(&self) -> Result<()> {
        match self {
            InvokeResult::Local(r) => r.check(),
            InvokeResult::Event(_) | InvokeResult::Answer(_) => Ok(()),
        }
    }
}

impl fmt::Display for InvokeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvokeResult::Local(r) => r.fmt(f),
            InvokeResult::Answer(answer) => writeln!(f, "{answer:#}"),
            InvokeResult::Event(r) => {
                writeln!(
                    f,
                    "invoked {} asynchronously for {} key(s) (status {})",
                    r.function,
                    r.keys.len(),
                    r.status_code
                )?;
                match r.waited_seconds {
                    Some(s) => writeln!(
                        f,
                        "all {} variant(s) are in {} after {s:.1}s",
                        r.expected_variants.len(),
                        r.processed_bucket
                    ),
                    None => Ok(()),
                }
            }
        }
    }
}

pub async fn run(g: &GlobalArgs, args: &InvokeArgs) -> Result<InvokeResult> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    let prefix = &config.source.prefix;
    let keys: Vec<String> = args.keys.iter().map(|k| full_key(prefix, k)).collect();
    if let Some(file) = &args.event {
        let event = read_event(file)?;
        if imgdeploy_function::handler::batch::is_batch_event(&event) {
            return Ok(InvokeResult::Answer(local::answer(&stack, event).await?));
        }
        let events = vec![(file.display().to_string(), event)];
        Ok(InvokeResult::Local(
            local::run(&stack, events, g.json).await?,
        ))
    } else if args.local {
        let bucket = &stack.names.originals_bucket;
        let events = keys
            .iter()
            .map(|k| (k.clone(), sns_s3_event(bucket, &[k])))
            .collect();
        Ok(InvokeResult::Local(
            local::run(&stack, events, g.json).await?,
        ))
    } else {
        run_deployed(g, &stack, &keys, args).await
    }
}

/// The key in the originals bucket: given with the source prefix, or relative to it.
pub fn full_key(prefix: &str, key: &str) -> String {
    let key = key.trim_start_matches('/');
    if key.starts_with(prefix) {
        key.to_string()
    } else {
        format!("{prefix}{key}")
    }
}

/// An event from a file (`-`: stdin), as JSON.
fn read_event(file: &Path) -> Result<serde_json::Value> {
    let text = if file == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading the event from stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))
}

/// Lambda `Invoke` with `InvocationType=Event` (as SNS does), then optionally wait for the variants.
async fn run_deployed(
    g: &GlobalArgs,
    stack: &Stack<'_>,
    keys: &[String],
    args: &InvokeArgs,
) -> Result<InvokeResult> {
    let aws = stack.aws;
    let event = sns_s3_event(&stack.names.originals_bucket, keys);
    let out = aws
        .lambda
        .invoke()
        .function_name(&stack.names.function)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_smithy_types::Blob::new(serde_json::to_vec(&event)?))
        .send()
        .await
        .explain(aws, "lambda:Invoke")
        .with_context(|| {
            format!(
                "invoking {} (is the stack up? `imgdeploy status` tells)",
                stack.names.function
            )
        })?;
    let expected = expected_variants(stack, keys);
    let waited = if args.wait {
        let timeout = Duration::from_secs(args.timeout);
        Some(wait_for(aws, stack, &expected, timeout, g.json).await?)
    } else {
        None
    };
    Ok(InvokeResult::Event(EventRun {
        stack: stack.names.stack.clone(),
        mode: "event",
        function: stack.names.function.clone(),
        status_code: out.status_code(),
        keys: keys.to_vec(),
        expected_variants: expected,
        waited_seconds: waited.map(|d| d.as_secs_f64()),
        processed_bucket: stack.names.processed_bucket.clone(),
    }))
}

/// Every variant key the keys should produce in the processed bucket.
pub fn expected_variants(stack: &Stack<'_>, keys: &[String]) -> Vec<String> {
    let prefix = &stack.config.source.prefix;
    keys.iter()
        .flat_map(|k| {
            let relative = k.strip_prefix(prefix.as_str()).unwrap_or(k);
            stack
                .config
                .variants
                .iter()
                .flat_map(move |v| variant_keys(v, relative))
        })
        .collect()
}

/// Polls the processed bucket until every key exists; fails after `timeout` naming what is missing.
async fn wait_for(
    aws: &Aws,
    stack: &Stack<'_>,
    expected: &[String],
    timeout: Duration,
    json: bool,
) -> Result<Duration> {
    let started = Instant::now();
    let bar = (!json).then(|| {
        let bar = ProgressBar::new(expected.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner:.cyan} waiting for variants [{bar:30}] {pos}/{len} {elapsed}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    });
    let bucket = &stack.names.processed_bucket;
    let mut missing: Vec<String> = expected.to_vec();
    loop {
        let mut still = Vec::new();
        for key in missing {
            match aws.s3.head_object().bucket(bucket).key(&key).send().await {
                Ok(_) => {}
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => still.push(key),
                Err(e) => return Err(e).explain(aws, "s3:HeadObject"),
            }
        }
        missing = still;
        if let Some(bar) = &bar {
            bar.set_position((expected.len() - missing.len()) as u64);
        }
        if missing.is_empty() {
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return Ok(started.elapsed());
        }
        if started.elapsed() >= timeout {
            if let Some(bar) = bar {
                bar.abandon();
            }
            bail!(
                "after {}s, {} of {} variant(s) are still missing from {bucket}: {}\n  \
                 fix: look for a failure report with `imgdeploy status`, or the function's log group",
                timeout.as_secs(),
                missing.len(),
                expected.len(),
                missing.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_may_be_given_with_or_without_the_prefix() {
        assert_eq!(full_key("originals/", "a b.jpg"), "originals/a b.jpg");
        assert_eq!(
            full_key("originals/", "originals/x/y.png"),
            "originals/x/y.png"
        );
        assert_eq!(full_key("originals/", "/z.jpg"), "originals/z.jpg");
    }
}
