//! The fan-out and S3 Batch Operations on the in-memory store: which chunks an orchestration queues,
//! the continuation near a deadline, the recursion guard, chunk records, and a result per task for
//! both schema versions (success, a broken image, a transient fault).
use super::fanout::{Invoker, MAX_CHUNK_KEYS};
use super::operations::{Response, PERMANENT, SUCCEEDED, TEMPORARY};
use super::*;
use crate::handler::storage::memory::Memory;
use crate::handler::storage::{Body, Head, Page, Store, StoreError, StoreResult};
use crate::handler::tests::{on_store, Echo};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use futures::future::BoxFuture;
use futures::FutureExt;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every queued invocation instead of sending it.
#[derive(Default)]
struct Recorder(Mutex<Vec<Value>>);

impl Invoker for Recorder {
    fn invoke_async(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        self.0
            .lock()
            .unwrap()
            .push(serde_json::from_slice(&payload).unwrap());
        async { Ok(()) }.boxed()
    }
}

impl Recorder {
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

fn variants() -> Value {
    json!([{"name": "thumb", "width": 10}])
}

/// A handler on `store` whose failure topic accepts every report.
fn reporting(store: Arc<dyn Store>) -> Handler {
    let publish = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .output(|| PublishOutput::builder().message_id("m").build())
        .repeatedly()
        .build();
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
    let plain = on_store(store.clone(), variants());
    Handler::new(
        plain.settings().clone(),
        mock_client!(aws_sdk_s3, []),
        sns,
        Arc::new(Echo),
    )
    .with_store(store)
}

fn handler(memory: &Arc<Memory>, recorder: &Arc<Recorder>) -> Handler {
    reporting(memory.clone()).with_invoker(Some(recorder.clone() as Arc<dyn Invoker>))
}

fn orchestration(chunk_size: usize) -> Value {
    json!({ORCHESTRATION_KEY: {"id": "b1", "bucket": "src", "prefixes": ["originals/"], "chunk_size": chunk_size}})
}

/// `n` originals, a folder placeholder and a key outside the prefix.
fn uploads(n: usize) -> Arc<Memory> {
    let memory = Arc::new(Memory::default());
    for i in 0..n {
        memory.upload(
            "src",
            &format!("originals/{i:05}.jpg"),
            format!("img{i}").as_bytes(),
        );
    }
    memory.upload("src", "originals/folder/", b"");
    memory.upload("src", "elsewhere/x.jpg", b"x");
    memory
}

fn chunk_keys(events: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = events
        .iter()
        .filter(|e| e.get("keys").is_some())
        .flat_map(|e| e["keys"].as_array().unwrap().clone())
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

fn every_original(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("originals/{i:05}.jpg")).collect()
}

#[tokio::test]
async fn an_orchestration_queues_one_chunk_per_chunk_size_keys_across_pages() {
    let memory = uploads(2345);
    let recorder = Arc::new(Recorder::default());
    let h = handler(&memory, &recorder);
    let answer = h.invoke(orchestration(100), None).await.unwrap();
    assert_eq!(answer["listed"], 2345);
    assert_eq!(answer["chunks"], 24);
    let events = recorder.take();
    assert_eq!(events.len(), 24, "no continuation without a deadline");
    // Every original exactly once; not the placeholder, not the key outside the prefix.
    assert_eq!(chunk_keys(&events), every_original(2345));
    let mut numbers: Vec<u64> = events
        .iter()
        .map(|e| e["backfill"]["chunk"].as_u64().unwrap())
        .collect();
    numbers.sort();
    assert_eq!(numbers, (0..24).collect::<Vec<_>>());
    assert!(events
        .iter()
        .all(|e| e["keys"].as_array().unwrap().len() <= 100));
    let listed: ListedRecord =
        serde_json::from_slice(&memory.object("out", &listed_record_key("b1")).unwrap().body)
            .unwrap();
    assert_eq!(
        listed,
        ListedRecord {
            originals: 2345,
            chunks: 24,
            parts: 1
        }
    );
}

#[tokio::test]
async fn near_its_deadline_an_orchestration_continues_itself_and_the_parts_add_up() {
    let memory = uploads(2500);
    let recorder = Arc::new(Recorder::default());
    let h = handler(&memory, &recorder);
    // 10 s left: less than the hand-over margin, so each part lists one page and hands over.
    let soon = || Some(Instant::now() + Duration::from_secs(10));
    let mut event = orchestration(30);
    let mut chunks = Vec::new();
    let mut parts = 0;
    loop {
        parts += 1;
        assert!(parts < 10, "the parts never finish");
        h.invoke(event.clone(), soon()).await.unwrap();
        let events = recorder.take();
        let (next, queued): (Vec<Value>, Vec<Value>) = events
            .into_iter()
            .partition(|e| e.get(ORCHESTRATION_KEY).is_some());
        chunks.extend(queued);
        match next.as_slice() {
            [] => break,
            [one] => event = one.clone(),
            many => panic!("one continuation at most, got {}", many.len()),
        }
    }
    assert_eq!(parts, 3, "1,000 keys per page");
    assert_eq!(chunk_keys(&chunks), every_original(2500));
    let listed: ListedRecord =
        serde_json::from_slice(&memory.object("out", &listed_record_key("b1")).unwrap().body)
            .unwrap();
    assert_eq!((listed.originals, listed.parts), (2500, 3));
    assert_eq!(listed.chunks as usize, chunks.len());
}

#[tokio::test]
async fn a_chunk_never_fans_out_and_records_its_result() {
    let memory = uploads(3);
    memory.upload("src", "originals/broken.jpg", b"panic");
    let recorder = Arc::new(Recorder::default());
    let h = handler(&memory, &recorder);
    h.invoke(orchestration(MAX_CHUNK_KEYS), None).await.unwrap();
    let chunks = recorder.take();
    assert_eq!(chunks.len(), 1);
    // The chunk, run by the same function: its work is done, and nothing more is queued.
    let summary = h.invoke(chunks[0].clone(), None).await.unwrap();
    assert_eq!(summary["processed"], 3);
    assert!(
        recorder.take().is_empty(),
        "a chunk queued more invocations"
    );
    assert!(memory.object("out", "thumb/00001.jpg").is_some());
    let record: ChunkRecord = serde_json::from_slice(
        &memory
            .object("out", &chunk_record_key("b1", 0))
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!((record.keys, record.processed, record.failed), (4, 3, 1));
    assert_eq!(record.failures[0].key, "originals/broken.jpg");
    assert!(
        record.failures[0].reason.starts_with("panic"),
        "{:?}",
        record.failures
    );
    // A second run of the chunk rewrites nothing.
    let again = h.invoke(chunks[0].clone(), None).await.unwrap();
    assert_eq!(
        (again["processed"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3))
    );
}

#[tokio::test]
async fn orchestrations_out_of_bounds_are_refused_without_queueing() {
    let memory = uploads(3);
    let recorder = Arc::new(Recorder::default());
    let h = handler(&memory, &recorder);
    let cases = [
        json!({"id": "b", "bucket": "src", "prefixes": ["elsewhere/"], "chunk_size": 10}),
        json!({"id": "b", "bucket": "src", "prefixes": ["originals/"], "chunk_size": 0}),
        json!({"id": "b", "bucket": "src", "prefixes": ["originals/"], "chunk_size": MAX_CHUNK_KEYS + 1}),
        json!({"id": "b", "bucket": "src", "prefixes": ["originals/"], "chunk_size": 10,
               "resume": {"part": MAX_PARTS, "prefix_index": 0, "start_after": null, "listed": 0, "chunks": 0}}),
    ];
    for case in cases {
        let answer = h
            .invoke(json!({ORCHESTRATION_KEY: case}), None)
            .await
            .unwrap();
        assert!(answer["refused"].is_string(), "{case}: {answer}");
    }
    assert!(recorder.take().is_empty());
    // Off Lambda there is nothing to invoke: refused too.
    let bare = on_store(memory.clone(), variants());
    let answer = bare.invoke(orchestration(10), None).await.unwrap();
    assert!(answer["refused"]
        .as_str()
        .unwrap()
        .contains("not running on Lambda"));
}

/// The memory store, with every `GET` of `flaky` failing as S3's 503 would.
struct Flaky {
    memory: Arc<Memory>,
    flaky: &'static str,
}

impl Store for Flaky {
    fn head<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, Head> {
        self.memory.head(bucket, key)
    }
    fn listed<'a>(&'a self, bucket: &'a str, key: &'a str) -> StoreResult<'a, bool> {
        self.memory.listed(bucket, key)
    }
    fn list_page<'a>(
        &'a self,
        b: &'a str,
        p: &'a str,
        a: Option<&'a str>,
    ) -> StoreResult<'a, Page> {
        self.memory.list_page(b, p, a)
    }
    fn get_capped<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
        etag: &'a str,
        cap: u64,
    ) -> StoreResult<'a, Body> {
        if key == self.flaky {
            let e = StoreError::Retry {
                op: "GetObject",
                bucket: bucket.into(),
                key: key.into(),
                transient: true,
                status: Some(503),
                message: "SlowDown".into(),
            };
            return async move { Err(e) }.boxed();
        }
        self.memory.get_capped(bucket, key, etag, cap)
    }
    fn put<'a>(&'a self, put: crate::handler::storage::Put<'a>) -> StoreResult<'a, ()> {
        self.memory.put(put)
    }
    fn copy<'a>(&'a self, f: &'a str, k: &'a str, t: &'a str, e: &'a str) -> StoreResult<'a, ()> {
        self.memory.copy(f, k, t, e)
    }
    fn delete<'a>(&'a self, b: &'a str, k: &'a str, m: Option<&'a str>) -> StoreResult<'a, ()> {
        self.memory.delete(b, k, m)
    }
}

