//! `imgdeploy backfill --local` against a deployed stack on moto: originals uploaded before the stack
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
        "thumb/2024/wine.jpg",
        "web/2024/wine.webp",
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
    for (key, etag) in &after {
        assert_eq!(last.get(key), Some(etag), "{key} was rewritten");
    }
    assert!(last.contains_key("small/sunset.jpg") && last.contains_key("small/2024/wine.jpg"));
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}
