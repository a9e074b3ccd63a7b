//! The Origin Access Control, found by its name (`names.oac`): create, update with If-Match, delete with
//! If-Match. "Already exists" on create means an earlier run made it: it is found and reused.
use super::spec::OacSpec;
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::plan::Action;
use crate::resources::Stack;
use anyhow::{bail, Context, Result};

/// An existing OAC with the ETag that updating or deleting it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OacState {
    pub id: String,
    pub etag: String,
    pub spec: OacSpec,
}

/// The ids of every OAC called `name` (AWS allows one; moto accepts duplicates).
pub async fn find_ids(aws: &Aws, name: &str) -> Result<Vec<String>> {
    let mut pages = aws
        .cloudfront
        .list_origin_access_controls()
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.explain(aws, "cloudfront:ListOriginAccessControls")?;
        let items = page
            .origin_access_control_list
            .and_then(|l| l.items)
            .unwrap_or_default();
        ids.extend(items.into_iter().filter(|s| s.name == name).map(|s| s.id));
    }
    Ok(ids)
}

/// The OAC and its ETag, or `None` when it does not exist.
pub async fn get(aws: &Aws, id: &str) -> Result<Option<OacState>> {
    let out = match aws
        .cloudfront
        .get_origin_access_control()
        .id(id)
        .send()
        .await
    {
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_origin_access_control()) =>
        {
            return Ok(None)
        }
        other => other.explain(aws, &format!("cloudfront:GetOriginAccessControl {id}"))?,
    };
    let config = out
        .origin_access_control
        .and_then(|o| o.origin_access_control_config)
        .with_context(|| {
            format!("CloudFront returned origin access control {id} without its configuration")
        })?;
    let etag = out.e_tag.with_context(|| {
        format!("CloudFront returned origin access control {id} without an ETag")
    })?;
    Ok(Some(OacState {
        id: id.to_string(),
        etag,
        spec: OacSpec::from_config(&config),
    }))
}

pub async fn describe(stack: &Stack<'_>) -> Result<Option<OacState>> {
    for id in find_ids(stack.aws, &stack.names.oac).await? {
        if let Some(state) = get(stack.aws, &id).await? {
            return Ok(Some(state));
        }
    }
    Ok(None)
}

/// Creates or updates the OAC as needed; returns its id. No mutating call when nothing differs.
pub async fn apply(
    stack: &Stack<'_>,
    current: Option<&OacState>,
    desired: &OacSpec,
    task: &Task,
) -> Result<String> {
    let aws = stack.aws;
    let Some(current) = current else {
        let created = aws
            .cloudfront
            .create_origin_access_control()
            .origin_access_control_config(desired.to_config()?)
            .send()
            .await;
        let id = match created {
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_origin_access_control_already_exists()) =>
            {
                // An earlier, interrupted run created it: reuse it (the next `up` converges its settings).
                let ids = find_ids(aws, &desired.name).await?;
                let id = ids.into_iter().next().with_context(|| {
                    format!(
                        "CloudFront says origin access control {} exists, but it is not listed",
                        desired.name
                    )
                })?;
                task.set_message("exists: reused");
                return Ok(id);
            }
            other => other.explain(
                aws,
                &format!("cloudfront:CreateOriginAccessControl {}", desired.name),
            )?,
        }
        .origin_access_control
        .map(|o| o.id)
        .context("CloudFront returned no origin access control id")?;
        return Ok(id);
    };
    let changes = current.spec.changes(desired);
    if changes.is_empty() {
        return Ok(current.id.clone());
    }
    aws.cloudfront
        .update_origin_access_control()
        .id(&current.id)
        .if_match(&current.etag)
        .origin_access_control_config(desired.to_config()?)
        .send()
        .await
        .explain(
            aws,
            &format!("cloudfront:UpdateOriginAccessControl {}", desired.name),
        )?;
    Ok(current.id.clone())
}

/// Deletes every OAC with the stack's OAC name. Call after the distribution is gone.
pub async fn destroy(stack: &Stack<'_>) -> Result<Action> {
    let aws = stack.aws;
    let name = &stack.names.oac;
    let mut deleted = false;
    for id in find_ids(aws, name).await? {
        // The latest ETag: CloudFront refuses a delete without it.
        let Some(state) = get(aws, &id).await? else {
            continue;
        };
        match aws
            .cloudfront
            .delete_origin_access_control()
            .id(&id)
            .if_match(&state.etag)
            .send()
            .await
        {
            Ok(_) => deleted = true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_origin_access_control()) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_origin_access_control_in_use()) =>
            {
                bail!(
                    "cloudfront:DeleteOriginAccessControl {name} ({id}): a distribution other than this stack's still \
                     uses this origin access control\n  fix: remove it from that distribution's origins in the CloudFront \
                     console, then re-run `imgdeploy teardown`"
                );
            }
            other => {
                other.explain(
                    aws,
                    &format!("cloudfront:DeleteOriginAccessControl {name} ({id})"),
                )?;
            }
        }
    }
    Ok(if deleted {
        Action::Delete
    } else {
        Action::Absent
    })
}
