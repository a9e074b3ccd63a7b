//! Failures against moto: broken uploads end in one report each (topic and `_failures/` object) and a
//! successful invocation; a missing object too; a renderer panic stays in its record; S3 answering 503
//! fails the invocation, and the retry succeeds.
use super::fixture::*;
use crate::harness::moto_s3_iam as moto;
use imgdeploy_function::engine::Rendered;
use imgdeploy_function::handler::{
    sns_s3_event, EngineRenderer, Handler, HandlerError, Outcome, RenderError, Renderer,
};
use imgdeploy_function::spec::{Limits, VariantSpec};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Checks one report against the record it is about, and its `_failures/` copy.
async fn assert_report(f: &Fixture, report: &Value, key: &str, kind: Option<&str>) {
    assert_eq!(report["bucket"], f.source.as_str(), "{report:#}");
    assert_eq!(report["key"], key, "{report:#}");
    if let Some(kind) = kind {
        assert_eq!(report["error_kind"], kind, "{report:#}");
    }
    assert!(
        !report["message"].as_str().unwrap().is_empty(),
        "{report:#}"
    );
    assert_eq!(report["function_version"], "local", "{report:#}");
    assert!(
        report["time"].as_str().unwrap().ends_with('Z'),
        "{report:#}"
    );
    let stored = f
        .get(&f.processed, &format!("_failures/{key}.json"))
        .await
        .unwrap_or_else(|| panic!("no _failures/ object for {key}"));
    assert_eq!(stored.content_type.as_deref(), Some("application/json"));
    let stored: Value = serde_json::from_slice(&stored.bytes).unwrap();
    assert_eq!(
        &stored, report,
        "the object and the message carry the same report"
    );
}

