//! The deploying identity's policy (`policies/deployer.json`) against the table of every call the CLI
//! sends (`policies/README.md`, "Every call of the CLI"), evaluated as IAM does: each row is allowed,
//! the policy grants no action the table lacks, and another stack's resources are refused. The
//! integration test `tests/it/deployer.rs` proves the table holds every call a stack's life sends.
use super::evaluate::{evaluate, Decision, Request};
use super::*;
use std::collections::{BTreeSet, HashMap};

const README: &str = include_str!("../../../policies/README.md");

fn ctx() -> PolicyContext {
    acme(true)
}

/// One row of the README's table: its calls, IAM actions, resources (rendered) and condition keys.
struct Row {
    calls: String,
    actions: Vec<String>,
    resources: Vec<String>,
    context: Vec<(String, String)>,
}

fn cells(cell: &str) -> Vec<String> {
    cell.split(", ")
        .map(|c| c.trim().trim_matches('`').to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn table() -> Vec<Row> {
    let section = README
        .split("## Every call of the CLI")
        .nth(1)
        .expect("policies/README.md has the CLI's table");
    let ctx = ctx();
    let rows: Vec<Row> = section
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let columns: Vec<&str> = line.split(" | ").collect();
            assert_eq!(columns.len(), 5, "five columns: {line}");
            let render = |arn: &str| match ctx.render(&format!("\"{arn}\""), &[]) {
                Value::String(s) => s,
                other => panic!("{other}"),
            };
            Row {
                calls: columns[0].trim_start_matches("| ").to_string(),
                actions: cells(columns[2]),
                resources: cells(columns[3]).iter().map(|r| render(r)).collect(),
                context: cells(columns[4].trim_end_matches(" |").trim_end_matches('|'))
                    .iter()
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').expect("key=value");
                        (k.to_string(), render(v))
                    })
                    .collect(),
            }
        })
        .collect();
    assert!(
        rows.len() > 30,
        "the table was not found whole: {}",
        rows.len()
    );
    rows
}

fn decide(policy: &Value, action: &str, resource: &str, context: &[(&str, &str)]) -> Decision {
    let context: HashMap<&str, &str> = context.iter().copied().collect();
    evaluate(
        policy,
        &Request {
            action,
            resource,
            context,
        },
    )
}

#[test]
fn every_call_of_the_cli_is_granted() {
    let policy = ctx().deployer();
    for row in table() {
        let context: Vec<(&str, &str)> = row
            .context
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for action in &row.actions {
            for resource in &row.resources {
                assert_eq!(
                    decide(&policy, action, resource, &context),
                    Decision::Allowed,
                    "{} needs {action} on {resource}",
                    row.calls
                );
            }
        }
    }
}

#[test]
fn the_policy_grants_no_action_the_table_does_not_need() {
    let needed: BTreeSet<String> = table().into_iter().flat_map(|r| r.actions).collect();
    let policy = ctx().deployer();
    for statement in policy["Statement"].as_array().unwrap() {
        let actions = match &statement["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
            other => panic!("{other}"),
        };
        for action in actions {
            assert!(!action.contains('*'), "no wildcard actions: {action}");
            assert!(
                needed.contains(&action),
                "{} grants {action}, which no call in policies/README.md needs",
                statement["Sid"]
            );
        }
    }
}

/// (action, resource, condition keys, why it must be refused)
type Refusal<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn another_stacks_resources_and_other_powers_are_refused() {
    let policy = ctx().deployer();
    let refused: [Refusal; 17] = [
        (
            "acm:DeleteCertificate",
            "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d",
            &[("aws:ResourceTag/imgdeploy:stack", "other")],
            "another stack's certificate",
        ),
        (
            "acm:RequestCertificate",
            "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d",
            &[],
            "a certificate without the stack tag",
        ),
        (
            "cloudfront:UpdateFunction",
            "arn:aws:cloudfront::123456789012:function/other-negotiate",
            &[],
            "another stack's CloudFront Function",
        ),
        (
            "s3:DeleteBucket",
            "arn:aws:s3:::other-originals",
            &[],
            "another stack's bucket",
        ),
        (
            "s3:PutBucketPolicy",
            "arn:aws:s3:::acme-photos-originals",
            &[],
            "a stack whose name extends this one",
        ),
        (
            "s3:DeleteObject",
            "arn:aws:s3:::other-originals/originals/a.jpg",
            &[],
            "another bucket's objects",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::acme-originals/originals/a.jpg",
            &[],
            "uploading originals is the app's job",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::acme-processed/thumb/a.webp",
            &[],
            "variants are the function's",
        ),
        (
            "iam:PutRolePolicy",
            "arn:aws:iam::123456789012:role/other-function",
            &[],
            "another stack's role",
        ),
        (
            "iam:AttachRolePolicy",
            "arn:aws:iam::123456789012:role/acme-function",
            &[],
            "managed policies on its own role",
        ),
        (
            "iam:CreateRole",
            "arn:aws:iam::123456789012:role/admin",
            &[],
            "any other role",
        ),
        (
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/acme-function",
            &[("iam:PassedToService", "ec2.amazonaws.com")],
            "its role to another service",
        ),
        (
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/admin",
            &[("iam:PassedToService", "lambda.amazonaws.com")],
            "another role to Lambda",
        ),
        (
            "lambda:UpdateFunctionCode",
            "arn:aws:lambda:eu-west-1:123456789012:function:other-variants",
            &[],
            "another function",
        ),
        (
            "sns:DeleteTopic",
            "arn:aws:sns:eu-west-1:123456789012:other-uploads",
            &[],
            "another topic",
        ),
        (
            "sqs:DeleteQueue",
            "arn:aws:sqs:eu-west-1:123456789012:other-failures",
            &[],
            "another queue",
        ),
        (
            "logs:DeleteLogGroup",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/other-variants",
            &[],
            "another log group",
        ),
    ];
    for (action, resource, context, why) in refused {
        assert_eq!(
            decide(&policy, action, resource, context),
            Decision::ImplicitDeny,
            "{why}: {action} on {resource}"
        );
    }
}

#[test]
fn deployer_policy() {
    insta::assert_json_snapshot!(ctx().deployer());
}
