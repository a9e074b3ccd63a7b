//! Proves the harness itself: moto starts and answers, S3 -> SNS -> SQS delivers (the trigger of issue 2 at
//! the moto level), the independent inspector sees a stack, and the fake Lambda Runtime API drives a
//! process through its events.
use crate::harness::{self, moto, unique_name, RuntimeOutcome};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    S3KeyFilter, Tag, Tagging, TopicConfiguration,
};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn tls_only_policy(bucket: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    })
    .to_string()
}

#[tokio::test]
async fn s3_round_trips_over_path_style_despite_a_tls_only_policy() {
    let moto = moto();
    assert!(
        moto.endpoint.starts_with("http://127.0.0.1:"),
        "{}",
        moto.endpoint
    );
    let s3 = moto.s3().await;
    let bucket = unique_name("smoke");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    // The launcher must have turned moto's condition-blind Deny evaluation off, or this put is refused.
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(tls_only_policy(&bucket))
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&bucket)
        .key("dir/hello.txt")
        .body(ByteStream::from_static(b"hello moto"))
        .send()
        .await
        .expect("PutObject under a TLS-only policy");
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key("dir/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        object.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello moto"
    );
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let policy: Value = serde_json::from_str(&policy).unwrap();
    assert_eq!(policy["Statement"][0]["Sid"], "DenyInsecureTransport");
}

