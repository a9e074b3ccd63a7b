//! `imgdeploy status` and `imgdeploy invoke` (issue 6) against a deployed stack on moto: uploads that
//! become variants through `invoke --local`, one that fails and leaves a failure report, a variant deleted
//! by hand, a resource deleted by hand and a configuration change; `status` must show each of them, as
//! text and as `--json`. `invoke --local` decodes keys and skips work already done.
use crate::harness::{moto, Moto};
use crate::stack::StackDir;
use imgdeploy_function::handler::{sns_event, Notice};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

pub fn photo(name: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/photos");
    std::fs::read(root.join(name)).unwrap_or_else(|e| panic!("examples/photos/{name}: {e}"))
}

pub fn put(moto: &Moto, bucket: &str, key: &str, body: Vec<u8>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3().await;
        s3.put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    });
}

fn delete(moto: &Moto, bucket: &str, key: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s3 = moto.s3().await;
        s3.delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
    });
}

fn exists(moto: &Moto, bucket: &str, key: &str) -> bool {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        moto.s3()
            .await
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    })
}

/// `imgdeploy <args>` without `--json`: what a person sees.
pub fn human(s: &StackDir, moto: &Moto, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd)
        .current_dir(s.dir.path())
        .args(args);
    cmd.output().expect("run imgdeploy")
}

fn resource<'a>(status: &'a Value, kind: &str, name: &str) -> &'a Value {
    status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == kind && r["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:#}", status["resources"]))
}

