//! `imgdeploy backfill` against a deployed stack on moto. `--local`: originals uploaded before the stack
//! processed them (one broken, one outside the prefix) get every variant; `--dry-run` counts and
//! prices without writing; a second run rewrites nothing; `up` says how many originals an added variant
//! leaves behind, and the backfill then writes only that variant.
use crate::harness::{moto, Moto};
use crate::stack::StackDir;
use crate::status::{human, photo, put};
use serde_json::Value;
use std::collections::BTreeMap;

/// Every (key, ETag) of a bucket.
fn objects(moto: &Moto, bucket: &str) -> BTreeMap<String, String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3().await;
        let out = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        out.contents()
            .iter()
            .map(|o| (o.key().unwrap().to_string(), o.e_tag().unwrap().to_string()))
            .collect()
    })
}

/// An object's bytes.
fn get(moto: &Moto, bucket: &str, key: &str) -> Vec<u8> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3().await;
        let out = s3.get_object().bucket(bucket).key(key).send().await;
        let body = out.unwrap_or_else(|e| panic!("{key}: {e:?}")).body;
        body.collect().await.unwrap().into_bytes().to_vec()
    })
}

fn names(records: &Value) -> Vec<Vec<String>> {
    records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "processed")
        .map(|r| {
            r["variants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn backfill_fills_in_every_variant_once_then_only_a_new_one() {
    let moto = moto();
    let s = StackDir::new("backfill", "[cdn]\nenabled = false");
    let n = s.name.clone();
    s.ok(moto, &["up", "--yes"]);
    let (originals, processed) = (format!("{n}-originals"), format!("{n}-processed"));
    put(
        moto,
        &originals,
        "originals/sunset.jpg",
        photo("sunset.jpg"),
    );
    put(
        moto,
        &originals,
        "originals/2024/wine.jpg",
        photo("wine.jpg"),
    );
    put(
        moto,
        &originals,
        "originals/2024/broken.jpg",
        b"not an image".to_vec(),
    );
    put(
        moto,
        &originals,
        "elsewhere/dandelions.jpg",
        photo("dandelions.jpg"),
    );

    // 1. The plan alone: counted and priced, nothing written.
    let plan = s.ok(moto, &["backfill", "--local", "--dry-run"]);
    assert_eq!(plan["originals"], 3, "{plan:#}");
    assert_eq!(plan["to_process"], 3);
    assert_eq!(plan["missing_variants"], 6);
    assert_eq!(plan["invocations"], 3);
    assert!(plan["estimated_cost_usd"].as_f64().unwrap() > 0.0);
    assert!(
        objects(moto, &processed).is_empty(),
        "a dry run writes nothing"
    );
    let sub = s.ok(moto, &["backfill", "--local", "--dry-run", "2024/"]);
    assert_eq!(sub["originals"], 2, "{sub:#}");
    let out = human(&s, moto, &["backfill", "--local", "--dry-run"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).replace(&n, "[STACK]");
    insta::assert_snapshot!("backfill_plan", text);

    // 2. The run: every variant of the good ones; the broken one reported (a non-zero exit).
    let (ok, first, stderr) = s.run(moto, &["backfill", "--local", "--yes"]);
    assert!(
        !ok && stderr.contains("1 of 3 record(s) did not become variants"),
        "{stderr}"
    );
    assert_eq!(
        (
            first["result"]["processed"].as_u64(),
            first["result"]["failed"].as_u64()
        ),
        (Some(2), Some(1)),
        "{first:#}"
    );
    let after = objects(moto, &processed);
    for key in [
        "thumb/sunset.jpg",
        "web/sunset.webp",
        "_manifests/sunset.json",
        "thumb/2024/wine.jpg",
        "web/2024/wine.webp",
        "_manifests/2024/wine.json",
    ] {
        assert!(after.contains_key(key), "{key}: {after:#?}");
    }
    assert!(after.contains_key("_failures/originals/2024/broken.jpg.json"));
    assert!(
        !after.keys().any(|k| k.contains("dandelions")),
        "outside the prefix"
    );

    // 3. Again: nothing rewritten.
    let (_, second, _) = s.run(moto, &["backfill", "--local", "--yes"]);
    assert_eq!(
        second["to_process"], 1,
        "only the broken one misses variants: {second:#}"
    );
    assert_eq!(second["result"]["processed"], 0, "{second:#}");
    assert_eq!(second["result"]["skipped"], 2);
    assert_eq!(objects(moto, &processed), after, "no object was rewritten");

    // 4. A new variant: only it is rendered and written.
    let config = s.dir.path().join("imgdeploy.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[[variant]]\nname = \"small\"\nwidth = 64\nheight = 64\n");
    std::fs::write(&config, text).unwrap();
    // `up` deploys the new variant set and says how many originals it leaves behind.
    let upped = s.ok(moto, &["up", "--yes"]);
    assert_eq!(upped["backfill"]["originals"], 3, "{:#}", upped["backfill"]);
    assert_eq!(upped["backfill"]["command"], "imgdeploy backfill --local");
    let again = s.ok(moto, &["up", "--yes"]);
    assert!(
        again.get("backfill").is_none(),
        "only when the variants change"
    );
    let (_, third, _) = s.run(moto, &["backfill", "--local", "--yes"]);
    assert_eq!(third["missing_variants"], 5, "{third:#}");
    assert_eq!(names(&third["result"]["records"]), [["small"], ["small"]]);
    let last = objects(moto, &processed);
    for (key, etag) in after.iter().filter(|(k, _)| !k.starts_with("_manifests/")) {
        assert_eq!(last.get(key), Some(etag), "{key} was rewritten");
    }
    assert!(last.contains_key("small/sunset.jpg") && last.contains_key("small/2024/wine.jpg"));
    // The manifests, which list every variant, were written again with the new one.
    for manifest in ["_manifests/sunset.json", "_manifests/2024/wine.json"] {
        assert_ne!(last.get(manifest), after.get(manifest), "{manifest}");
        let listed: serde_json::Value =
            serde_json::from_slice(&get(moto, &processed, manifest)).unwrap();
        let names: Vec<&str> = listed["variants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["thumb", "web", "small"], "{manifest}");
    }
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}

/// The bucket's notification configurations that are the stack's (by Id).
fn our_notifications(moto: &Moto, bucket: &str) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3().await;
        match s3
            .get_bucket_notification_configuration()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => out
                .topic_configurations()
                .iter()
                .filter(|t| t.id() == Some("imgdeploy-uploads"))
                .count(),
            // moto answers an empty configuration with a body the SDK cannot parse.
            Err(_) => 0,
        }
    })
}

