//! The happy paths against moto: the deployed trigger shape (S3 -> SNS, keys with spaces and Unicode,
//! the `s3:TestEvent`), a 48 MP photo, duplicate deliveries, the keys and events the function must
//! leave alone, and a `format = "auto"` variant's three objects and the manifest that lists them.
use super::fixture::*;
use crate::harness::{moto_s3_iam as moto, ACCOUNT};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    S3KeyFilter, TopicConfiguration,
};
use base64::Engine as _;
use imgdeploy_function::handler::{sns_event, sns_s3_event, Outcome};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Wires the source bucket to an uploads topic with a `lambda` subscription, as `imgdeploy up` does,
/// and returns the function name whose deliveries moto records.
async fn wire_notifications(f: &Fixture) -> String {
    let sns = moto().sns().await;
    let topic = sns
        .create_topic()
        .name(format!("{}-uploads", f.source))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let function = format!("{}-variants", f.source);
    let function_arn = format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function}");
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("lambda")
        .endpoint(&function_arn)
        .send()
        .await
        .unwrap();
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(PREFIX)
                        .build(),
                )
                .build(),
        )
        .build();
    let to_topic = TopicConfiguration::builder()
        .topic_arn(&topic)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .unwrap();
    f.s3.put_bucket_notification_configuration()
        .bucket(&f.source)
        .notification_configuration(
            NotificationConfiguration::builder()
                .topic_configurations(to_topic)
                .build(),
        )
        .send()
        .await
        .unwrap();
    function
}

