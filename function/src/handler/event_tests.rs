//! Event parsing against JSON shaped like the documented AWS samples (S3 event message structure, the
//! Lambda SNS sample, the S3 test event).
use super::*;

fn s3_record(key: &str, event_name: &str) -> Value {
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-west-2",
        "eventTime": "1970-01-01T00:00:00.000Z", "eventName": event_name,
        "userIdentity": {"principalId": "AIDAJDPLRKLG7UEXAMPLE"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "testConfigRule",
            "bucket": {"name": "amzn-s3-demo-bucket", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::amzn-s3-demo-bucket"},
            "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko", "sequencer": "0055AED6DCD90281E5"}
        }
    })
}

fn sns_wrap(message: &Value) -> Value {
    json!({
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1", "Timestamp": "2019-01-02T12:45:07.000Z",
            "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-ac565b8b1a6c5d002d285f9598aa1d9b.pem",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "Message": message.to_string(),
            "MessageAttributes": {},
            "Type": "Notification",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&amp;SubscriptionArn=arn:aws:sns:us-east-1:123456789012:test-lambda:21be56ed-a058-49f5-8c98-aedd2564c486",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:sns-lambda",
            "Subject": "Amazon S3 Notification"
        }
    })
}

fn test_event() -> Value {
    json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2014-10-13T15:57:02.089Z",
           "Bucket": "amzn-s3-demo-bucket", "RequestId": "5582815E1AEA5ADF",
           "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})
}

/// An upload as the AWS sample record names it (its ETag and sequencer).
fn object(key: &str) -> Work {
    Work::Object(ObjectRef {
        etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
        sequencer: Some(Sequencer::new("0055AED6DCD90281E5")),
        ..ObjectRef::created("amzn-s3-demo-bucket", key)
    })
}

/// An upload known by its key alone (backfill lists).
fn listed(key: &str) -> Work {
    Work::Object(ObjectRef::created("amzn-s3-demo-bucket", key))
}

#[test]
fn direct_s3_event_with_many_records() {
    let event = json!({"Records": [s3_record("originals/HappyFace.jpg", "ObjectCreated:Put"),
                                   s3_record("originals/b.png", "ObjectCreated:CompleteMultipartUpload")]});
    assert_eq!(
        parse_event(&event).unwrap(),
        vec![object("originals/HappyFace.jpg"), object("originals/b.png")]
    );
}

#[test]
fn sns_wrapped_s3_event_is_unwrapped() {
    let inner = json!({"Records": [s3_record("originals/red+flower.jpg", "ObjectCreated:Put")]});
    let event = json!({"Records": [sns_wrap(&inner), sns_wrap(&inner)]});
    assert_eq!(
        parse_event(&event).unwrap(),
        vec![
            object("originals/red flower.jpg"),
            object("originals/red flower.jpg")
        ]
    );
}

#[test]
fn test_event_is_ignored_direct_and_through_sns() {
    for event in [test_event(), json!({"Records": [sns_wrap(&test_event())]})] {
        match parse_event(&event).unwrap().as_slice() {
            [Work::Ignore { bucket, reason, .. }] => {
                assert_eq!(bucket.as_deref(), Some("amzn-s3-demo-bucket"));
                assert!(reason.contains("s3:TestEvent"), "{reason}");
            }
            other => panic!("expected one ignore, got {other:?}"),
        }
    }
}

#[test]
fn deletions_are_work_with_their_sequencer_and_no_etag() {
    let event = json!({"Records": [s3_record("originals/a+b.jpg", "ObjectRemoved:Delete"),
                                   s3_record("originals/c.jpg", "ObjectRemoved:DeleteMarkerCreated")]});
    let removed = |key: &str| {
        Work::Object(ObjectRef {
            change: Change::Removed,
            sequencer: Some(Sequencer::new("0055AED6DCD90281E5")),
            ..ObjectRef::created("amzn-s3-demo-bucket", key)
        })
    };
    assert_eq!(
        parse_event(&event).unwrap(),
        vec![removed("originals/a b.jpg"), removed("originals/c.jpg")]
    );
}

#[test]
fn other_event_types_are_ignored_with_the_reason() {
    let event = json!({"Records": [s3_record("originals/a.jpg", "ObjectRestore:Completed")]});
    match parse_event(&event).unwrap().as_slice() {
        [Work::Ignore { key, reason, .. }] => {
            assert_eq!(key.as_deref(), Some("originals/a.jpg"));
            assert!(reason.contains("ObjectRestore:Completed"), "{reason}");
        }
        other => panic!("expected one ignore, got {other:?}"),
    }
}

