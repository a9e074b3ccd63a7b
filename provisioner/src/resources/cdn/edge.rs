//! The CloudFront Function that serves `format = "auto"` variants in the best format each viewer
//! accepts (`provisioner/edge/negotiate.js`, compiled into the CLI). It is one resource of the stack's
//! table, wanted when the CDN is on and a variant is `auto`; the distribution associates its LIVE
//! stage with each such variant's behaviour.
//!
//! Promises:
//! - the code CloudFront runs (LIVE) is the code in this CLI: `up` updates the DEVELOPMENT stage when
//!   it differs and publishes it, and publishes when only LIVE lags (an interrupted `up`);
//! - it is tagged with the stack, like the distribution; one tagged for another stack is a conflict;
//! - it is created and published before the distribution that names it (CloudFront refuses to
//!   associate an unpublished function), and deleted after it (CloudFront refuses to delete a function
//!   in use). A function left unwanted (no `auto` variant any more) stays until `teardown`.
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::plan::Action;
use crate::resources::Stack;
use anyhow::{bail, Context, Result};
use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{FunctionConfig, FunctionRuntime, FunctionStage};
use std::collections::BTreeMap;

/// The function's source, as the Node tests run it.
pub const SOURCE: &str = include_str!("../../../edge/negotiate.js");
/// The runtime `negotiate.js` is written for.
pub const RUNTIME: &str = "cloudfront-js-2.0";

/// What the stack wants of the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeSpec {
    pub name: String,
    pub comment: String,
    pub code: String,
    /// The variants whose behaviour runs it; empty: not wanted.
    pub variants: Vec<String>,
}

impl EdgeSpec {
    pub fn for_stack(name: &str, stack: &str, variants: Vec<String>) -> EdgeSpec {
        EdgeSpec {
            name: name.to_string(),
            comment: format!("imgdeploy stack {stack}: picks AVIF or WebP for format = auto"),
            code: SOURCE.to_string(),
            variants,
        }
    }
}

/// The function as CloudFront has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeState {
    pub arn: String,
    /// The DEVELOPMENT stage's ETag: updating and publishing need it.
    pub etag: String,
    pub comment: String,
    pub runtime: String,
    /// The DEVELOPMENT stage's code.
    pub code: Vec<u8>,
    /// The LIVE stage's code; `None` until it is published.
    pub live_code: Option<Vec<u8>>,
    pub tags: BTreeMap<String, String>,
}

impl EdgeState {
    /// What differs from `desired`, as short phrases for the plan. Pure.
    pub fn changes(&self, desired: &EdgeSpec) -> Vec<String> {
        let mut out = Vec::new();
        if self.comment != desired.comment {
            out.push(format!(
                "comment {:?} -> {:?}",
                self.comment, desired.comment
            ));
        }
        if self.runtime != RUNTIME {
            out.push(format!("runtime {} -> {RUNTIME}", self.runtime));
        }
        if self.code != desired.code.as_bytes() {
            out.push(format!(
                "code ({} -> {} bytes)",
                self.code.len(),
                desired.code.len()
            ));
        }
        if self.live_code.as_deref() != Some(desired.code.as_bytes()) {
            out.push(match self.live_code {
                None => "publish (never published)".to_string(),
                Some(_) => "publish (the LIVE stage runs other code)".to_string(),
            });
        }
        out
    }
}

/// The code of one stage, or `None` when that stage does not exist.
async fn code(aws: &Aws, name: &str, stage: FunctionStage) -> Result<Option<(String, Vec<u8>)>> {
    match aws
        .cloudfront
        .get_function()
        .name(name)
        .stage(stage.clone())
        .send()
        .await
    {
        Ok(out) => Ok(Some((
            out.e_tag.unwrap_or_default(),
            out.function_code.map(Blob::into_inner).unwrap_or_default(),
        ))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            Ok(None)
        }
        Err(e) => Err(e).explain(
            aws,
            &format!("cloudfront:GetFunction {name} ({})", stage.as_str()),
        ),
    }
}

