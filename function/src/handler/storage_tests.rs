//! Error classification of the S3 calls with `aws-smithy-mocks`: the faults moto cannot produce
//! (throttling, 5xx, permission errors) and the size cap of the streaming read.
use super::*;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::types::error::NotFound;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

fn retry_parts(err: StoreError) -> (&'static str, bool, String) {
    match err {
        StoreError::Retry {
            op,
            transient,
            message,
            ..
        } => (op, transient, message),
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_object_is_not_found() {
    let rule = mock!(Client::head_object)
        .then_error(|| HeadObjectError::NotFound(NotFound::builder().build()));
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]);
    let err = head(&s3, "b", "originals/gone.jpg").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { key, .. } if key == "originals/gone.jpg"),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("s3://b/originals/gone.jpg does not exist"));
    assert!(head_if_exists(&s3, "b", "k").await.unwrap().is_none());
}

#[tokio::test]
async fn service_unavailable_and_throttling_are_transient() {
    let head_503 = mock!(Client::head_object)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let slow_down = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"#;
    let get_throttled = mock!(Client::get_object)
        .sequence()
        .http_status(503, Some(slow_down.into()))
        .repeatedly()
        .build();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head_503, &get_throttled]);

    let (op, transient, message) = retry_parts(head(&s3, "b", "k").await.unwrap_err());
    assert_eq!((op, transient), ("HeadObject", true));
    assert!(message.contains("503"), "{message}");

    let (op, transient, message) =
        retry_parts(get_capped(&s3, "b", "k", "e", 10).await.unwrap_err());
    assert_eq!((op, transient), ("GetObject", true));
    assert!(message.contains("SlowDown"), "{message}");
}

#[tokio::test]
async fn access_denied_fails_the_invocation_but_is_not_called_transient() {
    let denied = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"#;
    let put_denied = mock!(Client::put_object)
        .sequence()
        .http_status(403, Some(denied.into()))
        .repeatedly()
        .build();
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put_denied]);
    let put_one = Put {
        bucket: "p",
        key: "thumb/a.jpg",
        body: vec![1, 2, 3],
        content_type: "image/jpeg",
        cache_control: None,
        metadata: HashMap::new(),
    };
    let err = put(&s3, put_one).await.unwrap_err();
    assert!(err.to_string().contains("check the configuration"), "{err}");
    let (op, transient, message) = retry_parts(err);
    assert_eq!((op, transient), ("PutObject", false));
    assert!(message.contains("AccessDenied"), "{message}");
}

#[tokio::test]
async fn capped_read_stops_past_the_cap() {
    let big = mock!(Client::get_object).then_output(|| {
        GetObjectOutput::builder()
            .body(ByteStream::from(vec![7u8; 1000]))
            .build()
    });
    let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&big]);
    assert!(matches!(
        get_capped(&s3, "b", "k", "e", 999).await.unwrap(),
        Body::TooLarge(1000)
    ));
    match get_capped(&s3, "b", "k", "e", 1000).await.unwrap() {
        Body::Bytes(bytes) => assert_eq!(bytes.len(), 1000),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn head_strips_etag_quotes() {
    let rule = mock!(Client::head_object).then_output(|| {
        HeadObjectOutput::builder()
            .e_tag("\"abc\"")
            .content_length(5)
            .metadata("source-etag", "x")
            .build()
    });
    let s3 = mock_client!(aws_sdk_s3, [&rule]);
    let h = head(&s3, "b", "k").await.unwrap();
    assert_eq!(
        (h.etag.as_str(), h.size, h.metadata["source-etag"].as_str()),
        ("abc", 5, "x")
    );
}

#[test]
fn copy_source_encodes_the_key_but_keeps_slashes() {
    assert_eq!(
        copy_source("src", "originals/red flower+café.jpg"),
        "src/originals/red%20flower%2Bcaf%C3%A9.jpg"
    );
}
