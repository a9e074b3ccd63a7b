//! The three S3 buckets: private (Block Public Access, BucketOwnerEnforced), encrypted (SSE-S3), tagged;
//! the backup bucket is versioned; each has its lifecycle rules ([`lifecycle`]). Teardown empties the processed bucket, every version included, and
//! keeps the buckets that hold the user's data (originals, backup) unless they are empty or
//! `--delete-data` is given. Each bucket's policy is a resource of its own ([`policy`]): it names the
//! CloudFront distribution, which exists only later in the run.
use crate::aws::{error_code, Explain};
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::owner::Owner;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::{tag_changes, Stack};
use anyhow::{bail, Result};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use std::collections::BTreeMap;

pub mod empty;
pub mod lifecycle;
pub mod list;
pub mod policy;
#[cfg(test)]
mod tests;

/// What a bucket should look like.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub name: String,
    pub versioned: bool,
    pub tags: BTreeMap<String, String>,
    /// Originals and backup: the user's data, kept by teardown unless empty or `--delete-data`.
    pub holds_data: bool,
    /// False for the backup bucket without `[backup] enabled`.
    pub wanted: bool,
    /// The lifecycle rules imgdeploy owns on it.
    pub lifecycle: Vec<lifecycle::Rule>,
}

/// What a bucket looks like now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Current {
    pub public_access_blocked: bool,
    pub owner_enforced: bool,
    pub sse_s3: bool,
    pub versioned: bool,
    pub tags: BTreeMap<String, String>,
    /// Every lifecycle rule, the user's included.
    pub lifecycle: Vec<aws_sdk_s3::types::LifecycleRule>,
}

/// The stack's buckets, in creation order: originals, processed, backup.
pub fn all(stack: &Stack<'_>) -> Vec<Desired> {
    let n = &stack.names;
    let bucket = |name: &str, versioned, holds_data, wanted, rules: Vec<lifecycle::Rule>| Desired {
        name: name.to_string(),
        versioned,
        tags: stack.tags(),
        holds_data,
        wanted,
        lifecycle: [lifecycle::abort_multipart()]
            .into_iter()
            .chain(rules)
            .collect(),
    };
    let reports = lifecycle::expire_reports(imgdeploy_function::spec::DEFAULT_FAILURES_PREFIX);
    let batches =
        lifecycle::expire_batch_records(imgdeploy_function::handler::batch::BACKFILL_PREFIX);
    let backup = &stack.config.backup;
    let old_versions = lifecycle::expire_noncurrent(backup.noncurrent_days);
    vec![
        bucket(&n.originals_bucket, false, true, true, vec![]),
        bucket(
            &n.processed_bucket,
            false,
            false,
            true,
            vec![reports, batches],
        ),
        bucket(
            &n.backup_bucket,
            true,
            true,
            backup.enabled,
            vec![old_versions],
        ),
    ]
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
    changes.extend(lifecycle::changes(&c.lifecycle, &desired.lifecycle));
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
    Ok(Some(Current {
        public_access_blocked: bpa,
        owner_enforced,
        sse_s3,
        versioned,
        tags,
        lifecycle: lifecycle::describe(stack, bucket).await?,
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

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::Bucket;

    fn name(&self) -> &str {
        &self.name
    }

    fn wanted(&self) -> bool {
        self.wanted
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        describe(stack, &self.name).await
    }

    fn diff(&self, current: Option<&Current>, _: &Known) -> Action {
        diff(current, self)
    }

    fn owner(&self, current: &Current, stack: &str, _: &Known) -> Option<Owner> {
        Some(Owner::of_tags(&current.tags, stack))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        _: &mut Known,
        _: &Task,
    ) -> Result<()> {
        apply(stack, self, current).await
    }

    async fn teardown_action(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        how: Teardown,
    ) -> Result<Action> {
        Ok(match current {
            None => Action::Absent,
            Some(_) if self.kept(stack, how).await? => keep(),
            Some(_) => Action::Delete,
        })
    }

    async fn destroy(&self, stack: &Stack<'_>, how: Teardown, _: &Task) -> Result<Action> {
        if !describe_exists(stack, &self.name).await? {
            return Ok(Action::Absent);
        }
        if self.kept(stack, how).await? {
            return Ok(keep());
        }
        let emptying = match (self.holds_data, how.delete_data) {
            (false, _) => empty::Emptying::Everything,
            (true, true) => empty::Emptying::Listed,
            // Empty when checked: deleted only if S3 still finds it empty.
            (true, false) => empty::Emptying::None,
        };
        empty::empty_and_delete(stack, &self.name, emptying).await
    }
}

impl Desired {
    /// Whether teardown keeps this existing bucket: it holds the user's data, and objects, and
    /// `--delete-data` was not given.
    async fn kept(&self, stack: &Stack<'_>, how: Teardown) -> Result<bool> {
        Ok(self.holds_data && !how.delete_data && !empty::is_empty(stack, &self.name).await?)
    }
}

fn keep() -> Action {
    Action::Keep {
        reason: "holds objects (your data)".into(),
    }
}

/// Creates the bucket or repairs what differs; calls nothing when `current` already matches.
async fn apply(stack: &Stack<'_>, desired: &Desired, current: Option<&Current>) -> Result<()> {
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
    // The stack tag first: it is what makes the bucket the stack's (`owner.rs`), so an interrupted
    // run leaves a bucket the next `up` recognises.
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
    let rules = &desired.lifecycle;
    if !lifecycle::changes(&c.lifecycle, rules).is_empty() {
        lifecycle::apply(stack, b, &c.lifecycle, rules).await?;
    }
    Ok(())
}
