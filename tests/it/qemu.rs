//! The arm64 `bootstrap` that `imgdeploy build` ships, run under qemu-aarch64 as Lambda would run it: fed
//! one S3-notification-in-SNS event by the harness's Runtime API, reading and writing moto's S3. This
//! proves the artifact runs on an aarch64 glibc system, not only that it builds.
use crate::function::fixture::{fixture, photo, Fixture};
use crate::harness::{moto_s3_iam as moto, run_bootstrap, RuntimeOutcome};
use crate::stack::lambda_zip;
use imgdeploy_function::handler::sns_s3_event;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

/// The `bootstrap` entry of the zip, written to a temp dir with its mode.
fn unzip_bootstrap(dir: &std::path::Path) -> std::path::PathBuf {
    let file = std::fs::File::open(lambda_zip()).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut entry = zip.by_name("bootstrap").expect("bootstrap at the zip root");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    let path = dir.join("bootstrap");
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs the zip's `bootstrap` under qemu-aarch64 on `event`, signed as the function's role (exactly its
/// policy, on the server that enforces it for S3), with the function's environment. Returns the
/// invocation's answer and the bootstrap's init time.
async fn run_under_qemu(
    f: &Fixture,
    event: serde_json::Value,
) -> (serde_json::Value, Option<Duration>) {
    let dir = tempfile::tempdir().unwrap();
    let bootstrap = unzip_bootstrap(dir.path());
    let mut cmd = Command::new("qemu-aarch64");
    cmd.args(["-L", "/usr/aarch64-linux-gnu"]).arg(&bootstrap);
    moto().configure(&mut cmd);
    cmd.env("AWS_ACCESS_KEY_ID", &f.function_keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &f.function_keys.1);
    cmd.envs(f.settings.to_env())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1");
    let run = run_bootstrap(cmd, event, Duration::from_secs(120))
        .await
        .expect(
            "qemu-aarch64 runs the bootstrap (Debian packages qemu-user and libc6-arm64-cross)",
        );
    let RuntimeOutcome::Response(summary) = run.outcome() else {
        panic!(
            "{:?}\nstdout:\n{}\nstderr:\n{}",
            run.outcomes, run.stdout, run.stderr
        )
    };
    (summary.clone(), run.init)
}

#[tokio::test]
async fn arm64_bootstrap_runs_under_qemu_and_writes_the_variants() {
    let f = fixture("qemu").await;
    let key = "originals/from arm64.jpg";
    let etag = f.upload(key, photo(640, 480)).await;
    let (summary, init) = run_under_qemu(&f, sns_s3_event(&f.source, &[key])).await;
    assert_eq!(summary["processed"], 1, "{summary:#}");
    f.assert_variants(key, &etag).await;
    eprintln!("arm64 bootstrap under qemu: init {init:?}");
}

/// AVIF on arm64: libaom, cross-compiled by zig through CMake, encodes in the Lambda's binary. The
/// fixture's "web" variant (a folder the role may write) is switched to AVIF for this run.
#[tokio::test]
async fn arm64_bootstrap_encodes_avif() {
    let mut f = fixture("qemu-avif").await;
    f.settings.variants[1].format = imgdeploy_function::spec::Format::Avif;
    let key = "originals/avif on arm64.jpg";
    f.upload(key, photo(640, 480)).await;
    let (summary, _) = run_under_qemu(&f, sns_s3_event(&f.source, &[key])).await;
    assert_eq!(summary["processed"], 1, "{summary:#}");
    let avif = f
        .get(&f.processed, "web/avif on arm64.avif")
        .await
        .expect("the AVIF variant");
    assert_eq!(avif.content_type.as_deref(), Some("image/avif"));
    assert_eq!(&avif.bytes[4..12], b"ftypavif");
    // Read back by libavif's own tool (dav1d decodes): the variant's 320 x 240.
    let dir = tempfile::tempdir().unwrap();
    let (file, png) = (dir.path().join("v.avif"), dir.path().join("v.png"));
    std::fs::write(&file, &avif.bytes).unwrap();
    let run = Command::new("avifdec")
        .arg(&file)
        .arg(&png)
        .output()
        .expect("avifdec (Debian's libavif-bin) runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let decoded = image::open(&png).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 240));
}

/// A backfill chunk, as the fan-out queues it, run by the arm64 `bootstrap` under qemu as the
/// function's role: the variants, and the chunk's record that `backfill --wait` counts.
#[tokio::test]
async fn arm64_bootstrap_runs_a_backfill_chunk_and_records_it() {
    let f = fixture("qemu-chunk").await;
    let key = "originals/chunked.jpg";
    let etag = f.upload(key, photo(320, 240)).await;
    let chunk = serde_json::json!({
        "bucket": f.source,
        "keys": [key],
        "backfill": {"id": "q1", "chunk": 7}
    });
    let (summary, _) = run_under_qemu(&f, chunk).await;
    assert_eq!(summary["processed"], 1, "{summary:#}");
    f.assert_variants(key, &etag).await;
    let record = f
        .get(&f.processed, "_backfill/q1/chunks/00000007.json")
        .await
        .expect("the chunk's record");
    let record: serde_json::Value = serde_json::from_slice(&record.bytes).unwrap();
    assert_eq!(
        (record["keys"].as_u64(), record["processed"].as_u64()),
        (Some(1), Some(1)),
        "{record:#}"
    );
}
