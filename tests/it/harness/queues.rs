//! Reads what a topic publishes: a test queue subscribed to an SNS topic, drained into parsed messages.
use super::moto::{unique_name, Moto};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Creates a queue, subscribes it to `topic_arn` (raw delivery off, so each message keeps its SNS envelope)
/// and returns the queue URL.
pub async fn subscribe_queue(moto: &Moto, topic_arn: &str) -> String {
    let sqs = moto.sqs().await;
    let queue_url = sqs
        .create_queue()
        .queue_name(unique_name("q"))
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes");
    let queue_arn = attributes
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn");
    moto.sns()
        .await
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .unwrap_or_else(|e| panic!("Subscribe to {topic_arn}: {e:?}"));
    queue_url
}

/// Receives and deletes messages until `expect` have arrived or `timeout` has passed, then looks once
/// more (one second) for extra ones, so that callers can assert an exact count. Each message is the SNS
/// envelope's `Message` parsed as JSON (a JSON string when it is not JSON); a message that did not come
/// through SNS is returned whole.
pub async fn drain_messages(
    moto: &Moto,
    queue_url: &str,
    expect: usize,
    timeout: Duration,
) -> Vec<Value> {
    let sqs = moto.sqs().await;
    let deadline = Instant::now() + timeout;
    let mut messages = Vec::new();
    let mut extra_look_done = false;
    loop {
        let reached = messages.len() >= expect;
        if reached && extra_look_done {
            break;
        }
        if !reached && Instant::now() >= deadline {
            break;
        }
        extra_look_done = reached;
        let answer = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage from {queue_url}: {e:?}"));
        for message in answer.messages.unwrap_or_default() {
            messages.push(unwrap_envelope(message.body.as_deref().unwrap_or_default()));
            if let Some(handle) = message.receipt_handle {
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
    messages
}

fn unwrap_envelope(body: &str) -> Value {
    let parsed: Value = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.into()));
    match parsed.get("Message").and_then(Value::as_str) {
        Some(inner) if parsed.get("Type").and_then(Value::as_str) == Some("Notification") => {
            serde_json::from_str(inner).unwrap_or_else(|_| Value::String(inner.into()))
        }
        _ => parsed,
    }
}

#[cfg(test)]
mod tests {
    use super::unwrap_envelope;
    use serde_json::json;

    #[test]
    fn unwraps_the_sns_envelope() {
        let body = json!({"Type": "Notification", "Message": "{\"a\":1}"}).to_string();
        assert_eq!(unwrap_envelope(&body), json!({"a": 1}));
        let text = json!({"Type": "Notification", "Message": "plain"}).to_string();
        assert_eq!(unwrap_envelope(&text), json!("plain"));
        assert_eq!(unwrap_envelope("{\"b\":2}"), json!({"b": 2}));
    }
}
