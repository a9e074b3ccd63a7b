//! Renders the policy documents of `policies/` for one stack, and compares policies the way AWS stores them.
use crate::names::{Arns, Names};
use serde_json::Value;

const LAMBDA_TRUST: &str = include_str!("../../policies/lambda-trust.json");
const FUNCTION_ACCESS: &str = include_str!("../../policies/function-access.json");
const UPLOAD_TOPIC: &str = include_str!("../../policies/upload-topic.json");
const BUCKET: &str = include_str!("../../policies/bucket.json");
const FAILURE_QUEUE: &str = include_str!("../../policies/failure-queue.json");
const BATCH_TRUST: &str = include_str!("../../policies/batch-trust.json");
const BATCH_ACCESS: &str = include_str!("../../policies/batch-access.json");
const DEPLOYER: &str = include_str!("../../policies/deployer.json");

/// Everything a policy template can refer to.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyContext {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub names: Names,
    pub arns: Arns,
    pub source_prefix: String,
    pub backup_enabled: bool,
    /// `[events] processed`: the function publishes to the processed topic.
    pub processed_events: bool,
    /// The folders of the processed bucket the function writes, reads and deletes: one per variant,
    /// the failure reports', the manifests' and the backfill records' (`thumb/`, `_failures/`,
    /// `_manifests/`, `_backfill/`).
    pub output_prefixes: Vec<String>,
}

impl PolicyContext {
    pub fn new(
        names: &Names,
        partition: &str,
        region: &str,
        account: &str,
        source_prefix: &str,
        backup_enabled: bool,
    ) -> Self {
        PolicyContext {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
            arns: names.arns(partition, region, account),
            names: names.clone(),
            source_prefix: source_prefix.into(),
            backup_enabled,
            processed_events: false,
            output_prefixes: Vec::new(),
        }
    }

    /// The processed bucket's folders the function owns (see [`PolicyContext::output_prefixes`]).
    pub fn with_outputs(mut self, prefixes: impl IntoIterator<Item = String>) -> Self {
        self.output_prefixes = prefixes.into_iter().collect();
        self
    }

    /// With `[events] processed`: the function may publish to the processed topic.
    pub fn with_processed_events(mut self, enabled: bool) -> Self {
        self.processed_events = enabled;
        self
    }

