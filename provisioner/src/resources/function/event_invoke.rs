//! How Lambda treats an event the function failed on (SNS invokes it asynchronously): how often it
//! retries and how old the event may get, set explicitly from `[function] retry_attempts` and
//! `max_event_age_s` instead of left to Lambda's defaults, so the plan shows them. After that, the
//! event goes to the function's dead-letter target, the failure queue (`queue.rs`).
use crate::aws::{error_code, Explain};
use crate::resources::Stack;
use anyhow::Result;

/// The function's event-invoke configuration, in the two terms imgdeploy sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInvoke {
    pub retry_attempts: i32,
    pub max_event_age_s: i32,
}

impl EventInvoke {
    pub fn of(stack: &Stack<'_>) -> EventInvoke {
        let f = &stack.config.function;
        EventInvoke {
            retry_attempts: f.retry_attempts,
            max_event_age_s: f.max_event_age_s,
        }
    }

    /// What differs, for the plan; `current` is `None` when none is set (Lambda's defaults apply).
    pub fn changes(current: Option<&EventInvoke>, desired: &EventInvoke) -> Vec<String> {
        match current {
            Some(c) if c == desired => Vec::new(),
            Some(c) => [
                (c.retry_attempts != desired.retry_attempts)
                    .then(|| format!("retries {} -> {}", c.retry_attempts, desired.retry_attempts)),
                (c.max_event_age_s != desired.max_event_age_s).then(|| {
                    format!(
                        "event age {} -> {} s",
                        c.max_event_age_s, desired.max_event_age_s
                    )
                }),
            ]
            .into_iter()
            .flatten()
            .collect(),
            None => vec![format!(
                "retries {}, event age {} s",
                desired.retry_attempts, desired.max_event_age_s
            )],
        }
    }
}

pub async fn describe(stack: &Stack<'_>, function: &str) -> Result<Option<EventInvoke>> {
    match stack
        .aws
        .lambda
        .get_function_event_invoke_config()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => Ok(Some(EventInvoke {
            retry_attempts: out.maximum_retry_attempts.unwrap_or(2),
            max_event_age_s: out.maximum_event_age_in_seconds.unwrap_or(21600),
        })),
        Err(e) if error_code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e).explain(
            stack.aws,
            &format!("lambda:GetFunctionEventInvokeConfig {function}"),
        ),
    }
}

/// Sets both values (Put replaces the whole configuration).
pub async fn apply(stack: &Stack<'_>, function: &str, desired: &EventInvoke) -> Result<()> {
    stack
        .aws
        .lambda
        .put_function_event_invoke_config()
        .function_name(function)
        .maximum_retry_attempts(desired.retry_attempts)
        .maximum_event_age_in_seconds(desired.max_event_age_s)
        .send()
        .await
        .explain(
            stack.aws,
            &format!("lambda:PutFunctionEventInvokeConfig {function}"),
        )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_then_each_difference_is_named() {
        let want = EventInvoke {
            retry_attempts: 2,
            max_event_age_s: 21600,
        };
        assert_eq!(
            EventInvoke::changes(None, &want),
            ["retries 2, event age 21600 s"]
        );
        assert!(EventInvoke::changes(Some(&want), &want).is_empty());
        let fewer = EventInvoke {
            retry_attempts: 0,
            ..want
        };
        assert_eq!(
            EventInvoke::changes(Some(&fewer), &want),
            ["retries 0 -> 2"]
        );
    }
}
