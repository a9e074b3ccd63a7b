//! The buckets' lifecycle rules, so that nothing is billed forever: every bucket aborts incomplete
//! multipart uploads after 7 days; the backup bucket expires an original's replaced or deleted
//! versions after `[backup] noncurrent_days`; the processed bucket expires failure reports after 30
//! days. imgdeploy owns its rules by ID (`imgdeploy-...`) and keeps every other rule a user added:
//! `PutBucketLifecycleConfiguration` replaces the whole set, so the set written is ours plus theirs.
use crate::aws::{error_code, Explain};
use crate::resources::Stack;
use anyhow::Result;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
};

/// Days after which an unfinished multipart upload's parts are deleted.
pub const ABORT_MULTIPART_DAYS: i32 = 7;
/// Days a failure report is kept: long enough to read and fix, short enough not to pile up.
pub const FAILURE_REPORT_DAYS: i32 = 30;

/// One rule imgdeploy manages, in the few terms it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    /// Applies to keys under this prefix ("" is every key).
    pub prefix: String,
    pub abort_multipart_days: Option<i32>,
    pub expire_days: Option<i32>,
    pub noncurrent_days: Option<i32>,
}

/// Every bucket's rule.
pub fn abort_multipart() -> Rule {
    Rule {
        id: "imgdeploy-abort-incomplete-multipart-uploads".into(),
        prefix: String::new(),
        abort_multipart_days: Some(ABORT_MULTIPART_DAYS),
        expire_days: None,
        noncurrent_days: None,
    }
}

/// The backup bucket's: earlier versions go after `days`.
pub fn expire_noncurrent(days: u32) -> Rule {
    Rule {
        id: "imgdeploy-expire-replaced-backup-versions".into(),
        prefix: String::new(),
        abort_multipart_days: None,
        expire_days: None,
        noncurrent_days: Some(days.min(i32::MAX as u32) as i32),
    }
}

/// The processed bucket's: failure reports under `prefix` go after [`FAILURE_REPORT_DAYS`].
pub fn expire_reports(prefix: &str) -> Rule {
    Rule {
        id: "imgdeploy-expire-failure-reports".into(),
        prefix: prefix.into(),
        abort_multipart_days: None,
        expire_days: Some(FAILURE_REPORT_DAYS),
        noncurrent_days: None,
    }
}

/// The processed bucket's: backfill records (chunk results, manifests, Batch Operations reports)
/// under `prefix` go after [`FAILURE_REPORT_DAYS`] too.
pub fn expire_batch_records(prefix: &str) -> Rule {
    Rule {
        id: "imgdeploy-expire-backfill-records".into(),
        prefix: prefix.into(),
        abort_multipart_days: None,
        expire_days: Some(FAILURE_REPORT_DAYS),
        noncurrent_days: None,
    }
}

impl Rule {
    /// The rule as S3 holds it, when it is enabled and expressible in these terms.
    #[allow(deprecated)] // `Rule.Prefix` is deprecated in favour of `Filter`, but still answered.
    fn from_sdk(r: &LifecycleRule) -> Option<Rule> {
        if r.status() != &ExpirationStatus::Enabled {
            return None;
        }
        let prefix = match r.filter() {
            Some(f) => f.prefix().unwrap_or_default().to_string(),
            None => r.prefix().unwrap_or_default().to_string(),
        };
        #[allow(deprecated)]
        // `Rule.Prefix` is deprecated in favour of `Filter`, but still answered.
        Some(Rule {
            id: r.id()?.to_string(),
            prefix,
            abort_multipart_days: r
                .abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
            expire_days: r.expiration().and_then(|e| e.days()),
            noncurrent_days: r
                .noncurrent_version_expiration()
                .and_then(|n| n.noncurrent_days()),
        })
    }

    pub fn to_sdk(&self) -> Result<LifecycleRule> {
        let mut rule = LifecycleRule::builder()
            .id(&self.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&self.prefix).build());
        if let Some(days) = self.abort_multipart_days {
            rule = rule.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build(),
            );
        }
        if let Some(days) = self.expire_days {
            rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
        }
        if let Some(days) = self.noncurrent_days {
            rule = rule.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .build(),
            );
        }
        Ok(rule.build()?)
    }
}

/// The rules of `wanted` that `current` lacks or holds otherwise, by ID. Pure.
pub fn changes(current: &[LifecycleRule], wanted: &[Rule]) -> Vec<String> {
    wanted
        .iter()
        .filter(|w| {
            !current
                .iter()
                .any(|c| c.id() == Some(w.id.as_str()) && Rule::from_sdk(c).as_ref() == Some(*w))
        })
        .map(|w| format!("lifecycle rule {}", w.id))
        .collect()
}

/// The bucket's rules as S3 holds them (none: empty).
pub async fn describe(stack: &Stack<'_>, bucket: &str) -> Result<Vec<LifecycleRule>> {
    let s3 = &stack.aws.s3;
    match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok(out.rules().to_vec()),
        Err(e) if error_code(&e) == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
        Err(e) => Err(e).explain(
            stack.aws,
            &format!("s3:GetBucketLifecycleConfiguration {bucket}"),
        ),
    }
}

/// Writes ours and keeps theirs: every current rule whose ID is not one of `wanted`'s, then `wanted`.
pub async fn apply(
    stack: &Stack<'_>,
    bucket: &str,
    current: &[LifecycleRule],
    wanted: &[Rule],
) -> Result<()> {
    let mut rules: Vec<LifecycleRule> = current
        .iter()
        .filter(|c| !wanted.iter().any(|w| c.id() == Some(w.id.as_str())))
        .cloned()
        .collect();
    for w in wanted {
        rules.push(w.to_sdk()?);
    }
    stack
        .aws
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules))
                .build()?,
        )
        .send()
        .await
        .explain(
            stack.aws,
            &format!("s3:PutBucketLifecycleConfiguration {bucket}"),
        )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_round_trips_and_a_changed_one_is_named() {
        let wanted = vec![abort_multipart(), expire_noncurrent(90)];
        let held: Vec<LifecycleRule> = wanted.iter().map(|r| r.to_sdk().unwrap()).collect();
        assert!(changes(&held, &wanted).is_empty());
        let longer = vec![abort_multipart(), expire_noncurrent(120)];
        assert_eq!(
            changes(&held, &longer),
            ["lifecycle rule imgdeploy-expire-replaced-backup-versions"]
        );
        assert_eq!(changes(&[], &[expire_reports("_failures/")]).len(), 1);
    }

    #[test]
    fn a_users_rule_is_not_ours_and_not_a_change() {
        let theirs = LifecycleRule::builder()
            .id("archive-after-a-year")
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("old/").build())
            .build()
            .unwrap();
        let ours = abort_multipart().to_sdk().unwrap();
        assert!(changes(&[theirs, ours], &[abort_multipart()]).is_empty());
    }
}
