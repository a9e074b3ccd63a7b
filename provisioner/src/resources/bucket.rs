//! The three S3 buckets: private (Block Public Access, BucketOwnerEnforced), encrypted (SSE-S3), tagged,
//! TLS-only by policy; the backup bucket is versioned. Teardown empties them, every version included.
use crate::aws::{error_code, Explain};
use crate::plan::Action;
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, Delete,
    ObjectIdentifier, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
    VersioningConfiguration,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a bucket should look like. The policy is handled apart (`policy_*`): it names the CloudFront
/// distribution, which exists only later in the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub versioned: bool,
    pub tags: BTreeMap<String, String>,
}

/// What a bucket looks like now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub public_access_blocked: bool,
    pub owner_enforced: bool,
    pub sse_s3: bool,
    pub versioned: bool,
    pub tags: BTreeMap<String, String>,
    pub policy: Option<String>,
}

/// The stack's buckets that exist in its configuration, in creation order.
pub fn desired_all(stack: &Stack<'_>) -> Vec<Desired> {
    let n = &stack.names;
    let mut out = vec![
        Desired {
            name: n.originals_bucket.clone(),
            versioned: false,
            tags: stack.tags(),
        },
        Desired {
            name: n.processed_bucket.clone(),
            versioned: false,
            tags: stack.tags(),
        },
    ];
    if stack.config.backup.enabled {
        out.push(Desired {
            name: n.backup_bucket.clone(),
            versioned: true,
            tags: stack.tags(),
        });
    }
    out
}

pub fn diff(current: Option<&Current>, desired: &Desired) -> Action {
    let Some(c) = current else {
        return Action::Create;
    };
    let mut changes = Vec::new();
    if !c.public_access_blocked {
        changes.push("block public access".to_string());
    }
    if !c.owner_enforced {
        changes.push("ownership BucketOwnerEnforced".to_string());
    }
    if !c.sse_s3 {
        changes.push("encryption SSE-S3".to_string());
    }
    if desired.versioned && !c.versioned {
        changes.push("versioning on".to_string());
    }
    changes.extend(tag_changes(&c.tags, &desired.tags));
    Action::from_changes(changes)
}

pub async fn describe(stack: &Stack<'_>, bucket: &str) -> Result<Option<Current>> {
    let s3 = &stack.aws.s3;
    if !describe_exists(stack, bucket).await? {
        return Ok(None);
    }
    let bpa = match s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e) if error_code(&e) == Some("NoSuchPublicAccessBlockConfiguration") => false,
        Err(e) => return Err(e).explain(stack.aws, &format!("s3:GetPublicAccessBlock {bucket}")),
    };
    let owner_enforced = match s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out.ownership_controls().is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        }),
        Err(e) if error_code(&e) == Some("OwnershipControlsNotFoundError") => false,
        Err(e) => {
            return Err(e).explain(
                stack.aws,
                &format!("s3:GetBucketOwnershipControls {bucket}"),
            )
        }
    };
    let sse_s3 = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out.server_side_encryption_configuration().is_some_and(|c| {
            c.rules().iter().any(|r| {
                r.apply_server_side_encryption_by_default()
                    .is_some_and(|d| d.sse_algorithm() == &ServerSideEncryption::Aes256)
            })
        }),
        Err(e) if error_code(&e) == Some("ServerSideEncryptionConfigurationNotFoundError") => false,
        Err(e) => return Err(e).explain(stack.aws, &format!("s3:GetBucketEncryption {bucket}")),
    };
    let versioned = match s3.get_bucket_versioning().bucket(bucket).send().await {
        Ok(out) => out.status() == Some(&BucketVersioningStatus::Enabled),
        // moto 5.2 answers with a `<GetBucketVersioningResponse>` root that the SDK refuses (AWS sends
        // `<VersioningConfiguration>`): read the status from the body of that 200 answer.
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => e
            .raw_response()
            .and_then(|r| r.body().bytes())
            .is_some_and(|b| String::from_utf8_lossy(b).contains("<Status>Enabled</Status>")),
        Err(e) => return Err(e).explain(stack.aws, &format!("s3:GetBucketVersioning {bucket}")),
    };
    let tags = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(e) if error_code(&e) == Some("NoSuchTagSet") => BTreeMap::new(),
        Err(e) => return Err(e).explain(stack.aws, &format!("s3:GetBucketTagging {bucket}")),
    };
    let policy = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out.policy().map(str::to_string),
        Err(e) if error_code(&e) == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(e).explain(stack.aws, &format!("s3:GetBucketPolicy {bucket}")),
    };
    Ok(Some(Current {
        public_access_blocked: bpa,
        owner_enforced,
        sse_s3,
        versioned,
        tags,
        policy,
    }))
}

