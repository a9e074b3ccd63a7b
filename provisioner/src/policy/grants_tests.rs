//! Every call the function makes, under each condition that changes what AWS authorises, against the
//! rendered role policy, evaluated as IAM does (`evaluate`). The table is the one `policies/README.md`
//! prints for a reviewer: (SDK call, condition) -> the IAM actions AWS documents for it. Then what
//! must stay refused. moto enforces S3 only, and without conditions: this is where SNS, CloudFront,
//! CloudWatch Logs and the `s3:prefix` condition are proven.
use super::evaluate::{evaluate, Decision, Request};
use super::*;
use crate::names::Names;

const DIST: &str = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE";

fn policy(backup: bool, cdn: bool) -> Value {
    acme(backup)
        .with_variants(["thumb", "web"])
        .with_processed_events(true)
        .function_access(cdn.then_some(DIST))
}

const ORIGINAL: &str = "arn:aws:s3:::acme-originals/originals/2024/red flower.jpg";
const VARIANT: &str = "arn:aws:s3:::acme-processed/thumb/2024/red flower.webp";
const REPORT: &str = "arn:aws:s3:::acme-processed/_failures/originals/2024/red flower.jpg.json";
const MANIFEST: &str = "arn:aws:s3:::acme-processed/_manifests/2024/red flower.json";
const BACKUP: &str = "arn:aws:s3:::acme-backup/originals/2024/red flower.jpg";
const FUNCTION: &str = "arn:aws:lambda:eu-west-1:123456789012:function:acme-variants";
const CHUNK_RECORD: &str = "arn:aws:s3:::acme-processed/_backfill/b1/chunks/00000003.json";
const FAILURE_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:acme-failures";
const PROCESSED_TOPIC: &str = "arn:aws:sns:eu-west-1:123456789012:acme-processed";
const FAILURE_QUEUE: &str = "arn:aws:sqs:eu-west-1:123456789012:acme-failures";
const LOG_STREAM: &str =
    "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/acme-variants:log-stream:2026/12/03/x";

/// (the call and its condition, [(IAM action, resource, condition keys)]): every action a call needs.
type Needs = (
    &'static str,
    Vec<(
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
    )>,
);

fn every_call_the_function_makes() -> Vec<Needs> {
    vec![
        (
            "HeadObject of the upload",
            vec![("s3:GetObject", ORIGINAL, vec![])],
        ),
        (
            "GetObject of the upload (If-Match)",
            vec![("s3:GetObject", ORIGINAL, vec![])],
        ),
        (
            "ListObjectsV2 of the upload's own key (a HEAD answered 403: missing or refused?)",
            vec![(
                "s3:ListBucket",
                "arn:aws:s3:::acme-originals",
                vec![("s3:prefix", "originals/2024/red flower.jpg")],
            )],
        ),
        (
            "CopyObject to the backup, untagged upload",
            vec![
                ("s3:GetObject", ORIGINAL, vec![]),
                ("s3:PutObject", BACKUP, vec![]),
            ],
        ),
        (
            "CopyObject to the backup, tagged upload (x-amz-tagging-directive: COPY, the default)",
            vec![
                ("s3:GetObject", ORIGINAL, vec![]),
                ("s3:GetObjectTagging", ORIGINAL, vec![]),
                ("s3:PutObject", BACKUP, vec![]),
                ("s3:PutObjectTagging", BACKUP, vec![]),
            ],
        ),
        (
            "HeadObject of a variant",
            vec![("s3:GetObject", VARIANT, vec![])],
        ),
        (
            "PutObject of a variant, If-None-Match: *",
            vec![("s3:PutObject", VARIANT, vec![])],
        ),
        (
            "PutObject of a variant, If-Match (replacing an older one)",
            vec![
                ("s3:PutObject", VARIANT, vec![]),
                ("s3:GetObject", VARIANT, vec![]),
            ],
        ),
        (
            "DeleteObject of a variant, If-Match (its original was deleted)",
            vec![
                ("s3:DeleteObject", VARIANT, vec![]),
                ("s3:GetObject", VARIANT, vec![]),
            ],
        ),
        (
            "GetObject of the smallest variant (If-Match), for a rewritten manifest's placeholder",
            vec![("s3:GetObject", VARIANT, vec![])],
        ),
        (
            "HeadObject of a manifest",
            vec![("s3:GetObject", MANIFEST, vec![])],
        ),
        (
            "PutObject of a manifest, If-None-Match: * or If-Match",
            vec![
                ("s3:PutObject", MANIFEST, vec![]),
                ("s3:GetObject", MANIFEST, vec![]),
            ],
        ),
        (
            "DeleteObject of a manifest, If-Match (its original was deleted)",
            vec![
                ("s3:DeleteObject", MANIFEST, vec![]),
                ("s3:GetObject", MANIFEST, vec![]),
            ],
        ),
        (
            "HeadObject of a failure report",
            vec![("s3:GetObject", REPORT, vec![])],
        ),
        (
            "PutObject of a failure report",
            vec![("s3:PutObject", REPORT, vec![])],
        ),
        (
            "DeleteObject of a failure report (fixed or deleted upload)",
            vec![("s3:DeleteObject", REPORT, vec![])],
        ),
        (
            "ListObjectsV2 of the originals, a page at a time (a backfill's orchestration)",
            vec![(
                "s3:ListBucket",
                "arn:aws:s3:::acme-originals",
                vec![("s3:prefix", "originals/2024/")],
            )],
        ),
        (
            "lambda:Invoke of itself, InvocationType=Event (a backfill's chunks and continuation)",
            vec![("lambda:InvokeFunction", FUNCTION, vec![])],
        ),
        (
            "PutObject of a chunk's record (a backfill's progress)",
            vec![("s3:PutObject", CHUNK_RECORD, vec![])],
        ),
        (
            "sns:Publish of a failure report",
            vec![("sns:Publish", FAILURE_TOPIC, vec![])],
        ),
        (
            "sns:Publish of a processed or deleted original ([events] processed)",
            vec![("sns:Publish", PROCESSED_TOPIC, vec![])],
        ),
        (
            "cloudfront:CreateInvalidation of replaced and deleted variants",
            vec![("cloudfront:CreateInvalidation", DIST, vec![])],
        ),
        (
            "sqs:SendMessage of a dead letter (Lambda, as the role, after the retries)",
            vec![("sqs:SendMessage", FAILURE_QUEUE, vec![])],
        ),
        (
            "CloudWatch Logs (the Lambda runtime, for the function)",
            vec![
                ("logs:CreateLogStream", LOG_STREAM, vec![]),
                ("logs:PutLogEvents", LOG_STREAM, vec![]),
            ],
        ),
    ]
}

