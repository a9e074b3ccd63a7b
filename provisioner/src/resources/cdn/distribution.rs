//! The distribution, found by its comment and its stack tag: create it with the stack's tags, update it
//! with the ETag of the configuration just read. Distributions have no unique name, so a look-alike
//! with the same comment and another stack's tag is not this stack's: it is never read as the stack's,
//! changed or deleted. Its teardown is in `teardown.rs`.
use super::sdk::{origin_access_controls, FunctionArns};
use super::spec::DistributionSpec;
use super::{Deployed, Desired};
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::owner::Owner;
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_cloudfront::error::ProvideErrorMetadata;
use aws_sdk_cloudfront::types::{DistributionConfig, DistributionConfigWithTags, Tag, Tags};
use std::collections::BTreeMap;

/// An existing distribution with the ETag and configuration an update needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionState {
    pub id: String,
    pub arn: String,
    pub domain: String,
    pub status: String,
    pub enabled: bool,
    pub etag: String,
    pub config: DistributionConfig,
    pub tags: BTreeMap<String, String>,
}

impl DistributionState {
    pub fn deployed(&self) -> Deployed {
        Deployed {
            id: self.id.clone(),
            arn: self.arn.clone(),
            domain: self.domain.clone(),
            status: self.status.clone(),
            enabled: self.enabled,
        }
    }
}

/// A new distribution's CallerReference: the stack name and the creation time. A retried request reuses
/// the serialized body, so it cannot create a second distribution; a new value per create lets the stack
/// be created again after a teardown (CloudFront answers `DistributionAlreadyExists` to a reference it
/// has seen before). Re-runs find the existing distribution by its comment, never by this reference.
pub fn caller_reference(prefix: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{prefix}-{millis}")
}

/// (id, ARN, domain, status) of every distribution with this comment.
pub async fn find(aws: &Aws, comment: &str) -> Result<Vec<(String, String, String, String)>> {
    let mut pages = aws.cloudfront.list_distributions().into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.explain(aws, "cloudfront:ListDistributions")?;
        let items = page
            .distribution_list
            .and_then(|l| l.items)
            .unwrap_or_default();
        found.extend(
            items
                .into_iter()
                .filter(|d| d.comment == comment)
                .map(|d| (d.id, d.arn, d.domain_name, d.status)),
        );
    }
    Ok(found)
}

/// The configuration and its ETag, or `None` when the distribution does not exist.
pub async fn get_config(aws: &Aws, id: &str) -> Result<Option<(String, DistributionConfig)>> {
    let out = match aws.cloudfront.get_distribution_config().id(id).send().await {
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            return Ok(None)
        }
        other => other.explain(aws, &format!("cloudfront:GetDistributionConfig {id}"))?,
    };
    let etag = out
        .e_tag
        .with_context(|| format!("CloudFront returned distribution {id} without an ETag"))?;
    let config = out
        .distribution_config
        .with_context(|| format!("CloudFront returned no configuration for {id}"))?;
    Ok(Some((etag, config)))
}

/// A distribution's tags.
pub async fn tags_of(aws: &Aws, id: &str, arn: &str) -> Result<BTreeMap<String, String>> {
    Ok(aws
        .cloudfront
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .explain(aws, &format!("cloudfront:ListTagsForResource {id}"))?
        .tags
        .and_then(|t| t.items)
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect())
}

async fn state(
    aws: &Aws,
    (id, arn, domain, status): (String, String, String, String),
) -> Result<Option<DistributionState>> {
    let Some((etag, config)) = get_config(aws, &id).await? else {
        return Ok(None);
    };
    let tags = tags_of(aws, &id, &arn).await?;
    Ok(Some(DistributionState {
        id,
        arn,
        domain,
        status,
        enabled: config.enabled,
        etag,
        config,
        tags,
    }))
}

/// The stack's distribution: the one with its comment and its tag; else an untagged one with its
/// comment (the plan then shows a conflict, or `--adopt` tags it). One tagged for another stack is
/// passed over as if it did not exist.
pub async fn describe(stack: &Stack<'_>) -> Result<Option<DistributionState>> {
    let mut untagged = None;
    for summary in find(stack.aws, &stack.names.distribution_comment).await? {
        let Some(s) = state(stack.aws, summary).await? else {
            continue;
        };
        match Owner::of_tags(&s.tags, &stack.names.stack) {
            Owner::Us => return Ok(Some(s)),
            Owner::Untagged => untagged = untagged.or(Some(s)),
            Owner::Other(_) => {}
        }
    }
    Ok(untagged)
}

