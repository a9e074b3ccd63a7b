//! One place that turns the global flags into AWS clients, and AWS failures into one line that names the fix.
use crate::calls::CallLog;
use anyhow::{Context, Result};
use aws_config::Region;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_smithy_runtime_api::client::result::SdkError;

/// Where and as whom to connect.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The clients of every service a stack uses, plus who and where we are.
#[derive(Clone, Debug)]
pub struct Aws {
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudfront: aws_sdk_cloudfront::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// S3 Batch Operations (`backfill --engine batch`).
    pub s3control: aws_sdk_s3control::Client,
    /// ACM in us-east-1, whatever the stack's region: CloudFront takes certificates only from there.
    pub acm: aws_sdk_acm::Client,
    /// Route 53 (global): the custom domain's validation and alias records.
    pub route53: aws_sdk_route53::Client,
    pub sdk_config: aws_config::SdkConfig,
    pub region: String,
    pub account: String,
    pub partition: String,
    /// A custom endpoint (emulator) when one is set.
    pub endpoint: Option<String>,
    /// Every operation sent, to tell "no changes" from changes.
    pub calls: CallLog,
}

impl Aws {
    /// Loads credentials and region, and asks STS who we are: the first call, so that missing
    /// credentials, an unknown region or an unreachable endpoint fail here with a clear message.
    pub async fn connect(opts: &AwsOptions) -> Result<Aws> {
        let mut loader = imgdeploy_function::https::sdk_defaults();
        if let Some(p) = &opts.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &opts.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(e) = &opts.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let sdk_config = loader.load().await;
        Self::from_sdk_config(sdk_config).await
    }

    pub async fn from_sdk_config(sdk_config: aws_config::SdkConfig) -> Result<Aws> {
        let region = sdk_config.region().map(|r| r.to_string()).ok_or_else(|| {
            anyhow::anyhow!(
                "no AWS region is set\n  fix: pass --region, set `region` in [stack], or export AWS_REGION"
            )
        })?;
        let endpoint = sdk_config.endpoint_url().map(str::to_string);
        let sts = aws_sdk_sts::Client::new(&sdk_config);
        let who = sts.get_caller_identity().send().await.map_err(|e| {
            anyhow::anyhow!(explain(
                &e,
                "sts:GetCallerIdentity",
                endpoint.as_deref(),
                &region
            ))
        })?;
        let account = who
            .account()
            .context("STS returned no account id")?
            .to_string();
        let partition = partition_of(&region);
        // Emulators answer on one host: virtual-host bucket addressing (`bucket.127.0.0.1`) cannot resolve.
        let calls = CallLog::from_env();
        // Every S3 request names this account as the bucket's owner (a same-named bucket of another
        // account answers 403), through the function's own interceptor.
        let owner =
            imgdeploy_function::handler::storage::owner::ExpectedBucketOwner(account.clone());
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk_config)
            .force_path_style(endpoint.is_some())
            .interceptor(owner)
            .interceptor(calls.clone())
            .build();
        macro_rules! client {
            ($krate:ident) => {
                $krate::Client::from_conf(
                    $krate::config::Builder::from(&sdk_config)
                        .interceptor(calls.clone())
                        .build(),
                )
            };
        }
        Ok(Aws {
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sns: client!(aws_sdk_sns),
            iam: client!(aws_sdk_iam),
            lambda: client!(aws_sdk_lambda),
            cloudfront: client!(aws_sdk_cloudfront),
            logs: client!(aws_sdk_cloudwatchlogs),
            sqs: client!(aws_sdk_sqs),
            s3control: client!(aws_sdk_s3control),
            acm: aws_sdk_acm::Client::from_conf(
                aws_sdk_acm::config::Builder::from(&sdk_config)
                    .region(Region::new(crate::config::CLOUDFRONT_CERTIFICATE_REGION))
                    .interceptor(calls.clone())
                    .build(),
            ),
            route53: client!(aws_sdk_route53),
            sdk_config,
            region,
            account,
            partition: partition.to_string(),
            endpoint,
            calls,
        })
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    match region {
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

/// One line naming what failed and how to fix it, for the errors people really hit.
pub fn explain<E, R>(
    err: &SdkError<E, R>,
    action: &str,
    endpoint: Option<&str>,
    region: &str,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = DisplayErrorContext(err).to_string();
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .unwrap_or_default();
    let message = err
        .as_service_error()
        .and_then(|e| e.message())
        .unwrap_or_default();
    match err {
        SdkError::ConstructionFailure(_) if detail.contains("credentials") || detail.contains("Credentials") => {
            format!("{action}: no AWS credentials found\n  fix: run `aws configure`, set AWS_PROFILE, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => match endpoint {
            Some(ep) => format!("{action}: cannot reach the endpoint {ep}\n  fix: start it, or check --endpoint-url / AWS_ENDPOINT_URL ({detail})"),
            None if detail.contains("dns") || detail.contains("resolve") || detail.contains("lookup") => {
                format!("{action}: region {region:?} cannot be reached: is it a real AWS region?\n  fix: pass --region with a valid region such as eu-west-1")
            }
            None => format!("{action}: AWS cannot be reached ({detail})\n  fix: check the network connection and proxy settings"),
        },
        _ if code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" => {
            format!("{action}: access denied ({message})\n  fix: grant it to the caller: policies/deployer.json is the least-privilege policy for running imgdeploy (`imgdeploy policies` prints it for this stack), or use another --profile")
        }
        _ if code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "ExpiredToken" => {
            format!("{action}: the AWS credentials are not valid ({code}: {message})\n  fix: refresh them (`aws sso login`, `aws configure`) or pick another --profile")
        }
        _ => format!("{action}: {detail}"),
    }
}

/// Wraps an SDK call's error with `explain`, for `?` in commands.
pub trait Explain<T> {
    fn explain(self, aws: &Aws, action: &str) -> Result<T>;
}

impl<T, E, R> Explain<T> for std::result::Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn explain(self, aws: &Aws, action: &str) -> Result<T> {
        self.map_err(|e| anyhow::anyhow!(explain(&e, action, aws.endpoint.as_deref(), &aws.region)))
    }
}

/// The service error code of an SDK error, if the service answered.
pub fn error_code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

#[cfg(test)]
impl Aws {
    /// Clients that point at a closed port, for unit tests that replace one of them with a mock
    /// (`Aws { lambda: mocked, ..Aws::offline() }`).
    pub fn offline() -> Aws {
        Self::offline_in("us-east-1")
    }

    /// `offline()` in another region.
    pub fn offline_in(region: &str) -> Aws {
        use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
        let sdk_config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(imgdeploy_function::https::client())
            .region(Region::new(region.to_string()))
            .endpoint_url("http://127.0.0.1:9")
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKID", "SECRET", None, None, "test",
            )))
            .build();
        Aws {
            s3: aws_sdk_s3::Client::new(&sdk_config),
            sns: aws_sdk_sns::Client::new(&sdk_config),
            iam: aws_sdk_iam::Client::new(&sdk_config),
            lambda: aws_sdk_lambda::Client::new(&sdk_config),
            cloudfront: aws_sdk_cloudfront::Client::new(&sdk_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk_config),
            sqs: aws_sdk_sqs::Client::new(&sdk_config),
            s3control: aws_sdk_s3control::Client::new(&sdk_config),
            acm: aws_sdk_acm::Client::new(&sdk_config),
            route53: aws_sdk_route53::Client::new(&sdk_config),
            sdk_config,
            region: region.into(),
            account: "123456789012".into(),
            partition: "aws".into(),
            endpoint: None,
            calls: CallLog::default(),
        }
    }
}
