//! A bucket's policy, a resource of its own because it names the CloudFront distribution, which exists
//! only later in the run: TLS only, plus CloudFront read access to the served prefixes once the
//! distribution exists (the processed bucket's variant folders; the originals with
//! `[cdn] serve_originals`). It is deleted with its bucket, so teardown lists no step for it.
//!
//! imgdeploy owns its statements by `Sid` (those of `policies/bucket.json`) and keeps every other
//! statement a user added: it merges, never replaces the whole document.
use crate::aws::{error_code, Explain};
use crate::policy::PolicyContext;
use crate::progress::Task;
use crate::resources::kind::Kind;
use crate::resources::plan::Action;
use crate::resources::resource::{Known, Resource, Teardown};
use crate::resources::Stack;
use anyhow::Result;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Desired {
    pub bucket: String,
    pub wanted: bool,
    /// The prefixes the distribution serves from this bucket; `None` when it serves none of it.
    pub served: Option<Vec<String>>,
    policies: PolicyContext,
}

/// The policy, as `GetBucketPolicy` returns it.
pub type Current = String;

pub fn desired(stack: &Stack<'_>, bucket: &super::Desired) -> Desired {
    let n = &stack.names;
    let cdn = &stack.config.cdn;
    let served = if bucket.name == n.processed_bucket && cdn.enabled {
        Some(
            stack
                .config
                .variants
                .iter()
                .map(|v| format!("{}/", v.name))
                // Each original's manifest, which apps read through the CDN.
                .chain([imgdeploy_function::spec::MANIFESTS_PREFIX.to_string()])
                .collect(),
        )
    } else if bucket.name == n.originals_bucket && cdn.enabled && cdn.serve_originals {
        Some(vec![stack.config.source.prefix.clone()])
    } else {
        None
    };
    Desired {
        bucket: bucket.name.clone(),
        wanted: bucket.wanted,
        served,
        policies: stack.policies.clone(),
    }
}

impl Desired {
    /// imgdeploy's statements, given the distribution (if any) that serves the bucket. Before the
    /// distribution exists (or without a CDN): TLS only.
    pub fn document(&self, distribution_arn: Option<&str>) -> Value {
        match (&self.served, distribution_arn) {
            (Some(prefixes), Some(arn)) => {
                self.policies.bucket(&self.bucket, Some((arn, prefixes)))
            }
            _ => self.policies.bucket(&self.bucket, None),
        }
    }

    /// The Sids imgdeploy owns here: every statement its template can hold.
    fn managed_sids(&self) -> Vec<String> {
        let all = self.policies.bucket(&self.bucket, Some(("", &[])));
        statements(&all)
            .iter()
            .filter_map(|s| s["Sid"].as_str().map(str::to_string))
            .collect()
    }

    /// The whole document to store: imgdeploy's statements, then the current document's others.
    pub fn merged(&self, current: Option<&str>, distribution_arn: Option<&str>) -> Value {
        merge(
            current,
            self.document(distribution_arn),
            &self.managed_sids(),
        )
    }
}

