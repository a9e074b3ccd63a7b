//! What the request-level tests share: a CloudFront client answered by `aws-smithy-mocks` whose every
//! request is serialized and recorded (operation, If-Match header, body), and canned CloudFront answers.
pub(super) use super::*;
pub(super) use crate::progress::Progress;
pub(super) use aws_sdk_cloudfront::config::{AsyncSleep, Sleep};
pub(super) use aws_sdk_cloudfront::operation::create_distribution_with_tags::{
    CreateDistributionWithTagsError, CreateDistributionWithTagsOutput,
};
pub(super) use aws_sdk_cloudfront::operation::create_origin_access_control::{
    CreateOriginAccessControlError, CreateOriginAccessControlOutput,
};
pub(super) use aws_sdk_cloudfront::operation::delete_distribution::{
    DeleteDistributionError, DeleteDistributionOutput,
};
pub(super) use aws_sdk_cloudfront::operation::delete_origin_access_control::{
    DeleteOriginAccessControlError, DeleteOriginAccessControlOutput,
};
pub(super) use aws_sdk_cloudfront::operation::get_distribution::GetDistributionOutput;
pub(super) use aws_sdk_cloudfront::operation::get_distribution_config::GetDistributionConfigOutput;
pub(super) use aws_sdk_cloudfront::operation::get_origin_access_control::GetOriginAccessControlOutput;
pub(super) use aws_sdk_cloudfront::operation::list_distributions::ListDistributionsOutput;
pub(super) use aws_sdk_cloudfront::operation::list_origin_access_controls::ListOriginAccessControlsOutput;
pub(super) use aws_sdk_cloudfront::operation::update_distribution::UpdateDistributionOutput;
pub(super) use aws_sdk_cloudfront::types::error::{
    DistributionAlreadyExists, DistributionNotDisabled, OriginAccessControlAlreadyExists,
    OriginAccessControlInUse,
};
pub(super) use aws_sdk_cloudfront::types::{
    Distribution, DistributionList, DistributionSummary, HttpVersion, OriginAccessControl,
    OriginAccessControlList, OriginAccessControlSummary, PriceClass,
};
pub(super) use aws_sdk_cloudfront::Client;
pub(super) use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
pub(super) use aws_smithy_runtime_api::box_error::BoxError;
pub(super) use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
pub(super) use aws_smithy_runtime_api::client::interceptors::Intercept;
pub(super) use aws_smithy_runtime_api::client::orchestrator::Metadata;
pub(super) use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
pub(super) use aws_smithy_types::config_bag::ConfigBag;
pub(super) use aws_smithy_types::DateTime;
pub(super) use serde::Serialize;
pub(super) use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Serialize)]
pub(super) struct Sent {
    operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    if_match: Option<String>,
    #[serde(skip)]
    body: String,
}

/// Records every request as it leaves the client.
#[derive(Debug, Clone, Default)]
pub(super) struct Recorder(Arc<Mutex<Vec<Sent>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "cdn-test-recorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        let request = ctx.request();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let if_match = request.headers().get("If-Match").map(str::to_string);
        self.0.lock().unwrap().push(Sent {
            operation,
            if_match,
            body,
        });
        Ok(())
    }
}

impl Recorder {
    pub(super) fn sent(&self) -> Vec<Sent> {
        self.0.lock().unwrap().clone()
    }

    pub(super) fn body_of(&self, operation: &str) -> Vec<String> {
        self.sent()
            .into_iter()
            .filter(|s| s.operation == operation)
            .map(|s| s.body)
            .collect()
    }
}

/// The waiter sleeps a minute between polls on real AWS; not here.
#[derive(Debug)]
pub(super) struct NoSleep;

impl AsyncSleep for NoSleep {
    fn sleep(&self, _: std::time::Duration) -> Sleep {
        Sleep::new(std::future::ready(()))
    }
}

pub(super) fn client(rules: &[&Rule], recorder: &Recorder) -> Client {
    let recorder = recorder.clone();
    mock_client!(aws_sdk_cloudfront, RuleMode::MatchAny, rules, move |c| c
        .interceptor(recorder.clone())
        .sleep_impl(NoSleep))
}

pub(super) const DIST_ID: &str = "EDFDVBD6EXAMPLE";
pub(super) const DIST_ARN: &str = "arn:aws:cloudfront::123456789012:distribution/EDFDVBD6EXAMPLE";

pub(super) fn distribution(status: &str) -> Distribution {
    Distribution::builder()
        .id(DIST_ID)
        .arn(DIST_ARN)
        .status(status)
        .last_modified_time(DateTime::from_secs(0))
        .in_progress_invalidation_batches(0)
        .domain_name("d111111abcdef8.cloudfront.net")
        .build()
        .unwrap()
}

pub(super) fn listed(comment: &str) -> ListDistributionsOutput {
    let summary = DistributionSummary::builder()
        .id(DIST_ID)
        .arn(DIST_ARN)
        .status("Deployed")
        .last_modified_time(DateTime::from_secs(0))
        .domain_name("d111111abcdef8.cloudfront.net")
        .comment(comment)
        .price_class(PriceClass::PriceClass100)
        .enabled(true)
        .web_acl_id("")
        .http_version(HttpVersion::Http2and3)
        .is_ipv6_enabled(true)
        .staging(false)
        .build()
        .unwrap();
    let list = DistributionList::builder()
        .marker("")
        .max_items(100)
        .is_truncated(false)
        .quantity(1)
        .items(summary);
    ListDistributionsOutput::builder()
        .distribution_list(list.build().unwrap())
        .build()
}

