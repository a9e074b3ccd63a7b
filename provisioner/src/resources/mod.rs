//! One module per AWS resource kind, each implementing [`resource::Resource`]: describe (read-only
//! calls) → a pure, unit-tested diff → apply (only what differs; "already exists" is success) →
//! destroy ("already gone" is success). The stack's resources are listed once, in order, in
//! [`table`]; [`state`] walks that table for `up`, `status` and `teardown`.
use crate::aws::Aws;
use crate::config::Config;
use crate::names::{Arns, Names, STACK_TAG};
use crate::policy::PolicyContext;
use std::collections::BTreeMap;

pub mod alert;
pub mod bucket;
pub mod cdn;
pub mod domain;
pub mod function;
pub mod kind;
pub mod log_group;
pub mod notification;
pub mod owner;
pub mod permission;
pub mod plan;
pub mod queue;
pub mod resource;
pub mod role;
pub mod state;
pub mod subscription;
pub mod table;
pub mod topic;

/// Everything a resource module needs to know about the stack being deployed.
pub struct Stack<'a> {
    pub aws: &'a Aws,
    pub config: &'a Config,
    pub names: Names,
    pub arns: Arns,
    pub policies: PolicyContext,
}

impl<'a> Stack<'a> {
    pub fn new(aws: &'a Aws, config: &'a Config, stack_name: &str) -> Self {
        let names = Names::new(stack_name);
        let arns = names.arns(&aws.partition, &aws.region, &aws.account);
        let policies = PolicyContext::new(
            &names,
            &aws.partition,
            &aws.region,
            &aws.account,
            &config.source.prefix,
            config.backup.enabled,
        )
        .with_variants(config.variants.iter().map(|v| v.name.as_str()))
        .with_processed_events(config.events.processed);
        Stack {
            aws,
            config,
            names,
            arns,
            policies,
        }
    }

    /// The stack tag plus the user's `[stack] tags`, sorted.
    pub fn tags(&self) -> BTreeMap<String, String> {
        let mut tags = self
            .config
            .stack
            .as_ref()
            .map(|s| s.tags.clone())
            .unwrap_or_default();
        tags.insert(STACK_TAG.to_string(), self.names.stack.clone());
        tags
    }
}

/// The differences between two tag sets that matter: desired tags missing or with another value.
/// Tags someone else added are left alone.
pub fn tag_changes(
    current: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> Vec<String> {
    desired
        .iter()
        .filter(|(k, v)| current.get(*k) != Some(*v))
        .map(|(k, v)| format!("tag {k}={v}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_tags_are_not_a_change() {
        let desired = BTreeMap::from([("imgdeploy:stack".to_string(), "acme".to_string())]);
        let mut current = desired.clone();
        current.insert("owner".into(), "ops".into());
        assert!(tag_changes(&current, &desired).is_empty());
        current.insert("imgdeploy:stack".into(), "other".into());
        assert_eq!(
            tag_changes(&current, &desired),
            vec!["tag imgdeploy:stack=acme"]
        );
    }
}
