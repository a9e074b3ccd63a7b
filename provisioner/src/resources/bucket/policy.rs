//! A bucket's policy, a resource of its own because it names the CloudFront distribution, which exists
//! only later in the run: TLS only, plus CloudFront read access to the served prefixes once the
//! distribution exists (the processed bucket's variant folders; the originals with
//! `[cdn] serve_originals`). It is deleted with its bucket, so teardown lists no step for it.
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
    /// The document, given the distribution (if any) that serves the bucket. Before the distribution
    /// exists (or without a CDN): TLS only.
    pub fn document(&self, distribution_arn: Option<&str>) -> Value {
        match (&self.served, distribution_arn) {
            (Some(prefixes), Some(arn)) => {
                self.policies.bucket(&self.bucket, Some((arn, prefixes)))
            }
            _ => self.policies.bucket(&self.bucket, None),
        }
    }
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
        diff(current.map(String::as_str), &self.document(arn))
    }

    async fn apply(
        &self,
        stack: &Stack<'_>,
        _: Option<&Current>,
        known: &mut Known,
        _: &Task,
    ) -> Result<()> {
        let arn = known.distribution.as_ref().map(|d| d.arn.as_str());
        let b = &self.bucket;
        stack
            .aws
            .s3
            .put_bucket_policy()
            .bucket(b)
            .policy(self.document(arn).to_string())
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
}