fn statements(doc: &Value) -> &[Value] {
    doc["Statement"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `ours` plus every statement of `current` whose Sid is not one of `managed` (a statement without a
/// Sid is the user's too). A current document that does not parse contributes nothing.
pub fn merge(current: Option<&str>, mut ours: Value, managed: &[String]) -> Value {
    let Some(current) = current.and_then(|c| serde_json::from_str::<Value>(c).ok()) else {
        return ours;
    };
    let theirs: Vec<Value> = statements(&current)
        .iter()
        .filter(|s| {
            !s["Sid"]
                .as_str()
                .is_some_and(|sid| managed.iter().any(|m| m == sid))
        })
        .cloned()
        .collect();
    if let Some(Value::Array(list)) = ours.get_mut("Statement") {
        list.extend(theirs);
    }
    ours
}

/// `Update` when the stored policy differs from `desired`.
pub fn diff(current: Option<&str>, desired: &Value) -> Action {
    match current {
        None => Action::Create,
        Some(p) if crate::policy::same_policy(p, desired) => Action::Unchanged,
        Some(_) => Action::Update {
            changes: vec!["policy".into()],
        },
    }
}

impl Resource for Desired {
    type Current = Current;
    const KIND: Kind = Kind::BucketPolicy;

    fn name(&self) -> &str {
        &self.bucket
    }

    fn wanted(&self) -> bool {
        self.wanted
    }

    fn torn_down_alone(&self) -> bool {
        false
    }

    fn part_of(&self) -> Option<(Kind, String)> {
        Some((Kind::Bucket, self.bucket.clone()))
    }

    async fn describe(&self, stack: &Stack<'_>, _: &mut Known) -> Result<Option<Current>> {
        let b = &self.bucket;
        match stack.aws.s3.get_bucket_policy().bucket(b).send().await {
            Ok(out) => Ok(out.policy().map(str::to_string)),
            Err(e) if matches!(error_code(&e), Some("NoSuchBucketPolicy" | "NoSuchBucket")) => {
                Ok(None)
            }
            Err(e) => Err(e).explain(stack.aws, &format!("s3:GetBucketPolicy {b}")),
        }
    }

    fn diff(&self, current: Option<&Current>, known: &Known) -> Action {
        let arn = known.distribution.as_ref().map(|d| d.arn.as_str());
        let current = current.map(String::as_str);
        diff(current, &self.merged(current, arn))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        current: Option<&Current>,
        known: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let arn = known.distribution.as_ref().map(|d| d.arn.as_str());
        let b = &self.bucket;
        let document = self.merged(current.map(String::as_str), arn);
        stack
            .aws
            .s3
            .put_bucket_policy()
            .bucket(b)
            .policy(document.to_string())
            .send()
            .await
            .explain(stack.aws, &format!("s3:PutBucketPolicy {b}"))?;
        Ok(())
    }

    /// Never called: the policy goes with its bucket (a kept bucket keeps its TLS-only policy).
    async fn destroy(&self, _: &Stack<'_>, _: Teardown, _: &Task) -> Result<Action> {
        Ok(Action::Unchanged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_diff_compares_documents() {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Deny"}]});
        assert_eq!(diff(None, &doc), Action::Create);
        let stored = doc.to_string();
        assert_eq!(diff(Some(&stored), &doc), Action::Unchanged);
        let other = serde_json::json!({"Version": "2012-10-17", "Statement": []});
        assert!(matches!(diff(Some(&stored), &other), Action::Update { .. }));
    }

    #[test]
    fn a_users_statements_are_kept_and_ours_replaced_by_sid() {
        let ours = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyRequestsWithoutTls", "Effect": "Deny", "Action": "s3:*"}]});
        let stored = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "DenyRequestsWithoutTls", "Effect": "Deny", "Action": "s3:GetObject"},
            {"Sid": "CloudFrontReadsWhatItServes", "Effect": "Allow", "Action": "s3:GetObject"},
            {"Sid": "AnalyticsReads", "Effect": "Allow", "Action": "s3:GetObject"},
            {"Effect": "Allow", "Action": "s3:ListBucket"}]})
        .to_string();
        let managed = [
            "DenyRequestsWithoutTls".to_string(),
            "CloudFrontReadsWhatItServes".to_string(),
        ];
        let merged = merge(Some(&stored), ours.clone(), &managed);
        let sids: Vec<&str> = statements(&merged)
            .iter()
            .map(|s| s["Sid"].as_str().unwrap_or("-"))
            .collect();
        // Ours, replaced; a managed statement no longer wanted, dropped; the user's two, kept.
        assert_eq!(sids, ["DenyRequestsWithoutTls", "AnalyticsReads", "-"]);
        assert_eq!(merged["Statement"][0]["Action"], "s3:*");
        // Stored as merged: no change the next time.
        assert_eq!(
            diff(
                Some(&merged.to_string()),
                &merge(Some(&merged.to_string()), ours, &managed)
            ),
            Action::Unchanged
        );
    }
}