/// Whether the bucket exists in this account; one that exists in another account is an error.
pub async fn describe_exists(stack: &Stack<'_>, bucket: &str) -> Result<bool> {
    match stack.aws.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => Ok(false),
            Some(403) => bail!(taken_message(bucket)),
            _ => Err(e).explain(stack.aws, &format!("s3:HeadBucket {bucket}")),
        },
    }
}

fn taken_message(bucket: &str) -> String {
    format!(
        "bucket {bucket} exists but belongs to another AWS account (bucket names are global)\n  \
         fix: choose another [stack] name in imgdeploy.toml"
    )
}

/// Creates the bucket or repairs what differs; calls nothing when `current` already matches.
pub async fn apply(stack: &Stack<'_>, desired: &Desired, current: Option<&Current>) -> Result<()> {
    let s3 = &stack.aws.s3;
    let b = desired.name.as_str();
    let fresh = Current::default();
    let c = match current {
        Some(c) => c,
        None => {
            let mut req = s3
                .create_bucket()
                .bucket(b)
                .object_ownership(ObjectOwnership::BucketOwnerEnforced);
            if stack.aws.region != "us-east-1" {
                let location = BucketLocationConstraint::from(stack.aws.region.as_str());
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(location)
                        .build(),
                );
            }
            match req.send().await {
                Ok(_) => {}
                Err(e) if error_code(&e) == Some("BucketAlreadyOwnedByYou") => {}
                Err(e) if error_code(&e) == Some("BucketAlreadyExists") => bail!(taken_message(b)),
                Err(e) => return Err(e).explain(stack.aws, &format!("s3:CreateBucket {b}")),
            }
            &fresh
        }
    };
    if !c.public_access_blocked {
        let bpa = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        s3.put_public_access_block()
            .bucket(b)
            .public_access_block_configuration(bpa)
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutPublicAccessBlock {b}"))?;
    }
    if !c.owner_enforced {
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .build()?;
        s3.put_bucket_ownership_controls()
            .bucket(b)
            .ownership_controls(OwnershipControls::builder().rules(rule).build()?)
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutBucketOwnershipControls {b}"))?;
    }
    if !c.sse_s3 {
        let default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::Aes256)
            .build()?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(default)
            .build();
        s3.put_bucket_encryption()
            .bucket(b)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(rule)
                    .build()?,
            )
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutBucketEncryption {b}"))?;
    }
    if desired.versioned && !c.versioned {
        s3.put_bucket_versioning()
            .bucket(b)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutBucketVersioning {b}"))?;
    }
    if !tag_changes(&c.tags, &desired.tags).is_empty() {
        // PutBucketTagging replaces the set: keep tags that others added.
        let mut merged = c.tags.clone();
        merged.extend(desired.tags.clone());
        let tags = merged
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()?;
        s3.put_bucket_tagging()
            .bucket(b)
            .tagging(Tagging::builder().set_tag_set(Some(tags)).build()?)
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutBucketTagging {b}"))?;
    }
    Ok(())
}

/// The bucket policy step: `Update` when the stored policy differs from `desired`.
pub fn diff_policy(current: Option<&Current>, desired: &Value) -> Action {
    match current.and_then(|c| c.policy.as_deref()) {
        None => Action::Create,
        Some(p) if crate::policy::same_policy(p, desired) => Action::Unchanged,
        Some(_) => Action::Update {
            changes: vec!["policy".into()],
        },
    }
}

