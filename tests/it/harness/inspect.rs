//! What moto holds for a stack, as read by an independent client (boto3, `tests/moto/inspect_stack.py`),
//! so that the provisioner's tests never check imgdeploy with imgdeploy's own code.
use super::moto::Moto;
use super::venv::repo_root;
use serde_json::Value;
use std::process::Command;

/// Every resource of `stack` in S3, SNS, IAM, Lambda, CloudWatch Logs and CloudFront, found by name or by
/// the `imgdeploy:stack` tag. See the script's docstring for the shape; `found` lists them all.
pub fn inspect(moto: &Moto, stack: &str) -> Value {
    let script = repo_root().join("tests/moto/inspect_stack.py");
    let mut command = Command::new(moto.python());
    moto.configure(&mut command).arg(&script).arg(stack);
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "inspect_stack.py {stack} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "inspect_stack.py printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// The `found` list of an [`inspect`] answer, e.g. `["s3:bucket:NAME", "sns:topic:ARN", ...]`.
pub fn found(report: &Value) -> Vec<String> {
    report["found"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