pub(super) fn config_with(etag: &str, enabled: bool) -> GetDistributionConfigOutput {
    let aws = offline_aws();
    let config = config("");
    let mut c = as_deployed(&desired(&Stack::new(&aws, &config, "acme")));
    c.enabled = enabled;
    GetDistributionConfigOutput::builder()
        .e_tag(etag)
        .distribution_config(c)
        .build()
}

pub(super) fn oac_listed() -> ListOriginAccessControlsOutput {
    let summary = OriginAccessControlSummary::builder()
        .id(OAC_ID)
        .name("acme-oac")
        .description("")
        .signing_protocol("sigv4".into())
        .signing_behavior("always".into())
        .origin_access_control_origin_type("s3".into())
        .build()
        .unwrap();
    let list = OriginAccessControlList::builder()
        .marker("")
        .max_items(100)
        .is_truncated(false)
        .quantity(1)
        .items(summary);
    ListOriginAccessControlsOutput::builder()
        .origin_access_control_list(list.build().unwrap())
        .build()
}

pub(super) fn oac_got() -> GetOriginAccessControlOutput {
    let aws = offline_aws();
    let config = config("");
    let spec = desired(&Stack::new(&aws, &config, "acme")).oac;
    let oac = OriginAccessControl::builder()
        .id(OAC_ID)
        .origin_access_control_config(spec.to_config().unwrap());
    GetOriginAccessControlOutput::builder()
        .origin_access_control(oac.build().unwrap())
        .e_tag("OACETAG1")
        .build()
}

/// Operation and If-Match of each request, in order.
pub(super) fn sequence(recorder: &Recorder) -> Vec<String> {
    let line = |s: Sent| match s.if_match {
        Some(m) => format!("{} If-Match={m}", s.operation),
        None => s.operation,
    };
    recorder.sent().into_iter().map(line).collect()
}

/// One element per line (empty elements stay whole), the time-based CallerReference replaced.
pub(super) fn readable(xml: &str) -> String {
    let mut out = xml.replace("><", ">\n<");
    if let (Some(a), Some(b)) = (
        out.find("<CallerReference>"),
        out.find("</CallerReference>"),
    ) {
        out.replace_range(
            a + "<CallerReference>".len()..b,
            "[imgdeploy-acme-<millis>]",
        );
    }
    let mut lines: Vec<String> = Vec::new();
    for line in out.lines() {
        match lines.last_mut() {
            Some(open) if line.strip_prefix("</") == open.strip_prefix('<') => open.push_str(line),
            _ => lines.push(line.to_string()),
        }
    }
    lines.join("\n")
}

/// `ListTagsForResource` of a distribution tagged for `stack`.
pub(super) fn tagged_for(stack: &'static str) -> Rule {
    mock!(Client::list_tags_for_resource).then_output(move || {
        let tag = aws_sdk_cloudfront::types::Tag::builder()
            .key("imgdeploy:stack")
            .value(stack)
            .build()
            .unwrap();
        let tags = aws_sdk_cloudfront::types::Tags::builder()
            .items(tag)
            .build();
        aws_sdk_cloudfront::operation::list_tags_for_resource::ListTagsForResourceOutput::builder()
            .tags(tags)
            .build()
    })
}

pub(super) fn oac_rules() -> (Rule, Rule, Rule) {
    (
        mock!(Client::list_origin_access_controls).then_output(oac_listed),
        mock!(Client::get_origin_access_control).then_output(oac_got),
        mock!(Client::delete_origin_access_control)
            .then_output(|| DeleteOriginAccessControlOutput::builder().build()),
    )
}

/// Both CDN plan steps, (OAC, distribution), as the stack's table computes them.
pub(super) fn diff(current: &Current, desired: &Desired) -> (Action, Action) {
    let oac_id = current.oac.as_ref().map(|o| o.id.as_str());
    (
        diff_oac(current.oac.as_ref(), desired),
        diff_distribution(current.distribution.as_ref(), desired, oac_id),
    )
}

/// `up`'s two CDN steps in table order: the OAC, then the distribution reading through it.
pub(super) async fn apply(
    stack: &Stack<'_>,
    current: &Current,
    progress: &Progress,
) -> anyhow::Result<Option<Deployed>> {
    let desired = desired(stack);
    if !desired.enabled {
        return Ok(None);
    }
    let task = progress.start("cdn", "test");
    let oac_id = oac::apply(stack, current.oac.as_ref(), &desired.oac, &task).await?;
    let dist = current.distribution.as_ref();
    let arns = sdk::FunctionArns::new();
    let deployed = distribution::apply(stack, dist, &desired, &oac_id, &arns, &task).await?;
    Ok(Some(deployed))
}

/// Teardown's two CDN steps in its order: the distribution, then the OAC. (OAC, distribution).
pub(super) async fn destroy(
    stack: &Stack<'_>,
    progress: &Progress,
) -> anyhow::Result<(Action, Action)> {
    let task = progress.start("cdn", "test");
    let dist = crate::resources::cdn::teardown::destroy(stack, &task).await?;
    let oac = oac::destroy(stack).await?;
    Ok((oac, dist))
}
