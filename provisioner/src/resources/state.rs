//! The whole stack at once: what should exist, what does, and the plan between the two. `up` prints the
//! plan and then applies it resource by resource; a second `up` finds nothing to do.
use crate::artifact::Artifact;
use crate::plan::{Action, Plan};
use crate::resources::{
    bucket, cdn, function, log_group, notification, role, subscription, topic, Stack,
};
use anyhow::Result;

pub struct StackState {
    pub buckets: Vec<(bucket::Desired, Option<bucket::Current>)>,
    pub failure_topic: (topic::Desired, Option<topic::Current>),
    pub upload_topic: (topic::Desired, Option<topic::Current>),
    pub log_group: (log_group::Desired, Option<log_group::Current>),
    pub role: (role::Desired, Option<role::Current>),
    pub function: (function::Desired, Option<function::Current>),
    pub subscription: (subscription::Desired, subscription::Current),
    pub notification: (notification::Desired, Option<notification::Current>),
    pub cdn: Option<(cdn::Desired, cdn::Current)>,
}

impl StackState {
    /// Reads every resource of the stack (read-only calls only).
    pub async fn describe(stack: &Stack<'_>, artifact: &Artifact) -> Result<StackState> {
        let mut buckets = Vec::new();
        for d in bucket::desired_all(stack) {
            let current = bucket::describe(stack, &d.name).await?;
            buckets.push((d, current));
        }
        let failure = topic::desired_failure(stack);
        let failure_current = topic::describe(stack, &failure).await?;
        let upload = topic::desired_upload(stack);
        let upload_current = topic::describe(stack, &upload).await?;
        let logs = log_group::desired(stack);
        let logs_current = log_group::describe(stack, &logs).await?;
        let role = role::desired(stack);
        let role_current = role::describe(stack, &role).await?;
        let func = function::desired(stack, artifact);
        let func_current = function::describe(stack, &func).await?;
        let sub = subscription::desired(stack);
        let sub_current = subscription::describe(stack, &sub).await?;
        let notif = notification::desired(stack);
        let notif_current = notification::describe(stack, &notif).await?;
        let cdn = if stack.config.cdn.enabled {
            Some((cdn::desired(stack), cdn::describe(stack).await?))
        } else {
            None
        };
        Ok(StackState {
            buckets,
            failure_topic: (failure, failure_current),
            upload_topic: (upload, upload_current),
            log_group: (logs, logs_current),
            role: (role, role_current),
            function: (func, func_current),
            subscription: (sub, sub_current),
            notification: (notif, notif_current),
            cdn,
        })
    }

    /// The plan, in the order `up` applies it. Pure: every decision is a module's `diff`.
    pub fn plan(&self, stack: &Stack<'_>) -> Plan {
        let mut plan = Plan::new(&stack.names.stack);
        for (d, c) in &self.buckets {
            plan.push("bucket", &d.name, bucket::diff(c.as_ref(), d));
        }
        plan.push(
            "topic",
            &self.failure_topic.0.name,
            topic::diff(self.failure_topic.1.as_ref(), &self.failure_topic.0),
        );
        plan.push(
            "topic",
            &self.upload_topic.0.name,
            topic::diff(self.upload_topic.1.as_ref(), &self.upload_topic.0),
        );
        plan.push(
            "log-group",
            &self.log_group.0.name,
            log_group::diff(self.log_group.1.as_ref(), &self.log_group.0),
        );
        plan.push(
            "role",
            &self.role.0.name,
            role::diff(self.role.1.as_ref(), &self.role.0),
        );
        plan.push(
            "function",
            &stack.names.function,
            function::diff(self.function.1.as_ref(), &self.function.0),
        );
        let (permission, sub) = subscription::diff(&self.subscription.1, &self.subscription.0);
        plan.push("permission", &stack.names.permission_sid, permission);
        plan.push("subscription", &stack.names.upload_topic, sub);
        plan.push(
            "notification",
            &stack.names.originals_bucket,
            notification::diff(self.notification.1.as_ref(), &self.notification.0),
        );
        let distribution_arn = match &self.cdn {
            Some((desired, current)) => {
                let (oac, dist) = cdn::diff(current, desired);
                plan.push("cdn-oac", &stack.names.oac, oac);
                plan.push("cdn-distribution", &stack.names.distribution_comment, dist);
                current.distribution_arn()
            }
            None => None,
        };
        for (d, c) in &self.buckets {
            let policy = bucket_policy(stack, &d.name, distribution_arn.as_deref());
            plan.push(
                "bucket-policy",
                &d.name,
                bucket::diff_policy(c.as_ref(), &policy),
            );
        }
        plan
    }
}

/// A bucket's desired policy, given the distribution (if any) that serves it.
pub fn bucket_policy(
    stack: &Stack<'_>,
    bucket: &str,
    distribution_arn: Option<&str>,
) -> serde_json::Value {
    let n = &stack.names;
    let cdn = &stack.config.cdn;
    let served: Option<Vec<String>> = if bucket == n.processed_bucket && cdn.enabled {
        Some(
            stack
                .config
                .variants
                .iter()
                .map(|v| format!("{}/", v.name))
                .collect(),
        )
    } else if bucket == n.originals_bucket && cdn.enabled && cdn.serve_originals {
        Some(vec![stack.config.source.prefix.clone()])
    } else {
        None
    };
    match (served, distribution_arn) {
        (Some(prefixes), Some(arn)) => stack.policies.bucket(bucket, Some((arn, &prefixes))),
        // Before the distribution exists (or without a CDN): TLS-only.
        _ => stack.policies.bucket(bucket, None),
    }
}

pub fn action<'p>(plan: &'p Plan, kind: &str, name: &str) -> &'p Action {
    plan.steps
        .iter()
        .find(|s| s.kind == kind && s.name == name)
        .map(|s| &s.action)
        .unwrap_or(&Action::Unchanged)
}
