//! A `format = "auto"` variant through the handler, on the in-memory store: its three objects are
//! written with their own content types and listed in the manifest, a missing one is remade, and a
//! deletion removes all three and the manifest. With `[events] processed`, an SNS outage (mocked)
//! leaves the manifest unwritten, and the retry publishes and writes it.
use super::storage::memory::Memory;
use super::tests::{on_store, on_store_with_events};
use super::*;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::mock;
use serde_json::{json, Value};

const SRC: &str = "src";
const OUT: &str = "out";
const KEY: &str = "originals/2024/a.jpg";
const KEYS: [&str; 3] = ["card/2024/a.avif", "card/2024/a.webp", "card/2024/a"];
const MANIFEST: &str = "_manifests/2024/a.json";

fn event(name: &str) -> Value {
    json!({"Records": [{"eventSource": "aws:s3", "eventName": name,
                        "s3": {"bucket": {"name": SRC}, "object": {"key": KEY}}}]})
}

fn handler(memory: &Arc<Memory>) -> Handler {
    let variants = json!([{"name": "card", "width": 8, "format": "auto"}]);
    on_store(memory.clone(), variants).with_parallelism(1)
}

fn written(summary: &InvocationSummary) -> Vec<(String, String)> {
    let Outcome::Processed { variants, .. } = &summary.records[0].outcome else {
        panic!("{:?}", summary.records[0]);
    };
    variants
        .iter()
        .map(|v| (v.key.clone(), v.content_type.clone()))
        .collect()
}

#[tokio::test]
async fn an_auto_variant_is_three_objects_made_and_deleted_together() {
    let memory = Arc::new(Memory::default());
    memory.upload(SRC, KEY, b"a photo");
    let h = handler(&memory);

    let summary = h.handle(event("ObjectCreated:Put")).await.unwrap();
    let types = ["image/avif", "image/webp", "image/jpeg"];
    let want: Vec<(String, String)> = KEYS
        .iter()
        .zip(types)
        .map(|(k, t)| (k.to_string(), t.to_string()))
        .collect();
    assert_eq!(written(&summary), want);
    for key in KEYS {
        let object = memory.object(OUT, key).unwrap_or_else(|| panic!("{key}"));
        assert_eq!(object.body, b"a photo", "{key}");
    }
    let manifest: manifest::Manifest =
        serde_json::from_slice(&memory.object(OUT, MANIFEST).unwrap().body).unwrap();
    assert_eq!(manifest.variants.len(), 1);
    let card = &manifest.variants[0];
    assert_eq!(card.path, "/card/2024/a", "the negotiated path");
    let files: Vec<(&str, &str, u64)> = card
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.content_type.as_str(), f.bytes))
        .collect();
    assert_eq!(
        files,
        [
            ("/card/2024/a.avif", "image/avif", 7),
            ("/card/2024/a.webp", "image/webp", 7),
            ("/card/2024/a", "image/jpeg", 7)
        ]
    );

    // One of the three lost: the upload's next event remakes it; a lost manifest is written again
    // from what is in place, without rendering.
    memory.remove(OUT, KEYS[1]);
    let summary = h.handle(event("ObjectCreated:Put")).await.unwrap();
    assert!(written(&summary).contains(&want[1]), "{summary:?}");
    assert!(memory.object(OUT, KEYS[1]).is_some());
    memory.remove(OUT, MANIFEST);
    let summary = h.handle(event("ObjectCreated:Put")).await.unwrap();
    assert!(written(&summary).is_empty(), "{summary:?}");
    let again: manifest::Manifest =
        serde_json::from_slice(&memory.object(OUT, MANIFEST).unwrap().body).unwrap();
    assert_eq!(again, manifest);

    memory.remove(SRC, KEY);
    let summary = h.handle(event("ObjectRemoved:Delete")).await.unwrap();
    let Outcome::Deleted { variants, .. } = &summary.records[0].outcome else {
        panic!("{:?}", summary.records[0]);
    };
    assert_eq!(variants[..3], KEYS);
    assert_eq!(variants[3], MANIFEST);
    for key in KEYS.iter().chain([&MANIFEST]) {
        assert!(
            memory.object(OUT, key).is_none(),
            "{key} outlived its original"
        );
    }
}

#[tokio::test]
async fn a_failed_processed_event_leaves_the_manifest_unwritten_and_the_retry_publishes_it() {
    let memory = Arc::new(Memory::default());
    memory.upload(SRC, KEY, b"a photo");
    let publish = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .http_status(503, None)
        .output(|| PublishOutput::builder().message_id("m").build())
        .build();
    let variants = json!([{"name": "card", "width": 8, "format": "auto"}]);
    let h = on_store_with_events(memory.clone(), variants, std::slice::from_ref(&publish));

    let err = h.handle(event("ObjectCreated:Put")).await.unwrap_err();
    assert!(err.to_string().contains("processed event"), "{err}");
    assert!(
        memory.object(OUT, KEYS[0]).is_some(),
        "the variants are written"
    );
    assert!(memory.object(OUT, MANIFEST).is_none(), "the manifest waits");

    let summary = h.handle(event("ObjectCreated:Put")).await.unwrap();
    assert_eq!(summary.processed, 1, "{summary:?}");
    assert!(written(&summary).is_empty(), "nothing rendered again");
    assert!(memory.object(OUT, MANIFEST).is_some());
    assert_eq!(publish.num_calls(), 2);
}