#[test]
fn status_shows_resources_counts_gaps_failures_and_drift() {
    let moto = moto();
    let s = StackDir::new("status", "");
    let n = s.name.clone();
    let (originals, processed) = (format!("{n}-originals"), format!("{n}-processed"));

    // Before `up`: nothing exists, and status says so without failing.
    let before = s.ok(moto, &["status"]);
    assert_eq!(before["deployed"], false, "{before:#}");
    assert!(before["resources"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "missing"));

    s.ok(moto, &["up", "--yes"]);
    put(
        moto,
        &originals,
        "originals/dandelions.jpg",
        photo("dandelions.jpg"),
    );
    put(
        moto,
        &originals,
        "originals/sub/wine.jpg",
        photo("wine.jpg"),
    );
    put(
        moto,
        &originals,
        "originals/broken.jpg",
        b"this is not a JPEG".to_vec(),
    );

    // invoke --local: keys relative to the prefix or with it; the broken upload fails the command.
    let (ok, invoked, stderr) = s.run(
        moto,
        &[
            "invoke",
            "--local",
            "dandelions.jpg",
            "originals/sub/wine.jpg",
            "broken.jpg",
        ],
    );
    assert!(
        !ok,
        "a failed upload must fail `invoke --local`: {invoked:#}"
    );
    assert!(
        stderr.contains("1 of 3 record(s) did not become variants"),
        "{stderr}"
    );
    assert_eq!(
        (invoked["processed"].as_u64(), invoked["failed"].as_u64()),
        (Some(2), Some(1)),
        "{invoked:#}"
    );
    let records = invoked["records"].as_array().unwrap();
    assert_eq!(records[0]["key"], "originals/dandelions.jpg");
    assert_eq!(
        records[1]["variants"].as_array().unwrap().len(),
        2,
        "{:#}",
        records[1]
    );
    assert_eq!(records[2]["outcome"], "failed");
    assert!(exists(moto, &processed, "thumb/sub/wine.jpg"));
    assert!(exists(moto, &processed, "web/dandelions.webp"));

    // A variant deleted by hand is a gap.
    delete(moto, &processed, "web/sub/wine.webp");

    let status = s.ok(moto, &["status"]);
    assert_eq!(status["deployed"], true);
    for r in status["resources"].as_array().unwrap() {
        assert_eq!(r["state"], "ok", "after `up` every resource is ok: {r:#}");
    }
    let kinds: Vec<&str> = status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "bucket",
        "topic",
        "log-group",
        "role",
        "function",
        "permission",
        "subscription",
        "notification",
        "cdn-oac",
        "cdn-distribution",
        "bucket-policy",
    ] {
        assert!(kinds.contains(&kind), "status lacks {kind}: {kinds:?}");
    }
    let cdn = &status["cdn"];
    assert_eq!(cdn["deployed"], true, "{cdn:#}");
    assert!(cdn["domain"].as_str().unwrap().contains('.'), "{cdn:#}");
    let f = &status["function"];
    assert_eq!(f["name"], format!("{n}-variants"));
    assert_eq!(f["architecture"], "arm64");
    assert_eq!(f["memory_mb"], 2048);
    assert!(f["code_size"].as_i64().unwrap() > 100_000, "{f:#}");
    assert!(!f["last_modified"].as_str().unwrap().is_empty(), "{f:#}");
    assert!(!f["version"].as_str().unwrap().is_empty(), "{f:#}");
    assert_eq!(f["code_source"]["kind"], "artifact", "up --artifact: {f:#}");

    let objects = &status["objects"];
    assert_eq!(objects["originals"], 3, "{objects:#}");
    assert_eq!(
        objects["variants"],
        serde_json::json!({"thumb": 2, "web": 1}),
        "{objects:#}"
    );
    let missing = objects["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "{objects:#}");
    assert_eq!(missing[0]["key"], "originals/broken.jpg");
    assert_eq!(missing[0]["missing"], serde_json::json!(["thumb", "web"]));
    assert_eq!(missing[1]["key"], "originals/sub/wine.jpg");
    assert_eq!(missing[1]["missing"], serde_json::json!(["web"]));
    assert!(
        missing[1].get("failure").is_none(),
        "a deleted variant is no failure: {:#}",
        missing[1]
    );

    let failures = &status["failures"];
    assert_eq!(failures["count"], 1, "{failures:#}");
    let report = &failures["latest"][0];
    assert_eq!(report["key"], "originals/broken.jpg");
    assert_eq!(report["bucket"], originals);
    assert_eq!(report["report_key"], "_failures/originals/broken.jpg.json");
    let kind = report["error_kind"].as_str().unwrap();
    assert!(
        !kind.is_empty() && !report["message"].as_str().unwrap().is_empty(),
        "{report:#}"
    );
    assert_eq!(missing[0]["failure"], kind, "the gap names its failure");

    // The same, as a person reads it.
    let out = human(&s, moto, &["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        format!("Stack {n} in us-east-1"),
        format!("bucket            {n}-originals"),
        "Originals    3 under".to_string(),
        "Variants     thumb 2, web 1".to_string(),
        "originals/sub/wine.jpg: web".to_string(),
        format!("originals/broken.jpg: thumb, web  (failed: {kind})"),
        "Failures     1 report(s)".to_string(),
        "arm64, 2048 MB".to_string(),
    ] {
        assert!(
            text.contains(&expected),
            "status lacks {expected:?}:\n{text}"
        );
    }
    // The whole page, pinned: ids, times, sizes and the stack's name filtered, runs of spaces folded
    // (the name's length moves the columns).
    insta::with_settings!({filters => vec![
        (n.as_str(), "[STACK]"),
        (r"https://[^/ ]+/  \([A-Z0-9]+,", "https://[DOMAIN]/  ([ID],"),
        (r"code [0-9.]+ [KMG]iB", "code [SIZE]"),
        (r"updated \S+", "updated [TIME]"),
        (r"(?m)^  \d{4}-\d\d-\d\dT\S+", "  [TIME]"),
        (r" {2,}", "  "),
    ]}, {
        insta::assert_snapshot!("status_after_up", text);
    });

    // Drift: a log group deleted by hand is missing, a memory change shows on the function.
    let py = format!(
        "import boto3; boto3.client('logs', endpoint_url='{}', region_name='us-east-1').delete_log_group(logGroupName='/aws/lambda/{n}-variants')",
        moto.endpoint
    );
    moto.run_python(&py);
    s.write_config("[function]\nmemory_mb = 1024\n");
    let drifted = s.ok(moto, &["status"]);
    assert_eq!(
        resource(&drifted, "log-group", &format!("/aws/lambda/{n}-variants"))["state"],
        "missing"
    );
    let func = resource(&drifted, "function", &format!("{n}-variants"));
    assert_eq!(func["state"], "drifted");
    assert_eq!(
        func["changes"],
        serde_json::json!(["memory 2048 -> 1024 MB"]),
        "{func:#}"
    );
    let text = String::from_utf8_lossy(&human(&s, moto, &["status"]).stdout).into_owned();
    assert!(text.contains("drifted: memory 2048 -> 1024"), "{text}");
    assert!(
        text.contains("missing (`imgdeploy up` creates it)"),
        "{text}"
    );

    // Code deployed from an older imgdeploy (its source tag, as that version wrote it) is named, with
    // the command that replaces it.
    let py = format!(
        "import boto3; c = boto3.client('lambda', endpoint_url='{}', region_name='us-east-1'); \
         arn = c.get_function(FunctionName='{n}-variants')['Configuration']['FunctionArn']; \
         c.tag_resource(Resource=arn, Tags={{'imgdeploy:function-source': '0.0.1-0123456789ab'}})",
        moto.endpoint
    );
    moto.run_python(&py);
    let code = &s.ok(moto, &["status"])["function"]["code_source"];
    assert_eq!(code["kind"], "other", "{code:#}");
    assert_eq!(code["deployed"], "0.0.1-0123456789ab", "{code:#}");
    assert_eq!(code["older"], true, "{code:#}");
    let text = String::from_utf8_lossy(&human(&s, moto, &["status"]).stdout).into_owned();
    assert!(
        text.contains("deployed from an older imgdeploy (imgdeploy-function 0.0.1-0123456789ab;"),
        "{text}"
    );
    assert!(text.contains("run `imgdeploy update`"), "{text}");

    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}

#[test]
fn invoke_local_decodes_keys_and_skips_work_already_done() {
    let moto = moto();
    let s = StackDir::new("invoke", "[cdn]\nenabled = false");
    let n = s.name.clone();
    s.ok(moto, &["up", "--yes"]);
    put(
        moto,
        &format!("{n}-originals"),
        "originals/red flower.jpg",
        photo("sunset.jpg"),
    );

    // A key with a space travels URL-encoded in the SNS-wrapped S3 event, as on AWS.
    let first = s.ok(moto, &["invoke", "--local", "red flower.jpg"]);
    assert_eq!(first["processed"], 1, "{first:#}");
    let variants: Vec<&str> = first["records"][0]["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["thumb/red flower.jpg", "web/red flower.webp"]);
    assert!(exists(
        moto,
        &format!("{n}-processed"),
        "web/red flower.webp"
    ));
    assert!(exists(
        moto,
        &format!("{n}-backup"),
        "originals/red flower.jpg"
    ));

    // A second run (the prefix given this time) finds the work done for the same source ETag.
    let again = s.ok(moto, &["invoke", "--local", "originals/red flower.jpg"]);
    assert_eq!(again["skipped"], 1, "{again:#}");

    // What a person sees: one line per upload and one per variant, with sizes.
    let out = human(&s, moto, &["invoke", "--local", "red flower.jpg"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("= originals/red flower.jpg  nothing to do: every variant already exists"),
        "{text}"
    );

    // A deletion event, as S3 sends it through SNS, replayed from a file: the variants go.
    delete(moto, &format!("{n}-originals"), "originals/red flower.jpg");
    let removed = Notice {
        event_name: "ObjectRemoved:Delete".into(),
        sequencer: Some("0055AED6DCD90281F0".into()),
        ..Notice::created("originals/red flower.jpg")
    };
    let file = s.dir.path().join("removed.json");
    let event = sns_event(&format!("{n}-originals"), &[removed]);
    std::fs::write(&file, event.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let replayed = s.ok(moto, &["invoke", "--local", "--event", file]);
    assert_eq!(replayed["deleted"], 1, "{replayed:#}");
    assert_eq!(replayed["records"][0]["outcome"], "deleted", "{replayed:#}");
    assert!(!exists(
        moto,
        &format!("{n}-processed"),
        "web/red flower.webp"
    ));
    assert!(exists(
        moto,
        &format!("{n}-backup"),
        "originals/red flower.jpg"
    ));
    // Not an event: a clear error naming the file, exit status 1.
    std::fs::write(s.dir.path().join("bad.json"), "{\"hello\": 1}").unwrap();
    let bad = s.dir.path().join("bad.json");
    let (ok, _, stderr) = s.run(
        moto,
        &["invoke", "--local", "--event", bad.to_str().unwrap()],
    );
    assert!(!ok && stderr.contains("unrecognised event"), "{stderr}");
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
}