#[tokio::test]
async fn function_reports_every_bad_input_or_renders_it_and_never_crashes() {
    let Some(dir) = shared("badinputs") else {
        return;
    };
    let f = fixture("fn-bad").await;
    let mut keys = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries.iter().filter(|p| p.is_file()) {
        let key = format!(
            "originals/bad/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        f.upload(&key, std::fs::read(path).unwrap()).await;
        keys.push(key);
    }
    // One event with every record, as a burst of uploads arrives: processed concurrently.
    let summary = f
        .handler()
        .await
        .handle(sns_s3_event(&f.source, &keys))
        .await
        .unwrap();
    assert_eq!(summary.records.len(), keys.len());
    assert_eq!(
        summary.processed + summary.failed,
        keys.len(),
        "{summary:#?}"
    );
    let reports = f.reports(summary.failed).await;
    assert_eq!(
        reports.len(),
        summary.failed,
        "one report per failed record"
    );
    for record in &summary.records {
        let key = record.key.as_deref().unwrap();
        match &record.outcome {
            Outcome::Failed {
                report,
                newly_reported,
            } => {
                assert!(newly_reported);
                // A caught panic is a decoder bug, not a clear error: hostile input must be named.
                assert_ne!(
                    report.error_kind, "panic",
                    "{key} panicked the engine: {}",
                    report.message
                );
                let published = reports
                    .iter()
                    .find(|r| r["key"] == key)
                    .unwrap_or_else(|| panic!("no report for {key}"));
                assert_eq!(published["error_kind"], report.error_kind.as_str());
                assert_report(&f, published, key, None).await;
                eprintln!("{key}: {} ({})", report.error_kind, report.message);
            }
            Outcome::Processed { .. } => {
                let etag = f.get(&f.source, key).await.unwrap().etag;
                f.assert_variants(key, &etag).await;
                eprintln!("{key}: rendered");
            }
            other => panic!("{key}: {other:?}"),
        }
        assert!(f.get(&f.backup, key).await.is_some(), "{key} is backed up");
    }
    assert!(
        summary.failed > summary.records.len() / 2,
        "most of these inputs are broken: {summary:#?}"
    );
}

#[tokio::test]
async fn function_reports_a_missing_object_once() {
    let f = fixture("fn-gone").await;
    let key = "originals/never uploaded.jpg";
    let handler = f.handler().await;
    let summary = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    assert!(
        matches!(
            &only(&summary).outcome,
            Outcome::Failed {
                newly_reported: true,
                ..
            }
        ),
        "{summary:#?}"
    );
    let reports = f.reports(1).await;
    assert_eq!(reports.len(), 1);
    assert_report(&f, &reports[0], key, Some("object_gone")).await;
    assert!(reports[0]["etag"].is_null());

    // Delivered again: still a failure, not reported twice.
    let again = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    assert!(
        matches!(
            &only(&again).outcome,
            Outcome::Failed {
                newly_reported: false,
                ..
            }
        ),
        "{again:#?}"
    );
    assert!(f.reports(0).await.is_empty());
    assert!(f.keys(&f.backup).await.is_empty());
}

/// The engine, except that it panics on inputs that start with `PANIC`.
struct PanicsOnMarker;

impl Renderer for PanicsOnMarker {
    fn dimensions(&self, input: &[u8]) -> Option<(u32, u32)> {
        EngineRenderer.dimensions(input)
    }
    fn render(
        &self,
        input: &[u8],
        variants: &[VariantSpec],
        limits: &Limits,
    ) -> Result<Vec<Rendered>, RenderError> {
        assert!(!input.starts_with(b"PANIC"), "the marker input");
        EngineRenderer.render(input, variants, limits)
    }
}

#[tokio::test]
async fn function_reports_a_panicking_record_and_finishes_the_others() {
    let f = fixture("fn-panic").await;
    let config = f.function_config().await;
    let handler = Handler::new(
        f.settings.clone(),
        imgdeploy_function::handler::s3_client(&config, Some(crate::harness::moto::ACCOUNT)),
        aws_sdk_sns::Client::new(&config),
        Arc::new(PanicsOnMarker),
    );
    let good = "originals/good.jpg";
    let bad = "originals/panic.jpg";
    let etag = f.upload(good, photo(320, 200)).await;
    f.upload(bad, b"PANIC please".to_vec()).await;
    let summary = handler
        .handle(sns_s3_event(&f.source, &[bad, good]))
        .await
        .unwrap();
    assert_eq!((summary.failed, summary.processed), (1, 1), "{summary:#?}");
    let reports = f.reports(1).await;
    assert_report(&f, &reports[0], bad, Some("panic")).await;
    assert!(
        reports[0]["message"]
            .as_str()
            .unwrap()
            .contains("the marker input"),
        "{:#}",
        reports[0]
    );
    f.assert_variants(good, &etag).await;
}

/// A proxy in front of moto that answers the next `fail` requests with `503 SlowDown`, then forwards.
async fn flaky_proxy(upstream: String, fail: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let (upstream, fail) = (upstream.clone(), fail.clone());
            tokio::spawn(async move {
                let failing = fail
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n")
                        && client.read(&mut byte).await.unwrap_or(0) == 1
                    {
                        head.push(byte[0]);
                    }
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                    let response = format!(
                        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = client.write_all(response.as_bytes()).await;
                    let _ = client.shutdown().await;
                } else if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    format!("http://{address}")
}

#[tokio::test]
async fn function_fails_the_invocation_on_s3_503s_and_succeeds_on_the_retry() {
    let f = fixture("fn-flaky").await;
    let key = "originals/flaky.jpg";
    let etag = f.upload(key, photo(300, 200)).await;
    let fail = Arc::new(AtomicUsize::new(0));
    let proxy = flaky_proxy(moto().endpoint.clone(), fail.clone()).await;
    let config = f
        .function_config()
        .await
        .into_builder()
        .endpoint_url(&proxy)
        .build();
    let handler = Handler::from_settings(f.settings.clone(), &config).await;

    // Every attempt of the SDK's own retries (3 by default) is throttled: the invocation fails.
    fail.store(3, Ordering::SeqCst);
    let event = sns_s3_event(&f.source, &[key]);
    let err = handler.handle(event.clone()).await.unwrap_err();
    let HandlerError::Retry { failures, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        failures[0].contains("HeadObject") && failures[0].contains("transient"),
        "{err}"
    );
    assert_eq!(
        fail.load(Ordering::SeqCst),
        0,
        "the SDK retried before giving up"
    );
    assert!(f.keys(&f.processed).await.is_empty(), "nothing written");
    assert!(
        f.reports(0).await.is_empty(),
        "a fault that heals is not reported as a failure"
    );

    // One throttled attempt only: the SDK's retry absorbs it. Then Lambda's retry of the event succeeds.
    fail.store(1, Ordering::SeqCst);
    let summary = handler.handle(event).await.unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    f.assert_variants(key, &etag).await;
}
