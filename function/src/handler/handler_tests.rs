//! The handler's decisions with faults moto cannot produce (`aws-smithy-mocks`): a 503 fails the
//! invocation and the retry succeeds; an SNS outage fails it; a renderer panic becomes that record's
//! failure report; the loop guard and unrecognised events.
use super::*;
use crate::engine::Rendered;
use crate::spec::Limits;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::operation::copy_object::CopyObjectOutput;
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::error::NotFound;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use serde_json::json;

/// Echoes the input as every variant; panics on `panic`.
pub(super) struct Echo;

impl Renderer for Echo {
    fn dimensions(&self, _: &[u8]) -> Option<(u32, u32)> {
        Some((10, 10))
    }
    fn render(
        &self,
        input: &[u8],
        variants: &[VariantSpec],
        _: &Limits,
    ) -> Result<Vec<Rendered>, RenderError> {
        if input == b"panic" {
            panic!("decoder exploded");
        }
        Ok(variants
            .iter()
            .flat_map(|v| v.outputs().iter().map(move |&output| (v, output)))
            .map(|(v, output)| Rendered {
                name: v.name.clone(),
                output,
                format: match output {
                    crate::spec::Output::Named(format) => format,
                    crate::spec::Output::Fallback => crate::spec::Format::Jpeg,
                },
                bytes: input.to_vec(),
                width: 10,
                height: 10,
                millis: 0.1,
                decoder: crate::engine::Decoder::Image,
            })
            .collect())
    }
}

pub(super) fn settings() -> FunctionSettings {
    FunctionSettings {
        variants: vec![
            serde_json::from_value(json!({"name": "thumb", "width": 10})).unwrap(),
            serde_json::from_value(json!({"name": "web", "width": 20, "format": "webp"})).unwrap(),
        ],
        limits: Limits::default(),
        source_prefix: "originals/".into(),
        processed_bucket: "out".into(),
        backup_bucket: Some("backup".into()),
        failure_topic_arn: "arn:aws:sns:us-east-1:123456789012:failures".into(),
        processed_topic_arn: None,
        failures_prefix: "_failures/".into(),
        cache_control: "public, max-age=60".into(),
        on_delete: Default::default(),
        distribution_id: None,
        account_id: None,
    }
}

/// A handler on `store`, rendering `variants` with [`Echo`]; its S3 and SNS clients have no rules,
/// so any call that leaves the store fails the test.
pub(super) fn on_store(store: Arc<dyn storage::Store>, variants: serde_json::Value) -> Handler {
    let settings = FunctionSettings {
        variants: serde_json::from_value(variants).unwrap(),
        ..settings()
    };
    let s3 = mock_client!(aws_sdk_s3, []);
    let sns = mock_client!(aws_sdk_sns, []);
    Handler::new(settings, s3, sns, Arc::new(Echo)).with_store(store)
}

/// [`on_store`] with `[events] processed` on, publishing through an SNS client that follows `sns_rules`.
pub(super) fn on_store_with_events(
    store: Arc<dyn storage::Store>,
    variants: serde_json::Value,
    sns_rules: &[Rule],
) -> Handler {
    let settings = FunctionSettings {
        variants: serde_json::from_value(variants).unwrap(),
        processed_topic_arn: Some("arn:aws:sns:us-east-1:123456789012:processed".into()),
        ..settings()
    };
    let s3 = mock_client!(aws_sdk_s3, []);
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules, |c| c
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled()));
    Handler::new(settings, s3, sns, Arc::new(Echo)).with_store(store)
}

fn s3_rules(source_head: Rule, body: &'static [u8]) -> Vec<Rule> {
    vec![
        source_head,
        // Nothing exists yet in the processed bucket (variants, failure reports).
        mock!(aws_sdk_s3::Client::head_object)
            .match_requests(|r| r.bucket() == Some("out"))
            .then_error(|| HeadObjectError::NotFound(NotFound::builder().build())),
        mock!(aws_sdk_s3::Client::copy_object).then_output(|| CopyObjectOutput::builder().build()),
        mock!(aws_sdk_s3::Client::get_object).then_output(move || {
            GetObjectOutput::builder()
                .content_length(body.len() as i64)
                .body(ByteStream::from_static(body))
                .build()
        }),
        mock!(aws_sdk_s3::Client::put_object).then_output(|| PutObjectOutput::builder().build()),
        // The failure report of a now-processed upload is removed (a no-op when there is none).
        mock!(aws_sdk_s3::Client::delete_object)
            .then_output(|| DeleteObjectOutput::builder().build()),
    ]
}

fn source_ok() -> Rule {
    mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.bucket() == Some("src"))
        .then_output(|| {
            HeadObjectOutput::builder()
                .e_tag("\"etag1\"")
                .content_length(5)
                .build()
        })
}

fn handler(s3_rules: &[Rule], sns_rules: &[Rule]) -> Handler {
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, s3_rules, |c| c
        .retry_config(RetryConfig::disabled()));
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules, |c| c
        .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled()));
    Handler::new(settings(), s3, sns, Arc::new(Echo)).with_parallelism(2)
}

fn publish_ok() -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .then_output(|| PublishOutput::builder().message_id("m").build())
}

