//! The function's Lambda calls: read it as Lambda describes it (configuration, concurrency, retries,
//! tags); create it (retrying while a new role propagates through IAM) or update only what differs,
//! each change followed by Lambda's waiter; delete it. The pure parts (what differs) are in `mod.rs`.
use super::event_invoke;
use super::{changes, Code, Config, Current, Desired};
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::plan::Action;
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, FunctionCode, Runtime};
use std::time::Duration;

pub async fn describe(stack: &Stack<'_>, desired: &Desired) -> Result<Option<Current>> {
    let out = match stack
        .aws
        .lambda
        .get_function()
        .function_name(&desired.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
        Err(e) => {
            return Err(e).explain(stack.aws, &format!("lambda:GetFunction {}", desired.name))
        }
    };
    let Some(f) = out.configuration() else {
        return Ok(None);
    };
    Ok(Some(Current {
        config: Config {
            role_arn: f.role().unwrap_or_default().to_string(),
            arch: f
                .architectures()
                .first()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| "x86_64".into()),
            memory_mb: f.memory_size().unwrap_or_default(),
            timeout_s: f.timeout().unwrap_or_default(),
            env: f
                .environment()
                .and_then(|e| e.variables())
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            dlq_arn: match f.dead_letter_config().and_then(|d| d.target_arn()) {
                Some(arn) => Some(arn.to_string()),
                // moto drops DeadLetterConfig on create and update: on an emulator a missing one is not
                // drift (what is sent is pinned at the request level, tests/it/requests.rs).
                None if stack.aws.endpoint.is_some() => desired.config.dlq_arn.clone(),
                None => None,
            },
            runtime: f
                .runtime()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            handler: f.handler().unwrap_or_default().to_string(),
        },
        code_sha256: f.code_sha256().unwrap_or_default().to_string(),
        reserved_concurrency: out
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        event_invoke: event_invoke::describe(stack, &desired.name).await?,
        tags: out
            .tags()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        version: f.version().unwrap_or_default().to_string(),
        code_size: f.code_size(),
        last_modified: f.last_modified().unwrap_or_default().to_string(),
        state: f
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        last_update_status: f
            .last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
    }))
}

const WAIT: Duration = Duration::from_secs(300);

/// Creates the function, or updates only what differs: code, then configuration, each followed by the
/// `LastUpdateStatus` waiter (Lambda refuses a second update while one is in progress).
pub async fn apply(
    stack: &Stack<'_>,
    desired: &Desired,
    current: Option<&Current>,
    task: &Task,
) -> Result<()> {
    let lambda = &stack.aws.lambda;
    let name = desired.name.as_str();
    let d = &desired.config;
    let arch = Architecture::from(d.arch.as_str());
    let Some(current) = current else {
        let code = desired
            .code
            .as_ref()
            .context("no code to create the function with")?;
        create_with_retry(stack, desired, code, task).await?;
        lambda
            .wait_until_function_active_v2()
            .function_name(name)
            .wait(WAIT)
            .await
            .map_err(|e| anyhow::anyhow!("lambda {name} did not become active: {e}"))?;
        event_invoke::apply(stack, name, &desired.event_invoke).await?;
        return put_concurrency(stack, desired, None).await;
    };
    let changed = changes(current, desired);
    if let (true, Some(code)) = (changed.iter().any(|c| c == "code"), &desired.code) {
        lambda
            .update_function_code()
            .function_name(name)
            .zip_file(Blob::new(code.zip.clone()))
            .architectures(arch)
            .send()
            .await
            .explain(stack.aws, &format!("lambda:UpdateFunctionCode {name}"))?;
        wait_updated(stack, name).await?;
    }
    let config_changed = current.config
        != Config {
            arch: current.config.arch.clone(),
            ..d.clone()
        };
    if config_changed {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(&d.role_arn)
            .memory_size(d.memory_mb)
            .timeout(d.timeout_s)
            .runtime(Runtime::from(d.runtime.as_str()))
            .handler(&d.handler)
            .environment(d.environment())
            .dead_letter_config(d.dead_letter_config())
            .send()
            .await
            .explain(
                stack.aws,
                &format!("lambda:UpdateFunctionConfiguration {name}"),
            )?;
        wait_updated(stack, name).await?;
    }
    if current.event_invoke.as_ref() != Some(&desired.event_invoke) {
        event_invoke::apply(stack, name, &desired.event_invoke).await?;
    }
    put_concurrency(stack, desired, Some(current)).await?;
    if !tag_changes(&current.tags, &desired.tags).is_empty() {
        lambda
            .tag_resource()
            .resource(&stack.arns.function)
            .set_tags(Some(desired.tags.clone().into_iter().collect()))
            .send()
            .await
            .explain(stack.aws, &format!("lambda:TagResource {name}"))?;
    }
    Ok(())
}