#[test]
fn sequencers_compare_as_s3_documents_left_padded() {
    let s = Sequencer::new;
    assert!(s("0055AED6DCD90281E5") < s("0055AED6DCD90281E6"));
    // Different lengths: the shorter is left-padded with zeros, then compared as strings.
    assert!(s("0055AED6DCD90281E6") < s("0055AED6DCD90281E500001"));
    assert!(s("F0") > s("0EF"));
    assert_eq!(
        s("ab").cmp(&s("00AB")),
        std::cmp::Ordering::Equal,
        "case and leading zeros do not order"
    );
}

#[test]
fn backfill_list_keys_are_taken_verbatim() {
    let event = json!({"bucket": "amzn-s3-demo-bucket", "keys": ["originals/a+b.jpg", "originals/c d.jpg"]});
    assert_eq!(
        parse_event(&event).unwrap(),
        vec![listed("originals/a+b.jpg"), listed("originals/c d.jpg")]
    );
}

#[test]
fn keys_decode_plus_then_percent_and_keep_unicode() {
    assert_eq!(decode_key("red+flower.jpg").unwrap(), "red flower.jpg");
    assert_eq!(decode_key("a%2Bb.jpg").unwrap(), "a+b.jpg");
    assert_eq!(
        decode_key("caf%C3%A9+%E6%97%A5%E6%9C%AC.jpg").unwrap(),
        "café 日本.jpg"
    );
    assert_eq!(decode_key("100%25.jpg").unwrap(), "100%.jpg");
    assert!(decode_key("bad%FF.jpg").unwrap_err().contains("UTF-8"));
}

#[test]
fn encode_key_is_the_inverse_and_looks_like_s3() {
    assert_eq!(
        encode_key("originals/red flower.jpg"),
        "originals/red+flower.jpg"
    );
    assert_eq!(encode_key("a+b (1).jpg"), "a%2Bb+%281%29.jpg");
    for key in [
        "originals/café 日本 +%.jpg",
        "x",
        " lead and trail ",
        "a/b/c.d.e",
    ] {
        assert_eq!(decode_key(&encode_key(key)).unwrap(), key);
    }
}

#[test]
fn built_sns_event_parses_back_to_the_keys() {
    let keys = ["originals/red flower.jpg", "originals/日本/a+b.png"];
    let event = sns_s3_event("src", &keys);
    let expected: Vec<Work> = keys
        .iter()
        .map(|k| Work::Object(ObjectRef::created("src", *k)))
        .collect();
    assert_eq!(parse_event(&event).unwrap(), expected);
    // Typed as SNS would deliver it.
    let typed: aws_lambda_events::event::sns::SnsEvent = serde_json::from_value(event).unwrap();
    assert_eq!(typed.records.len(), 2);
}

#[test]
fn unknown_and_malformed_events_are_errors() {
    assert!(matches!(
        parse_event(&json!({"hello": "world"})),
        Err(EventError::Unrecognised(_))
    ));
    assert!(matches!(
        parse_event(&json!({"Records": [{"eventSource": "aws:sqs"}]})),
        Err(EventError::Unrecognised(_))
    ));
    let broken = json!({"Records": [{"eventSource": "aws:s3", "s3": {}}]});
    assert!(matches!(
        parse_event(&broken),
        Err(EventError::Malformed {
            what: "S3 record",
            ..
        })
    ));
    let not_json = json!({"Records": [sns_wrap(&json!("x"))]});
    let mut not_json = not_json;
    not_json["Records"][0]["Sns"]["Message"] = json!("Hello from SNS!");
    assert!(matches!(
        parse_event(&not_json),
        Err(EventError::Malformed { .. })
    ));
}

#[test]
fn moto_records_without_user_identity_are_accepted() {
    // moto 5.2: no userIdentity, requestParameters or responseElements; the key is quote_plus-encoded.
    let event = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "c", "bucket": {"name": "amzn-s3-demo-bucket",
               "arn": "arn:aws:s3:::amzn-s3-demo-bucket"},
               "object": {"key": "originals%2Fred+flower+caf%C3%A9.jpg", "size": 3, "eTag": "x"}}}]});
    assert_eq!(
        parse_event(&event).unwrap(),
        vec![Work::Object(ObjectRef {
            etag: Some("x".into()),
            ..ObjectRef::created("amzn-s3-demo-bucket", "originals/red flower café.jpg")
        })]
    );
}