#[tokio::test]
async fn a_503_fails_the_invocation_and_the_retry_succeeds() {
    let flaky_head = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.bucket() == Some("src"))
        .sequence()
        .http_status(503, None)
        .output(|| {
            HeadObjectOutput::builder()
                .e_tag("\"etag1\"")
                .content_length(5)
                .build()
        })
        .repeatedly()
        .build();
    let rules = s3_rules(flaky_head, b"hello");
    let publish = publish_ok();
    let h = handler(&rules, std::slice::from_ref(&publish));
    let event = json!({"bucket": "src", "keys": ["originals/a.jpg"]});

    let err = h.handle(event.clone()).await.unwrap_err();
    match &err {
        HandlerError::Retry { failures, .. } => {
            assert_eq!(failures.len(), 1);
            assert!(
                failures[0].contains("s3://src/originals/a.jpg")
                    && failures[0].contains("transient"),
                "{}",
                failures[0]
            );
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    assert_eq!(rules[4].num_calls(), 0, "nothing written before the fault");

    let summary = h.handle(event).await.unwrap();
    assert_eq!(summary.processed, 1);
    let Outcome::Processed {
        variants,
        backup_bucket,
        bytes_in,
        ..
    } = &summary.records[0].outcome
    else {
        panic!("{:?}", summary.records[0]);
    };
    assert_eq!(*bytes_in, 5);
    assert_eq!(backup_bucket.as_deref(), Some("backup"));
    let keys: Vec<&str> = variants.iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["thumb/a.jpg", "web/a.webp"]);
    assert_eq!(
        rules[4].num_calls(),
        3,
        "two variants and the manifest written"
    );
    assert_eq!(rules[2].num_calls(), 1, "one backup copy");
    assert_eq!(publish.num_calls(), 0, "no failure reported");
}

#[tokio::test]
async fn a_renderer_panic_is_that_records_failure_report() {
    let rules = s3_rules(source_ok(), b"panic");
    let publish = publish_ok();
    let h = handler(&rules, std::slice::from_ref(&publish));
    let summary = h
        .handle(json!({"bucket": "src", "keys": ["originals/p.jpg"]}))
        .await
        .unwrap();
    let Outcome::Failed {
        report,
        newly_reported,
    } = &summary.records[0].outcome
    else {
        panic!("{:?}", summary.records[0]);
    };
    assert!(*newly_reported);
    assert_eq!(report.error_kind, "panic");
    assert!(
        report.message.contains("decoder exploded"),
        "{}",
        report.message
    );
    assert_eq!(report.etag.as_deref(), Some("etag1"));
    assert_eq!(report.function_version, "local");
    assert_eq!(publish.num_calls(), 1);
    assert_eq!(
        rules[4].num_calls(),
        1,
        "only the report object is written, no variant"
    );
}

#[tokio::test]
async fn an_sns_outage_fails_the_invocation() {
    let rules = s3_rules(source_ok(), b"panic");
    let publish_down = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .http_status(500, None)
        .repeatedly()
        .build();
    let h = handler(&rules, std::slice::from_ref(&publish_down));
    let err = h
        .handle(json!({"bucket": "src", "keys": ["originals/p.jpg"]}))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("publishing the failure report of originals/p.jpg"),
        "{err}"
    );
}

#[tokio::test]
async fn keys_outside_the_prefix_and_outputs_are_ignored_without_any_call() {
    let rules = s3_rules(source_ok(), b"x");
    let h = handler(&rules, &[]);
    let event = json!({"Records": [
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "1970-01-01T00:00:00.000Z",
         "userIdentity": {}, "requestParameters": {},
         "s3": {"bucket": {"name": "src"}, "object": {"key": "elsewhere/a.jpg"}}},
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "1970-01-01T00:00:00.000Z",
         "userIdentity": {}, "requestParameters": {},
         "s3": {"bucket": {"name": "out"}, "object": {"key": "thumb/a.jpg"}}},
        {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "eventTime": "1970-01-01T00:00:00.000Z",
         "userIdentity": {}, "requestParameters": {},
         "s3": {"bucket": {"name": "src"}, "object": {"key": "originals/"}}}
    ]});
    let summary = h.handle(event).await.unwrap();
    assert_eq!(summary.ignored, 3);
    let reasons: Vec<String> = summary
        .records
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Ignored { reason } => reason.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(
        reasons[0].contains("outside the source prefix \"originals/\""),
        "{}",
        reasons[0]
    );
    assert!(reasons[1].contains("would loop"), "{}", reasons[1]);
    assert!(reasons[2].contains("folder placeholder"), "{}", reasons[2]);
    assert!(rules.iter().all(|r| r.num_calls() == 0));
}

#[tokio::test]
async fn unrecognised_events_fail_the_invocation() {
    let h = handler(&[], &[]);
    let err = h
        .handle(json!({"detail-type": "something else"}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, HandlerError::Event(EventError::Unrecognised(_))),
        "{err}"
    );
}

#[tokio::test]
async fn a_processed_bucket_without_list_permission_still_gets_its_variants() {
    // Without s3:ListBucket, S3 answers HEAD of a missing key with 403: "cannot tell" means "write it".
    let denied = mock!(aws_sdk_s3::Client::head_object)
        .match_requests(|r| r.bucket() == Some("out"))
        .sequence()
        .http_status(403, None)
        .repeatedly()
        .build();
    let mut rules = s3_rules(source_ok(), b"hello");
    rules[1] = denied;
    let h = handler(&rules, &[]);
    let summary = h
        .handle(json!({"bucket": "src", "keys": ["originals/a.jpg"]}))
        .await
        .unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    assert_eq!(rules[4].num_calls(), 3, "two variants and the manifest");
    // Each variant was written with If-None-Match (nothing could be read, so nothing is replaced).
    let Outcome::Processed { variants, .. } = &summary.records[0].outcome else {
        panic!("{summary:#?}")
    };
    assert!(variants.iter().all(|v| !v.replaced), "{variants:#?}");
}