pub async fn put_policy(stack: &Stack<'_>, bucket: &str, policy: &Value) -> Result<()> {
    stack
        .aws
        .s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .explain(stack.aws, &format!("s3:PutBucketPolicy {bucket}"))?;
    Ok(())
}

/// Whether the bucket holds any object, version or delete marker.
pub async fn is_empty(stack: &Stack<'_>, bucket: &str) -> Result<bool> {
    let out = stack
        .aws
        .s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(1)
        .send()
        .await
        .explain(stack.aws, &format!("s3:ListObjectVersions {bucket}"))?;
    Ok(out.versions().is_empty() && out.delete_markers().is_empty())
}

/// Deletes every object version and delete marker, then the bucket. Returns how many objects went.
/// A bucket that is already gone is success.
pub async fn empty_and_delete(stack: &Stack<'_>, bucket: &str) -> Result<Action> {
    let s3 = &stack.aws.s3;
    let mut batch = Vec::new();
    let (mut key_marker, mut version_marker) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.take())
            .set_version_id_marker(version_marker.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("NoSuchBucket") => return Ok(Action::Absent),
            Err(e) => return Err(e).explain(stack.aws, &format!("s3:ListObjectVersions {bucket}")),
        };
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            let key = key.context("listed object without a key")?;
            batch.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()?,
            );
            if batch.len() == 1000 {
                delete_batch(stack, bucket, std::mem::take(&mut batch)).await?;
            }
        }
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
    if !batch.is_empty() {
        delete_batch(stack, bucket, batch).await?;
    }
    match s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(Action::Delete),
        Err(e) if error_code(&e) == Some("NoSuchBucket") => Ok(Action::Absent),
        Err(e) => Err(e).explain(stack.aws, &format!("s3:DeleteBucket {bucket}")),
    }
}

async fn delete_batch(
    stack: &Stack<'_>,
    bucket: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<()> {
    let out = stack
        .aws
        .s3
        .delete_objects()
        .bucket(bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()?,
        )
        .send()
        .await
        .explain(stack.aws, &format!("s3:DeleteObjects {bucket}"))?;
    if let Some(e) = out.errors().first() {
        bail!(
            "s3:DeleteObjects {bucket}: {} {}: {}",
            e.key().unwrap_or("?"),
            e.code().unwrap_or("?"),
            e.message().unwrap_or("")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(versioned: bool) -> Desired {
        Desired {
            name: "acme-backup".into(),
            versioned,
            tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
        }
    }

    fn good() -> Current {
        Current {
            public_access_blocked: true,
            owner_enforced: true,
            sse_s3: true,
            versioned: true,
            tags: desired(true).tags,
            policy: None,
        }
    }

    #[test]
    fn missing_bucket_is_created() {
        assert_eq!(diff(None, &desired(true)), Action::Create);
    }

    #[test]
    fn matching_bucket_is_unchanged() {
        assert_eq!(diff(Some(&good()), &desired(true)), Action::Unchanged);
    }

    #[test]
    fn each_drift_is_named() {
        let c = Current {
            public_access_blocked: false,
            versioned: false,
            sse_s3: false,
            ..good()
        };
        let Action::Update { changes } = diff(Some(&c), &desired(true)) else {
            panic!()
        };
        assert_eq!(
            changes,
            ["block public access", "encryption SSE-S3", "versioning on"]
        );
    }

    #[test]
    fn a_versioned_bucket_that_need_not_be_is_left_alone() {
        assert_eq!(diff(Some(&good()), &desired(false)), Action::Unchanged);
    }

    #[test]
    fn policy_diff_compares_documents() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny"}]});
        assert_eq!(diff_policy(Some(&good()), &doc), Action::Create);
        let c = Current {
            policy: Some(doc.to_string()),
            ..good()
        };
        assert_eq!(diff_policy(Some(&c), &doc), Action::Unchanged);
        let other = serde_json::json!({"Version": "2012-10-17", "Statement": []});
        assert!(matches!(
            diff_policy(Some(&c), &other),
            Action::Update { .. }
        ));
    }
}
