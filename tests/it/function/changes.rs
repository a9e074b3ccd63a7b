//! What happens to the variants when the originals change, under exactly the role's policy (moto with
//! IAM enforced for S3): a deletion, a tagged upload, an overwrite whose first event arrives late, a
//! broken upload then fixed, an upload deleted before it was processed, a duplicate delivery, an
//! original over the size cap, and an image too slow for the time left. Events are shaped as S3 sends
//! them through SNS: URL-encoded keys, `+` for spaces, ETags and sequencers.
use super::fixture::*;
use imgdeploy_function::engine::Rendered;
use imgdeploy_function::handler::{
    sns_event, Cdn, EngineRenderer, Handler, Notice, Outcome, RenderError, Renderer,
};
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A CDN that records what it was asked to forget.
#[derive(Default)]
struct RecordingCdn(Mutex<Vec<Vec<String>>>);

impl Cdn for RecordingCdn {
    fn invalidate<'a>(
        &'a self,
        paths: &'a [String],
        _: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + 'a>>
    {
        self.0.lock().unwrap().push(paths.to_vec());
        Box::pin(async { Ok("I2EXAMPLE".to_string()) })
    }
}

#[tokio::test]
async fn a_deleted_original_takes_its_variants_and_report_but_not_its_backup() {
    let f = fixture("fn-delete").await;
    let cdn = Arc::new(RecordingCdn::default());
    let handler = f.handler().await.with_cdn(Some(cdn.clone()));
    let key = "originals/gone soon.jpg";
    let etag = f.upload(key, photo(320, 240)).await;
    let created = notice(key, "ObjectCreated:Put", Some(&etag), "0055AED6DCD90281E5");
    let summary = handler
        .handle(sns_event(&f.source, &[created]))
        .await
        .unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    assert!(
        summary.invalidation.is_none(),
        "a first upload invalidates nothing"
    );

    f.delete(&f.source, key).await;
    let removed = notice(key, "ObjectRemoved:Delete", None, "0055AED6DCD90281F0");
    let summary = handler
        .handle(sns_event(&f.source, &[removed]))
        .await
        .unwrap();
    let Outcome::Deleted { variants, kept } = &only(&summary).outcome else {
        panic!("{summary:#?}")
    };
    assert_eq!(
        (variants.as_slice(), kept.len()),
        (
            &[
                "thumb/gone soon.jpg".to_string(),
                "web/gone soon.webp".to_string(),
                "_manifests/gone soon.json".to_string()
            ][..],
            0
        )
    );
    assert!(
        f.keys(&f.processed).await.is_empty(),
        "variants and report gone"
    );
    assert!(
        f.get(&f.backup, key).await.is_some(),
        "the backup keeps its copy"
    );
    assert_eq!(
        *cdn.0.lock().unwrap(),
        [vec![
            "/_manifests/gone%20soon.json".to_string(),
            "/thumb/gone%20soon.jpg".to_string(),
            "/web/gone%20soon.webp".to_string()
        ]],
        "one invalidation with every path"
    );
}

#[tokio::test]
async fn a_tagged_upload_is_processed_and_its_backup_carries_the_tags() {
    let f = fixture("fn-tagged").await;
    let key = "originals/tagged.jpg";
    let put =
        f.s3.put_object()
            .bucket(&f.source)
            .key(key)
            .tagging("tenant=acme&class=profile")
            .metadata("uploaded-by", "app")
            .body(photo(200, 200).into())
            .send()
            .await
            .unwrap();
    let etag = put.e_tag.unwrap().trim_matches('"').to_owned();
    let event = sns_event(
        &f.source,
        &[notice(key, "ObjectCreated:Put", Some(&etag), "01")],
    );
    let summary = f.handler().await.handle(event).await.unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    f.assert_variants(key, &etag).await;
    let tags =
        f.s3.get_object_tagging()
            .bucket(&f.backup)
            .key(key)
            .send()
            .await
            .unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("class".into(), "profile".into()),
            ("tenant".into(), "acme".into())
        ]
    );
    let backup = f.get(&f.backup, key).await.unwrap();
    assert_eq!(
        backup.metadata.get("uploaded-by").map(String::as_str),
        Some("app")
    );
}

