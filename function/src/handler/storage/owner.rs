//! `ExpectedBucketOwner` on every S3 request: on a shared or compromised account, a bucket of the
//! stack's name that another account created (bucket names are global) answers 403 instead of
//! receiving the pipeline's reads and writes. One interceptor, on the function's S3 client and on the
//! CLI's, so no call can forget it. `CopyObject` also names the source bucket's owner.
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

pub const HEADER: &str = "x-amz-expected-bucket-owner";
pub const SOURCE_HEADER: &str = "x-amz-source-expected-bucket-owner";

/// Adds the account as the expected owner of every bucket a request names.
#[derive(Debug, Clone)]
pub struct ExpectedBucketOwner(pub String);

/// Operations that name no existing bucket (or not one of ours): S3 takes no expected owner there.
const WITHOUT_OWNER: &[&str] = &["CreateBucket", "ListBuckets", "ListDirectoryBuckets"];

impl Intercept for ExpectedBucketOwner {
    fn name(&self) -> &'static str {
        "imgdeploy-expected-bucket-owner"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
        let operation = operation.as_deref().unwrap_or_default();
        if WITHOUT_OWNER.contains(&operation) {
            return Ok(());
        }
        let headers = ctx.request_mut().headers_mut();
        headers.insert(HEADER, self.0.clone());
        if matches!(operation, "CopyObject" | "UploadPartCopy") {
            headers.insert(SOURCE_HEADER, self.0.clone());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
    use std::sync::{Arc, Mutex};

    /// (operation, expected owner, expected source owner) of one request.
    type Seen = (String, Option<String>, Option<String>);

    /// Keeps the headers of the request about to leave, then stops it (no network).
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<Vec<Seen>>>);

    impl Intercept for Capture {
        fn name(&self) -> &'static str {
            "capture"
        }

        fn read_before_transmit(
            &self,
            ctx: &BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            let op = cfg.load::<Metadata>().map(|m| m.name().to_string());
            let headers = ctx.request().headers();
            self.0.lock().unwrap().push((
                op.unwrap_or_default(),
                headers.get(HEADER).map(str::to_string),
                headers.get(SOURCE_HEADER).map(str::to_string),
            ));
            Err("captured".into())
        }
    }

    #[tokio::test]
    async fn every_request_but_create_bucket_names_the_expected_owner() {
        let capture = Capture::default();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("k", "s", None, None, "test"))
            .interceptor(ExpectedBucketOwner("123456789012".into()))
            .interceptor(capture.clone())
            .build();
        let s3 = aws_sdk_s3::Client::from_conf(config);
        let _ = s3.head_object().bucket("b").key("k").send().await;
        let _ = s3
            .copy_object()
            .bucket("backup")
            .key("k")
            .copy_source("b/k")
            .send()
            .await;
        let _ = s3.create_bucket().bucket("new").send().await;
        let seen = capture.0.lock().unwrap().clone();
        let owner = Some("123456789012".to_string());
        assert_eq!(
            seen,
            [
                ("HeadObject".into(), owner.clone(), None),
                ("CopyObject".into(), owner.clone(), owner.clone()),
                ("CreateBucket".into(), None, None),
            ]
        );
    }
}