/// The SNS events moto delivered to `function`'s subscription, once there are `count`.
async fn deliveries(function: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let found = moto().sns_lambda_deliveries(function);
        if found.len() >= count || started.elapsed() > WAIT {
            assert_eq!(found.len(), count, "{found:#?}");
            return found.into_iter().map(|d| d["event"].clone()).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn function_turns_a_unicode_key_delivered_through_sns_into_variants_and_a_backup() {
    let f = fixture("fn-unicode").await;
    let function = wire_notifications(&f).await;
    let handler = f.handler().await;

    // The s3:TestEvent that configuring the notification sends is ignored, with the reason.
    let test_event = deliveries(&function, 1).await.remove(0);
    let summary = handler.handle(test_event).await.unwrap();
    assert!(reason_of(&only(&summary).outcome).contains("s3:TestEvent"));

    let key = "originals/2024/red flower café 日本 +1.jpg";
    let original = photo(640, 480);
    let etag = f.upload(key, original.clone()).await;
    let upload_event = deliveries(&function, 2).await.remove(1);
    let summary = handler.handle(upload_event).await.unwrap();
    let record = only(&summary);
    assert_eq!(
        record.key.as_deref(),
        Some(key),
        "the key is decoded exactly"
    );
    let Outcome::Processed {
        variants,
        bytes_in,
        backup_bucket,
        ..
    } = &record.outcome
    else {
        panic!("{record:#?}")
    };
    assert_eq!(*bytes_in, original.len() as u64);
    assert_eq!(backup_bucket.as_deref(), Some(f.backup.as_str()));
    assert_eq!(variants.len(), 2);

    let stored = f.assert_variants(key, &etag).await;
    assert_eq!(stored["web"].metadata["width"], "320");
    assert_eq!(stored["web"].metadata["height"], "240");
    assert_eq!(
        f.keys(&f.processed).await,
        [
            "_manifests/2024/red flower café 日本 +1.json",
            "thumb/2024/red flower café 日本 +1.jpg",
            "web/2024/red flower café 日本 +1.webp"
        ]
    );
    let backup = f
        .get(&f.backup, key)
        .await
        .expect("the original is backed up under the same key");
    assert_eq!(backup.bytes, original);
    let source = f.get(&f.source, key).await.expect("the original stays");
    assert_eq!(
        (source.bytes, source.etag),
        (original, etag),
        "the original is untouched"
    );
    assert!(f.reports(0).await.is_empty(), "no failure reported");
}

#[tokio::test]
async fn function_renders_a_48_megapixel_photo() {
    let Some(path) = shared("corpus/photo_mosaic4_48mp.jpg") else {
        return;
    };
    let f = fixture("fn-48mp").await;
    let key = "originals/mosaic 48mp.jpg";
    let etag = f.upload(key, std::fs::read(path).unwrap()).await;
    let started = Instant::now();
    let summary = f
        .handler()
        .await
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    let Outcome::Processed {
        bytes_in,
        bytes_out,
        ..
    } = &only(&summary).outcome
    else {
        panic!("{summary:#?}")
    };
    eprintln!(
        "48 MP photo: {bytes_in} bytes in, {bytes_out} out, {:?} (debug build, moto)",
        started.elapsed()
    );
    f.assert_variants(key, &etag).await;
    assert!(f.get(&f.backup, key).await.is_some());
}

#[tokio::test]
async fn function_writes_identical_objects_on_duplicate_delivery_then_skips() {
    let f = fixture("fn-dup").await;
    let key = "originals/dup.jpg";
    let etag = f.upload(key, photo(500, 375)).await;
    let handler = f.handler().await;
    // SNS may deliver the same notification twice in one batch: both copies render, the writes agree.
    let event = sns_s3_event(&f.source, &[key, key]);
    let first = handler.handle(event.clone()).await.unwrap();
    assert_eq!(first.failed, 0, "{first:#?}");
    let before = f.assert_variants(key, &etag).await;

    // A partial earlier run (one variant lost): the duplicate renders again, byte for byte the same.
    f.delete(&f.processed, "web/dup.webp").await;
    let second = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    assert!(
        matches!(only(&second).outcome, Outcome::Processed { .. }),
        "{second:#?}"
    );
    let after = f.assert_variants(key, &etag).await;
    for name in ["thumb", "web"] {
        assert_eq!(
            before[name].bytes, after[name].bytes,
            "{name} differs between deliveries"
        );
    }

    // Everything there for this ETag: skipped, and nothing rewritten.
    let third = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    let reason = reason_of(&only(&third).outcome);
    assert!(reason.contains("already exists"), "{reason}");
    assert_eq!(third.skipped, 1);
    let last = f.assert_variants(key, &etag).await;
    assert_eq!(last["thumb"].etag, after["thumb"].etag);

    // A new upload under the same key is new work, not a duplicate.
    let new_etag = f.upload(key, photo(400, 300)).await;
    assert_ne!(new_etag, etag);
    let fourth = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    assert_eq!(fourth.processed, 1, "{fourth:#?}");
    f.assert_variants(key, &new_etag).await;
}

#[tokio::test]
async fn function_ignores_keys_outside_the_prefix_its_own_outputs_and_other_event_types() {
    let f = fixture("fn-ignore").await;
    f.upload("elsewhere/a.jpg", photo(64, 64)).await;
    let s3_record = |bucket: &str, key: &str, event: &str| {
        json!({"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
               "eventTime": "2026-01-01T00:00:00.000Z", "eventName": event,
               "userIdentity": {"principalId": "EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
               "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "c",
               "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")}, "object": {"key": key}}})
    };
    let event = json!({"Records": [
        s3_record(&f.source, "elsewhere/a.jpg", "ObjectCreated:Put"),
        s3_record(&f.processed, "thumb/a.jpg", "ObjectCreated:Put"),
        s3_record(&f.processed, "_failures/originals/x.jpg.json", "ObjectCreated:Put"),
        s3_record(&f.source, "elsewhere/b.jpg", "ObjectRemoved:Delete"),
        s3_record(&f.source, "originals/cold.jpg", "ObjectRestore:Completed"),
        {"Service": "Amazon S3", "Event": "s3:TestEvent"}
    ]});
    // The last record is not a record at all: the event is refused as a whole and kept for a retry.
    assert!(f.handler().await.handle(event.clone()).await.is_err());
    let mut event = event;
    event["Records"].as_array_mut().unwrap().pop();
    let summary = f.handler().await.handle(event).await.unwrap();
    assert_eq!(summary.ignored, 5, "{summary:#?}");
    let reasons: Vec<&str> = summary
        .records
        .iter()
        .map(|r| reason_of(&r.outcome))
        .collect();
    assert!(
        reasons[0].contains("outside the source prefix"),
        "{}",
        reasons[0]
    );
    assert!(
        reasons[1].contains("would loop") && reasons[2].contains("would loop"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].contains("outside the source prefix"),
        "{}",
        reasons[3]
    );
    assert!(
        reasons[4].contains("ObjectRestore:Completed"),
        "{}",
        reasons[4]
    );
    assert!(f.keys(&f.processed).await.is_empty());
    assert!(f.keys(&f.backup).await.is_empty());
    assert!(f.reports(0).await.is_empty());
}

