//! An older upload's invocation (A) and a newer upload's (B) of one key, run through one in-memory
//! store in every interleaving of their store calls, with the newer upload itself (U) landing at every
//! point after A's first call. Whatever the order, the variant ends up made from the newest upload,
//! the older render never replaces it, and neither invocation fails. Runs with and without S3's
//! sequencers (moto sends none, backfill lists have none).
use super::storage::memory::{Gated, Memory};
// A handler on the store that renders with `Echo`: a variant's bytes name the version it was made from.
use super::tests::on_store;
use super::*;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const SRC: &str = "src";
const OUT: &str = "out";
const KEY: &str = "originals/a.jpg";
const VARIANT_KEY: &str = "thumb/a.jpg";
const OLD: &[u8] = b"the first upload";
const NEW: &[u8] = b"the second upload, which replaced it";

fn handler(store: Gated) -> Handler {
    on_store(Arc::new(store), json!([{"name": "thumb", "width": 8}])).with_parallelism(1)
}

fn upload_event(etag: &str, sequencer: Option<&str>) -> Value {
    let mut object = json!({"key": KEY, "eTag": etag});
    if let Some(s) = sequencer {
        object["sequencer"] = json!(s);
    }
    json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                        "s3": {"bucket": {"name": SRC}, "object": object}}]})
}

/// One run: the choices made (0 = A, 1 = U, 2 = B), the choices open at each step, and the result.
struct Run {
    trace: Vec<usize>,
    open: Vec<Vec<usize>>,
    results: Vec<Result<InvocationSummary, String>>,
    variant: Option<storage::memory::Object>,
}

/// Follows `prefix`, then always picks the first actor that may go.
async fn run(prefix: &[usize], a_event: &Value, b_event: &Value) -> Run {
    let memory = Arc::new(Memory::default());
    memory.upload(SRC, KEY, OLD);
    let mut turns = Vec::new();
    let mut done = Vec::new();
    let mut tasks = Vec::new();
    for event in [a_event, b_event] {
        let (tx, rx) = mpsc::unbounded_channel();
        let gated = Gated::new(memory.clone(), tx);
        turns.push(gated.turns());
        done.push(rx);
        let (h, event) = (handler(gated), event.clone());
        tasks.push(tokio::spawn(async move {
            h.handle(event).await.map_err(|e| e.to_string())
        }));
    }
    let mut results: Vec<Option<Result<InvocationSummary, String>>> = vec![None, None];
    let mut uploaded = false;
    let (mut trace, mut open) = (Vec::new(), Vec::new());
    loop {
        // U only after A's first call (A read the old upload); B only once U has uploaded.
        let eligible: Vec<usize> = [
            (results[0].is_none()).then_some(0),
            (!uploaded && !trace.is_empty()).then_some(1),
            (uploaded && results[1].is_none()).then_some(2),
        ]
        .into_iter()
        .flatten()
        .collect();
        if eligible.is_empty() {
            break;
        }
        let pick = prefix.get(trace.len()).copied().unwrap_or(eligible[0]);
        assert!(
            eligible.contains(&pick),
            "{pick} is not eligible in {eligible:?}"
        );
        trace.push(pick);
        open.push(eligible);
        if pick == 1 {
            memory.upload(SRC, KEY, NEW);
            uploaded = true;
            continue;
        }
        let who = if pick == 0 { 0 } else { 1 };
        turns[who].add_permits(1);
        tokio::select! {
            biased;
            // `None` once the handler is gone: then its task is the answer.
            Some(_) = done[who].recv() => {}
            result = &mut tasks[who] => results[who] = Some(result.expect("the handler task")),
        }
    }
    Run {
        trace,
        open,
        results: results.into_iter().map(Option::unwrap).collect(),
        variant: memory.object(OUT, VARIANT_KEY),
    }
}

/// Every interleaving, depth first: after each run, the deepest step with an untried choice.
fn every_interleaving(a_event: Value, b_event: Value) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let new_etag = Memory::default().upload(SRC, KEY, NEW);
    let mut prefix = Vec::new();
    let mut runs = 0;
    loop {
        let run = runtime.block_on(run(&prefix, &a_event, &b_event));
        runs += 1;
        let what = format!("interleaving {:?}: {:#?}", run.trace, run.results);
        for result in &run.results {
            let summary = result.as_ref().unwrap_or_else(|e| panic!("{e}\n{what}"));
            assert_eq!(summary.failed, 0, "{what}");
        }
        let variant = run
            .variant
            .unwrap_or_else(|| panic!("no variant after {what}"));
        assert_eq!(variant.body, NEW, "an older render won: {what}");
        assert_eq!(
            variant.metadata[record::meta::SOURCE_ETAG],
            new_etag,
            "{what}"
        );
        let b = &run.results[1].as_ref().unwrap().records[0].outcome;
        assert!(matches!(b, Outcome::Processed { .. }), "{what}");
        let next = (0..run.trace.len()).rev().find_map(|step| {
            let open = &run.open[step];
            let at = open.iter().position(|c| *c == run.trace[step]).unwrap();
            open.get(at + 1).map(|alt| (step, *alt))
        });
        match next {
            Some((step, alt)) => {
                prefix = run.trace[..step].to_vec();
                prefix.push(alt);
            }
            None => return runs,
        }
    }
}

#[test]
fn the_newest_upload_wins_in_every_interleaving_with_sequencers() {
    let old = Memory::default().upload(SRC, KEY, OLD);
    let new = Memory::default().upload(SRC, KEY, NEW);
    let runs = every_interleaving(
        upload_event(&old, Some("0055AED6DCD90281E5")),
        upload_event(&new, Some("0055AED6DCD90281F0")),
    );
    assert!(runs > 100, "only {runs} interleavings were run");
}

#[test]
fn the_newest_upload_wins_in_every_interleaving_without_sequencers() {
    let old = Memory::default().upload(SRC, KEY, OLD);
    let new = Memory::default().upload(SRC, KEY, NEW);
    let runs = every_interleaving(upload_event(&old, None), upload_event(&new, None));
    assert!(runs > 100, "only {runs} interleavings were run");
}

#[test]
fn a_backfill_of_the_old_version_never_replaces_the_new_upload() {
    let new = Memory::default().upload(SRC, KEY, NEW);
    let backfill = json!({"bucket": SRC, "keys": [KEY]});
    let runs = every_interleaving(backfill, upload_event(&new, Some("0055AED6DCD90281F0")));
    assert!(runs > 100, "only {runs} interleavings were run");
}