/// (configuration changes, tag changes) between `current` and `desired`, the origins reading through
/// the OAC `oac_id` (`None`: the OAC is still to be created).
pub fn changes(
    current: &DistributionState,
    desired: &Desired,
    oac_id: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let mut config = DistributionSpec::from_config(&current.config).changes(&desired.distribution);
    for (origin, have) in origin_access_controls(&current.config) {
        let wanted = desired.distribution.origins.iter().any(|o| o.id == origin);
        // `None`: the answer had no OriginAccessControlId element at all (moto); nothing to compare.
        if let (true, Some(have)) = (wanted, have) {
            if Some(have.as_str()) != oac_id {
                config.push(format!(
                    "origin {origin} access control {have:?} -> {:?}",
                    oac_id.unwrap_or("(new)")
                ));
            }
        }
    }
    (config, tag_changes(&current.tags, &desired.tags))
}

/// CloudFront's shape of a tag set (the distribution's and the edge function's).
pub(super) fn tags(map: &BTreeMap<String, String>) -> Result<Tags> {
    let items = map
        .iter()
        .map(|(k, v)| Ok(Tag::builder().key(k).value(v).build()?))
        .collect::<Result<Vec<_>>>()?;
    Ok(Tags::builder().set_items(Some(items)).build())
}

/// Creates or updates the distribution as needed. No mutating call when nothing differs.
pub async fn apply(
    stack: &Stack<'_>,
    current: Option<&DistributionState>,
    desired: &Desired,
    oac_id: &str,
    functions: &FunctionArns,
    task: &Task,
) -> Result<Deployed> {
    let aws = stack.aws;
    let found;
    let current = match current {
        Some(c) => c,
        None => match create(stack, desired, oac_id, functions).await? {
            Ok(deployed) => {
                task.set_message(&format!("created {}, deploying", deployed.domain));
                return Ok(deployed);
            }
            Err(existing) => {
                found = existing;
                &found
            }
        },
    };
    let (config_changes, tag_changes) = changes(current, desired, Some(oac_id));
    let mut deployed = current.deployed();
    if !config_changes.is_empty() {
        // The configuration as it is now, with its ETag: an update must carry both.
        let (etag, mut config) = get_config(aws, &current.id)
            .await?
            .with_context(|| format!("distribution {} disappeared", current.id))?;
        desired
            .distribution
            .apply_to(&mut config, oac_id, functions)?;
        let out = aws
            .cloudfront
            .update_distribution()
            .id(&current.id)
            .if_match(etag)
            .distribution_config(config)
            .send()
            .await
            .explain(
                aws,
                &format!("cloudfront:UpdateDistribution {}", current.id),
            )?;
        if let Some(d) = out.distribution {
            deployed = Deployed {
                id: d.id,
                arn: d.arn,
                domain: d.domain_name,
                status: d.status,
                // `desired` always enables it.
                enabled: true,
            };
        }
    }
    if !tag_changes.is_empty() {
        aws.cloudfront
            .tag_resource()
            .resource(&current.arn)
            .tags(tags(&desired.tags)?)
            .send()
            .await
            .explain(aws, &format!("cloudfront:TagResource {}", current.id))?;
    }
    Ok(deployed)
}

/// `Ok(Ok(new))`, or `Ok(Err(existing))` when CloudFront says this create already happened.
async fn create(
    stack: &Stack<'_>,
    desired: &Desired,
    oac_id: &str,
    functions: &FunctionArns,
) -> Result<Result<Deployed, DistributionState>> {
    let aws = stack.aws;
    let config = desired.distribution.to_new_config(
        oac_id,
        functions,
        &caller_reference(&desired.caller_reference_prefix),
    )?;
    let request = DistributionConfigWithTags::builder()
        .distribution_config(config)
        .tags(tags(&desired.tags)?)
        .build();
    match aws
        .cloudfront
        .create_distribution_with_tags()
        .distribution_config_with_tags(request)
        .send()
        .await
    {
        Ok(out) => {
            let d = out
                .distribution
                .context("CloudFront returned no distribution")?;
            Ok(Ok(Deployed {
                id: d.id,
                arn: d.arn,
                domain: d.domain_name,
                status: d.status,
                enabled: true,
            }))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_distribution_already_exists()) =>
        {
            match describe(stack).await? {
                Some(existing) => Ok(Err(existing)),
                None => bail!(
                    "cloudfront:CreateDistributionWithTags: CloudFront says this distribution already exists ({}), \
                     but no distribution has the comment {:?}\n  fix: restore that comment on the distribution, or \
                     delete it, then re-run `imgdeploy up`",
                    e.as_service_error().and_then(|s| s.message()).unwrap_or_default(),
                    desired.distribution.comment
                ),
            }
        }
        Err(e) => Err(e).explain(aws, "cloudfront:CreateDistributionWithTags"),
    }
}
