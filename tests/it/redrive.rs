//! Durable failures (issue 17): events kept in the stack's failure queue are shown by `status` and sent
//! back to the function by `redrive`, which deletes a message only once Lambda accepted it (read back
//! with boto3; the invocations as moto's launcher records them).
use crate::harness::{moto, Moto};
use crate::stack::StackDir;
use serde_json::Value;

/// Runs boto3 `code` against moto with `QUEUE` bound to the failure queue's URL; returns its JSON output.
fn sqs(moto: &Moto, queue: &str, code: &str) -> Value {
    moto.python_json(&format!(
        "import boto3, json\nsqs = boto3.client('sqs')\nQUEUE = sqs.get_queue_url(QueueName={queue:?})['QueueUrl']\n{code}"
    ))
}

fn s3_event(bucket: &str, key: &str) -> Value {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-03T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "0A"}}}]})
}

#[test]
fn kept_events_are_counted_then_redriven_and_deleted_only_once_accepted() {
    let moto = moto();
    let s = StackDir::new("redrive", "[cdn]\nenabled = false");
    let n = s.name.clone();
    let queue = format!("{n}-failures");
    s.ok(moto, &["up", "--yes"]);
    let status = s.ok(moto, &["status"]);
    assert_eq!(status["failure_queue"]["messages"], 0, "{status:#}");

    // What Lambda keeps (the event), what SNS keeps (its envelope), and a message nobody can use.
    let originals = format!("{n}-originals");
    let lambda_kept = s3_event(&originals, "originals/a.jpg");
    let sns_kept = serde_json::json!({"Type": "Notification", "MessageId": "m-1",
        "TopicArn": format!("arn:aws:sns:us-east-1:123456789012:{n}-uploads"),
        "Message": s3_event(&originals, "originals/b.jpg").to_string()});
    sqs(
        moto,
        &queue,
        &format!(
            "for body in [{:?}, {:?}, 'not an event']:\n    sqs.send_message(QueueUrl=QUEUE, MessageBody=body)",
            lambda_kept.to_string(),
            sns_kept.to_string()
        ),
    );
    let status = s.ok(moto, &["status"]);
    assert_eq!(status["failure_queue"]["messages"], 3, "{status:#}");
    assert!(
        status["failure_queue"]["oldest_age_s"].is_u64(),
        "{status:#}"
    );

    // --dry-run counts and sends nothing.
    let planned = s.ok(moto, &["redrive", "--dry-run"]);
    assert_eq!(planned["waiting"], 3);
    assert!(moto.lambda_invocations(&format!("{n}-variants")).is_empty());

    let (ok, done, stderr) = s.run(moto, &["redrive"]);
    assert!(!ok, "a message left in the queue fails the command");
    assert!(
        stderr.contains("1 message(s) could not be redriven"),
        "{stderr}"
    );
    assert_eq!(done["redriven"], 2, "{done:#}");
    let invoked = moto.lambda_invocations(&format!("{n}-variants"));
    let keys: Vec<&Value> = invoked
        .iter()
        .map(|i| &i["event"]["Records"][0]["s3"]["object"]["key"])
        .collect();
    assert_eq!(keys, ["originals/a.jpg", "originals/b.jpg"], "{invoked:#?}");
    assert!(invoked.iter().all(|i| i["invocation_type"] == "Event"));
    // The two accepted are gone; the refused one is still there (received, so hidden for now).
    let left = sqs(
        moto,
        &queue,
        "a = sqs.get_queue_attributes(QueueUrl=QUEUE, AttributeNames=['All'])['Attributes']\n\
         print(json.dumps([int(a['ApproximateNumberOfMessages']), int(a['ApproximateNumberOfMessagesNotVisible'])]))",
    );
    assert_eq!(left, serde_json::json!([0, 1]));
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}
