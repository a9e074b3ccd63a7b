//! Error classification of the S3 calls with `aws-smithy-mocks`: the faults moto cannot produce
//! (throttling, 5xx, permission errors) and the size cap of the streaming read.
use super::super::{head_if_exists, head_original, Store};
use super::*;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::operation::head_object::{HeadObjectError, HeadObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::error::NotFound;
use aws_sdk_s3::types::Object;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use std::collections::HashMap;

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
    let s3 = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]));
    let err = s3.head("b", "originals/gone.jpg").await.unwrap_err();
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
    let s3 = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&head_503, &get_throttled]
    ));

    let (op, transient, message) = retry_parts(s3.head("b", "k").await.unwrap_err());
    assert_eq!((op, transient), ("HeadObject", true));
    assert!(message.contains("503"), "{message}");

    let (op, transient, message) = retry_parts(s3.get_capped("b", "k", "e", 10).await.unwrap_err());
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
    let s3 = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&put_denied]));
    let put_one = Put {
        bucket: "p",
        key: "thumb/a.jpg",
        body: vec![1, 2, 3],
        content_type: "image/jpeg",
        cache_control: None,
        metadata: HashMap::new(),
        condition: Condition::Absent,
    };
    let err = s3.put(put_one).await.unwrap_err();
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
    let s3 = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&big]));
    assert!(matches!(
        s3.get_capped("b", "k", "e", 999).await.unwrap(),
        Body::TooLarge(1000)
    ));
    match s3.get_capped("b", "k", "e", 1000).await.unwrap() {
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
    let s3 = S3Store::new(mock_client!(aws_sdk_s3, [&rule]));
    let h = s3.head("b", "k").await.unwrap();
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

#[tokio::test]
async fn a_refused_head_of_an_original_is_settled_by_listing_its_key() {
    // Without s3:ListBucket on the bucket, S3 answers a HEAD of a missing key with 403.
    let denied = || {
        mock!(Client::head_object)
            .sequence()
            .http_status(403, None)
            .repeatedly()
            .build()
    };
    let (head_missing, head_refused) = (denied(), denied());
    let not_listed =
        mock!(Client::list_objects_v2).then_output(|| ListObjectsV2Output::builder().build());
    let s3 = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&head_missing, &not_listed]
    ));
    let err = head_original(&s3, "b", "originals/gone.jpg")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    // Listed, yet refused: a real permission problem, kept as such (fails the invocation).
    let listed = mock!(Client::list_objects_v2).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(Object::builder().key("originals/there.jpg").build())
            .build()
    });
    let s3 = S3Store::new(mock_client!(
        aws_sdk_s3,
        RuleMode::MatchAny,
        [&head_refused, &listed]
    ));
    let err = head_original(&s3, "b", "originals/there.jpg")
        .await
        .unwrap_err();
    assert!(err.is_access_denied(), "{err:?}");
}

#[tokio::test]
async fn lost_races_of_conditional_writes_are_conflicts() {
    let failed = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>"#;
    let conflict = r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>ConditionalRequestConflict</Code><Message>A conflicting conditional operation is currently in progress</Message></Error>"#;
    for (status, body) in [(412, failed), (409, conflict)] {
        let rule = mock!(Client::put_object)
            .sequence()
            .http_status(status, Some(body.into()))
            .repeatedly()
            .build();
        let s3 = S3Store::new(mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&rule]));
        let put_one = Put {
            bucket: "p",
            key: "thumb/a.jpg",
            body: vec![1],
            content_type: "image/jpeg",
            cache_control: None,
            metadata: HashMap::new(),
            condition: Condition::Unchanged("e".into()),
        };
        let err = s3.put(put_one).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { .. }),
            "{status}: {err:?}"
        );
    }
}
