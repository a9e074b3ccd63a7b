//! Snapshots of every rendered policy: a reviewer reads exactly what is granted.
use super::*;

fn ctx(backup: bool) -> PolicyContext {
    PolicyContext::new(
        &Names::new("acme"),
        "aws",
        "eu-west-1",
        "123456789012",
        "originals/",
        backup,
    )
}

#[test]
fn trust_policy() {
    insta::assert_json_snapshot!(ctx(true).lambda_trust());
}

#[test]
fn function_access_policy() {
    insta::assert_json_snapshot!(ctx(true).function_access());
}

#[test]
fn function_access_policy_without_backup_has_no_backup_grant() {
    let doc = ctx(false).function_access();
    assert!(!doc.to_string().contains("acme-backup"));
    insta::assert_json_snapshot!(doc);
}

#[test]
fn upload_topic_policy() {
    insta::assert_json_snapshot!(ctx(true).upload_topic());
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
fn nothing_grants_delete_or_wildcard_actions_to_the_function() {
    let doc = ctx(true).function_access().to_string();
    assert!(!doc.contains("Delete"), "{doc}");
    assert!(!doc.contains("\"s3:*\""), "{doc}");
    assert!(!doc.contains("ListBucket"), "{doc}");
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

#[test]
fn values_are_json_escaped() {
    let v = render(r#"{"a": "${X}"}"#, &[("X", "quote\"d")]);
    assert_eq!(v["a"], "quote\"d");
}