#[tokio::test]
async fn an_overwrite_wins_over_the_first_uploads_late_event() {
    let f = fixture("fn-overwrite").await;
    let cdn = Arc::new(RecordingCdn::default());
    let handler = f.handler().await.with_cdn(Some(cdn.clone()));
    let key = "originals/profile photo.jpg";
    let first = f.upload(key, photo(300, 200)).await;
    let early = notice(key, "ObjectCreated:Put", Some(&first), "0055AED6DCD90281E5");
    let second = f.upload(key, photo(200, 300)).await;
    let late = notice(
        key,
        "ObjectCreated:Put",
        Some(&second),
        "0055AED6DCD90281F0",
    );

    // The second upload's event is handled first; the first upload's arrives late.
    let summary = handler.handle(sns_event(&f.source, &[late])).await.unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    let summary = handler
        .handle(sns_event(&f.source, &[early]))
        .await
        .unwrap();
    assert!(
        matches!(&only(&summary).outcome, Outcome::Skipped { reason, .. } if reason.starts_with("superseded")),
        "{summary:#?}"
    );
    let variants = f.assert_variants(key, &second).await;
    assert_eq!(
        variants["thumb"]
            .metadata
            .get("source-sequencer")
            .map(String::as_str),
        Some("0055AED6DCD90281F0")
    );
    assert!(cdn.0.lock().unwrap().is_empty(), "nothing was replaced");

    // A third upload replaces the variants: the CDN is told to forget them.
    let third = f.upload(key, photo(240, 240)).await;
    let newest = notice(key, "ObjectCreated:Put", Some(&third), "0055AED6DCD90281F1");
    let summary = handler
        .handle(sns_event(&f.source, &[newest]))
        .await
        .unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    f.assert_variants(key, &third).await;
    assert_eq!(cdn.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_fixed_upload_clears_its_failure_report() {
    let f = fixture("fn-fixed").await;
    let key = "originals/broken then fixed.jpg";
    f.upload(key, b"not an image at all".to_vec()).await;
    let handler = f.handler().await;
    let summary = handler
        .handle(sns_event(&f.source, &[Notice::created(key)]))
        .await
        .unwrap();
    assert_eq!(summary.failed, 1, "{summary:#?}");
    let report = format!("_failures/{key}.json");
    assert_eq!(f.keys(&f.processed).await, std::slice::from_ref(&report));

    let etag = f.upload(key, photo(300, 300)).await;
    let summary = handler
        .handle(sns_event(&f.source, &[Notice::created(key)]))
        .await
        .unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    f.assert_variants(key, &etag).await;
    let keys = f.keys(&f.processed).await;
    assert!(!keys.contains(&report), "the report is gone: {keys:?}");
    assert!(
        !keys.iter().any(|k| k.starts_with("_failures/")),
        "{keys:?}"
    );
}

#[tokio::test]
async fn an_upload_deleted_before_processing_is_reported_not_retried() {
    let f = fixture("fn-vanished").await;
    let key = "originals/vanished.jpg";
    let etag = f.upload(key, photo(100, 100)).await;
    f.delete(&f.source, key).await;
    let event = sns_event(
        &f.source,
        &[notice(key, "ObjectCreated:Put", Some(&etag), "01")],
    );
    let summary = f.handler().await.handle(event).await.expect("not a retry");
    let Outcome::Failed { report, .. } = &only(&summary).outcome else {
        panic!("{summary:#?}")
    };
    assert_eq!(report.error_kind, "object_gone");
    assert!(
        report.message.contains("deleted before it was processed"),
        "{report:?}"
    );
    assert_eq!(f.reports(1).await.len(), 1);
}

#[tokio::test]
async fn a_duplicate_delivery_writes_nothing_not_even_a_backup_version() {
    let f = fixture("fn-duplicate").await;
    let key = "originals/twice.jpg";
    let etag = f.upload(key, photo(300, 200)).await;
    let event = sns_event(
        &f.source,
        &[notice(key, "ObjectCreated:Put", Some(&etag), "01")],
    );
    let handler = f.handler().await;
    assert_eq!(handler.handle(event.clone()).await.unwrap().processed, 1);
    let summary = handler.handle(event).await.unwrap();
    assert_eq!(summary.skipped, 1, "{summary:#?}");
    let versions =
        f.s3.list_object_versions()
            .bucket(&f.backup)
            .send()
            .await
            .unwrap();
    assert_eq!(versions.versions().len(), 1, "{versions:#?}");
}

#[tokio::test]
async fn an_original_over_the_cap_is_reported_before_any_copy() {
    let mut f = fixture("fn-cap").await;
    f.settings.limits.max_input_bytes = 1000;
    let key = "originals/too big.jpg";
    f.upload(key, photo(400, 400)).await;
    let summary = f
        .handler()
        .await
        .handle(sns_event(&f.source, &[Notice::created(key)]))
        .await
        .unwrap();
    let Outcome::Failed { report, .. } = &only(&summary).outcome else {
        panic!("{summary:#?}")
    };
    assert_eq!(report.error_kind, "too_many_bytes");
    assert!(
        f.keys(&f.backup).await.is_empty(),
        "no backup copy of a refused original"
    );
}

/// Takes longer than any test deadline.
struct Slow;

impl Renderer for Slow {
    fn dimensions(&self, input: &[u8]) -> Option<(u32, u32)> {
        EngineRenderer.dimensions(input)
    }
    fn render(
        &self,
        input: &[u8],
        variants: &[VariantSpec],
        limits: &Limits,
    ) -> Result<Vec<Rendered>, RenderError> {
        std::thread::sleep(Duration::from_secs(3));
        EngineRenderer.render(input, variants, limits)
    }
}

#[tokio::test]
async fn an_image_too_slow_for_the_time_left_is_reported_with_the_figure() {
    let f = fixture("fn-slow").await;
    let key = "originals/slow.jpg";
    f.upload(key, photo(200, 200)).await;
    let config = f.function_config().await;
    let handler = Handler::new(
        f.settings.clone(),
        imgdeploy_function::handler::s3_client(&config, Some(crate::harness::moto::ACCOUNT)),
        aws_sdk_sns::Client::new(&config),
        Arc::new(Slow),
    );
    // 2.5 s left: 2 s are kept for the writes, the render gets 0.5 s.
    let deadline = Instant::now() + Duration::from_millis(2500);
    let event = sns_event(&f.source, &[Notice::created(key)]);
    let summary = handler.handle_until(event, Some(deadline)).await.unwrap();
    let Outcome::Failed { report, .. } = &only(&summary).outcome else {
        panic!("{summary:#?}")
    };
    assert_eq!(report.error_kind, "too_slow");
    assert!(
        report
            .message
            .contains("too slow for the configured timeout"),
        "{report:?}"
    );
    assert!(
        report.message.contains(" s the invocation had left"),
        "{report:?}"
    );
}

/// The proof that these tests run under enforcement: the role's user is refused what its policy does
/// not grant, and S3 says so with a 403.
#[tokio::test]
async fn the_functions_credentials_are_refused_what_its_policy_does_not_grant() {
    let f = fixture("fn-refused").await;
    let key = "originals/keep me.jpg";
    f.upload(key, photo(64, 64)).await;
    let s3 = imgdeploy_function::handler::s3_client(
        &f.function_config().await,
        Some(crate::harness::moto::ACCOUNT),
    );
    let delete = s3.delete_object().bucket(&f.source).key(key).send().await;
    let status = delete
        .as_ref()
        .err()
        .and_then(|e| e.raw_response())
        .map(|r| r.status().as_u16());
    assert_eq!(status, Some(403), "{delete:?}");
    let write = s3
        .put_object()
        .bucket(&f.processed)
        .key("elsewhere/x")
        .body(vec![1].into())
        .send()
        .await;
    assert!(write.is_err(), "outside its folders: {write:?}");
    let read_backup = s3.get_object().bucket(&f.backup).key(key).send().await;
    assert!(
        read_backup.is_err(),
        "the backup is write-only to it: {read_backup:?}"
    );
    assert!(
        f.get(&f.source, key).await.is_some(),
        "the original is untouched"
    );
}