/// The stack's account, as IAM puts it in every request's context (`aws:ResourceAccount`).
const ACCOUNT: &str = "123456789012";

/// IAM's decision for one request; an S3 request on the stack's own buckets also carries
/// `aws:ResourceAccount` (unless `context` names another).
fn decide(policy: &Value, action: &str, resource: &str, context: &[(&str, &str)]) -> Decision {
    let mut context: std::collections::HashMap<&str, &str> = context.iter().copied().collect();
    if action.starts_with("s3:") {
        context.entry("aws:ResourceAccount").or_insert(ACCOUNT);
    }
    let request = Request {
        action,
        resource,
        context,
    };
    evaluate(policy, &request)
}

#[test]
fn every_call_the_function_makes_is_granted() {
    let policy = policy(true, true);
    for (call, needs) in every_call_the_function_makes() {
        for (action, resource, context) in needs {
            assert_eq!(
                decide(&policy, action, resource, &context),
                Decision::Allowed,
                "{call} needs {action} on {resource}: {policy:#}"
            );
        }
    }
}

#[test]
fn nothing_else_is_granted() {
    let policy = policy(true, true);
    let refused = [
        (
            "s3:DeleteObject",
            ORIGINAL,
            "the pipeline never deletes an original",
        ),
        ("s3:PutObject", ORIGINAL, "nor writes one"),
        ("s3:DeleteObject", BACKUP, "the backup keeps its copy"),
        ("s3:GetObject", BACKUP, "nor reads the backup"),
        (
            "s3:GetObject",
            "arn:aws:s3:::acme-originals/elsewhere/a.jpg",
            "nor reads outside the prefix",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::acme-processed/other/a.jpg",
            "nor writes outside its folders",
        ),
        (
            "s3:DeleteObject",
            "arn:aws:s3:::acme-processed/other/a.jpg",
            "nor deletes outside them",
        ),
        (
            "s3:PutObject",
            "arn:aws:s3:::another-bucket/thumb/a.jpg",
            "nor another bucket",
        ),
        (
            "s3:ListBucket",
            "arn:aws:s3:::acme-processed",
            "nor lists the outputs",
        ),
        (
            "sns:Publish",
            "arn:aws:sns:eu-west-1:123456789012:acme-uploads",
            "nor fakes uploads",
        ),
        (
            "lambda:InvokeFunction",
            "arn:aws:lambda:eu-west-1:123456789012:function:acme-other",
            "nor invokes any function but itself",
        ),
        (
            "sqs:ReceiveMessage",
            FAILURE_QUEUE,
            "nor reads the failure queue (only `redrive`, run by a person, does)",
        ),
        (
            "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:another-queue",
            "nor sends to another queue",
        ),
        (
            "cloudfront:CreateInvalidation",
            "arn:aws:cloudfront::123456789012:distribution/EOTHER",
            "nor another stack's CDN",
        ),
        ("iam:PassRole", "*", "nor anything of IAM"),
    ];
    for (action, resource, why) in refused {
        assert_eq!(
            decide(&policy, action, resource, &[]),
            Decision::ImplicitDeny,
            "{why}: {action} on {resource}"
        );
    }
    let list = |prefix| {
        decide(
            &policy,
            "s3:ListBucket",
            "arn:aws:s3:::acme-originals",
            &[("s3:prefix", prefix)],
        )
    };
    assert_eq!(
        list("elsewhere/"),
        Decision::ImplicitDeny,
        "listing outside the prefix"
    );
    assert_eq!(list(""), Decision::ImplicitDeny, "listing the whole bucket");
    // A bucket of the stack's name in another account (names are global): nothing is granted there.
    for (action, resource) in [("s3:GetObject", ORIGINAL), ("s3:PutObject", VARIANT)] {
        assert_eq!(
            decide(
                &policy,
                action,
                resource,
                &[("aws:ResourceAccount", "999999999999")]
            ),
            Decision::ImplicitDeny,
            "{action} on {resource} in another account"
        );
    }
}

