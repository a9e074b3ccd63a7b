//! Snapshots of every rendered policy: a reviewer reads exactly what is granted.
use super::*;

fn ctx(backup: bool) -> PolicyContext {
    acme(backup)
        .with_variants(["thumb"])
        .with_processed_events(backup)
}

const DIST: &str = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE";

#[test]
fn trust_policy() {
    insta::assert_json_snapshot!(ctx(true).lambda_trust());
}

#[test]
fn function_access_policy() {
    insta::assert_json_snapshot!(ctx(true).function_access(Some(DIST)));
}

#[test]
fn function_access_policy_without_backup_or_cdn_has_no_grant_for_them() {
    let doc = ctx(false).function_access(None);
    assert!(!doc.to_string().contains("acme-backup"));
    assert!(!doc.to_string().contains("cloudfront"));
    insta::assert_json_snapshot!(doc);
}

#[test]
fn batch_role_trust_and_access() {
    insta::assert_json_snapshot!("batch_trust", ctx(true).batch_trust());
    insta::assert_json_snapshot!("batch_access", ctx(true).batch_access());
}

#[test]
fn upload_topic_policy() {
    insta::assert_json_snapshot!(ctx(true).upload_topic());
}

#[test]
fn failure_queue_policy() {
    insta::assert_json_snapshot!(ctx(true).failure_queue());
}

#[test]
fn bucket_policies() {
    let c = ctx(true);
    let dist = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE";
    let variants = ["thumb/".to_string(), "web/".to_string()];
    insta::assert_json_snapshot!(
        "processed",
        c.bucket("acme-processed", Some((dist, &variants[..])))
    );
    let prefix = ["originals/".to_string()];
    insta::assert_json_snapshot!(
        "originals",
        c.bucket("acme-originals", Some((dist, &prefix[..])))
    );
    insta::assert_json_snapshot!("backup", c.bucket("acme-backup", None));
}

#[test]
fn cloudfront_never_reads_failure_reports() {
    let dist = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE";
    let doc = ctx(true).bucket("acme-processed", Some((dist, &["thumb/".to_string()][..])));
    let cdn = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "CloudFrontReadsWhatItServes")
        .unwrap();
    assert_eq!(cdn["Resource"], "arn:aws:s3:::acme-processed/thumb/*");
}

#[test]
fn no_wildcard_action_or_resource_is_granted_to_the_function() {
    let doc = ctx(true).function_access(Some(DIST));
    for s in doc["Statement"].as_array().unwrap() {
        let all = |v: &Value| match v {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().unwrap().to_owned())
                .collect(),
            other => vec![other.as_str().unwrap().to_owned()],
        };
        assert!(all(&s["Action"]).iter().all(|a| !a.contains('*')), "{s}");
        assert!(all(&s["Resource"]).iter().all(|r| r != "*"), "{s}");
    }
}

#[test]
fn aws_shaped_policies_compare_equal() {
    let desired = ctx(true).upload_topic();
    let returned = serde_json::to_string(&normalize(&desired)).unwrap();
    assert!(same_policy(&returned, &desired));
    let iam_encoded = urlencoding::encode(&desired.to_string()).into_owned();
    assert!(same_policy(&iam_encoded, &desired));
    let mut other = desired.clone();
    other["Statement"][0]["Action"] = "sns:*".into();
    assert!(!same_policy(&other.to_string(), &desired));
}

/// Documents as the services hand them back, written out by hand rather than derived from ours:
/// S3's GetBucketPolicy (compact, its own key order), IAM's GetRolePolicy (also URL-encoded).
#[test]
fn documents_in_the_shape_aws_returns_compare_equal() {
    let dist = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE";
    let variants = ["thumb/".to_string(), "web/".to_string()];
    let desired = ctx(true).bucket("acme-processed", Some((dist, &variants[..])));
    let from_s3 = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyRequestsWithoutTls","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-processed","arn:aws:s3:::acme-processed/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}},{"Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"}},"Resource":["arn:aws:s3:::acme-processed/thumb/*","arn:aws:s3:::acme-processed/web/*"],"Action":"s3:GetObject","Principal":{"Service":"cloudfront.amazonaws.com"},"Effect":"Allow","Sid":"CloudFrontReadsWhatItServes"}]}"#;
    assert!(same_policy(from_s3, &desired));
    // One variant folder fewer is a difference.
    let fewer = from_s3.replace(r#","arn:aws:s3:::acme-processed/web/*""#, "");
    assert!(!same_policy(&fewer, &desired));

    let trust = ctx(true).lambda_trust();
    let from_iam = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22aws%3ASourceAccount%22%3A%22123456789012%22%7D%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Effect%22%3A%22Allow%22%2C%22Sid%22%3A%22LambdaAssumesThisRole%22%7D%5D%7D";
    assert!(same_policy(from_iam, &trust), "{trust:#}");
    let other_account = from_iam.replace("123456789012", "210987654321");
    assert!(!same_policy(&other_account, &trust));
}

#[test]
fn values_are_json_escaped() {
    let v = render(r#"{"a": "${X}"}"#, &[("X", "quote\"d")]);
    assert_eq!(v["a"], "quote\"d");
}
