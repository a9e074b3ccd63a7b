//! What moto does not keep or check, pinned at the request level: the requests `imgdeploy up` sends are
//! recorded (`IMGDEPLOY_RECORD_REQUESTS`) and compared with snapshots, with the stack name redacted.
//! Pinned here: the order of the mutating calls (each ordering constraint of `up`), the trust policy sent
//! to IAM (moto accepts a malformed one), the function's DeadLetterConfig (moto ignores it), the failure
//! queue, retries and redrive, `ExpectedBucketOwner` on every S3 call (moto ignores it), and that an
//! unchanged permission is never re-added (moto accepts a duplicate statement; AWS refuses it).
use crate::harness::moto;
use crate::stack::StackDir;
use serde_json::Value;
use std::collections::BTreeMap;

struct Recorded {
    calls: Vec<Value>,
}

impl Recorded {
    fn read(path: &std::path::Path, stack: &str) -> Recorded {
        let text = std::fs::read_to_string(path)
            .unwrap_or_default()
            .replace(stack, "STACK");
        Recorded {
            calls: text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
        }
    }

    fn mutating(&self) -> Vec<String> {
        self.calls
            .iter()
            .map(|c| {
                format!(
                    "{}:{}",
                    c["service"].as_str().unwrap(),
                    c["operation"].as_str().unwrap()
                )
            })
            .filter(|op| {
                !["Get", "List", "Describe", "Head"]
                    .iter()
                    .any(|p| op.split(':').nth(1).unwrap().starts_with(p))
            })
            .collect()
    }

    fn body_of(&self, operation: &str) -> String {
        let call = self
            .calls
            .iter()
            .find(|c| c["operation"] == operation)
            .unwrap_or_else(|| panic!("no {operation} sent"));
        call["body"].as_str().unwrap_or_default().to_string()
    }
}

/// IAM and SNS speak the query protocol: `Action=CreateRole&AssumeRolePolicyDocument=%7B...`.
fn form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                urlencoding::decode(&v.replace('+', " "))
                    .unwrap()
                    .into_owned(),
            )
        })
        .collect()
}

#[test]
fn up_sends_what_moto_does_not_check() {
    let moto = moto();
    let s = StackDir::new("requests", "");
    let record = s.dir.path().join("requests.jsonl");
    let up = |what: &str| {
        let (ok, _, stderr) = s.run_env(
            moto,
            &["up", "--yes"],
            &[("IMGDEPLOY_RECORD_REQUESTS", &record)],
        );
        assert!(ok, "{what} up failed:\n{stderr}");
    };
    up("first");
    let first = Recorded::read(&record, &s.name);

    // The order of creation, with every ordering constraint (topic policy before the notification,
    // log group and role before the function, permission before subscription, CDN before bucket policies).
    insta::assert_json_snapshot!("up_mutating_calls", first.mutating());

    let create_role = form(&first.body_of("CreateRole"));
    let trust: Value = serde_json::from_str(&create_role["AssumeRolePolicyDocument"])
        .expect("trust policy is JSON");
    insta::assert_json_snapshot!("trust_policy_sent", trust);

    let create_function: Value = serde_json::from_str(&first.body_of("CreateFunction")).unwrap();
    let dlq = create_function["DeadLetterConfig"]["TargetArn"]
        .as_str()
        .expect("DeadLetterConfig sent");
    assert_eq!(dlq, "arn:aws:sqs:us-east-1:123456789012:STACK-failures");

    // Durable failures: the queue (encrypted, kept 14 days, its policy), Lambda's retries set
    // explicitly, and the upload subscription's redrive to the queue.
    let queue: Value = serde_json::from_str(&first.body_of("CreateQueue")).unwrap();
    assert_eq!(
        queue["Attributes"]["SqsManagedSseEnabled"], "true",
        "{queue:#}"
    );
    assert_eq!(queue["Attributes"]["MessageRetentionPeriod"], "1209600");
    let policy: Value =
        serde_json::from_str(queue["Attributes"]["Policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
        "arn:aws:iam::123456789012:role/STACK-function"
    );
    let retries: Value =
        serde_json::from_str(&first.body_of("PutFunctionEventInvokeConfig")).unwrap();
    assert_eq!(
        (
            &retries["MaximumRetryAttempts"],
            &retries["MaximumEventAgeInSeconds"]
        ),
        (&serde_json::json!(2), &serde_json::json!(21600))
    );
    let subscribe = form(&first.body_of("Subscribe"));
    assert_eq!(
        subscribe["Attributes.entry.1.key"], "RedrivePolicy",
        "{subscribe:?}"
    );
    let redrive: Value = serde_json::from_str(&subscribe["Attributes.entry.1.value"]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        "arn:aws:sqs:us-east-1:123456789012:STACK-failures"
    );

    // Every S3 request names the account as the bucket's owner, except CreateBucket (S3 takes none).
    let s3: Vec<&Value> = first
        .calls
        .iter()
        .filter(|c| c["service"] == "S3")
        .collect();
    assert!(s3.len() > 10, "{} S3 calls", s3.len());
    for call in s3 {
        let expected = match call["operation"] == "CreateBucket" {
            true => Value::Null,
            false => Value::from(crate::harness::ACCOUNT),
        };
        assert_eq!(call["expected_owner"], expected, "{call}");
    }

    // A second up sends no AddPermission (nor anything else that mutates).
    std::fs::remove_file(&record).ok();
    up("second");
    let second = Recorded::read(&record, &s.name);
    assert!(
        second.calls.iter().any(|c| c["operation"] == "GetFunction"),
        "the second up was recorded: {} call(s)",
        second.calls.len()
    );
    assert_eq!(second.mutating(), Vec::<String>::new());
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}
