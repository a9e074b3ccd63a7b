//! The stack's IAM roles, each trusted by one service only, with one inline policy that grants exactly
//! what that service does for the stack (see `policies/`): the function's (Lambda), and the one S3
//! Batch Operations assumes for `backfill --engine batch`, which `up` leaves to `backfill` to create
//! and `teardown` removes.
use crate::aws::{error_code, Explain};
use crate::policy::{same_policy, PolicyContext};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Result};
use aws_sdk_iam::types::Tag;
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub policy_name: String,
    pub trust: Value,
    /// The inline policy, as far as the stack alone says; [`Desired::knowing`] adds the grant on the
    /// distribution, whose ARN is known once it is described or created.
    pub access: Value,
    pub policies: PolicyContext,
    pub tags: BTreeMap<String, String>,
    pub purpose: Purpose,
}

/// Which service assumes the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The variant function's execution role.
    Function,
    /// S3 Batch Operations, invoking the function once per original of a backfill's manifest.
    Batch,
}

impl Desired {
    /// The role as wanted once the distribution (if any) is known: the function may invalidate it.
    pub fn knowing(&self, known: &Known) -> Desired {
        match self.purpose {
            Purpose::Function => {
                let arn = known.distribution.as_ref().map(|d| d.arn.as_str());
                Desired {
                    access: self.policies.function_access(arn),
                    ..self.clone()
                }
            }
            Purpose::Batch => self.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub trust: String,
    pub access: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// The managed policies attached to it (ARNs): imgdeploy attaches none.
    pub attached: Vec<String>,
    /// The names of its inline policies: imgdeploy's own is `policy_name`.
    pub inline: Vec<String>,
}

pub fn desired(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.role.clone(),
        policy_name: stack.names.role_policy.clone(),
        trust: stack.policies.lambda_trust(),
        access: stack.policies.function_access(None),
        policies: stack.policies.clone(),
        tags: stack.tags(),
        purpose: Purpose::Function,
    }
}

/// The role of `backfill --engine batch`'s jobs.
pub fn batch(stack: &Stack<'_>) -> Desired {
    Desired {
        name: stack.names.batch_role.clone(),
        policy_name: stack.names.batch_role_policy.clone(),
        trust: stack.policies.batch_trust(),
        access: stack.policies.batch_access(),
        policies: stack.policies.clone(),
        tags: stack.tags(),
        purpose: Purpose::Batch,
    }
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let Some(c) = current else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    if !same_policy(&c.trust, &desired.trust) {
        changes.push("trust policy".to_string());
    }
    if !c
        .access
        .as_deref()
        .is_some_and(|a| same_policy(a, &desired.access))
    {
        changes.push(format!("inline policy {}", desired.policy_name));
    }
    changes.extend(tag_changes(&c.tags, &desired.tags));
    Action::from_changes(changes)
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Role;

    fn name(&self) -> &str {
        &self.name
    }

    /// The batch role is made by the backfill that needs it; `teardown` still removes it.
    fn wanted(&self) -> bool {
        self.purpose == Purpose::Function
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let desired = self;
        let iam = &stack.aws.iam;
        let role = match iam.get_role().role_name(&desired.name).send().await {
            Ok(out) => out.role,
            Err(e) if error_code(&e) == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(e).explain(stack.aws, &format!("iam:GetRole {}", desired.name)),
        };
        let trust = role
            .and_then(|r| r.assume_role_policy_document)
            .unwrap_or_default();
        let access = match iam
            .get_role_policy()
            .role_name(&desired.name)
            .policy_name(&desired.policy_name)
            .send()
            .await
        {
            Ok(out) => Some(out.policy_document),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => None,
            Err(e) => {
                return Err(e).explain(
                    stack.aws,
                    &format!("iam:GetRolePolicy {}", desired.policy_name),
                )
            }
        };
        let tags = iam
            .list_role_tags()
            .role_name(&desired.name)
            .send()
            .await
            .explain(stack.aws, &format!("iam:ListRoleTags {}", desired.name))?;
        let tags = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        // What else it carries: a role adopted with more would lend the function those rights.
        let attached = iam
            .list_attached_role_policies()
            .role_name(&desired.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .explain(
                stack.aws,
                &format!("iam:ListAttachedRolePolicies {}", desired.name),
            )?
            .into_iter()
            .map(|p| p.policy_arn.unwrap_or_default())
            .collect();
        let inline = iam
            .list_role_policies()
            .role_name(&desired.name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .explain(stack.aws, &format!("iam:ListRolePolicies {}", desired.name))?;
        Ok(Some(Current {
            trust,
            access,
            tags,
            attached,
            inline,
        }))
    }

    fn diff(&self, current: Option<&Current>, known: &Known) -> Action {
        diff(current, &self.knowing(known))
    }

    fn owner(&self, current: &Current, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    /// A role is adopted only bare: anything else attached would run the function with it.
    fn adoption_refused(&self, current: &Current) -> Option<String> {
        let mut extra: Vec<String> = current
            .attached
            .iter()
            .map(|p| format!("managed policy {p}"))
            .collect();
        extra.extend(
            current
                .inline
                .iter()
                .filter(|p| **p != self.policy_name)
                .map(|p| format!("inline policy {p}")),
        );
        (!extra.is_empty()).then(|| format!("it carries {}", extra.join(", ")))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        known: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let desired = &self.knowing(known);
        let iam = &stack.aws.iam;
        let name = desired.name.as_str();
        let tags = || {
            desired
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
        };
        let fresh = Current::default();
        let c = match current {
            Some(c) => c,
            None => {
                let created = iam
                    .create_role()
                    .role_name(name)
                    .description(format!(
                        "imgdeploy stack {}: {}",
                        stack.names.stack,
                        match desired.purpose {
                            Purpose::Function => "the variant function's execution role",
                            Purpose::Batch =>
                                "S3 Batch Operations invokes the function for backfills",
                        }
                    ))
                    .assume_role_policy_document(desired.trust.to_string())
                    .set_tags(Some(tags()?))
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e) if error_code(&e) == Some("EntityAlreadyExists") => {}
                    Err(e) => return Err(e).explain(stack.aws, &format!("iam:CreateRole {name}")),
                }
                &Current {
                    trust: desired.trust.to_string(),
                    tags: desired.tags.clone(),
                    ..fresh
                }
            }
        };
        if !same_policy(&c.trust, &desired.trust) {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(desired.trust.to_string())
                .send()
                .await
                .explain(stack.aws, &format!("iam:UpdateAssumeRolePolicy {name}"))?;
        }
        if !c
            .access
            .as_deref()
            .is_some_and(|a| same_policy(a, &desired.access))
        {
            iam.put_role_policy()
                .role_name(name)
                .policy_name(&desired.policy_name)
                .policy_document(desired.access.to_string())
                .send()
                .await
                .explain(
                    stack.aws,
                    &format!("iam:PutRolePolicy {}", desired.policy_name),
                )?;
        }
        if !tag_changes(&c.tags, &desired.tags).is_empty() {
            iam.tag_role()
                .role_name(name)
                .set_tags(Some(tags()?))
                .send()
                .await
                .explain(stack.aws, &format!("iam:TagRole {name}"))?;
        }
        Ok(())
    }

    /// Deletes the inline policy, then the role (IAM refuses to delete a role that still has policies).
    async fn destroy(&self, stack: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        let desired = self;
        let iam = &stack.aws.iam;
        let name = desired.name.as_str();
        match iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(&desired.policy_name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if error_code(&e) == Some("NoSuchEntity") => {}
            Err(e) => {
                return Err(e).explain(
                    stack.aws,
                    &format!("iam:DeleteRolePolicy {}", desired.policy_name),
                )
            }
        }
        match iam.delete_role().role_name(name).send().await {
            Ok(_) => Ok(Action::Delete),
            Err(e) if error_code(&e) == Some("NoSuchEntity") => Ok(Action::Absent),
            Err(e) if error_code(&e) == Some("DeleteConflict") => bail!(
                "iam:DeleteRole {name}: the role still has policies that imgdeploy did not attach\n  \
                 fix: detach them (`aws iam list-attached-role-policies --role-name {name}`) and run teardown again"
            ),
            Err(e) => Err(e).explain(stack.aws, &format!("iam:DeleteRole {name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Names;
    use crate::policy::PolicyContext;

    fn desired() -> Desired {
        let p = PolicyContext::new(
            &Names::new("acme"),
            "aws",
            "us-east-1",
            "123456789012",
            "originals/",
            true,
        );
        Desired {
            name: "acme-function".into(),
            policy_name: "acme-function-access".into(),
            trust: p.lambda_trust(),
            access: p.function_access(None),
            policies: p,
            tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
            purpose: Purpose::Function,
        }
    }

    #[test]
    fn a_role_is_adopted_only_bare() {
        let d = desired();
        let bare = Current {
            inline: vec!["acme-function-access".into()],
            ..Current::default()
        };
        assert_eq!(d.adoption_refused(&bare), None);
        let admin = Current {
            attached: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
            inline: vec!["acme-function-access".into(), "extra".into()],
            ..Current::default()
        };
        let why = d.adoption_refused(&admin).unwrap();
        assert!(why.contains("AdministratorAccess"), "{why}");
        assert!(why.contains("inline policy extra"), "{why}");
    }

    #[test]
    fn iam_returns_url_encoded_documents_and_they_match() {
        let d = desired();
        let c = Current {
            trust: urlencoding::encode(&d.trust.to_string()).into_owned(),
            access: Some(urlencoding::encode(&d.access.to_string()).into_owned()),
            tags: d.tags.clone(),
            ..Current::default()
        };
        assert_eq!(diff(Some(&c), &d), Action::Unchanged);
    }

    #[test]
    fn a_missing_inline_policy_is_restored() {
        let d = desired();
        let c = Current {
            trust: d.trust.to_string(),
            access: None,
            tags: d.tags.clone(),
            ..Current::default()
        };
        assert_eq!(
            diff(Some(&c), &d),
            Action::Update {
                changes: vec!["inline policy acme-function-access".into()]
            }
        );
    }
}
