//! `imgdeploy up` and `teardown` against moto, checked by an independent client (boto3): the whole cycle
//! of issue 2: up, up again (no mutating call), drift repair, config change, teardown, teardown again.
use crate::harness::{self, found, inspect, moto, unique_name, Moto};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The arm64 function zip the tests deploy to moto, built once per test run by the real
/// `imgdeploy build --quick` (no whole-program LTO: minutes less per CI run). The production profile is
/// built and checked once, by `build::build_gives_an_arm64_bootstrap_...`. The zip is copied out of
/// cargo's target folder: the demo's and other tests' `--quick` builds without AVIF write the same
/// path, and a stack with an AVIF or `auto` variant refuses a zip without the encoder.
pub fn lambda_zip() -> &'static Path {
    static ZIP: OnceLock<PathBuf> = OnceLock::new();
    ZIP.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_imgdeploy"))
            .current_dir(harness::repo_root())
            // With the AVIF encoder, so that the arm64 tests run libaom as zig cross-compiled it.
            .args(["build", "--quick", "--avif", "--json"])
            .output()
            .expect("run imgdeploy build");
        assert!(
            out.status.success(),
            "imgdeploy build failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = last_json(&out.stdout);
        let built = PathBuf::from(v["zip"].as_str().expect("build --json names the zip"));
        let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lambda-quick-avif");
        std::fs::create_dir_all(&kept).unwrap();
        let kept = kept.join("bootstrap.zip");
        std::fs::copy(&built, &kept).unwrap_or_else(|e| panic!("copying {}: {e}", built.display()));
        kept
    })
}

pub fn last_json(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{text}"))
}

/// A stack's config file in a fresh temp dir.
pub struct StackDir {
    pub dir: tempfile::TempDir,
    pub name: String,
}

impl StackDir {
    pub fn new(prefix: &str, extra: &str) -> StackDir {
        let name = unique_name(prefix);
        let dir = tempfile::tempdir().unwrap();
        let s = StackDir { dir, name };
        s.write_config(extra);
        s
    }

    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "[stack]\nname = \"{}\"\n\n{extra}\n\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 150\n\n\
             [[variant]]\nname = \"web\"\nwidth = 1200\nfit = \"inside\"\nformat = \"webp\"\n",
            self.name
        );
        std::fs::write(self.dir.path().join("imgdeploy.toml"), text).unwrap();
    }

    /// Runs `imgdeploy <args> --json` against moto; returns (success, stdout JSON or null, stderr).
    pub fn run(&self, moto: &Moto, args: &[&str]) -> (bool, Value, String) {
        self.run_env(moto, args, &[])
    }

    /// `run` with extra environment variables for the child only.
    pub fn run_env(
        &self,
        moto: &Moto,
        args: &[&str],
        env: &[(&str, &Path)],
    ) -> (bool, Value, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
        moto.configure(&mut cmd)
            .current_dir(self.dir.path())
            .args(args)
            .arg("--json");
        cmd.envs(env.iter().copied());
        if args[0] == "up" {
            cmd.arg("--artifact").arg(lambda_zip());
        }
        let out = cmd.output().expect("run imgdeploy");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let json = if out.stdout.is_empty() {
            Value::Null
        } else {
            last_json(&out.stdout)
        };
        (out.status.success(), json, stderr)
    }

    pub fn ok(&self, moto: &Moto, args: &[&str]) -> Value {
        let (ok, json, stderr) = self.run(moto, args);
        assert!(ok, "imgdeploy {args:?} failed:\n{stderr}");
        json
    }
}