/// `[source] trigger = "manual"` creates no notification; switching converges both ways.
#[test]
fn a_manual_trigger_has_no_upload_notification_and_switching_converges() {
    let moto = moto();
    let s = StackDir::new(
        "manual",
        "[cdn]\nenabled = false\n[source]\ntrigger = \"manual\"",
    );
    let originals = format!("{}-originals", s.name);
    s.ok(moto, &["up", "--yes"]);
    assert_eq!(our_notifications(moto, &originals), 0, "manual: none");
    s.write_config("[cdn]\nenabled = false");
    let up = s.ok(moto, &["up", "--yes"]);
    assert_eq!(our_notifications(moto, &originals), 1, "{up:#}");
    s.write_config("[cdn]\nenabled = false\n[source]\ntrigger = \"manual\"");
    let plan = s.ok(moto, &["up", "--dry-run"]);
    let doc = plan.get("plan").unwrap_or(&plan);
    let step = doc["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {plan:#}"))
        .iter()
        .find(|s| s["kind"] == "notification")
        .unwrap();
    assert_eq!(step["action"], "delete", "{plan:#}");
    s.ok(moto, &["up", "--yes"]);
    assert_eq!(
        our_notifications(moto, &originals),
        0,
        "switched back: removed"
    );
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}

/// The `lambda` engine: the CLI queues one orchestration; the orchestrator, run in this process on
/// that very event, lists and queues chunks on the function (recorded by moto, whose Lambda runs
/// nothing); each recorded chunk, run by the real handler, makes the variants and records its result.
#[test]
fn backfill_fans_out_through_the_function_in_chunks() {
    let moto = moto();
    let s = StackDir::new("fanout", "[cdn]\nenabled = false");
    let n = s.name.clone();
    let function = format!("{n}-variants");
    s.ok(moto, &["up", "--yes"]);
    let (originals, processed) = (format!("{n}-originals"), format!("{n}-processed"));
    for (key, body) in [
        ("originals/sunset.jpg", photo("sunset.jpg")),
        ("originals/2024/wine.jpg", photo("wine.jpg")),
        ("originals/2024/dandelions.jpg", photo("dandelions.jpg")),
        ("originals/2024/broken.jpg", b"not an image".to_vec()),
        ("elsewhere/sunset.jpg", photo("sunset.jpg")),
    ] {
        put(moto, &originals, key, body);
    }

    // 1. The plan: one orchestration plus one invocation per chunk, and Lambda's price.
    let plan = s.ok(moto, &["backfill", "--engine", "lambda", "--dry-run"]);
    assert_eq!(
        (plan["engine"].as_str(), plan["originals"].as_u64()),
        (Some("lambda"), Some(4)),
        "{plan:#}"
    );
    let chunk = plan["chunk_size"].as_u64().unwrap();
    assert_eq!(
        plan["invocations"].as_u64().unwrap(),
        4u64.div_ceil(chunk) + 1
    );
    let items: Vec<&str> = plan["cost"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["item"].as_str().unwrap())
        .collect();
    assert!(items.contains(&"Lambda compute"), "{items:?}");
    assert!(
        moto.lambda_invocations(&function).is_empty(),
        "a dry run invokes nothing"
    );

    // 2. The run: one asynchronous orchestration event, nothing written by the CLI.
    let started = s.ok(moto, &["backfill", "--engine", "lambda", "--yes"]);
    let id = started["remote"]["id"].as_str().unwrap().to_string();
    let invoked = moto.lambda_invocations(&function);
    assert_eq!(invoked.len(), 1, "{invoked:#?}");
    assert_eq!(invoked[0]["invocation_type"], "Event");
    let mut orchestration = invoked[0]["event"].clone();
    assert_eq!(orchestration["imgdeploy_backfill"]["id"], id.as_str());
    assert_eq!(
        orchestration["imgdeploy_backfill"]["prefixes"],
        serde_json::json!(["originals/"])
    );
    assert!(objects(moto, &processed).is_empty());

    // 3. The orchestrator, here, on that event (two keys per chunk, to see several chunks).
    orchestration["imgdeploy_backfill"]["chunk_size"] = 2.into();
    let file = s.dir.path().join("orchestration.json");
    std::fs::write(&file, orchestration.to_string()).unwrap();
    let answer = s.ok(
        moto,
        &["invoke", "--local", "--event", file.to_str().unwrap()],
    );
    assert_eq!(
        (answer["listed"].as_u64(), answer["chunks"].as_u64()),
        (Some(4), Some(2)),
        "{answer:#}"
    );
    let chunks: Vec<Value> = moto.lambda_invocations(&function)[1..]
        .iter()
        .map(|i| i["event"].clone())
        .collect();
    assert_eq!(chunks.len(), 2, "{chunks:#?}");
    let mut keys: Vec<&str> = chunks
        .iter()
        .flat_map(|c| c["keys"].as_array().unwrap())
        .map(|k| k.as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "originals/2024/broken.jpg",
            "originals/2024/dandelions.jpg",
            "originals/2024/wine.jpg",
            "originals/sunset.jpg"
        ]
    );

    // 4. Each chunk, run by the real handler: the variants, the broken one reported, a record each.
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(
            chunk.get("imgdeploy_backfill").is_none(),
            "a chunk is never an orchestration"
        );
        let file = s.dir.path().join(format!("chunk{i}.json"));
        std::fs::write(&file, chunk.to_string()).unwrap();
        s.run(
            moto,
            &["invoke", "--local", "--event", file.to_str().unwrap()],
        );
    }
    assert_eq!(
        moto.lambda_invocations(&function).len(),
        3,
        "chunks queue nothing more"
    );
    let after = objects(moto, &processed);
    for key in [
        "thumb/sunset.jpg",
        "web/2024/wine.webp",
        "thumb/2024/dandelions.jpg",
        "_failures/originals/2024/broken.jpg.json",
    ] {
        assert!(after.contains_key(key), "{key}: {after:#?}");
    }
    let records: Vec<&String> = after
        .keys()
        .filter(|k| k.starts_with(&format!("_backfill/{id}/chunks/")))
        .collect();
    assert_eq!(records.len(), 2, "{after:#?}");
    assert!(after.contains_key(&format!("_backfill/{id}/listed.json")));
    // `--follow` (what `--wait` runs) counts the batch from those records: done, with the broken one.
    let (ok, followed, stderr) = s.run(moto, &["backfill", "--follow", &id]);
    assert!(!ok && stderr.contains("1 original(s) failed"), "{stderr}");
    let p = &followed["progress"];
    assert_eq!(
        [
            &p["originals"],
            &p["chunks"],
            &p["chunks_done"],
            &p["processed"],
            &p["failed"]
        ],
        [4, 2, 2, 3, 1],
        "{followed:#}"
    );
    assert_eq!(p["failures"][0]["key"], "originals/2024/broken.jpg");

    // 5. The batch engine: priced with S3 Batch Operations, one invocation per original. moto has no
    // S3 Batch Operations (`CreateJob` is pinned by request snapshot in `batch_tests.rs`): the command
    // gets as far as `CreateJob`, after making the role (trusted by that service only) and the
    // manifest; teardown removes the role.
    let plan = s.ok(moto, &["backfill", "--engine", "batch", "--dry-run"]);
    assert_eq!(plan["invocations"], 4, "{plan:#}");
    assert!(plan["cost"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["item"] == "Batch Operations"));
    let (ok, _, stderr) = s.run(moto, &["backfill", "--engine", "batch", "--yes"]);
    assert!(!ok && stderr.contains("s3control:CreateJob"), "{stderr}");
    let role = |code: &str| {
        moto.python_json(&format!(
            "import boto3, json\niam = boto3.client('iam')\nNAME = {:?}\n{code}",
            format!("{n}-batch")
        ))
    };
    let trust =
        role("print(json.dumps(iam.get_role(RoleName=NAME)['Role']['AssumeRolePolicyDocument']))");
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"], "batchoperations.s3.amazonaws.com",
        "{trust:#}"
    );
    let manifests: Vec<String> = objects(moto, &processed)
        .into_keys()
        .filter(|k| k.ends_with("/manifest.csv"))
        .collect();
    assert_eq!(manifests.len(), 1, "{manifests:?}");
    let torn = s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    assert!(
        torn["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == format!("{n}-batch") && s["action"] == "delete"),
        "{torn:#}"
    );
    let gone = role("import botocore\ntry:\n    iam.get_role(RoleName=NAME)\n    print('true')\nexcept iam.exceptions.NoSuchEntityException:\n    print('false')");
    assert_eq!(gone, false);
}
