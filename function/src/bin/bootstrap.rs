//! The Lambda entry point (`bootstrap` on `provided.al2023`): JSON logs, settings from the environment,
//! clients built once, then the runtime loop. Logs `init_ms` (process start to ready for the first
//! event), the cold-start cost that this binary controls.
use imgdeploy_function::handler::{Handler, HandlerError};
use imgdeploy_function::spec::FunctionSettings;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use std::time::Instant;
use tracing::Instrument;

fn main() -> Result<(), lambda_runtime::Error> {
    let started = Instant::now();
    init_logs();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(started))
}

async fn serve(started: Instant) -> Result<(), lambda_runtime::Error> {
    let settings = match FunctionSettings::from_env(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!(error = %e, "the function's environment is incomplete; redeploy with `imgdeploy up`");
            return Err(e.into());
        }
    };
    let settings_ms = started.elapsed().as_secs_f64() * 1000.0;
    let sdk = imgdeploy_function::https::sdk_defaults().load().await;
    let sdk_config_ms = started.elapsed().as_secs_f64() * 1000.0 - settings_ms;
    let handler = Handler::from_settings(settings, &sdk).await;
    tracing::info!(
        init_ms = started.elapsed().as_secs_f64() * 1000.0,
        since_exec_ms = since_exec_ms(),
        settings_ms,
        sdk_config_ms,
        variants = handler.settings().variants.len(),
        "ready for the first event"
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = handler.clone();
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        let deadline = deadline_of(event.context.deadline);
        async move { invoke(&handler, event.payload, deadline).await }.instrument(span)
    }))
    .await
}

async fn invoke(
    handler: &Handler,
    event: Value,
    deadline: Option<Instant>,
) -> Result<Value, lambda_runtime::Error> {
    // Boxed: the handler's future is deep, and the runtime's service would nest it once more.
    Box::pin(handler.invoke(event, deadline))
        .await
        .map_err(|e: HandlerError| lambda_runtime::Error::from(e.to_string()))
}

/// The invocation's deadline (Lambda's `Lambda-Runtime-Deadline-Ms`, milliseconds since the epoch) as
/// an `Instant`; `None` when the runtime sent none.
fn deadline_of(deadline_ms: u64) -> Option<Instant> {
    if deadline_ms == 0 {
        return None;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    Some(Instant::now() + std::time::Duration::from_millis(deadline_ms.saturating_sub(now_ms)))
}

/// One JSON object per line, event fields at the top level; `RUST_LOG` or `AWS_LAMBDA_LOG_LEVEL` filter.
fn init_logs() {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL").map(|l| l.to_lowercase()))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_writer(std::io::stdout)
        .init();
}

/// Milliseconds since the kernel started this process (`/proc/self/stat` start time, clock-tick
/// resolution, usually 10 ms), to include the loader's share of the cold start. `None` off Linux.
fn since_exec_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces; fields after the closing parenthesis are plain.
    let after = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after.split(' ').nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let ticks_per_second = 100.0; // USER_HZ on every Linux Lambda runs on
    Some(((uptime - start_ticks / ticks_per_second) * 1000.0).max(0.0))
}
