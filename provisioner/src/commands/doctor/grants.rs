//! The deployer policy's grants, checked by IAM itself for the caller (`iam:SimulatePrincipalPolicy`):
//! one simulation per statement of `policies/deployer.json` rendered for the stack, with the
//! statement's resources and its `iam:PassedToService` condition. Simulation sees identity policies
//! and permission boundaries, not SCPs: a denial is certain, an allow is as far as IAM can tell.
use super::{Check, Status};
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use serde_json::Value;

const NAME: &str = "permissions";

/// The principal IAM can simulate for a caller ARN from STS: an assumed role's session becomes its
/// role; the root user has every permission, so there is nothing to simulate.
pub fn principal(caller: &str) -> Result<String, &'static str> {
    if caller.ends_with(":root") {
        return Err(
            "the account's root user may do everything (AWS advises deploying as a user or role)",
        );
    }
    if let Some((head, tail)) = caller.split_once(":assumed-role/") {
        let role = tail.split('/').next().unwrap_or_default();
        let (partition_and_account, _) = head.split_once(":sts:").unwrap_or((head, ""));
        let account = head.rsplit(':').next().unwrap_or_default();
        let partition = partition_and_account.trim_start_matches("arn:");
        return Ok(format!("arn:{partition}:iam::{account}:role/{role}"));
    }
    Ok(caller.to_string())
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Simulates every statement of `policy` for `principal`; the denied (action, resource) pairs.
pub async fn simulate(iam: &aws_sdk_iam::Client, principal: &str, policy: &Value) -> Check {
    let mut denied = Vec::new();
    let mut actions = 0;
    for statement in policy["Statement"].as_array().into_iter().flatten() {
        let names = strings(&statement["Action"]);
        actions += names.len();
        let resources: Vec<String> = strings(&statement["Resource"])
            .into_iter()
            .filter(|r| r != "*")
            .collect();
        let mut request = iam
            .simulate_principal_policy()
            .policy_source_arn(principal)
            .set_action_names(Some(names))
            .set_resource_arns((!resources.is_empty()).then_some(resources));
        if let Some(service) =
            statement["Condition"]["StringEquals"]["iam:PassedToService"].as_str()
        {
            request = request.context_entries(
                ContextEntry::builder()
                    .context_key_name("iam:PassedToService")
                    .context_key_values(service)
                    .context_key_type(ContextKeyTypeEnum::String)
                    .build(),
            );
        }
        let results: Result<Vec<_>, _> = request.into_paginator().items().send().collect().await;
        match results {
            Ok(results) => denied.extend(
                results
                    .iter()
                    .filter(|r| *r.eval_decision() != PolicyEvaluationDecisionType::Allowed)
                    .map(|r| {
                        format!(
                            "{} on {} ({})",
                            r.eval_action_name(),
                            r.eval_resource_name().unwrap_or("*"),
                            r.eval_decision().as_str()
                        )
                    }),
            ),
            Err(e) => {
                let code = crate::aws::error_code(&e).unwrap_or_default().to_string();
                let (detail, fix) = if code.starts_with("AccessDenied") {
                    (
                        "this identity may not call iam:SimulatePrincipalPolicy".to_string(),
                        Some("grant it (the statement DoctorChecksTheseGrants of policies/deployer.json) to let doctor check the rest".to_string()),
                    )
                } else {
                    let why = aws_sdk_iam::error::DisplayErrorContext(&e).to_string();
                    (format!("IAM could not simulate {principal}: {why}"), None)
                };
                return Check::unchecked(NAME, detail, fix);
            }
        }
    }
    if denied.is_empty() {
        return Check {
            name: NAME,
            status: Status::Ok,
            detail: format!("IAM allows {principal} all {actions} actions of policies/deployer.json for this stack"),
            fix: None,
        };
    }
    Check::missing(
        NAME,
        format!("IAM denies {principal}: {}", denied.join(", ")),
        "attach policies/deployer.json to this identity (`imgdeploy policies --deployer` prints it for this stack)",
    )
}