fn actions(plan: &Value) -> Vec<(String, String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().into(),
                s["name"].as_str().unwrap().into(),
                s["action"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn mutated(result: &Value) -> Vec<String> {
    result["mutating_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn up_converges_repairs_drift_and_teardown_removes_everything() {
    let moto = moto();
    let s = StackDir::new(
        "cycle",
        "[function]\nmemory_mb = 1024\nreserved_concurrency = 3\n[events]\nprocessed = true",
    );
    let n = s.name.as_str();

    // 1. up creates everything.
    let first = s.ok(moto, &["up", "--yes"]);
    assert!(
        actions(&first["plan"])
            .iter()
            .all(|(_, _, a)| a == "create"),
        "{:#}",
        first["plan"]
    );
    assert!(first["changed"].as_bool().unwrap());
    let report = inspect(moto, n);
    check_resources(&report, n, 1024);

    // 2. up again: no mutating call, "no changes".
    let second = s.ok(moto, &["up", "--yes"]);
    // It read every resource (so "no mutating call" is a real finding, not an empty log).
    assert!(
        second["calls_sent"].as_u64().unwrap() >= 16,
        "{:#}",
        second["calls_sent"]
    );
    assert_eq!(
        mutated(&second),
        Vec::<String>::new(),
        "second up mutated: {:#}",
        second["plan"]
    );
    assert!(
        actions(&second["plan"])
            .iter()
            .all(|(_, _, a)| a == "unchanged"),
        "{:#}",
        second["plan"]
    );

    // 3. drift: a log group and a bucket policy deleted by hand come back, nothing else is touched.
    let py = format!(
        "import boto3; c=dict(endpoint_url='{}', region_name='us-east-1');\
         boto3.client('logs', **c).delete_log_group(logGroupName='/aws/lambda/{n}-variants');\
         boto3.client('s3', **c).delete_bucket_policy(Bucket='{n}-processed')",
        moto.endpoint
    );
    moto.run_python(&py);
    let repaired = s.ok(moto, &["up", "--yes"]);
    let changed: Vec<_> = actions(&repaired["plan"])
        .into_iter()
        .filter(|(_, _, a)| a != "unchanged")
        .collect();
    assert_eq!(
        changed,
        [
            (
                "log-group".into(),
                format!("/aws/lambda/{n}-variants"),
                "create".into()
            ),
            (
                "bucket-policy".into(),
                format!("{n}-processed"),
                "create".into()
            )
        ]
    );
    check_resources(&inspect(moto, n), n, 1024);

    // 4. a config change (memory, and the variants' Cache-Control, which the function reads from its
    // environment) updates only the function's configuration, in one call.
    s.write_config(
        "[function]\nmemory_mb = 1536\nreserved_concurrency = 3\ncache_control = \"public, max-age=600\"\n[events]\nprocessed = true\n",
    );
    let edited = s.ok(moto, &["up", "--yes"]);
    let changed: Vec<_> = actions(&edited["plan"])
        .into_iter()
        .filter(|(_, _, a)| a != "unchanged")
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].0, "function");
    let function_changes = edited["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "function")
        .map(|s| s["changes"].clone());
    assert_eq!(
        function_changes,
        Some(serde_json::json!([
            "memory 1024 -> 1536 MB",
            "environment IMGDEPLOY_CACHE_CONTROL"
        ])),
        "{:#}",
        edited["plan"]
    );
    assert_eq!(
        mutated(&edited),
        ["Lambda:UpdateFunctionConfiguration"],
        "one configuration update, nothing else"
    );
    check_resources(&inspect(moto, n), n, 1536);

    // 5. teardown keeps the originals bucket that holds data, removes everything else.
    put_object(moto, &format!("{n}-originals"), "originals/keep.jpg");
    let down = s.ok(moto, &["teardown", "--yes"]);
    assert_eq!(
        down["kept"],
        serde_json::json!([format!("{n}-originals")]),
        "{down:#}"
    );
    assert_eq!(
        found(&inspect(moto, n)),
        [format!("s3:bucket:{n}-originals")]
    );

    // 6. teardown again succeeds; with --delete-data it removes the data too; then it is all gone.
    s.ok(moto, &["teardown", "--yes"]);
    s.ok(moto, &["teardown", "--yes", "--delete-data"]);
    assert_eq!(found(&inspect(moto, n)), Vec::<String>::new());
    let again = s.ok(moto, &["teardown", "--yes"]);
    assert_eq!(again["already_gone"], true, "{again:#}");
}

fn put_object(moto: &Moto, bucket: &str, key: &str) {
    let py = format!(
        "import boto3; boto3.client('s3', endpoint_url='{}', region_name='us-east-1').put_object(Bucket='{bucket}', Key='{key}', Body=b'x')",
        moto.endpoint
    );
    moto.run_python(&py);
}

/// Every resource and property of issue 2, as boto3 reads them.
fn check_resources(r: &Value, n: &str, memory: i64) {
    let buckets = &r["s3"]["buckets"];
    for b in ["originals", "processed", "backup"] {
        let bucket = &buckets[format!("{n}-{b}")];
        assert!(bucket.is_object(), "bucket {b} missing: {r:#}");
        let bpa = &bucket["public_access_block"];
        for k in [
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(bpa[k], true, "{b} {k}");
        }
        assert_eq!(
            bucket["ownership_controls"]["Rules"][0]["ObjectOwnership"], "BucketOwnerEnforced",
            "{b}"
        );
        let sse =
            &bucket["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"];
        assert_eq!(sse, "AES256", "{b}");
        assert_eq!(bucket["tags"]["imgdeploy:stack"], n, "{b}");
        let statements = bucket["policy"]["Statement"]
            .as_array()
            .unwrap_or_else(|| panic!("{b} has no policy"));
        let tls = statements
            .iter()
            .find(|s| s["Sid"] == "DenyRequestsWithoutTls")
            .expect("TLS statement");
        assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
        let cdn = statements
            .iter()
            .find(|s| s["Sid"] == "CloudFrontReadsWhatItServes");
        match b {
            "backup" => assert!(
                cdn.is_none(),
                "the backup bucket must never be readable through the CDN"
            ),
            // `[cdn] serve_originals` is off by default: originals keep their EXIF, GPS included.
            "originals" => assert!(cdn.is_none(), "originals served by default"),
            _ => {
                let cdn = cdn.unwrap_or_else(|| panic!("{b} lacks the CloudFront statement"));
                let source = cdn["Condition"]["StringEquals"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap();
                assert!(source.contains(":distribution/"), "{source}");
                // Only what is served: the variant folders and the manifests (never `_failures/`),
                // the originals' prefix.
                let expect = serde_json::json!([
                    format!("arn:aws:s3:::{n}-processed/thumb/*"),
                    format!("arn:aws:s3:::{n}-processed/web/*"),
                    format!("arn:aws:s3:::{n}-processed/_manifests/*")
                ]);
                assert_eq!(cdn["Resource"], expect, "{b}");
            }
        }
    }
    assert_eq!(buckets[format!("{n}-backup")]["versioning"], "Enabled");
    let notification = &buckets[format!("{n}-originals")]["notification"]["TopicConfigurations"][0];
    // Uploads and deletions (`[source] on_delete` defaults to deleting the variants).
    assert_eq!(
        notification["Events"],
        serde_json::json!(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])
    );
    assert!(notification["TopicArn"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{n}-uploads")));
    let rules = &notification["Filter"]["Key"]["FilterRules"][0];
    assert_eq!(rules["Value"], "originals/");

    let topics = &r["sns"]["topics"];
    let upload = &topics[format!("{n}-uploads")];
    let st = &upload["policy"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"], "s3.amazonaws.com");
    assert_eq!(
        st["Condition"]["ArnLike"]["aws:SourceArn"],
        format!("arn:aws:s3:::{n}-originals")
    );
    assert_eq!(
        st["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
    assert!(topics[format!("{n}-failures")].is_object());
    // `[events] processed`: the apps' topic, the stack's, named in the function's environment and
    // its grant.
    let processed = &topics[format!("{n}-processed")];
    assert_eq!(processed["tags"]["imgdeploy:stack"], n, "{topics:#}");
    let processed_arn = processed["arn"].as_str().unwrap();

    let role = &r["iam"]["roles"][format!("{n}-function")];
    assert_eq!(
        role["trust_policy"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    assert_eq!(role["attached_policies"], serde_json::json!([]));
    let inline = role["inline_policies"].as_object().unwrap();
    assert_eq!(inline.len(), 1, "exactly one inline policy");
    let statements = inline.values().next().unwrap()["Statement"]
        .as_array()
        .unwrap();
    let sids: Vec<&str> = statements
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "ReadUploadsAndTheirTagsUnderThePrefix",
            "ListThePrefixToTellMissingUploadsFromRefusedOnes",
            "WriteVariantsAndFailureReports",
            "ReadVariantsAndReportsToSkipDuplicatesAndOlderRenders",
            "DeleteVariantsOfDeletedOriginalsAndReportsOfFixedOnes",
            "CopyOriginalsWithTheirTagsToBackup",
            "PublishFailureReports",
            "TellAppsWhenAnOriginalIsProcessedOrDeleted",
            "KeepEventsLambdaCouldNotProcessInTheFailureQueue",
            "FanOutABackfillByQueueingChunksOnItself",
            "InvalidateReplacedAndDeletedVariantsOnTheStacksCdn",
            "WriteOwnLogs"
        ]
    );
    // The function may invalidate this stack's distribution only, whose id is in its environment.
    let dist_id = r["lambda"]["functions"][format!("{n}-variants")]["configuration"]["Environment"]
        ["Variables"]["IMGDEPLOY_DISTRIBUTION_ID"]
        .as_str()
        .expect("the distribution id in the function's environment")
        .to_string();
    let invalidate = statements
        .iter()
        .find(|s| s["Sid"] == "InvalidateReplacedAndDeletedVariantsOnTheStacksCdn")
        .unwrap();
    assert_eq!(
        invalidate["Resource"],
        format!("arn:aws:cloudfront::123456789012:distribution/{dist_id}")
    );

    let tell = statements
        .iter()
        .find(|s| s["Sid"] == "TellAppsWhenAnOriginalIsProcessedOrDeleted")
        .unwrap();
    assert_eq!(
        (&tell["Action"], &tell["Resource"]),
        (&json!("sns:Publish"), &json!(processed_arn))
    );

    let f = &r["lambda"]["functions"][format!("{n}-variants")];
    let c = &f["configuration"];
    assert_eq!(
        c["Environment"]["Variables"]["IMGDEPLOY_PROCESSED_TOPIC_ARN"],
        processed_arn
    );
    assert_eq!(c["Runtime"], "provided.al2023");
    assert_eq!(c["Handler"], "bootstrap");
    assert_eq!(c["Architectures"], serde_json::json!(["arm64"]));
    assert_eq!(c["MemorySize"], memory);
    assert_eq!(f["reserved_concurrency"], 3);
    assert!(c["Environment"]["Variables"]["IMGDEPLOY_VARIANTS"]
        .as_str()
        .unwrap()
        .contains("\"thumb\""));
    assert_eq!(f["tags"]["imgdeploy:stack"], n);
    // Failed events are kept: Lambda retries as configured, then sends them to the queue (moto drops
    // DeadLetterConfig: `requests.rs` pins it); SNS sends what it cannot deliver there too.
    let retries = &f["event_invoke_config"];
    assert_eq!(
        (
            &retries["MaximumRetryAttempts"],
            &retries["MaximumEventAgeInSeconds"]
        ),
        (&serde_json::json!(2), &serde_json::json!(21600)),
        "{f:#}"
    );
    let queue = &r["sqs"]["queues"][format!("{n}-failures")];
    assert_eq!(
        queue["attributes"]["MessageRetentionPeriod"], "1209600",
        "{queue:#}"
    );
    assert_eq!(queue["tags"]["imgdeploy:stack"], n);
    let senders: Vec<&Value> = queue["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .map(|s| &s["Principal"])
        .collect();
    assert_eq!(
        senders,
        [
            &serde_json::json!({"AWS": "arn:aws:iam::123456789012:root"}),
            &serde_json::json!({"Service": "sns.amazonaws.com"})
        ]
    );
    // The account's principals, only the function's role among them.
    assert_eq!(
        queue["policy"]["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"],
        format!("arn:aws:iam::123456789012:role/{n}-function")
    );
    let permission = &f["policy"]["Statement"][0];
    assert_eq!(permission["Principal"]["Service"], "sns.amazonaws.com");
    let subs = r["sns"]["subscriptions"].as_array().unwrap();
    let to_function = subs.iter().find(|s| s["protocol"] == "lambda").unwrap();
    let redrive: Value = serde_json::from_str(
        to_function["attributes"]["RedrivePolicy"]
            .as_str()
            .expect("the subscription has a redrive policy"),
    )
    .unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        format!("arn:aws:sqs:us-east-1:123456789012:{n}-failures")
    );
    assert!(subs.iter().any(|s| s["protocol"] == "lambda"
        && s["endpoint"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{n}-variants"))));

    let group = &r["logs"]["log_groups"][format!("/aws/lambda/{n}-variants")];
    assert_eq!(group["retention_days"], 30);
    assert_eq!(group["tags"]["imgdeploy:stack"], n);

    let dists = r["cloudfront"]["distributions"].as_object().unwrap();
    assert_eq!(dists.len(), 1, "exactly one distribution");
    let d = dists.values().next().unwrap();
    let cfg = &d["config"];
    assert_eq!(
        cfg["DefaultCacheBehavior"]["ViewerProtocolPolicy"],
        "redirect-to-https"
    );
    // The processed bucket only: originals are not served by default.
    assert_eq!(cfg["CacheBehaviors"]["Quantity"], 0, "{cfg:#}");
    let origins = cfg["Origins"]["Items"].as_array().unwrap();
    assert_eq!(origins.len(), 1);
    assert!(!origins
        .iter()
        .any(|o| o["DomainName"].as_str().unwrap().contains("-backup")));
    assert_eq!(
        r["cloudfront"]["origin_access_controls"]
            .as_object()
            .unwrap()
            .len(),
        1
    );
}
