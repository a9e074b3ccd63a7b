//! Every resource name derives from the stack name, so the stack is found again without a state file.
use serde::Serialize;

/// The tag every taggable resource carries; its value is the stack name.
pub const STACK_TAG: &str = "imgdeploy:stack";

/// The function's tag naming the source its code was built from (`<version>-<digest>`, or `artifact`
/// for a zip given with `--artifact`): `status` compares it with what this CLI deploys.
pub const SOURCE_TAG: &str = "imgdeploy:function-source";

/// [`SOURCE_TAG`]'s value for a zip given with `--artifact`.
pub const GIVEN_SOURCE: &str = "artifact";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Names {
    pub stack: String,
    pub originals_bucket: String,
    pub processed_bucket: String,
    pub backup_bucket: String,
    pub upload_topic: String,
    pub failure_topic: String,
    /// `[events] processed`: where the function tells apps an original's variants are ready.
    pub processed_topic: String,
    /// The SQS queue that keeps the events nothing could process (dead letters), for `redrive`.
    pub failure_queue: String,
    pub role: String,
    pub role_policy: String,
    /// The role S3 Batch Operations assumes to invoke the function (`backfill --engine batch`).
    pub batch_role: String,
    pub batch_role_policy: String,
    pub function: String,
    pub log_group: String,
    pub oac: String,
    /// The CloudFront Function that negotiates `format = "auto"` variants at the edge.
    pub edge_function: String,
    /// CloudFront has no names: the distribution is found by this comment (and carries the stack tag).
    pub distribution_comment: String,
    /// Statement id of the permission that lets SNS invoke the function.
    pub permission_sid: String,
}

impl Names {
    pub fn new(stack: &str) -> Self {
        let function = format!("{stack}-variants");
        Names {
            stack: stack.to_string(),
            originals_bucket: format!("{stack}-originals"),
            processed_bucket: format!("{stack}-processed"),
            backup_bucket: format!("{stack}-backup"),
            upload_topic: format!("{stack}-uploads"),
            failure_topic: format!("{stack}-failures"),
            processed_topic: format!("{stack}-processed"),
            failure_queue: format!("{stack}-failures"),
            role: format!("{stack}-function"),
            role_policy: format!("{stack}-function-access"),
            batch_role: format!("{stack}-batch"),
            batch_role_policy: format!("{stack}-batch-access"),
            log_group: format!("/aws/lambda/{function}"),
            function,
            oac: format!("{stack}-oac"),
            edge_function: format!("{stack}-negotiate"),
            distribution_comment: format!("imgdeploy:{stack}"),
            permission_sid: "imgdeploy-sns-invoke".to_string(),
        }
    }

    /// Where each stack-derived ARN lives, given the account and region.
    pub fn arns(&self, partition: &str, region: &str, account: &str) -> Arns {
        let sns = |name: &str| format!("arn:{partition}:sns:{region}:{account}:{name}");
        Arns {
            originals_bucket: format!("arn:{partition}:s3:::{}", self.originals_bucket),
            processed_bucket: format!("arn:{partition}:s3:::{}", self.processed_bucket),
            backup_bucket: format!("arn:{partition}:s3:::{}", self.backup_bucket),
            upload_topic: sns(&self.upload_topic),
            failure_topic: sns(&self.failure_topic),
            processed_topic: sns(&self.processed_topic),
            failure_queue: format!(
                "arn:{partition}:sqs:{region}:{account}:{}",
                self.failure_queue
            ),
            role: format!("arn:{partition}:iam::{account}:role/{}", self.role),
            batch_role: format!("arn:{partition}:iam::{account}:role/{}", self.batch_role),
            function: format!(
                "arn:{partition}:lambda:{region}:{account}:function:{}",
                self.function
            ),
            log_group: format!(
                "arn:{partition}:logs:{region}:{account}:log-group:{}",
                self.log_group
            ),
            edge_function: format!(
                "arn:{partition}:cloudfront::{account}:function/{}",
                self.edge_function
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Arns {
    pub originals_bucket: String,
    pub processed_bucket: String,
    pub backup_bucket: String,
    pub upload_topic: String,
    pub failure_topic: String,
    pub processed_topic: String,
    pub failure_queue: String,
    pub role: String,
    pub batch_role: String,
    pub function: String,
    pub log_group: String,
    pub edge_function: String,
}

/// Longest stack name whose derived names stay within every service's limit
/// (S3: 63 characters for `<stack>-originals`; IAM role names: 64).
pub const MAX_STACK_NAME: usize = 63 - "-originals".len();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_stack() {
        let n = Names::new("acme");
        assert_eq!(n.originals_bucket, "acme-originals");
        assert_eq!(n.log_group, "/aws/lambda/acme-variants");
        let a = n.arns("aws", "eu-west-1", "123456789012");
        assert_eq!(
            a.upload_topic,
            "arn:aws:sns:eu-west-1:123456789012:acme-uploads"
        );
        assert_eq!(a.role, "arn:aws:iam::123456789012:role/acme-function");
    }

    #[test]
    fn longest_stack_name_fits_every_limit() {
        let n = Names::new(&"a".repeat(MAX_STACK_NAME));
        assert!(n.originals_bucket.len() <= 63);
        assert!(n.processed_bucket.len() <= 63);
        assert!(n.role.len() <= 64 && n.role_policy.len() <= 128);
        assert!(n.function.len() <= 64);
        // CloudFront Function names: 64 characters.
        assert!(n.edge_function.len() <= 64);
    }
}
