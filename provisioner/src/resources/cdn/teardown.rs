//! Teardown of the distribution, in the order CloudFront demands: disable it, wait until the change is
//! deployed (minutes on AWS), delete it with the latest ETag; if CloudFront still answers
//! `DistributionNotDisabled` (something re-enabled it), do it all again. Safe to interrupt and re-run.
use super::distribution::{find, get_config, tags_of};
use crate::aws::{Aws, Explain};
use crate::progress::Task;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::Stack;
use anyhow::{anyhow, bail, Result};
use aws_sdk_cloudfront::client::Waiters;
use aws_sdk_cloudfront::error::DisplayErrorContext;
use aws_smithy_runtime_api::client::waiters::error::WaiterError;
use std::time::Duration;

/// How long teardown waits for a disabled distribution to deploy (CloudFront usually takes 5 to 15
/// minutes). Interrupting is safe: the next teardown continues where this one stopped.
pub const DEPLOY_WAIT: Duration = Duration::from_secs(45 * 60);

/// How often teardown disables and retries when CloudFront says the distribution is not disabled yet.
const DELETE_ATTEMPTS: usize = 3;

/// Disables, waits for and deletes every distribution with the stack's comment and the stack's tag;
/// look-alikes (another stack's tag, or none) are left exactly as they are.
pub async fn destroy(stack: &Stack<'_>, task: &Task) -> Result<Action> {
    let aws = stack.aws;
    let mut deleted = false;
    for (id, arn, ..) in find(aws, &stack.names.distribution_comment).await? {
        if Owner::of_tags(&tags_of(aws, &id, &arn).await?, &stack.names.stack) == Owner::Us {
            delete(aws, &id, task).await?;
            deleted = true;
        }
    }
    Ok(if deleted {
        Action::Delete
    } else {
        Action::Absent
    })
}

/// One distribution: disable it (if enabled), wait until deployed, delete with the latest ETag. Safe to
/// re-run at any point: an already disabled one that is still deploying is just waited for.
async fn delete(aws: &Aws, id: &str, task: &Task) -> Result<()> {
    for _ in 0..DELETE_ATTEMPTS {
        let Some((etag, config)) = get_config(aws, id).await? else {
            return Ok(());
        };
        if config.enabled {
            task.set_message("disabling");
            let mut disabled = config;
            disabled.enabled = false;
            let out = aws
                .cloudfront
                .update_distribution()
                .id(id)
                .if_match(etag)
                .distribution_config(disabled)
                .send()
                .await;
            match out {
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_distribution()) =>
                {
                    return Ok(())
                }
                other => other.explain(
                    aws,
                    &format!("cloudfront:UpdateDistribution {id} (disable)"),
                )?,
            };
        }
        task.set_message(
            "waiting until the disabled distribution is deployed: CloudFront takes minutes",
        );
        if !wait_deployed(aws, id).await? {
            return Ok(());
        }
        let Some((etag, _)) = get_config(aws, id).await? else {
            return Ok(());
        };
        task.set_message("deleting");
        match aws
            .cloudfront
            .delete_distribution()
            .id(id)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_distribution()) =>
            {
                return Ok(())
            }
            // Re-enabled or changed since it was read: disable and wait again.
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_distribution_not_disabled() || s.is_precondition_failed()
                }) =>
            {
                continue
            }
            Err(e) => return Err(e).explain(aws, &format!("cloudfront:DeleteDistribution {id}")),
        }
    }
    bail!(
        "cloudfront:DeleteDistribution {id}: still not disabled after {DELETE_ATTEMPTS} attempts (something keeps \
         enabling or changing it)\n  fix: stop whatever changes it, then re-run `imgdeploy teardown`"
    )
}

/// Waits until the distribution is deployed; `false` when it no longer exists.
async fn wait_deployed(aws: &Aws, id: &str) -> Result<bool> {
    match aws.cloudfront.wait_until_distribution_deployed().id(id).wait(DEPLOY_WAIT).await {
        Ok(_) => Ok(true),
        Err(WaiterError::ExceededMaxWait(_)) => Err(anyhow!(
            "distribution {id} is still deploying after {} minutes\n  fix: re-run `imgdeploy teardown` later; it \
             continues where it stopped",
            DEPLOY_WAIT.as_secs() / 60
        )),
        Err(e) => match get_config(aws, id).await? {
            None => Ok(false),
            Some(_) => Err(anyhow!("waiting for distribution {id} to deploy: {}", DisplayErrorContext(&e))),
        },
    }
}
