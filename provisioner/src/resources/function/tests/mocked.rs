//! Lambda error paths that moto cannot produce, answered by aws-smithy-mocks: a role that IAM has not
//! propagated yet, throttling, and a server error that outlasts the SDK's retries.
use super::*;
use crate::aws::Aws;
use crate::config::Config as StackConfig;
use crate::progress::Progress;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{AsyncSleep, Sleep};
use aws_sdk_lambda::operation::create_function::{CreateFunctionError, CreateFunctionOutput};
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::put_function_concurrency::PutFunctionConcurrencyOutput;
use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::error::InvalidParameterValueException;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State};
use aws_sdk_lambda::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use std::time::Duration;

#[derive(Debug)]
struct NoSleep;

impl AsyncSleep for NoSleep {
    fn sleep(&self, _: Duration) -> Sleep {
        Sleep::new(std::future::ready(()))
    }
}

fn lambda(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_lambda, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .sleep_impl(NoSleep))
}

fn ready() -> Rule {
    mock!(Client::get_function).then_output(|| {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::Successful)
                    .build(),
            )
            .build()
    })
}

fn stack_config() -> StackConfig {
    StackConfig::parse(
        "[stack]\nname = \"acme\"\n[[variant]]\nname = \"t\"\nwidth = 10\nheight = 10\n",
        "imgdeploy.toml",
    )
    .unwrap()
}

#[tokio::test]
async fn create_retries_while_the_role_propagates() {
    let propagating = || {
        CreateFunctionError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("The role defined for the function cannot be assumed by Lambda.")
                .build(),
        )
    };
    let create = mock!(Client::create_function)
        .sequence()
        .error(propagating)
        .times(2)
        .output(|| {
            CreateFunctionOutput::builder()
                .function_name("acme-variants")
                .build()
        })
        .build();
    let concurrency = mock!(Client::put_function_concurrency)
        .then_output(|| PutFunctionConcurrencyOutput::builder().build());
    let retries = mock!(Client::put_function_event_invoke_config).then_output(|| {
        aws_sdk_lambda::operation::put_function_event_invoke_config::PutFunctionEventInvokeConfigOutput::builder()
            .build()
    });
    let aws = Aws {
        lambda: lambda(&[&create, &ready(), &retries, &concurrency]),
        ..Aws::offline()
    };
    let config = stack_config();
    let stack = Stack::new(&aws, &config, "acme");
    apply(
        &stack,
        &super::tests_desired(),
        None,
        &Progress::new(true).start("function", "t"),
    )
    .await
    .unwrap();
    assert_eq!(
        create.num_calls(),
        3,
        "two refusals while IAM propagates, then created"
    );
    assert_eq!(
        retries.num_calls(),
        1,
        "retries and event age set explicitly"
    );
}

#[tokio::test]
async fn throttled_update_is_retried_and_succeeds() {
    let update = mock!(Client::update_function_configuration)
        .sequence()
        .http_status(
            429,
            Some(r#"{"__type":"TooManyRequestsException","message":"Rate exceeded"}"#.into()),
        )
        .output(|| UpdateFunctionConfigurationOutput::builder().build())
        .build();
    let aws = Aws {
        lambda: lambda(&[&update, &ready()]),
        ..Aws::offline()
    };
    let config = stack_config();
    let stack = Stack::new(&aws, &config, "acme");
    let desired = super::tests_desired();
    let mut current = super::tests_current();
    current.config.memory_mb = 512;
    apply(
        &stack,
        &desired,
        Some(&current),
        &Progress::new(true).start("function", "t"),
    )
    .await
    .unwrap();
    assert_eq!(update.num_calls(), 2);
}

#[tokio::test]
async fn a_persistent_5xx_fails_with_the_operation_named() {
    let code = mock!(Client::update_function_code)
        .sequence()
        .http_status(503, None)
        .repeatedly()
        .build();
    let unused = mock!(Client::update_function_code)
        .then_output(|| UpdateFunctionCodeOutput::builder().build());
    let aws = Aws {
        lambda: lambda(&[&code, &unused, &ready()]),
        ..Aws::offline()
    };
    let config = stack_config();
    let stack = Stack::new(&aws, &config, "acme");
    let mut desired = super::tests_desired();
    desired.code.as_mut().unwrap().sha256 = "changed=".into();
    let err = apply(
        &stack,
        &desired,
        Some(&super::tests_current()),
        &Progress::new(true).start("function", "t"),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("lambda:UpdateFunctionCode acme-variants"),
        "{err}"
    );
    assert_eq!(
        code.num_calls(),
        3,
        "the SDK's standard retry mode tries three times"
    );
}
