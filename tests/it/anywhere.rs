//! imgdeploy as an installed tool (issue 19): `init` and `up` in empty folders outside the repository
//! (the function built from the CLI's embedded source, its zip cached and reused by a second stack),
//! and `logs` against moto's CloudWatch Logs.
use crate::harness::{self, moto, unique_name, Moto};
use crate::stack::last_json;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `imgdeploy <args> --json` in `dir` against moto, with imgdeploy's cache in `cache`.
fn imgdeploy(moto: &Moto, dir: &Path, cache: &Path, args: &[&str]) -> (bool, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd)
        .current_dir(dir)
        .args(args)
        .arg("--json")
        .env("IMGDEPLOY_CACHE", cache)
        // The embedded source's build shares the workspace's target directory: its dependencies are
        // the ones the other tests' `build --quick` compiled, so only the function crate compiles here.
        .env("CARGO_TARGET_DIR", target_dir())
        .env("IMGDEPLOY_VENV", harness::venv_dir());
    let out = cmd.output().expect("run imgdeploy");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = match out.stdout.is_empty() {
        true => Value::Null,
        false => last_json(&out.stdout),
    };
    (out.status.success(), json, stderr)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| {
            if d.is_absolute() {
                d
            } else {
                harness::repo_root().join(d)
            }
        })
        .unwrap_or_else(|| harness::repo_root().join("target"))
}

/// From two empty folders outside the repository: `init` writes a configuration `up --dry-run`
/// accepts and refuses to overwrite it; the first `up --quick` builds the function from the embedded
/// source into the cache; the second stack's `up` reuses that zip without running cargo.
#[test]
fn init_and_up_work_from_any_folder_and_a_second_stack_reuses_the_build() {
    let moto = moto();
    // A cache of its own (not the user's), kept between runs so that the extracted source keeps its
    // path and cargo its fingerprints; its zips are removed, so that the first `up` must build.
    let cache = target_dir().join("it-imgdeploy-cache");
    let _ = std::fs::remove_dir_all(cache.join("artifacts"));
    let first = tempfile::tempdir().unwrap();
    assert!(harness::repo_root().join("Cargo.toml").is_file());
    assert!(
        !first.path().starts_with(harness::repo_root()),
        "the folder must be outside the repository"
    );
    let name = unique_name("anywhere-a");

    let (ok, init, stderr) = imgdeploy(moto, first.path(), &cache, &["init", "--name", &name]);
    assert!(ok, "init failed:\n{stderr}");
    let config = first.path().join("imgdeploy.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("name = \"{name}\"")), "{text}");
    assert!(text.contains("region = \"us-east-1\""), "{text}");
    let states: Vec<&str> = init["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["free", "free", "free"], "{init}");
    assert_eq!(init["unchecked"], Value::Null);

    let (ok, _, stderr) = imgdeploy(
        moto,
        first.path(),
        &cache,
        &["init", "--name", "other-name"],
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        text,
        "init changed an existing file"
    );

    let (ok, planned, stderr) =
        imgdeploy(moto, first.path(), &cache, &["up", "--quick", "--dry-run"]);
    assert!(ok, "up --dry-run of init's file failed:\n{stderr}");
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["function_source"]["kind"], "embedded", "{planned}");
    let id = planned["function_source"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let zip = cache
        .join("artifacts")
        .join(&id)
        .join("arm64-lambda-quick/bootstrap.zip");
    assert!(zip.is_file(), "no cached zip at {}", zip.display());
    assert!(cache
        .join("function-src")
        .join(&id)
        .join("function/src/lib.rs")
        .is_file());

    let (ok, up, stderr) = imgdeploy(moto, first.path(), &cache, &["up", "--quick"]);
    assert!(ok, "up failed:\n{stderr}");
    assert_eq!(up["function_source"]["kind"], "cached", "{up}");
    let built = std::fs::metadata(&zip).unwrap().modified().unwrap();

    let second = tempfile::tempdir().unwrap();
    let other = unique_name("anywhere-b");
    let (ok, _, stderr) = imgdeploy(moto, second.path(), &cache, &["init", "--name", &other]);
    assert!(ok, "{stderr}");
    let started = Instant::now();
    let (ok, up, stderr) = imgdeploy(moto, second.path(), &cache, &["up", "--quick"]);
    assert!(ok, "second stack's up failed:\n{stderr}");
    assert_eq!(up["function_source"]["kind"], "cached", "{up}");
    assert_eq!(up["function_source"]["id"], id.as_str());
    assert_eq!(
        std::fs::metadata(&zip).unwrap().modified().unwrap(),
        built,
        "the zip was rewritten"
    );
    eprintln!(
        "second stack's up with the cached zip: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Both functions run the same code: moto reports the cached zip's digest for each.
    let digests = moto.python_json(&format!(
        "import boto3, json; l = boto3.client('lambda'); \
         print(json.dumps([l.get_function(FunctionName=f)['Configuration']['CodeSha256'] for f in ['{name}-variants', '{other}-variants']]))"
    ));
    assert_eq!(digests[0], digests[1], "{digests}");
    // `status` knows the deployed code for this CLI's.
    let (ok, status, stderr) = imgdeploy(moto, second.path(), &cache, &["status"]);
    assert!(ok, "{stderr}");
    let code = &status["function"]["code_source"];
    assert_eq!(code["kind"], "current", "{code}");
    assert_eq!(code["id"], id.as_str(), "{code}");
    for (dir, _) in [(first.path(), &name), (second.path(), &other)] {
        let (ok, _, stderr) = imgdeploy(moto, dir, &cache, &["teardown", "--yes", "--delete-data"]);
        assert!(ok, "teardown failed:\n{stderr}");
    }
}

/// Writes `events` (milliseconds ago, message) into the stack's log group, as the function would.
fn write_events(moto: &Moto, group: &str, events: &[(u64, String)]) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let events: Vec<Value> = events
        .iter()
        .map(|(ago, message)| serde_json::json!({"timestamp": now - ago, "message": message}))
        .collect();
    let stream = unique_name("stream");
    moto.run_python(&format!(
        "import boto3, json\nl = boto3.client('logs')\n\
         try:\n    l.create_log_group(logGroupName='{group}')\nexcept l.exceptions.ResourceAlreadyExistsException:\n    pass\n\
         l.create_log_stream(logGroupName='{group}', logStreamName='{stream}')\n\
         l.put_log_events(logGroupName='{group}', logStreamName='{stream}', logEvents=json.loads({:?}))",
        serde_json::to_string(&events).unwrap()
    ));
}

