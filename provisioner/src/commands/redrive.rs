//! `imgdeploy redrive`: after a fix is deployed, send the function every event the failure queue kept
//! (`resources/queue.rs`), as SNS would have. Steps: find the queue and the function, count what
//! waits, then receive in batches of ten; each message is invoked asynchronously and deleted only
//! once Lambda has accepted its invocation. A message that cannot be invoked stays in the queue
//! (visible again after the visibility timeout) and the command fails naming it.
use crate::aws::{Aws, Explain};
use crate::cli::{GlobalArgs, RedriveArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::progress::{Progress, Task};
use crate::resources::{function, queue, Stack};
use anyhow::{bail, Context, Result};
use aws_sdk_lambda::types::InvocationType;
use serde::Serialize;
use serde_json::Value;
use std::fmt;

/// How long a received message stays hidden while its invocation is sent: long enough for a
/// throttled invoke's retries, short enough that an interrupted redrive leaves nothing hidden for long.
const VISIBILITY_S: i32 = 120;

pub async fn run(g: &GlobalArgs, args: &RedriveArgs) -> Result<RedriveResult> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    let n = &stack.names;

    let Some(url) = queue::url(&stack, &n.failure_queue).await? else {
        bail!(
            "stack {} has no failure queue {} in {} ({})\n  fix: run `imgdeploy up`",
            n.stack,
            n.failure_queue,
            aws.region,
            aws.account
        );
    };
    let desired = function::desired(&stack, None);
    if function::describe(&stack, &desired).await?.is_none() {
        bail!(
            "the function {} does not exist: there is nothing to redrive to\n  fix: run `imgdeploy up`",
            n.function
        );
    }
    let waiting = queue::depth(&stack).await?.map_or(0, |d| d.messages);
    let limit = args.max.unwrap_or(u64::MAX).min(waiting);
    let mut result = RedriveResult {
        stack: n.stack.clone(),
        queue: n.failure_queue.clone(),
        function: n.function.clone(),
        dry_run: g.dry_run,
        waiting,
        redriven: 0,
        refused: Vec::new(),
    };
    if g.dry_run || limit == 0 {
        return Ok(result);
    }

    let task = Progress::new(g.json).start("redrive", &n.failure_queue);
    drain(&stack, &url, limit, &task, &mut result).await?;
    match result.refused.is_empty() {
        true => task.finish(&format!("{} redriven", result.redriven)),
        false => task.fail(&format!("{} left in the queue", result.refused.len())),
    }
    Ok(result)
}

/// Receives up to `limit` messages in batches of ten and redrives each; a message is deleted only
/// after Lambda accepted its invocation.
async fn drain(
    stack: &Stack<'_>,
    url: &str,
    limit: u64,
    task: &Task,
    result: &mut RedriveResult,
) -> Result<()> {
    let (aws, n) = (stack.aws, &stack.names);
    let mut received = 0u64;
    while received < limit {
        let batch = (limit - received).min(10) as i32;
        let messages = aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(batch)
            .visibility_timeout(VISIBILITY_S)
            .send()
            .await
            .explain(aws, &format!("sqs:ReceiveMessage {}", n.failure_queue))?
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            received += 1;
            let id = message.message_id.clone().unwrap_or_default();
            let body = message.body.as_deref().unwrap_or("");
            match redrive_one(aws, &n.function, body).await {
                Ok(()) => {
                    let receipt = message.receipt_handle.unwrap_or_default();
                    aws.sqs
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .explain(aws, &format!("sqs:DeleteMessage {id}"))?;
                    result.redriven += 1;
                }
                Err(e) => result.refused.push(Refused {
                    message_id: id,
                    reason: format!("{e:#}"),
                }),
            }
            task.set_message(&format!("{received} of {limit}"));
        }
    }
    Ok(())
}

/// One message: its event, invoked asynchronously (as SNS does). `Ok` only once Lambda accepted it.
async fn redrive_one(aws: &Aws, function: &str, body: &str) -> Result<()> {
    let event = payload_of(body)?;
    let out = aws
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::Event)
        .payload(aws_smithy_types::Blob::new(serde_json::to_vec(&event)?))
        .send()
        .await
        .explain(aws, &format!("lambda:Invoke {function}"))?;
    if out.status_code() != 202 {
        bail!(
            "Lambda answered {} instead of 202 Accepted",
            out.status_code()
        );
    }
    Ok(())
}

/// The event a kept message stands for. Lambda keeps the event it was invoked with (S3 records, or
/// SNS records wrapping them); SNS keeps the message it could not deliver, in its JSON envelope, whose
/// `Message` is the S3 notification.
pub fn payload_of(body: &str) -> Result<Value> {
    let value: Value = serde_json::from_str(body).context("the message is not JSON")?;
    if value.get("Records").is_some_and(Value::is_array) {
        return Ok(value);
    }
    if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = value
            .get("Message")
            .and_then(Value::as_str)
            .context("an SNS notification without a Message")?;
        return serde_json::from_str(message).context("the SNS notification's Message is not JSON");
    }
    bail!("the message is neither a Lambda event nor an SNS notification")
}

/// A message left in the queue, and why.
#[derive(Debug, Serialize)]
pub struct Refused {
    pub message_id: String,
    pub reason: String,
}

/// What `redrive` did, or with `--dry-run` would do.
#[derive(Debug, Serialize)]
pub struct RedriveResult {
    pub stack: String,
    pub queue: String,
    pub function: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Messages in the queue when it started (SQS's approximate count).
    pub waiting: u64,
    /// Invoked, accepted by Lambda and deleted from the queue.
    pub redriven: u64,
    /// Left in the queue.
    pub refused: Vec<Refused>,
}

impl RedriveResult {
    /// Fails the command when a message could not be redriven.
    pub fn check(&self) -> Result<()> {
        if !self.refused.is_empty() {
            bail!(
                "{} message(s) could not be redriven and stay in {}; run `imgdeploy redrive` again once the cause is fixed",
                self.refused.len(),
                self.queue
            );
        }
        Ok(())
    }
}

impl fmt::Display for RedriveResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            return writeln!(
                f,
                "{} event(s) wait in {}; `imgdeploy redrive` sends them to {}.",
                self.waiting, self.queue, self.function
            );
        }
        writeln!(
            f,
            "{} of {} event(s) in {} sent to {} and removed from the queue.",
            self.redriven, self.waiting, self.queue, self.function
        )?;
        for r in &self.refused {
            writeln!(f, "  left in the queue: {}: {}", r.message_id, r.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
