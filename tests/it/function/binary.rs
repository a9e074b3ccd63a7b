//! The `bootstrap` binary itself, run as Lambda runs it (the harness's local Runtime API) against moto:
//! a good upload, a missing object and an unrecognised event, with its JSON log lines and init time.
//!
//! The binary belongs to the `imgdeploy-function` package, so `CARGO_BIN_EXE_bootstrap` does not exist
//! here: it is found next to this test executable's directory (`target/<profile>/bootstrap`), which
//! `cargo test --workspace` builds. With `cargo test -p imgdeploy --test it`, build it first:
//! `cargo build -p imgdeploy-function --bin bootstrap`.
use super::fixture::*;
use crate::harness::{moto_s3_iam as moto, run_bootstrap_events, RuntimeOutcome};
use imgdeploy_function::handler::sns_s3_event;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

fn bootstrap_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-<hash> -> target/<profile>/bootstrap
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("bootstrap");
    assert!(
        path.exists(),
        "{} is missing: run `cargo test --workspace`, or `cargo build -p imgdeploy-function --bin bootstrap` first",
        path.display()
    );
    path
}

#[tokio::test]
async fn bootstrap_serves_events_from_the_runtime_api() {
    let f = fixture("fn-bootstrap").await;
    let key = "originals/through the binary.jpg";
    let etag = f.upload(key, photo(400, 300)).await;
    let mut cmd = Command::new(bootstrap_path());
    moto().configure(&mut cmd);
    // Signed as the function's role: exactly its policy.
    cmd.env("AWS_ACCESS_KEY_ID", &f.function_keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &f.function_keys.1);
    cmd.envs(f.settings.to_env())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "7");
    let events = vec![
        sns_s3_event(&f.source, &[key]),
        sns_s3_event(&f.source, &["originals/missing.jpg"]),
        json!({"not": "an event this function knows"}),
    ];
    let run = run_bootstrap_events(cmd, events, Duration::from_secs(60))
        .await
        .unwrap();

    let RuntimeOutcome::Response(first) = &run.outcomes[0] else {
        panic!("{:?}\n{}", run.outcomes, run.stdout)
    };
    assert_eq!(first["processed"], 1, "{first:#}");
    f.assert_variants(key, &etag).await;

    let RuntimeOutcome::Response(second) = &run.outcomes[1] else {
        panic!("{:?}", run.outcomes)
    };
    assert_eq!(
        second["failed"], 1,
        "a missing object is reported, not retried: {second:#}"
    );
    let reports = f.reports(1).await;
    assert_eq!(reports[0]["error_kind"], "object_gone");
    assert_eq!(reports[0]["function_version"], "7");

    let RuntimeOutcome::Error(third) = &run.outcomes[2] else {
        panic!("{:?}", run.outcomes)
    };
    assert!(third.to_string().contains("unrecognised event"), "{third}");

    // Structured logs: one JSON object per line; one line per image; init time measured in-process.
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}"))
        })
        .collect();
    let ready = lines
        .iter()
        .find(|l| l["message"] == "ready for the first event")
        .expect("init line");
    let image = lines
        .iter()
        .find(|l| l["message"] == "image" && l["outcome"] == "processed")
        .expect("a per-image line");
    for field in ["key", "bytes_in", "bytes_out", "variants", "millis", "etag"] {
        assert!(
            !image[field].is_null(),
            "per-image line lacks {field}: {image}"
        );
    }
    assert_eq!(image["key"], key);
    assert!(image["span"]["request_id"].is_string(), "{image}");
    let summaries = lines
        .iter()
        .filter(|l| l["message"] == "invocation")
        .count();
    assert_eq!(summaries, 2, "one summary line per handled invocation");
    eprintln!(
        "bootstrap init: {:?} from spawn to the first /next (harness); in-process init_ms {}, since exec {} ms",
        run.init.unwrap(),
        ready["init_ms"],
        ready["since_exec_ms"]
    );
    eprintln!("per-image log line: {image}");
}