    /// [`PolicyContext::with_outputs`] for the variants named: their folders and the function's own
    /// (`_failures/`, `_manifests/`, `_backfill/`).
    pub fn with_variants<'n>(self, names: impl IntoIterator<Item = &'n str>) -> Self {
        use imgdeploy_function::{handler::batch::BACKFILL_PREFIX, spec};
        let own = [
            spec::DEFAULT_FAILURES_PREFIX,
            spec::MANIFESTS_PREFIX,
            BACKFILL_PREFIX,
        ];
        let folders = names.into_iter().map(|n| format!("{n}/"));
        self.with_outputs(folders.chain(own.map(str::to_owned)))
    }

    fn render(&self, template: &str, extra: &[(&str, &str)]) -> Value {
        let mut vars: Vec<(&str, &str)> = vec![
            ("Partition", &self.partition),
            ("Region", &self.region),
            ("Account", &self.account),
            ("OriginalsBucket", &self.names.originals_bucket),
            ("ProcessedBucket", &self.names.processed_bucket),
            ("BackupBucket", &self.names.backup_bucket),
            ("SourcePrefix", &self.source_prefix),
            ("UploadTopicArn", &self.arns.upload_topic),
            ("FailureTopicArn", &self.arns.failure_topic),
            ("ProcessedTopicArn", &self.arns.processed_topic),
            ("FailureQueueArn", &self.arns.failure_queue),
            ("RoleArn", &self.arns.role),
            ("BatchRoleArn", &self.arns.batch_role),
            ("FunctionArn", &self.arns.function),
            ("LogGroupArn", &self.arns.log_group),
            ("EdgeFunctionArn", &self.arns.edge_function),
            ("Stack", &self.names.stack),
        ];
        vars.extend_from_slice(extra);
        render(template, &vars)
    }

    /// What the identity that runs imgdeploy needs for this stack: least privilege for every command
    /// (`policies/README.md` maps each call to its actions).
    pub fn deployer(&self) -> Value {
        self.render(DEPLOYER, &[])
    }

    pub fn lambda_trust(&self) -> Value {
        self.render(LAMBDA_TRUST, &[])
    }

    /// The function role's inline policy. `distribution_arn`: the stack's CloudFront distribution,
    /// which the function invalidates (no grant without one).
    pub fn function_access(&self, distribution_arn: Option<&str>) -> Value {
        let mut doc = self.render(
            FUNCTION_ACCESS,
            &[
                ("DistributionArn", distribution_arn.unwrap_or("")),
                ("OutputObjects", ""),
            ],
        );
        if !self.backup_enabled {
            drop_statement(&mut doc, "CopyOriginalsWithTheirTagsToBackup");
        }
        if !self.processed_events {
            drop_statement(&mut doc, "TellAppsWhenAnOriginalIsProcessedOrDeleted");
        }
        if distribution_arn.is_none() {
            drop_statement(
                &mut doc,
                "InvalidateReplacedAndDeletedVariantsOnTheStacksCdn",
            );
        }
        let outputs: Vec<Value> = self
            .output_prefixes
            .iter()
            .map(|p| {
                let arn = format!(
                    "arn:{}:s3:::{}/{p}*",
                    self.partition, self.names.processed_bucket
                );
                Value::String(arn)
            })
            .collect();
        if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
            for s in statements.iter_mut().filter(|s| s["Resource"] == "") {
                s["Resource"] = normalize(&Value::Array(outputs.clone()));
            }
        }
        doc
    }

    /// The S3 Batch Operations role's trust: that service, for jobs of this account only.
    pub fn batch_trust(&self) -> Value {
        self.render(BATCH_TRUST, &[])
    }

    /// The S3 Batch Operations role's inline policy: invoke the function, read the job's manifest,
    /// write its completion report; all under `_backfill/` of the processed bucket.
    pub fn batch_access(&self) -> Value {
        self.render(BATCH_ACCESS, &[])
    }

    pub fn upload_topic(&self) -> Value {
        self.render(UPLOAD_TOPIC, &[])
    }

    /// The failure queue's policy: the function's role (Lambda sends its dead letters as the role)
    /// and the upload topic (SNS's redrive) may send; nothing without TLS. The role is named in a
    /// condition, not as the principal: a principal must already be visible to SQS, and the role was
    /// created moments earlier (IAM propagates in seconds).
    pub fn failure_queue(&self) -> Value {
        self.render(FAILURE_QUEUE, &[])
    }

    /// A bucket's policy: TLS only, plus CloudFront read access to `<prefix>*` for each served prefix
    /// when the distribution serves this bucket. Only what is served is readable: in the processed
    /// bucket the variant folders and `_manifests/`, never the `_failures/` reports.
    pub fn bucket(&self, bucket: &str, cdn: Option<(&str, &[String])>) -> Value {
        let (distribution_arn, prefixes) = cdn.unwrap_or(("", &[]));
        let mut doc = self.render(
            BUCKET,
            &[
                ("Bucket", bucket),
                ("DistributionArn", distribution_arn),
                ("ServedPrefix", ""),
            ],
        );
        match cdn {
            None => drop_statement(&mut doc, "CloudFrontReadsWhatItServes"),
            Some(_) => {
                let resources: Vec<Value> = prefixes
                    .iter()
                    .map(|p| Value::String(format!("arn:{}:s3:::{bucket}/{p}*", self.partition)))
                    .collect();
                if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
                    for s in statements
                        .iter_mut()
                        .filter(|s| s["Sid"] == "CloudFrontReadsWhatItServes")
                    {
                        s["Resource"] = normalize(&Value::Array(resources.clone()));
                    }
                }
            }
        }
        doc
    }
}

/// Substitutes `${Name}` placeholders; a placeholder left over is a bug in the template.
pub fn render(template: &str, vars: &[(&str, &str)]) -> Value {
    let mut text = template.to_string();
    for (k, v) in vars {
        // Values are JSON-string contents: escape them as such.
        let escaped = serde_json::to_string(v).expect("string");
        text = text.replace(&format!("${{{k}}}"), &escaped[1..escaped.len() - 1]);
    }
    assert!(
        !text.contains("${"),
        "unfilled placeholder in policy template: {text}"
    );
    serde_json::from_str(&text).expect("policy templates are valid JSON")
}

fn drop_statement(doc: &mut Value, sid: &str) {
    if let Some(Value::Array(statements)) = doc.get_mut("Statement") {
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid));
    }
}

/// The form AWS hands policies back in: one-element lists become scalars, statements keep their order.
/// Two policies are the same when their normalized forms are equal.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Array(items) if items.len() == 1 => normalize(&items[0]),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        other => other.clone(),
    }
}

/// Parses a policy document as AWS returns it (IAM URL-encodes them) and compares it with `desired`.
pub fn same_policy(current: &str, desired: &Value) -> bool {
    let decoded = urlencoding::decode(current)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| current.to_string());
    let parsed =
        serde_json::from_str::<Value>(&decoded).or_else(|_| serde_json::from_str::<Value>(current));
    parsed
        .map(|c| normalize(&c) == normalize(desired))
        .unwrap_or(false)
}

/// The stack the policy tests render for: `acme` in account 123456789012, eu-west-1, `originals/`.
#[cfg(test)]
fn acme(backup: bool) -> PolicyContext {
    PolicyContext::new(
        &Names::new("acme"),
        "aws",
        "eu-west-1",
        "123456789012",
        "originals/",
        backup,
    )
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub mod evaluate;

#[cfg(test)]
#[path = "grants_tests.rs"]
mod grants_tests;

#[cfg(test)]
#[path = "deployer_tests.rs"]
mod deployer_tests;