#[tokio::test]
async fn function_writes_an_auto_variant_as_avif_webp_and_an_extensionless_jpeg_tells_the_app_then_deletes_all_three(
) {
    let mut f = fixture("fn-auto").await;
    // The fixture's policy grants the variant folders `thumb/` and `web/`: `web` becomes `auto`.
    f.settings.variants = serde_json::from_value(json!([
        {"name": "web", "width": 320, "fit": "inside", "format": "auto"}
    ]))
    .unwrap();
    // `[events] processed`: an app's queue subscribed to the processed topic.
    let topic = moto()
        .sns()
        .await
        .create_topic()
        .name(format!("{}-events", f.source))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let app_queue = crate::harness::subscribe_queue(moto(), &topic).await;
    f.settings.processed_topic_arn = Some(topic);
    let key = "originals/2024/red flower.jpg";
    let etag = f.upload(key, photo(640, 480)).await;
    let handler = f.handler().await;
    let summary = handler
        .handle(sns_s3_event(&f.source, &[key]))
        .await
        .unwrap();
    assert_eq!(summary.processed, 1, "{summary:#?}");
    let objects = [
        (
            "web/2024/red flower.avif",
            "image/avif",
            &b"ftypavif"[..],
            4,
        ),
        ("web/2024/red flower.webp", "image/webp", &b"WEBP"[..], 8),
        ("web/2024/red flower", "image/jpeg", &b"\xFF\xD8\xFF"[..], 0),
    ];
    for (variant, content_type, magic, at) in objects {
        let stored = f
            .get(&f.processed, variant)
            .await
            .unwrap_or_else(|| panic!("missing {variant}"));
        assert_eq!(
            stored.content_type.as_deref(),
            Some(content_type),
            "{variant}"
        );
        assert_eq!(&stored.bytes[at..at + magic.len()], magic, "{variant}");
        assert_eq!(stored.metadata["source-etag"], etag, "{variant}");
        assert_eq!(
            (
                stored.metadata["width"].as_str(),
                stored.metadata["height"].as_str()
            ),
            ("320", "240"),
            "{variant}"
        );
    }
    let fallback = f.get(&f.processed, objects[2].0).await.unwrap();
    assert_eq!(image_size(&fallback.bytes), (320, 240));

    // The manifest lists exactly these objects, with their sizes and types, and a placeholder.
    let manifest = f
        .get(&f.processed, "_manifests/2024/red flower.json")
        .await
        .expect("the manifest");
    assert_eq!(manifest.content_type.as_deref(), Some("application/json"));
    let manifest: Value = serde_json::from_slice(&manifest.bytes).unwrap();
    assert_eq!(manifest["source"]["key"], key);
    assert_eq!(manifest["source"]["etag"], etag);
    assert_eq!(manifest["source"]["format"], "jpeg");
    assert_eq!(
        (&manifest["source"]["width"], &manifest["source"]["height"]),
        (&json!(640), &json!(480))
    );
    let web = &manifest["variants"][0];
    assert_eq!(
        (&web["name"], &web["width"], &web["height"]),
        (&json!("web"), &json!(320), &json!(240))
    );
    assert_eq!(web["path"], "/web/2024/red%20flower", "the negotiated path");
    let files = web["files"].as_array().unwrap();
    assert_eq!(files.len(), objects.len());
    for (file, (variant, content_type, ..)) in files.iter().zip(objects) {
        let path = file["path"].as_str().unwrap();
        let listed = urlencoding::decode(&path[1..]).unwrap();
        assert_eq!(listed, variant);
        let stored = f.get(&f.processed, &listed).await.unwrap();
        assert_eq!(file["type"], content_type, "{path}");
        assert_eq!(file["bytes"], stored.bytes.len(), "{path}");
    }
    let hash = base64::engine::general_purpose::STANDARD
        .decode(manifest["placeholder"]["thumbhash"].as_str().unwrap())
        .unwrap();
    let ratio = thumbhash::thumb_hash_to_approximate_aspect_ratio(&hash).unwrap();
    assert!(
        (ratio - 4.0 / 3.0).abs() < 0.2,
        "placeholder aspect ratio {ratio}"
    );
    let colour = manifest["placeholder"]["colour"].as_str().unwrap();
    assert!(colour.len() == 7 && colour.starts_with('#'), "{colour}");

    // The app heard once, with the manifest as written.
    let heard = crate::harness::drain_messages(moto(), &app_queue, 1, WAIT).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(heard[0]["event"], "processed");
    assert_eq!(heard[0]["key"], key);
    assert_eq!(heard[0]["manifest_key"], "_manifests/2024/red flower.json");
    assert_eq!(heard[0]["manifest"], manifest);

    f.delete(&f.source, key).await;
    let removed = notice(key, "ObjectRemoved:Delete", None, "0055AED6DCD90281F0");
    let summary = handler
        .handle(sns_event(&f.source, &[removed]))
        .await
        .unwrap();
    let Outcome::Deleted { variants, .. } = &only(&summary).outcome else {
        panic!("{summary:#?}")
    };
    let mut want: Vec<String> = objects.iter().map(|o| o.0.to_string()).collect();
    want.push("_manifests/2024/red flower.json".into());
    assert_eq!(variants, &want);
    let heard = crate::harness::drain_messages(moto(), &app_queue, 1, WAIT).await;
    assert_eq!(heard.len(), 1, "{heard:#?}");
    assert_eq!(
        (&heard[0]["event"], &heard[0]["key"]),
        (&json!("deleted"), &json!(key))
    );
    assert_eq!(heard[0]["deleted"], json!(want));
    assert!(
        f.keys(&f.processed).await.is_empty(),
        "{:?}",
        f.keys(&f.processed).await
    );
}
