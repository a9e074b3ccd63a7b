//! The CloudFront part of `up` and `teardown` against moto, read back with boto3, plus the requests
//! imgdeploy sent (`IMGDEPLOY_RECORD_REQUESTS`) for what moto drops or ignores: the OAC id on both
//! origins, the If-Match ETags, and the disable -> wait -> delete order.
use crate::harness::{inspect, moto, Moto, REGION};
use crate::stack::StackDir;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The CloudFront requests of one run: (operation, If-Match, body).
pub fn cloudfront_requests(file: &Path) -> Vec<(String, Option<String>, String)> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("one JSON request per line"))
        .filter(|c| {
            c["service"]
                .as_str()
                .unwrap_or_default()
                .eq_ignore_ascii_case("cloudfront")
        })
        .map(|c| {
            let s = |k: &str| c[k].as_str().map(str::to_string);
            (
                s("operation").unwrap(),
                s("if_match"),
                s("body").unwrap_or_default(),
            )
        })
        .collect()
}

pub fn is_read(op: &str) -> bool {
    ["Get", "List", "Describe", "Head"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// Runs `imgdeploy <args>` recording its requests to a new file; returns the JSON and the file.
pub fn recorded(s: &StackDir, moto: &Moto, args: &[&str], tag: &str) -> (Value, PathBuf) {
    let file = s.dir.path().join(format!("requests-{tag}.jsonl"));
    let (ok, json, stderr) = s.run_env(moto, args, &[("IMGDEPLOY_RECORD_REQUESTS", &file)]);
    assert!(ok, "imgdeploy {args:?} failed:\n{stderr}");
    (json, file)
}

pub fn step<'a>(doc: &'a Value, kind: &str) -> &'a Value {
    let steps = doc["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("no steps in {doc:#}"));
    steps
        .iter()
        .find(|s| s["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} step in {doc:#}"))
}

pub fn only_distribution(report: &Value) -> (&String, &Value) {
    let dists = report["cloudfront"]["distributions"].as_object().unwrap();
    assert_eq!(dists.len(), 1, "exactly one distribution: {dists:#?}");
    dists.iter().next().unwrap()
}

fn check_behaviour(b: &Value, target: &str) {
    assert_eq!(b["TargetOriginId"], target, "{b:#}");
    assert_eq!(b["ViewerProtocolPolicy"], "redirect-to-https", "{b:#}");
    assert_eq!(b["Compress"], true, "{b:#}");
    assert_eq!(
        b["CachePolicyId"], "658327ea-f89d-4fab-a63d-7e88639e58f6",
        "{b:#}"
    );
    let mut methods: Vec<&str> = b["AllowedMethods"]["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    methods.sort();
    assert_eq!(methods, ["GET", "HEAD"], "{b:#}");
}

#[test]
fn cdn_serves_through_the_oac_converges_and_is_disabled_before_it_is_deleted() {
    let moto = moto();
    let s = StackDir::new(
        "cdn",
        "[cdn]\nprice_class = \"PriceClass_200\"\nserve_originals = true",
    );
    let n = s.name.clone();

    // 1. up: one OAC, one distribution with the processed bucket by default and originals/* beside it.
    let (first, created) = recorded(&s, moto, &["up", "--yes"], "up1");
    let warning = first["plan"]["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("GPS"),
        "serving originals warns: {first:#}"
    );
    let report = inspect(moto, &n);
    let oacs = report["cloudfront"]["origin_access_controls"]
        .as_object()
        .unwrap();
    assert_eq!(oacs.len(), 1, "{oacs:#?}");
    let (oac_id, oac) = oacs.iter().next().unwrap();
    assert_eq!(oac["name"], format!("{n}-oac"));
    assert_eq!(
        (
            &oac["signing_protocol"],
            &oac["signing_behavior"],
            &oac["origin_type"]
        ),
        (&"sigv4".into(), &"always".into(), &"s3".into())
    );
    let (_, dist) = only_distribution(&report);
    let c = &dist["config"];
    assert_eq!(c["Comment"], format!("imgdeploy:{n}"));
    assert_eq!(c["Enabled"], true);
    assert_eq!(c["PriceClass"], "PriceClass_200");
    assert_eq!(c["HttpVersion"], "http2and3");
    assert_eq!(c["IsIPV6Enabled"], true);
    assert_eq!(
        dist["tags"]["imgdeploy:stack"],
        n.as_str(),
        "{:#}",
        dist["tags"]
    );
    let origins: Vec<(&str, &str)> = c["Origins"]["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["Id"].as_str().unwrap(), o["DomainName"].as_str().unwrap()))
        .collect();
    let processed = format!("{n}-processed.s3.{REGION}.amazonaws.com");
    let originals = format!("{n}-originals.s3.{REGION}.amazonaws.com");
    assert_eq!(
        origins,
        [
            ("processed", processed.as_str()),
            ("originals", originals.as_str())
        ]
    );
    check_behaviour(&c["DefaultCacheBehavior"], "processed");
    let behaviours = c["CacheBehaviors"]["Items"].as_array().unwrap();
    assert_eq!(behaviours.len(), 1);
    assert_eq!(behaviours[0]["PathPattern"], "originals/*");
    check_behaviour(&behaviours[0], "originals");
    // With `serve_originals`, the originals bucket lets this distribution read the prefix, nothing else.
    let statements = report["s3"]["buckets"][format!("{n}-originals")]["policy"]["Statement"]
        .as_array()
        .unwrap();
    let read = statements
        .iter()
        .find(|s| s["Sid"] == "CloudFrontReadsWhatItServes")
        .expect("the originals bucket lets CloudFront read the prefix");
    assert_eq!(
        read["Resource"],
        format!("arn:aws:s3:::{n}-originals/originals/*")
    );
    // moto drops OriginAccessControlId on the way back: the request carried it on both origins.
    let requests = cloudfront_requests(&created);
    let create = requests
        .iter()
        .find(|r| r.0 == "CreateDistributionWithTags")
        .expect("a create request");
    let oac_ref = format!("<OriginAccessControlId>{oac_id}</OriginAccessControlId>");
    assert_eq!(create.2.matches(&oac_ref).count(), 2, "{}", create.2);
    assert!(
        !create.2.contains("-backup"),
        "the backup bucket is never an origin: {}",
        create.2
    );

    // 2. up again: nothing to do, no mutating CloudFront call.
    let (again, file) = recorded(&s, moto, &["up", "--yes"], "up2");
    assert_eq!(step(&again["plan"], "cdn-oac")["action"], "unchanged");
    assert_eq!(
        step(&again["plan"], "cdn-distribution")["action"],
        "unchanged"
    );
    let requests = cloudfront_requests(&file);
    // It read the CDN (so "no mutating call" is a finding about a run that called, not an empty log).
    assert!(
        requests.iter().filter(|r| is_read(&r.0)).count() >= 2,
        "{requests:?}"
    );
    let mutating: Vec<_> = requests.into_iter().filter(|r| !is_read(&r.0)).collect();
    assert!(mutating.is_empty(), "{mutating:?}");

    // 3. serve_originals = false: one update, with the ETag just read, and the originals origin is gone.
    s.write_config("[cdn]\nprice_class = \"PriceClass_200\"\nserve_originals = false");
    let etag = dist["etag"].as_str().unwrap().to_string();
    let (edited, file) = recorded(&s, moto, &["up", "--yes"], "up3");
    assert_eq!(
        step(&edited["plan"], "cdn-distribution")["action"],
        "update"
    );
    assert!(edited["plan"].get("warnings").is_none(), "{edited:#}");
    let ops: Vec<_> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| !is_read(&r.0))
        .collect();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(
        (ops[0].0.as_str(), ops[0].1.as_deref()),
        ("UpdateDistribution", Some(etag.as_str()))
    );
    assert_eq!(ops[0].2.matches(&oac_ref).count(), 1, "{}", ops[0].2);
    let report = inspect(moto, &n);
    let c = &only_distribution(&report).1["config"];
    assert_eq!(c["Origins"]["Quantity"], 1, "{c:#}");
    assert_eq!(c["CacheBehaviors"]["Quantity"], 0, "{c:#}");

    // 4. teardown: disable (If-Match), wait until deployed, delete (If-Match), then the OAC (If-Match).
    let (_, file) = recorded(&s, moto, &["teardown", "--yes"], "down1");
    let seq: Vec<String> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| !is_read(&r.0) || r.0 == "GetDistribution")
        .map(|r| {
            format!(
                "{}{}",
                r.0,
                if r.1.as_deref().is_some_and(|m| !m.is_empty()) {
                    " If-Match"
                } else {
                    ""
                }
            )
        })
        .collect();
    assert_eq!(
        seq,
        [
            "UpdateDistribution If-Match",
            "GetDistribution",
            "DeleteDistribution If-Match",
            "DeleteOriginAccessControl If-Match"
        ]
    );
    let disable = cloudfront_requests(&file)
        .into_iter()
        .find(|r| r.0 == "UpdateDistribution")
        .unwrap();
    assert!(
        disable.2.contains("<Enabled>false</Enabled>"),
        "{}",
        disable.2
    );
    let report = inspect(moto, &n);
    assert_eq!(
        report["cloudfront"]["distributions"]
            .as_object()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        report["cloudfront"]["origin_access_controls"]
            .as_object()
            .unwrap()
            .len(),
        0
    );

    // 5. teardown again: both already gone, no CloudFront call that changes anything.
    let (gone, file) = recorded(&s, moto, &["teardown", "--yes"], "down2");
    assert_eq!(
        step(&gone, "cdn-distribution")["action"],
        "absent",
        "{gone:#}"
    );
    assert_eq!(step(&gone, "cdn-oac")["action"], "absent", "{gone:#}");
    assert!(cloudfront_requests(&file).iter().all(|r| is_read(&r.0)));
}

/// A `format = "auto"` variant: the CloudFront Function is created, published and run on that
/// variant's path only (both viewer events); a second `up` changes nothing; code changed behind the
/// stack's back is put back and published; teardown removes the function after the distribution.
#[test]
fn an_auto_variant_runs_the_negotiating_function_on_its_path_and_goes_with_the_stack() {
    let moto = moto();
    let auto = "[[variant]]\nname = \"hero\"\nwidth = 800\nfit = \"inside\"\nformat = \"auto\"\n";
    let s = StackDir::new("edge", auto);
    let n = s.name.clone();
    let source = include_str!("../../provisioner/edge/negotiate.js");

    // 1. up: the function, LIVE with the code in the repo, tagged; associated with hero/* only.
    let (first, file) = recorded(&s, moto, &["up", "--yes"], "up1");
    assert_eq!(step(&first["plan"], "cdn-function")["action"], "create");
    let report = inspect(moto, &n);
    let function = &report["cloudfront"]["functions"][format!("{n}-negotiate")];
    assert_eq!(function["runtime"], "cloudfront-js-2.0", "{report:#}");
    assert_eq!(function["code"], source);
    assert_eq!(function["live_code"], source, "published");
    assert_eq!(function["tags"]["imgdeploy:stack"], n.as_str());
    let arn = function["arn"].as_str().unwrap();
    let c = &only_distribution(&report).1["config"];
    let behaviours = c["CacheBehaviors"]["Items"].as_array().unwrap();
    let patterns: Vec<&str> = behaviours
        .iter()
        .map(|b| b["PathPattern"].as_str().unwrap())
        .collect();
    assert_eq!(patterns, ["hero/*"], "{c:#}");
    check_behaviour(&behaviours[0], "processed");
    let mut events: Vec<(&str, &str)> = behaviours[0]["FunctionAssociations"]["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["EventType"].as_str().unwrap(),
                a["FunctionARN"].as_str().unwrap(),
            )
        })
        .collect();
    events.sort();
    assert_eq!(events, [("viewer-request", arn), ("viewer-response", arn)]);
    assert_eq!(
        c["DefaultCacheBehavior"]["FunctionAssociations"]["Quantity"],
        0
    );
    // Published before the distribution that names it (the emulator refuses otherwise, as AWS does).
    let ops: Vec<String> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| !is_read(&r.0))
        .map(|r| r.0)
        .collect();
    let at = |op: &str| ops.iter().position(|o| o == op).unwrap_or(usize::MAX);
    assert!(
        at("CreateFunction") < at("PublishFunction")
            && at("PublishFunction") < at("CreateDistributionWithTags"),
        "{ops:?}"
    );

    // 2. up again: nothing changes.
    let (again, file) = recorded(&s, moto, &["up", "--yes"], "up2");
    assert_eq!(step(&again["plan"], "cdn-function")["action"], "unchanged");
    assert_eq!(
        step(&again["plan"], "cdn-distribution")["action"],
        "unchanged"
    );
    let mutating: Vec<_> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| !is_read(&r.0))
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");

    // 3. Someone edits the function's DEVELOPMENT stage: `up` puts the repo's code back and publishes.
    moto.run_python(&format!(
        "import boto3; cf = boto3.client('cloudfront'); n = '{n}-negotiate'\n\
         e = cf.describe_function(Name=n)['ETag']\n\
         cf.update_function(Name=n, IfMatch=e, FunctionCode=b'function handler(e) {{ return e.request; }}',\n\
         FunctionConfig={{'Comment': 'edited', 'Runtime': 'cloudfront-js-2.0'}})"
    ));
    let (fixed, file) = recorded(&s, moto, &["up", "--yes"], "up3");
    let changes = step(&fixed["plan"], "cdn-function")["changes"].to_string();
    assert!(
        changes.contains("comment") && changes.contains("code ("),
        "{changes}"
    );
    let ops: Vec<String> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| !is_read(&r.0))
        .map(|r| format!("{}{}", r.0, if r.1.is_some() { " If-Match" } else { "" }))
        .collect();
    assert_eq!(ops, ["UpdateFunction If-Match", "PublishFunction If-Match"]);
    let report = inspect(moto, &n);
    let function = &report["cloudfront"]["functions"][format!("{n}-negotiate")];
    assert_eq!(function["live_code"], source);

    // 4. teardown: the distribution, then the function (CloudFront refuses to delete one in use).
    let (down, file) = recorded(&s, moto, &["teardown", "--yes"], "down");
    assert_eq!(step(&down, "cdn-function")["action"], "delete", "{down:#}");
    let ops: Vec<String> = cloudfront_requests(&file)
        .into_iter()
        .filter(|r| r.0.starts_with("Delete"))
        .map(|r| r.0)
        .collect();
    assert_eq!(
        ops,
        [
            "DeleteDistribution",
            "DeleteFunction",
            "DeleteOriginAccessControl"
        ]
    );
    let report = inspect(moto, &n);
    assert_eq!(report["found"], serde_json::json!([]), "{report:#}");
}
