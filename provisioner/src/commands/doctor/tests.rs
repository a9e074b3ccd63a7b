//! doctor's verdicts: the principal IAM simulates for each kind of caller, the deployer policy's
//! grants as IAM answers them (aws-smithy-mocks: moto has no `SimulatePrincipalPolicy`), and the
//! report people read.
use super::*;
use aws_sdk_iam::operation::simulate_principal_policy::{
    SimulatePrincipalPolicyError, SimulatePrincipalPolicyOutput,
};
use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};
use aws_sdk_iam::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_types::error::ErrorMetadata;

#[test]
fn the_simulated_principal_is_the_callers_user_or_role() {
    assert_eq!(
        grants::principal("arn:aws:iam::123456789012:user/deployer").unwrap(),
        "arn:aws:iam::123456789012:user/deployer"
    );
    assert_eq!(
        grants::principal("arn:aws:sts::123456789012:assumed-role/Deploy/alice@example.com")
            .unwrap(),
        "arn:aws:iam::123456789012:role/Deploy"
    );
    assert_eq!(
        grants::principal("arn:aws-cn:sts::123456789012:assumed-role/Deploy/s").unwrap(),
        "arn:aws-cn:iam::123456789012:role/Deploy"
    );
    assert!(grants::principal("arn:aws:iam::123456789012:root").is_err());
}

fn policy() -> serde_json::Value {
    crate::policy::PolicyContext::new(
        &crate::names::Names::new("acme"),
        "aws",
        "eu-west-1",
        "123456789012",
        "originals/",
        true,
    )
    .deployer()
}

/// IAM's answer to every simulation: each requested action allowed, except `deny`.
fn iam(deny: &'static str) -> Client {
    let rule = mock!(Client::simulate_principal_policy).then_output(move || {
        SimulatePrincipalPolicyOutput::builder()
            .evaluation_results(
                EvaluationResult::builder()
                    .eval_action_name("s3:CreateBucket")
                    .eval_resource_name("arn:aws:s3:::acme-originals")
                    .eval_decision(PolicyEvaluationDecisionType::Allowed)
                    .build()
                    .unwrap(),
            )
            .evaluation_results(
                EvaluationResult::builder()
                    .eval_action_name(deny)
                    .eval_resource_name("arn:aws:iam::123456789012:role/acme-function")
                    .eval_decision(if deny.is_empty() {
                        PolicyEvaluationDecisionType::Allowed
                    } else {
                        PolicyEvaluationDecisionType::ImplicitDeny
                    })
                    .build()
                    .unwrap(),
            )
            .is_truncated(false)
            .build()
    });
    mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&rule])
}

#[tokio::test]
async fn every_grant_allowed_is_ok() {
    let check = grants::simulate(&iam(""), "arn:aws:iam::123456789012:user/d", &policy()).await;
    assert_eq!(check.status, Status::Ok, "{check:?}");
    assert!(check.detail.contains("policies/deployer.json"), "{check:?}");
}

#[tokio::test]
async fn a_denied_grant_is_named_with_the_fix() {
    let check = grants::simulate(
        &iam("iam:PassRole"),
        "arn:aws:iam::123456789012:user/d",
        &policy(),
    )
    .await;
    assert_eq!(check.status, Status::Missing, "{check:?}");
    assert!(
        check.detail.contains(
            "iam:PassRole on arn:aws:iam::123456789012:role/acme-function (implicitDeny)"
        ),
        "{check:?}"
    );
    assert!(check.fix.unwrap().contains("imgdeploy policies --deployer"));
}

#[tokio::test]
async fn no_right_to_simulate_leaves_the_grants_unchecked() {
    let rule = mock!(Client::simulate_principal_policy).then_error(|| {
        SimulatePrincipalPolicyError::generic(
            ErrorMetadata::builder()
                .code("AccessDenied")
                .message("not authorized to perform: iam:SimulatePrincipalPolicy")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_iam, RuleMode::MatchAny, &[&rule]);
    let check = grants::simulate(&client, "arn:aws:iam::123456789012:user/d", &policy()).await;
    assert_eq!(check.status, Status::Unchecked, "{check:?}");
    assert!(check.fix.unwrap().contains("DoctorChecksTheseGrants"));
}

#[test]
fn the_report_marks_what_is_missing_and_its_fix() {
    let result = DoctorResult::of(vec![
        Check::ok("cargo", "/usr/bin/cargo (rustc 1.95.0)"),
        Check::missing(
            "cargo-zigbuild",
            "not on PATH nor in /home/u/.cache/imgdeploy/venv/bin",
            "python3 -m venv /home/u/.cache/imgdeploy/venv && /home/u/.cache/imgdeploy/venv/bin/pip install cargo-zigbuild ziglang",
        ),
        Check::unchecked("permissions", "this identity may not call iam:SimulatePrincipalPolicy", None),
    ]);
    assert!(!result.ready);
    assert!(result.check().is_err());
    insta::assert_snapshot!(result.to_string());
    let ready = DoctorResult::of(vec![Check::unchecked("permissions", "no stack", None)]);
    assert!(
        ready.ready && ready.check().is_ok(),
        "unchecked is not missing"
    );
}

#[test]
fn cmake_is_checked_only_for_a_stack_with_avif() {
    let names = |features| {
        checks::build_tools(Arch::Arm64, features)
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
    };
    assert!(!names(Features::default()).contains(&"cmake"));
    assert!(names(Features { avif: true }).contains(&"cmake"));
}