async fn wait_updated(stack: &Stack<'_>, name: &str) -> Result<()> {
    stack
        .aws
        .lambda
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(WAIT)
        .await
        .map_err(|e| anyhow::anyhow!("lambda {name}: the update did not finish: {e}"))?;
    Ok(())
}

/// Lambda refuses a role it cannot assume yet; a new role takes a few seconds to propagate through IAM.
pub fn is_iam_propagation(err: &CreateFunctionError) -> bool {
    match err {
        CreateFunctionError::InvalidParameterValueException(e) => e
            .message()
            .or(err.meta().message())
            .is_some_and(|m| m.contains("cannot be assumed")),
        _ => false,
    }
}

async fn create_with_retry(
    stack: &Stack<'_>,
    desired: &Desired,
    code: &Code,
    task: &Task,
) -> Result<()> {
    let d = &desired.config;
    let name = desired.name.as_str();
    let mut delay = Duration::from_millis(500);
    let started = std::time::Instant::now();
    loop {
        let sent = stack
            .aws
            .lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::from(d.runtime.as_str()))
            .handler(&d.handler)
            .role(&d.role_arn)
            .architectures(Architecture::from(d.arch.as_str()))
            .memory_size(d.memory_mb)
            .timeout(d.timeout_s)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(code.zip.clone()))
                    .build(),
            )
            .environment(d.environment())
            .dead_letter_config(d.dead_letter_config())
            .description(format!(
                "imgdeploy stack {}: renders each upload's variants",
                stack.names.stack
            ))
            .set_tags(Some(desired.tags.clone().into_iter().collect()))
            .send()
            .await;
        match sent {
            Ok(_) => break,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_conflict_exception()) =>
            {
                break
            }
            Err(e) if e.as_service_error().is_some_and(is_iam_propagation) => {
                if started.elapsed() > Duration::from_secs(120) {
                    bail!("lambda:CreateFunction {name}: the role {} still cannot be assumed after 2 minutes\n  fix: check its trust policy (policies/lambda-trust.json) and re-run", d.role_arn);
                }
                task.set_message(&format!(
                    "waiting for the role to propagate: retrying in {:.1}s",
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(8));
            }
            Err(e) => {
                return Err(e).explain(stack.aws, &format!("lambda:CreateFunction {name}"));
            }
        }
    }
    Ok(())
}

async fn put_concurrency(
    stack: &Stack<'_>,
    desired: &Desired,
    current: Option<&Current>,
) -> Result<()> {
    let lambda = &stack.aws.lambda;
    let name = desired.name.as_str();
    let now = current.and_then(|c| c.reserved_concurrency);
    match desired.reserved_concurrency {
        Some(n) if now != Some(n) => {
            lambda
                .put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .explain(stack.aws, &format!("lambda:PutFunctionConcurrency {name}"))?;
        }
        None if now.is_some() => {
            lambda
                .delete_function_concurrency()
                .function_name(name)
                .send()
                .await
                .explain(
                    stack.aws,
                    &format!("lambda:DeleteFunctionConcurrency {name}"),
                )?;
        }
        _ => {}
    }
    Ok(())
}

/// Deletes the function; Absent when already gone.
pub async fn destroy(stack: &Stack<'_>) -> Result<Action> {
    let name = &stack.names.function;
    match stack
        .aws
        .lambda
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(Action::Delete),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(Action::Absent),
        Err(e) => Err(e).explain(stack.aws, &format!("lambda:DeleteFunction {name}")),
    }
}