#[test]
fn without_events_the_processed_topic_is_not_granted() {
    let policy = acme(true)
        .with_variants(["thumb"])
        .function_access(Some(DIST));
    assert_eq!(
        decide(&policy, "sns:Publish", PROCESSED_TOPIC, &[]),
        Decision::ImplicitDeny
    );
}

/// S3 answers a HEAD of a missing key with 404 only when the caller "has s3:ListBucket on the bucket",
/// a check made without any `s3:prefix` in the request context. With the grant conditioned on the
/// prefix, that check fails: S3 answers 403, and the function settles it with a listing of the key
/// (`storage::head_original`), which the conditioned grant does allow.
#[test]
fn a_prefix_conditioned_list_grant_does_not_make_head_answer_404() {
    let policy = policy(true, true);
    let bucket = "arn:aws:s3:::acme-originals";
    assert_eq!(
        decide(&policy, "s3:ListBucket", bucket, &[]),
        Decision::ImplicitDeny
    );
    let key = [("s3:prefix", "originals/gone.jpg")];
    assert_eq!(
        decide(&policy, "s3:ListBucket", bucket, &key),
        Decision::Allowed
    );
}

#[test]
fn grants_follow_the_features() {
    let plain = policy(false, false);
    assert_eq!(
        decide(&plain, "s3:PutObject", BACKUP, &[]),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&plain, "cloudfront:CreateInvalidation", DIST, &[]),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decide(&plain, "s3:DeleteObject", VARIANT, &[]),
        Decision::Allowed
    );
}

#[test]
fn every_statement_says_why_it_exists() {
    for s in policy(true, true)["Statement"].as_array().unwrap() {
        let sid = s["Sid"].as_str().unwrap_or_default();
        assert!(
            sid.len() >= 12 && sid.chars().all(|c| c.is_ascii_alphanumeric()),
            "{s}"
        );
    }
}

/// S3 Batch Operations' role: exactly what a `LambdaInvoke` job over a manifest with a completion
/// report needs (AWS's "Granting permissions for Batch Operations"), and nothing of the originals.
#[test]
fn the_batch_role_may_run_a_job_and_nothing_more() {
    let ctx = PolicyContext::new(
        &Names::new("acme"),
        "aws",
        "eu-west-1",
        "123456789012",
        "originals/",
        true,
    );
    let policy = ctx.batch_access();
    let manifest = "arn:aws:s3:::acme-processed/_backfill/1700000000-00001/manifest.csv";
    let report =
        "arn:aws:s3:::acme-processed/_backfill/1700000000-00001/report/job-1/results/a.csv";
    for (action, resource) in [
        ("lambda:InvokeFunction", FUNCTION),
        ("s3:GetObject", manifest),
        ("s3:GetObjectVersion", manifest),
        ("s3:PutObject", report),
        ("s3:GetBucketLocation", "arn:aws:s3:::acme-processed"),
    ] {
        assert_eq!(
            decide(&policy, action, resource, &[]),
            Decision::Allowed,
            "{action} {resource}"
        );
    }
    for (action, resource) in [
        ("s3:GetObject", ORIGINAL),
        ("s3:PutObject", VARIANT),
        (
            "s3:PutObject",
            "arn:aws:s3:::acme-originals/_backfill/x.csv",
        ),
        (
            "lambda:InvokeFunction",
            "arn:aws:lambda:eu-west-1:123456789012:function:acme-other",
        ),
        ("s3:GetObject", manifest),
    ] {
        // The last case: the same manifest key in a bucket of another account.
        let context: &[(&str, &str)] = if action == "s3:GetObject" && resource == manifest {
            &[("aws:ResourceAccount", "210987654321")]
        } else {
            &[]
        };
        assert_ne!(
            decide(&policy, action, resource, context),
            Decision::Allowed,
            "{action} {resource}"
        );
    }
}
