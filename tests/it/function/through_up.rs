//! Uploads followed end to end through a stack that `imgdeploy up` made, with no event written by hand:
//! moto's S3 notification (the filter `up` set) goes to the upload topic, SNS delivers to the `lambda`
//! subscription `up` made (the launcher records the event Lambda would receive), and that event is
//! handed to the real handler, built from the deployed function's own environment and signed as a user
//! holding the role's deployed inline policy, on the moto server that enforces IAM for S3. Created,
//! overwritten and removed keys under the prefix, and a key outside it that must never arrive.
use super::fixture::{image_size, photo, WAIT};
use crate::harness::{moto_s3_iam as moto, Moto};
use crate::stack::StackDir;
use aws_sdk_s3::primitives::ByteStream;
use imgdeploy_function::handler::{Handler, InvocationSummary, Outcome};
use imgdeploy_function::spec::FunctionSettings;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The SNS events delivered to `function` so far, once there are at least `count`.
async fn deliveries(moto: &Moto, function: &str, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let found = moto.sns_lambda_deliveries(function);
        if found.len() >= count || started.elapsed() > WAIT {
            assert_eq!(found.len(), count, "{found:#?}");
            return found.into_iter().map(|d| d["event"].clone()).collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The handler as the deployed function would build it: its environment read back from Lambda, its
/// S3 calls signed with the role's inline policy read back from IAM.
async fn deployed_handler(moto: &Moto, stack: &str) -> Handler {
    let config = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::new(&config);
    let function = lambda
        .get_function_configuration()
        .function_name(format!("{stack}-variants"))
        .send()
        .await
        .unwrap();
    let env = function
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    let settings = FunctionSettings::from_env(|k| env.get(k).cloned()).unwrap();
    let iam = aws_sdk_iam::Client::new(&config);
    let policy = iam
        .get_role_policy()
        .role_name(format!("{stack}-function"))
        .policy_name(format!("{stack}-function-access"))
        .send()
        .await
        .unwrap()
        .policy_document;
    let policy: Value = serde_json::from_str(&urlencoding::decode(&policy).unwrap()).unwrap();
    let (key, secret) = moto.iam_user(&format!("{stack}-role"), &policy).await;
    Handler::from_settings(settings, &moto.sdk_config_as(&key, &secret).await).await
}

fn only(summary: &InvocationSummary) -> &Outcome {
    assert_eq!(summary.records.len(), 1, "{summary:#?}");
    &summary.records[0].outcome
}

#[tokio::test]
async fn uploads_overwrites_and_deletes_flow_through_the_stack_up_made() {
    let moto = moto();
    let s = StackDir::new("through-up", "");
    s.ok(moto, &["up", "--yes"]);
    let stack = s.name.clone();
    let function = format!("{stack}-variants");
    let (originals, processed) = (format!("{stack}-originals"), format!("{stack}-processed"));
    let s3 = moto.s3().await;
    let handler = deployed_handler(moto, &stack).await;
    let put = |key: &'static str, body: Vec<u8>| {
        let (s3, bucket) = (s3.clone(), originals.clone());
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(ByteStream::from(body))
                .send()
                .await
                .unwrap()
        }
    };
    let variant = |key: &'static str| {
        let (s3, bucket) = (s3.clone(), processed.clone());
        async move {
            match s3.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => Some(out.body.collect().await.unwrap().into_bytes().to_vec()),
                Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => None,
                Err(e) => panic!("GetObject {key}: {e:?}"),
            }
        }
    };
    // S3 sends a test event when `up` puts the notification.
    let test_event = deliveries(moto, &function, 1).await.remove(0);
    let summary = handler.handle(test_event).await.unwrap();
    assert!(
        matches!(only(&summary), Outcome::Ignored { .. }),
        "{summary:#?}"
    );

    // 1. An upload under the prefix (a space in the key: `+` in the event), and one outside it.
    put("elsewhere/not-ours.jpg", photo(64, 48)).await;
    put("originals/red flower.jpg", photo(640, 480)).await;
    let event = deliveries(moto, &function, 2).await.remove(1);
    let summary = handler.handle(event).await.unwrap();
    assert!(
        matches!(only(&summary), Outcome::Processed { .. }),
        "{summary:#?}"
    );
    let first = variant("thumb/red flower.jpg")
        .await
        .expect("the thumb variant");
    assert_eq!(image_size(&first), (200, 150));
    assert!(variant("web/red flower.webp").await.is_some());

    // 2. An overwrite: the variants are replaced and the CDN is told to forget them.
    put("originals/red flower.jpg", photo(480, 640)).await;
    let event = deliveries(moto, &function, 3).await.remove(2);
    let summary = handler.handle(event).await.unwrap();
    let Outcome::Processed { variants, .. } = only(&summary) else {
        panic!("{summary:#?}")
    };
    assert!(variants.iter().all(|v| v.replaced), "{variants:#?}");
    assert_ne!(variant("thumb/red flower.jpg").await.unwrap(), first);
    let invalidation = summary.invalidation.as_ref().expect("an invalidation");
    assert_eq!(
        invalidation.paths,
        [
            "/_manifests/red%20flower.json",
            "/thumb/red%20flower.jpg",
            "/web/red%20flower.webp"
        ]
    );
    assert!(invalidation.id.is_some(), "{invalidation:?}");

    // 3. A deletion: the variants go, the backup keeps its copy, the CDN forgets them.
    s3.delete_object()
        .bucket(&originals)
        .key("originals/red flower.jpg")
        .send()
        .await
        .unwrap();
    let event = deliveries(moto, &function, 4).await.remove(3);
    let summary = handler.handle(event).await.unwrap();
    let Outcome::Deleted { variants, kept } = only(&summary) else {
        panic!("{summary:#?}")
    };
    assert_eq!(
        variants.len(),
        3,
        "two variants and the manifest: {summary:#?}"
    );
    assert!(kept.is_empty());
    assert!(variant("thumb/red flower.jpg").await.is_none());
    assert!(variant("web/red flower.webp").await.is_none());
    let backup = s3
        .head_object()
        .bucket(format!("{stack}-backup"))
        .key("originals/red flower.jpg")
        .send()
        .await;
    assert!(backup.is_ok(), "the backup keeps its copy: {backup:?}");
    assert_eq!(summary.invalidation.as_ref().unwrap().paths.len(), 3);

    // The key outside the prefix never arrived; nothing else did either.
    let all = moto.sns_lambda_deliveries(&function);
    assert_eq!(all.len(), 4, "{all:#?}");
    assert!(!serde_json::to_string(&all).unwrap().contains("elsewhere"));
    let cloudfront = aws_sdk_cloudfront::Client::new(&moto.sdk_config().await);
    let id = summary.invalidation.as_ref().unwrap().id.clone().unwrap();
    let distributions = cloudfront.list_distributions().send().await.unwrap();
    let ours = distributions
        .distribution_list()
        .and_then(|l| l.items.as_ref())
        .and_then(|items| {
            items
                .iter()
                .find(|d| d.comment == format!("imgdeploy:{stack}"))
        })
        .map(|d| d.id.clone())
        .expect("the stack's distribution");
    let listed = cloudfront
        .list_invalidations()
        .distribution_id(&ours)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = listed
        .invalidation_list()
        .and_then(|l| l.items.as_ref())
        .map(|items| items.iter().map(|i| i.id.clone()).collect())
        .unwrap_or_default();
    assert!(ids.contains(&id), "{ids:?}");
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}