fn batch_event(version: &str, tasks: &[(&str, &str)]) -> Value {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|(id, key)| match version {
            "1.0" => json!({"taskId": id, "s3Key": key, "s3VersionId": null, "s3BucketArn": "arn:aws:s3:::src"}),
            _ => json!({"taskId": id, "s3Key": key, "s3VersionId": null, "s3Bucket": "src"}),
        })
        .collect();
    let mut job = json!({"id": "job-1"});
    if version == "2.0" {
        job["userArguments"] = json!({"backfill": "b1"});
    }
    json!({"invocationSchemaVersion": version, "invocationId": "inv-1", "job": job, "tasks": tasks})
}

#[tokio::test]
async fn batch_operations_tasks_get_a_result_each_in_both_schema_versions() {
    for version in ["1.0", "2.0"] {
        let memory = Arc::new(Memory::default());
        memory.upload("src", "originals/a b+c.jpg", b"fine");
        memory.upload("src", "originals/broken.jpg", b"panic");
        memory.upload("src", "originals/slow.jpg", b"fine too");
        let store = Arc::new(Flaky {
            memory: memory.clone(),
            flaky: "originals/slow.jpg",
        });
        let h = reporting(store);
        let event = batch_event(
            version,
            &[
                // Keys come URL-encoded, as in the job's CSV manifest.
                ("t1", "originals/a%20b%2Bc.jpg"),
                ("t2", "originals/broken.jpg"),
                ("t3", "originals/slow.jpg"),
                ("t4", "elsewhere/x.jpg"),
            ],
        );
        let answer: Response =
            serde_json::from_value(h.invoke(event, None).await.unwrap()).unwrap();
        assert_eq!(answer.invocation_schema_version, version);
        assert_eq!(answer.invocation_id, "inv-1");
        assert_eq!(answer.treat_missing_keys_as, PERMANENT);
        let codes: Vec<(&str, &str)> = answer
            .results
            .iter()
            .map(|r| (r.task_id.as_str(), r.result_code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("t1", SUCCEEDED),
                ("t2", PERMANENT),
                ("t3", TEMPORARY),
                ("t4", PERMANENT)
            ],
            "schema {version}: {answer:?}"
        );
        assert!(
            memory.object("out", "thumb/a b+c.jpg").is_some(),
            "schema {version}"
        );
        assert!(
            answer.results[1].result_string.starts_with("panic"),
            "{:?}",
            answer.results[1]
        );
        assert!(
            answer.results[2].result_string.contains("SlowDown"),
            "{:?}",
            answer.results[2]
        );
        // The same task again: already done, still a success.
        let again = batch_event(version, &[("t5", "originals/a%20b%2Bc.jpg")]);
        let again: Response = serde_json::from_value(h.invoke(again, None).await.unwrap()).unwrap();
        assert_eq!(again.results[0].result_code, SUCCEEDED);
        assert!(
            again.results[0].result_string.starts_with("skipped"),
            "{:?}",
            again.results[0]
        );
    }
}

#[tokio::test]
async fn an_unreadable_batch_operations_event_answers_with_no_results() {
    let h = on_store(Arc::new(Memory::default()), variants());
    let event = json!({"invocationSchemaVersion": "1.0", "invocationId": "inv-9", "tasks": [{"taskId": 3}]});
    let answer: Response = serde_json::from_value(h.invoke(event, None).await.unwrap()).unwrap();
    assert_eq!(
        (answer.invocation_id.as_str(), answer.results.len()),
        ("inv-9", 0)
    );
    assert_eq!(answer.treat_missing_keys_as, PERMANENT);
}