#[tokio::test]
async fn sns_publishes_to_a_subscribed_queue() {
    let moto = moto();
    let sns = moto.sns().await;
    let topic = sns
        .create_topic()
        .name(unique_name("smoke-topic"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic.topic_arn.unwrap();
    let queue = harness::subscribe_queue(moto, &topic_arn).await;
    let report = json!({"bucket": "b", "key": "k", "kind": "corrupt"});
    sns.publish()
        .topic_arn(&topic_arn)
        .message(report.to_string())
        .send()
        .await
        .unwrap();
    let messages = harness::drain_messages(moto, &queue, 1, WAIT).await;
    assert_eq!(messages, vec![report]);
}

/// The trigger proof of issue 2 at the moto level, in the deployed shape: the function's `lambda`
/// subscription comes first (moto cannot run it without Docker and must carry on), then a test queue.
#[tokio::test]
async fn s3_notification_reaches_the_topic_only_for_the_prefix() {
    let moto = moto();
    let config = moto.sdk_config().await;
    let (s3, sns) = (moto.s3().await, moto.sns().await);
    let stack = unique_name("trigger");
    let bucket = format!("{stack}-originals");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let topic_arn = sns
        .create_topic()
        .name(format!("{stack}-uploads"))
        .send()
        .await
        .unwrap();
    let topic_arn = topic_arn.topic_arn.unwrap();

    let function_arn = create_placeholder_function(&config, &stack).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("lambda")
        .endpoint(&function_arn)
        .send()
        .await
        .unwrap();
    let queue = harness::subscribe_queue(moto, &topic_arn).await;

    let prefix_filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value("originals/")
                        .build(),
                )
                .build(),
        )
        .build();
    let topic_configuration = TopicConfiguration::builder()
        .topic_arn(&topic_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(prefix_filter)
        .build()
        .unwrap();
    s3.put_bucket_notification_configuration()
        .bucket(&bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .topic_configurations(topic_configuration)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // moto, like S3, announces a new configuration with an s3:TestEvent.
    let test_events = harness::drain_messages(moto, &queue, 1, WAIT).await;
    assert_eq!(test_events.len(), 1, "{test_events:?}");
    assert_eq!(test_events[0]["Event"], "s3:TestEvent");

    for key in ["originals/red flower é.jpg", "elsewhere/skip.jpg"] {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(ByteStream::from_static(b"not really a jpeg"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutObject {key}: {e:?}"));
    }
    let messages = harness::drain_messages(moto, &queue, 1, WAIT).await;
    assert_eq!(
        messages.len(),
        1,
        "exactly one notification expected: {messages:#?}"
    );
    let record = &messages[0]["Records"][0];
    assert!(
        record["eventName"]
            .as_str()
            .unwrap()
            .starts_with("ObjectCreated:"),
        "{record}"
    );
    assert_eq!(record["s3"]["bucket"]["name"], bucket.as_str());
    // Event keys are form-encoded: `+` is a space, then percent-decoding (moto encodes `/` too).
    let raw_key = record["s3"]["object"]["key"].as_str().unwrap();
    assert_eq!(
        urlencoding::decode(&raw_key.replace('+', " ")).unwrap(),
        "originals/red flower é.jpg",
        "raw key {raw_key}"
    );

    // The function's subscription got the same two messages, as the SNS events Lambda would receive.
    let deliveries = moto.sns_lambda_deliveries(&format!("{stack}-variants"));
    assert_eq!(deliveries.len(), 2, "{deliveries:#?}");
    let sns_record = &deliveries[1]["event"]["Records"][0];
    assert_eq!(sns_record["EventSource"], "aws:sns");
    assert_eq!(sns_record["Sns"]["TopicArn"], topic_arn.as_str());
    let message: Value =
        serde_json::from_str(sns_record["Sns"]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message, messages[0]);
    assert_eq!(deliveries[1]["function_arn"], function_arn.as_str());
}

async fn create_placeholder_function(config: &aws_config::SdkConfig, stack: &str) -> String {
    let iam = aws_sdk_iam::Client::new(config);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role = iam
        .create_role()
        .role_name(format!("{stack}-function"))
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(config);
    let created = lambda
        .create_function()
        .function_name(format!("{stack}-variants"))
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role.role.unwrap().arn)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(
                    b"PK\x05\x06".to_vec(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    created.function_arn.unwrap()
}

#[tokio::test]
async fn inspector_sees_a_stack_by_name_and_by_tag_and_nothing_else() {
    let moto = moto();
    let s3 = moto.s3().await;
    let stack = unique_name("inspect");
    let other = unique_name("inspect");
    let named = format!("{stack}-processed");
    let tagged = unique_name("renamed");
    for bucket in [&named, &tagged, &format!("{other}-processed")] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let tag = Tag::builder()
        .key("imgdeploy:stack")
        .value(&stack)
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket(&tagged)
        .tagging(Tagging::builder().tag_set(tag).build().unwrap())
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(&named)
        .key("v/a.jpg")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let topic = moto
        .sns()
        .await
        .create_topic()
        .name(format!("{stack}-failures"))
        .send()
        .await
        .unwrap();

    let report = harness::inspect(moto, &stack);
    let mut expected = vec![
        format!("s3:bucket:{named}"),
        format!("s3:bucket:{tagged}"),
        format!("sns:topic:{}", topic.topic_arn.unwrap()),
    ];
    expected.sort();
    assert_eq!(harness::found(&report), expected);
    assert_eq!(
        report["s3"]["buckets"][&named]["object_keys"],
        json!(["v/a.jpg"])
    );
    assert_eq!(
        report["s3"]["buckets"][&tagged]["tags"]["imgdeploy:stack"],
        stack.as_str()
    );
    assert!(report["s3"]["buckets"][&named]["public_access_block"].is_null());
}

#[test]
fn child_processes_reach_moto_and_only_moto() {
    let moto = moto();
    let script = "import boto3, os; s = boto3.client('sts'); \
                  print(os.environ['AWS_ENDPOINT_URL'], s.get_caller_identity()['Account'])";
    let mut command = Command::new(moto.python());
    moto.configure(&mut command).args(["-c", script]);
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        stdout.trim(),
        format!("{} {}", moto.endpoint, harness::ACCOUNT)
    );
}

/// A minimal runtime client in Python: answers each event, fails the ones that ask for it, or reports an
/// init error when started with `init-error`.
const ECHO_RUNTIME: &str = r#"
import json, os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
def post(path, body):
    urllib.request.urlopen(urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST"))
if sys.argv[1:] == ["init-error"]:
    post("/init/error", {"errorType": "Init", "errorMessage": "no config"})
    sys.exit(1)
while True:
    with urllib.request.urlopen(api + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
        meta = {"arn": r.headers["Lambda-Runtime-Invoked-Function-Arn"],
                "deadline": int(r.headers["Lambda-Runtime-Deadline-Ms"]),
                "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
    if event.get("fail"):
        post(f"/invocation/{rid}/error", {"errorType": "Transient", "errorMessage": "try again"})
    else:
        post(f"/invocation/{rid}/response", {"echo": event, **meta})
"#;

#[tokio::test]
async fn runtime_api_feeds_events_and_records_each_outcome() {
    let moto = moto();
    let mut command = Command::new(moto.python());
    command
        .args(["-c", ECHO_RUNTIME])
        .env("AWS_LAMBDA_FUNCTION_NAME", "smoke-variants");
    let events = vec![json!({"n": 1}), json!({"fail": true}), json!({"n": 3})];
    let run = harness::run_bootstrap_events(command, events, WAIT)
        .await
        .unwrap();
    assert_eq!(run.outcomes.len(), 3, "{run:?}");
    let RuntimeOutcome::Response(first) = &run.outcomes[0] else {
        panic!("{run:?}")
    };
    assert_eq!(first["echo"], json!({"n": 1}));
    assert_eq!(
        first["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:smoke-variants"
    );
    assert_eq!(first["function"], "smoke-variants");
    assert!(first["deadline"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(matches!(&run.outcomes[1], RuntimeOutcome::Error(e) if e["errorType"] == "Transient"));
    assert!(matches!(&run.outcomes[2], RuntimeOutcome::Response(r) if r["echo"]["n"] == 3));
    let init = run.init.expect("the process asked for an event");
    assert!(init < WAIT, "{init:?}");
}

#[tokio::test]
async fn runtime_api_reports_init_errors_and_early_exits() {
    let moto = moto();
    let mut command = Command::new(moto.python());
    command.args(["-c", ECHO_RUNTIME, "init-error"]);
    let run = harness::run_bootstrap(command, json!({}), WAIT)
        .await
        .unwrap();
    assert!(
        matches!(run.outcome(), RuntimeOutcome::InitError(e) if e["errorMessage"] == "no config")
    );
    assert_eq!(run.init, None);

    let mut crashing = Command::new(moto.python());
    crashing.args([
        "-c",
        "import sys; print('boom', file=sys.stderr); sys.exit(3)",
    ]);
    let error = harness::run_bootstrap(crashing, json!({}), WAIT)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("exited") && error.contains("boom"),
        "{error}"
    );
}