pub async fn describe(aws: &Aws, name: &str) -> Result<Option<EdgeState>> {
    let out = match aws
        .cloudfront
        .describe_function()
        .name(name)
        .stage(FunctionStage::Development)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e).explain(aws, &format!("cloudfront:DescribeFunction {name}")),
    };
    let summary = out
        .function_summary
        .with_context(|| format!("CloudFront described function {name} without a summary"))?;
    let arn = summary
        .function_metadata
        .map(|m| m.function_arn)
        .with_context(|| format!("CloudFront described function {name} without its ARN"))?;
    let (comment, runtime) = summary
        .function_config
        .map(|c| (c.comment, c.runtime.as_str().to_string()))
        .unwrap_or_default();
    let Some((etag, dev)) = code(aws, name, FunctionStage::Development).await? else {
        return Ok(None);
    };
    let live = code(aws, name, FunctionStage::Live).await?.map(|(_, c)| c);
    let tags = super::distribution::tags_of(aws, name, &arn).await?;
    Ok(Some(EdgeState {
        arn,
        etag: out.e_tag.unwrap_or(etag),
        comment,
        runtime,
        code: dev,
        live_code: live,
        tags,
    }))
}

fn config(desired: &EdgeSpec) -> Result<FunctionConfig> {
    Ok(FunctionConfig::builder()
        .comment(&desired.comment)
        .runtime(FunctionRuntime::from(RUNTIME))
        .build()?)
}

/// Creates, updates and publishes as needed; returns the ARN. No mutating call when nothing differs.
pub async fn apply(
    stack: &Stack<'_>,
    current: Option<&EdgeState>,
    desired: &EdgeSpec,
    tags: &BTreeMap<String, String>,
    task: &Task,
) -> Result<String> {
    let aws = stack.aws;
    let name = &desired.name;
    let found;
    let current = match current {
        Some(c) => c,
        None => {
            match aws
                .cloudfront
                .create_function()
                .name(name)
                .function_config(config(desired)?)
                .function_code(Blob::new(desired.code.as_bytes()))
                .tags(super::distribution::tags(tags)?)
                .send()
                .await
            {
                Ok(_) => {}
                // An earlier, interrupted run created it: converge it below.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_function_already_exists()) => {}
                Err(e) => return Err(e).explain(aws, &format!("cloudfront:CreateFunction {name}")),
            }
            found = describe(aws, name).await?.with_context(|| {
                format!("CloudFront Function {name} disappeared after its create")
            })?;
            &found
        }
    };
    if !crate::resources::tag_changes(&current.tags, tags).is_empty() {
        aws.cloudfront
            .tag_resource()
            .resource(&current.arn)
            .tags(super::distribution::tags(tags)?)
            .send()
            .await
            .explain(aws, &format!("cloudfront:TagResource {name}"))?;
    }
    let mut etag = current.etag.clone();
    let stale = current.comment != desired.comment
        || current.runtime != RUNTIME
        || current.code != desired.code.as_bytes();
    if stale {
        etag = aws
            .cloudfront
            .update_function()
            .name(name)
            .if_match(&etag)
            .function_config(config(desired)?)
            .function_code(Blob::new(desired.code.as_bytes()))
            .send()
            .await
            .explain(aws, &format!("cloudfront:UpdateFunction {name}"))?
            .e_tag
            .with_context(|| format!("CloudFront updated function {name} without an ETag"))?;
    }
    if stale || current.live_code.as_deref() != Some(desired.code.as_bytes()) {
        aws.cloudfront
            .publish_function()
            .name(name)
            .if_match(&etag)
            .send()
            .await
            .explain(aws, &format!("cloudfront:PublishFunction {name}"))?;
        task.set_message("published");
    }
    Ok(current.arn.clone())
}

/// Deletes the function with its latest ETag. Call after the distribution is gone.
pub async fn destroy(aws: &Aws, name: &str) -> Result<Action> {
    let Some(current) = describe(aws, name).await? else {
        return Ok(Action::Absent);
    };
    match aws
        .cloudfront
        .delete_function()
        .name(name)
        .if_match(&current.etag)
        .send()
        .await
    {
        Ok(_) => Ok(Action::Delete),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            Ok(Action::Absent)
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_function_in_use()) => bail!(
            "cloudfront:DeleteFunction {name}: a distribution other than this stack's still runs this \
             function\n  fix: remove it from that distribution's behaviours in the CloudFront console, \
             then re-run `imgdeploy teardown`"
        ),
        Err(e) => Err(e).explain(aws, &format!("cloudfront:DeleteFunction {name}")),
    }
}