fn image_line(key: &str, outcome: &str) -> String {
    match outcome {
        "processed" => serde_json::json!({"level": "INFO", "key": key, "outcome": "processed", "millis": 182.4,
            "variants": "[{\"name\":\"thumb\",\"millis\":12.0},{\"name\":\"web\",\"millis\":80.0}]", "message": "image"}),
        "failed" => serde_json::json!({"level": "WARN", "key": key, "outcome": "failed", "error_kind": "decode",
            "message": "the PNG is truncated"}),
        _ => serde_json::json!({"level": "ERROR", "key": key, "outcome": "retry", "error": "S3 GetObject: 503", "message": "image"}),
    }
    .to_string()
}

/// `logs` renders the function's lines, narrows them with `--key`, `--failures` and `--since` (the
/// key and outcome filters sent as CloudWatch filter patterns: moto ignores those, so the requests are
/// read back), and `--follow` sees an event written after it started and stops cleanly on SIGINT.
#[test]
fn logs_tell_one_uploads_story() {
    let moto = moto();
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("logs");
    std::fs::write(
        dir.path().join("imgdeploy.toml"),
        format!("[stack]\nname = \"{name}\"\n\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n"),
    )
    .unwrap();
    let group = format!("/aws/lambda/{name}-variants");
    write_events(
        moto,
        &group,
        &[
            (3 * 3_600_000, image_line("originals/old.jpg", "processed")),
            (60_000, image_line("originals/a.jpg", "processed")),
            (50_000, image_line("originals/b.png", "failed")),
            (40_000, image_line("originals/a.jpg", "retry")),
            (30_000, "REPORT RequestId: 1 Duration: 190.0 ms".to_string()),
        ],
    );
    let cache = tempfile::tempdir().unwrap();
    let record = dir.path().join("requests.jsonl");
    let logs = |args: &[&str]| -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
        moto.configure(&mut cmd)
            .current_dir(dir.path())
            .arg("logs")
            .args(args)
            .env("IMGDEPLOY_CACHE", cache.path())
            .env("IMGDEPLOY_RECORD_REQUESTS", &record);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "logs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let outcomes = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| {
                l.split_whitespace()
                    .skip(2)
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };

    let all = logs(&[]);
    assert_eq!(
        outcomes(&all),
        [
            "processed originals/a.jpg",
            "failed originals/b.png",
            "retry originals/a.jpg"
        ],
        "{all}"
    );
    assert!(
        all.lines()
            .next()
            .unwrap()
            .ends_with("originals/a.jpg  thumb,web  182 ms"),
        "{all}"
    );
    assert_eq!(outcomes(&logs(&["--since", "4h"])).len(), 4);
    assert_eq!(
        outcomes(&logs(&["--key", "a.jpg"])),
        ["processed originals/a.jpg", "retry originals/a.jpg"]
    );
    assert_eq!(
        outcomes(&logs(&["--failures"])),
        ["failed originals/b.png", "retry originals/a.jpg"]
    );
    let json = logs(&["--json", "--key", "originals/b.png"]);
    let lines: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{json}");
    assert_eq!(lines[0]["error_kind"], "decode");

    let patterns: Vec<Value> = std::fs::read_to_string(&record)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|c| c["operation"] == "FilterLogEvents")
        .map(|c| {
            serde_json::from_str::<Value>(c["body"].as_str().unwrap()).unwrap()["filterPattern"]
                .clone()
        })
        .collect();
    assert_eq!(
        patterns,
        [
            Value::Null,
            Value::Null,
            Value::from(r#"{ $.key = "originals/a.jpg" }"#),
            Value::from(r#"{ ($.outcome = "failed" || $.outcome = "retry") }"#),
            Value::from(r#"{ $.key = "originals/b.png" }"#),
        ]
    );

    // --follow: the existing lines, then one written later, then a clean stop on SIGINT.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd)
        .current_dir(dir.path())
        .args(["logs", "--follow", "--key", "c.jpg"])
        .env("IMGDEPLOY_CACHE", cache.path())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::sleep(Duration::from_secs(3));
    write_events(
        moto,
        &group,
        &[(0, image_line("originals/c.jpg", "processed"))],
    );
    let mut line = String::new();
    let reader = std::thread::spawn(move || {
        stdout.read_line(&mut line).unwrap();
        line
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reader.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        reader.is_finished(),
        "--follow did not show the new event within 30 s"
    );
    let line = reader.join().unwrap();
    assert!(line.contains("processed  originals/c.jpg"), "{line}");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "--follow did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "--follow ended with {exit} on SIGINT");
}
