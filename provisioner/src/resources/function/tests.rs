//! The function's pure diff, and the error paths moto cannot produce (IAM propagation delay, throttling,
//! a 5xx), simulated with aws-smithy-mocks.
use super::*;
use aws_sdk_lambda::operation::create_function::CreateFunctionError;

fn config() -> Config {
    Config {
        role_arn: "arn:aws:iam::123456789012:role/acme-function".into(),
        arch: "arm64".into(),
        memory_mb: 1024,
        timeout_s: 60,
        env: BTreeMap::from([("IMGDEPLOY_VARIANTS".into(), "[]".into())]),
        dlq_arn: Some("arn:aws:sqs:us-east-1:123456789012:acme-failures".into()),
        runtime: RUNTIME.into(),
        handler: HANDLER.into(),
    }
}

const EVENT_INVOKE: EventInvoke = EventInvoke {
    retry_attempts: 2,
    max_event_age_s: 21600,
};

pub(super) fn tests_desired() -> Desired {
    desired()
}

pub(super) fn tests_current() -> Current {
    current()
}

fn desired() -> Desired {
    Desired {
        name: "acme-variants".into(),
        config: config(),
        code: Some(Code {
            sha256: "abc=".into(),
            zip: vec![],
        }),
        reserved_concurrency: Some(5),
        configured_reservation: Some(5),
        event_invoke: EVENT_INVOKE,
        tags: BTreeMap::from([("imgdeploy:stack".into(), "acme".into())]),
    }
}

fn current() -> Current {
    Current {
        config: config(),
        code_sha256: "abc=".into(),
        reserved_concurrency: Some(5),
        event_invoke: Some(EVENT_INVOKE),
        tags: desired().tags,
        version: "$LATEST".into(),
        code_size: 1,
        last_modified: String::new(),
        state: String::new(),
        last_update_status: String::new(),
    }
}

#[test]
fn identical_function_is_unchanged() {
    assert_eq!(diff(Some(&current()), &desired()), Action::Unchanged);
    assert_eq!(diff(None, &desired()), Action::Create);
}

#[test]
fn a_new_build_is_a_code_change_only() {
    let mut d = desired();
    d.code.as_mut().unwrap().sha256 = "new=".into();
    assert_eq!(changes(&current(), &d), ["code"]);
}

#[test]
fn memory_and_variants_are_configuration_changes() {
    let mut d = desired();
    d.config.memory_mb = 2048;
    d.config
        .env
        .insert("IMGDEPLOY_VARIANTS".into(), "[{\"name\":\"t\"}]".into());
    assert_eq!(
        changes(&current(), &d),
        ["memory 1024 -> 2048 MB", "environment IMGDEPLOY_VARIANTS"]
    );
}

#[test]
fn architecture_change_reuploads_code() {
    let mut d = desired();
    d.config.arch = "x86_64".into();
    assert_eq!(
        changes(&current(), &d),
        ["code", "architecture arm64 -> x86_64"]
    );
}

#[test]
fn lost_dead_letter_config_is_drift() {
    let mut c = current();
    c.config.dlq_arn = None;
    assert_eq!(changes(&c, &desired()), ["dead-letter target"]);
}

#[test]
fn iam_propagation_is_recognised_by_type_and_message() {
    use aws_sdk_lambda::types::error::{InvalidParameterValueException, ServiceException};
    let invalid = |m: &str| {
        CreateFunctionError::InvalidParameterValueException(
            InvalidParameterValueException::builder().message(m).build(),
        )
    };
    assert!(is_iam_propagation(&invalid(
        "The role defined for the function cannot be assumed by Lambda."
    )));
    assert!(!is_iam_propagation(&invalid(
        "Unzipped size must be smaller than 262144000 bytes"
    )));
    let other = CreateFunctionError::ServiceException(
        ServiceException::builder()
            .message("cannot be assumed")
            .build(),
    );
    assert!(!is_iam_propagation(&other));
}

mod mocked;
