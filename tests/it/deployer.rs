//! The deploying identity's policy (`policies/deployer.json`). A stack's whole life (`up` with every
//! feature, `up` again, `status`, `policies`, `update` of configuration and code, `logs`, both remote
//! backfill engines, `redrive`, `teardown`) sends only operations that the table of
//! `policies/README.md` lists (and with `--dry-run`, every command that takes it sends no mutating
//! call); the unit tests (`provisioner/src/policy/deployer_tests.rs`) evaluate
//! that table against the policy as IAM does. Together: every call the CLI made is granted.
use crate::build::{unzip_bootstrap, zip_of};
use crate::harness::moto;
use crate::stack::{lambda_zip, StackDir};
use crate::status::{photo, put};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// `Service:Operation` of each row of the README's table of the CLI's calls.
fn documented() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/README.md"),
    )
    .unwrap();
    let section = readme
        .split("## Every call of the CLI")
        .nth(1)
        .expect("policies/README.md has the CLI's table");
    section
        .lines()
        .skip_while(|l| !l.starts_with("| `"))
        .take_while(|l| l.starts_with('|'))
        .flat_map(|row| {
            let first = row.split('|').nth(1).unwrap_or_default();
            first
                .split(',')
                .map(|op| op.trim().trim_matches('`').to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

fn recorded(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| {
            let call: Value = serde_json::from_str(line).unwrap();
            format!(
                "{}:{}",
                call["service"].as_str().unwrap(),
                call["operation"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn every_call_of_a_stacks_life_is_in_the_deployers_table() {
    let moto = moto();
    // Every feature: alerts, the processed topic, an `auto` variant (the edge function) and a custom
    // domain in a hosted zone (its certificate and records).
    let s = StackDir::new("deployer", "");
    let zone = format!("{}.example.com", s.name);
    crate::domain::create_zone(moto, &zone);
    let features = format!(
        "[cdn]\ndomain = \"img.{zone}\"\n[alerts]\nemail = \"ops@example.com\"\n[events]\n\
         processed = true\n[[variant]]\nname = \"hero\"\nwidth = 800\nfit = \"inside\"\n\
         format = \"auto\"\n"
    );
    s.write_config(&features);
    let n = s.name.clone();
    let record = s.dir.path().join("calls.jsonl");
    let run = |args: &[&str]| {
        let (ok, json, stderr) = s.run_env(moto, args, &[("IMGDEPLOY_RECORD_REQUESTS", &record)]);
        (ok, json, stderr)
    };
    let ok = |args: &[&str]| {
        let (ok, json, stderr) = run(args);
        assert!(ok, "imgdeploy {args:?} failed:\n{stderr}");
        json
    };
    ok(&["up", "--yes"]);
    ok(&["up", "--yes"]);
    put(
        moto,
        &format!("{n}-originals"),
        "originals/a.jpg",
        photo("wine.jpg"),
    );
    ok(&["status"]);
    let all = ok(&["policies"]);
    let deployer = ok(&["policies", "--deployer"]);
    assert_eq!(deployer["deployer"], all["deployer"]);
    let text = deployer["deployer"].to_string();
    assert!(
        text.contains(&format!("arn:aws:s3:::{n}-originals")) && text.contains("iam:PassRole"),
        "{text}"
    );
    s.write_config(&format!("{features}[function]\nmemory_mb = 1024"));
    ok(&["update", "--artifact", &lambda_zip().display().to_string()]);
    let (mut other, _) = unzip_bootstrap(&std::fs::read(lambda_zip()).unwrap());
    other.push(0);
    let other_zip = zip_of(&other, s.dir.path(), "other.zip");
    ok(&["update", "--artifact", other_zip.to_str().unwrap()]);
    ok(&["logs", "--since", "1h"]);

    // Every command that takes the global --dry-run honours it: by the call log, no mutating call,
    // whatever it would change (a memory change pending, an original missing its variants).
    s.write_config(&format!("{features}[function]\nmemory_mb = 2048"));
    let dry = s.dir.path().join("dry.jsonl");
    for args in [
        &["up"][..],
        &["update", "--artifact", other_zip.to_str().unwrap()],
        &["status"],
        &["policies"],
        &["backfill", "--engine", "lambda"],
        &["backfill", "--engine", "batch"],
        &["redrive"],
        &["teardown", "--delete-data"],
    ] {
        let mut line = args.to_vec();
        line.push("--dry-run");
        let (done, _, stderr) = s.run_env(moto, &line, &[("IMGDEPLOY_RECORD_REQUESTS", &dry)]);
        assert!(done, "imgdeploy {line:?} failed:\n{stderr}");
        let mutating: Vec<String> = recorded(&dry)
            .into_iter()
            .filter(|op| {
                let op = op.split(':').nth(1).unwrap_or_default();
                !["Get", "List", "Describe", "Head", "Filter"]
                    .iter()
                    .any(|read| op.starts_with(read))
            })
            .collect();
        assert!(mutating.is_empty(), "imgdeploy {line:?} sent {mutating:?}");
    }
    s.write_config(&format!("{features}[function]\nmemory_mb = 1024"));
    ok(&["backfill", "--engine", "lambda", "--yes"]);
    // moto has no S3 Batch Operations: the job is refused at CreateJob, after its role and manifest.
    let (done, _, stderr) = run(&["backfill", "--engine", "batch", "--yes"]);
    assert!(!done && stderr.contains("s3control:CreateJob"), "{stderr}");
    ok(&["redrive"]);
    ok(&["teardown", "--yes", "--delete-data"]);

    let sent = recorded(&record);
    let table = documented();
    let missing: Vec<&String> = sent.difference(&table).collect();
    assert!(
        missing.is_empty(),
        "calls the CLI sent that policies/README.md's table (and so the deployer policy's tests) lacks: {missing:?}\nsent: {sent:?}"
    );
    // The table is not a wish list either: most of it was exercised here (the rest are repairs,
    // waits and retries: `deployer_tests.rs` names them).
    let unexercised: Vec<&String> = table.difference(&sent).collect();
    eprintln!("documented, not sent in this life: {unexercised:?}");
}
