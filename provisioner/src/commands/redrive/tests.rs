//! What a kept message becomes, and the one promise moto cannot break: a message is deleted only
//! after Lambda accepted its invocation (a throttled or failing invoke leaves it in the queue).
use super::*;
use crate::config::Config;
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_sqs::operation::delete_message::DeleteMessageOutput;
use aws_sdk_sqs::operation::receive_message::ReceiveMessageOutput;
use aws_sdk_sqs::types::Message;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

const S3_EVENT: &str = r#"{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"acme-originals"},"object":{"key":"originals/a.jpg"}}}]}"#;

#[test]
fn each_kind_of_kept_message_becomes_the_event_the_function_takes() {
    // Lambda's dead letter: the event itself.
    let lambda = payload_of(S3_EVENT).unwrap();
    assert_eq!(lambda["Records"][0]["eventSource"], "aws:s3");
    // SNS's: its envelope, whose Message is the S3 notification.
    let envelope =
        serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": S3_EVENT});
    assert_eq!(payload_of(&envelope.to_string()).unwrap(), lambda);
    for bad in ["not json", r#"{"Type": "Notification"}"#, r#"{"hello": 1}"#] {
        assert!(payload_of(bad).is_err(), "{bad}");
    }
}

fn message(id: &str, body: &str) -> Message {
    Message::builder()
        .message_id(id)
        .receipt_handle(format!("receipt-{id}"))
        .body(body)
        .build()
}

#[tokio::test]
async fn a_message_is_deleted_only_after_its_invocation_is_accepted() {
    let receive = mock!(aws_sdk_sqs::Client::receive_message)
        .sequence()
        .output(|| {
            ReceiveMessageOutput::builder()
                .messages(message("accepted", S3_EVENT))
                .messages(message("refused", S3_EVENT))
                .messages(message("garbage", "not json"))
                .build()
        })
        .output(|| ReceiveMessageOutput::builder().build())
        .build();
    let delete = mock!(aws_sdk_sqs::Client::delete_message)
        .match_requests(|r| r.receipt_handle() == Some("receipt-accepted"))
        .then_output(|| DeleteMessageOutput::builder().build());
    // The first invocation is accepted; the second fails with a 500 every time (the SDK retries).
    let invoke = mock!(aws_sdk_lambda::Client::invoke)
        .sequence()
        .output(|| InvokeOutput::builder().status_code(202).build())
        .http_status(500, None)
        .times(3)
        .build();
    let sqs = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&receive, &delete]);
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&invoke]);
    let aws = Aws {
        sqs,
        lambda,
        ..Aws::offline()
    };
    let config = Config::parse(
        "[stack]\nname = \"acme\"\n[[variant]]\nname = \"thumb\"\nwidth = 10\nheight = 10\n",
        "imgdeploy.toml",
    )
    .unwrap();
    let stack = Stack::new(&aws, &config, "acme");
    let mut result = RedriveResult {
        stack: "acme".into(),
        queue: "acme-failures".into(),
        function: "acme-variants".into(),
        dry_run: false,
        waiting: 3,
        redriven: 0,
        refused: Vec::new(),
    };
    let task = Progress::new(true).start("redrive", "t");
    drain(&stack, "http://q", 3, &task, &mut result)
        .await
        .unwrap();
    assert_eq!(result.redriven, 1);
    assert_eq!(delete.num_calls(), 1, "only the accepted one is deleted");
    let left: Vec<&str> = result
        .refused
        .iter()
        .map(|r| r.message_id.as_str())
        .collect();
    assert_eq!(left, ["refused", "garbage"]);
    assert!(
        result.refused[1].reason.contains("not JSON"),
        "{:?}",
        result.refused
    );
    assert!(result.check().is_err());
}
