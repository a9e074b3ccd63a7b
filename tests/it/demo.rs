//! The demo (issue 6), run as a newcomer runs it: `scripts/demo.sh` from the repository, which starts its
//! own moto, deploys with the real `imgdeploy up`, uploads the sample photos and processes them. Then
//! an independent check: every sample photo has every variant in the processed bucket, with the right
//! dimensions, and the contact sheet loads every image in headless Chromium (DOM marker + screenshot).
use crate::harness;
use crate::stack::lambda_zip;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Stops the demo's moto (the detached shell whose child it is) when the test ends, pass or fail.
struct StopMoto(Option<String>);

impl Drop for StopMoto {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = Command::new("kill").arg(&pid).status();
        }
    }
}

fn moto_env(out: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(out.join("moto.env")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The variant's expected size for an original of `w` x `h` (examples/imgdeploy.toml).
fn expected(variant: &str, w: u32, h: u32) -> (u32, u32) {
    match variant {
        "thumb" => (200, 200),
        "card" => (400, 300),
        "web" => {
            let width = w.min(1200);
            (width, (h as f64 * width as f64 / w as f64).round() as u32)
        }
        other => panic!("unexpected variant {other}"),
    }
}

#[test]
fn demo_processes_every_sample_photo_and_the_contact_sheet_loads() {
    let root = harness::venv::repo_root();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().to_path_buf();
    let mut demo = Command::new("bash");
    demo.arg(root.join("scripts/demo.sh"))
        .current_dir(&root)
        .env("IMGDEPLOY_DEMO_OUT", &out)
        .env("IMGDEPLOY_DEMO_FRESH", "1")
        // The binary under test and the function zip the tests build once (what `up` would build).
        .env("IMGDEPLOY_BIN", env!("CARGO_BIN_EXE_imgdeploy"))
        .env("IMGDEPLOY_ARTIFACT", lambda_zip());
    let started = std::time::Instant::now();
    let run = demo.output().expect("run scripts/demo.sh");
    let _stop = StopMoto(moto_env(&out).get("MOTO_PID").cloned());
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the demo failed:\n{stdout}\n{stderr}");
    eprintln!(
        "demo ran in {:.0} s; its output:\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    for step in 1..=9 {
        assert!(
            stdout.contains(&format!("[{step}/9]")),
            "step {step} missing:\n{stdout}"
        );
    }
    assert!(stdout.contains("teardown --yes --delete-data"), "{stdout}");
    assert!(
        stdout.contains(&format!("file://{}/index.html", out.display())),
        "{stdout}"
    );

    let endpoint = moto_env(&out)["MOTO_ENDPOINT"].clone();
    check_variants(&root, &endpoint);
    check_contact_sheet(&out);
}

/// Every photo of examples/photos has every variant in the processed bucket, with the right size.
fn check_variants(root: &Path, endpoint: &str) {
    let photos: Vec<PathBuf> = std::fs::read_dir(root.join("examples/photos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    assert_eq!(photos.len(), 4, "{photos:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sdk = imgdeploy_function::https::sdk_defaults()
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "demo", "demo", None, None, "demo",
            ))
            .load()
            .await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        for photo in &photos {
            let original = image::open(photo).unwrap();
            let (w, h) = (original.width(), original.height());
            let stem = photo.file_stem().unwrap().to_str().unwrap();
            for (variant, ext, content_type) in [
                ("thumb", "webp", "image/webp"),
                ("card", "jpg", "image/jpeg"),
                ("web", "webp", "image/webp"),
            ] {
                let key = format!("{variant}/{stem}.{ext}");
                let got = s3
                    .get_object()
                    .bucket("imgdeploy-demo-processed")
                    .key(&key)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{key} missing: {e:?}"));
                assert_eq!(got.content_type(), Some(content_type), "{key}");
                let bytes = got.body.collect().await.unwrap().into_bytes();
                let img = image::load_from_memory(&bytes)
                    .unwrap_or_else(|e| panic!("{key} does not decode: {e}"));
                let (ew, eh) = expected(variant, w, h);
                let (gw, gh) = (img.width(), img.height());
                assert!(
                    gw == ew && gh.abs_diff(eh) <= 1,
                    "{key}: {gw}x{gh}, expected {ew}x{eh} (original {w}x{h})"
                );
            }
            let backup = s3
                .head_object()
                .bucket("imgdeploy-demo-backup")
                .key(format!("originals/{stem}.jpg"))
                .send()
                .await;
            assert!(backup.is_ok(), "{stem}: no backup copy");
        }
    });
}

/// Headless Chromium loads the contact sheet from file://; the page's own check (every `<img>` complete
/// with a natural width) must report all 16 images, and the screenshot must be a real picture.
fn check_contact_sheet(out: &Path) {
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert_eq!(
        html.matches("<img ").count(),
        16,
        "4 originals + 12 variants"
    );
    let profile = tempfile::tempdir().unwrap();
    let chromium = |extra: &[&str]| {
        let output = Command::new("/usr/bin/chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--allow-file-access-from-files",
                "--virtual-time-budget=10000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}/index.html", out.display()))
            .output()
            .expect("run /usr/bin/chromium (scripts/setup.sh installs it)");
        assert!(
            output.status.success(),
            "chromium failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let dom = chromium(&["--dump-dom"]);
    assert!(
        dom.contains(r#"data-images="all-loaded""#),
        "broken images in the contact sheet:\n{}",
        status_line(&dom)
    );
    assert!(dom.contains(r#"data-loaded="16""#), "{}", status_line(&dom));

    let shot = out.join("contact-sheet.png");
    chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1400,1700",
        "--hide-scrollbars",
    ]);
    let png = image::open(&shot).expect("the screenshot is a PNG");
    assert_eq!((png.width(), png.height()), (1400, 1700));
    // A page of pictures is colourful: far from one flat background colour.
    let rgb = png.to_rgb8();
    let distinct: std::collections::HashSet<[u8; 3]> =
        rgb.pixels().step_by(97).map(|p| p.0).collect();
    assert!(
        distinct.len() > 2000,
        "the screenshot looks empty ({} colours)",
        distinct.len()
    );
    let keep = option_env!("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let kept = keep.join("demo-contact-sheet.png");
    std::fs::copy(&shot, &kept).unwrap();
    eprintln!("contact sheet screenshot: {}", kept.display());
}

fn status_line(dom: &str) -> &str {
    dom.find("id=\"status\"")
        .map(|i| &dom[i..(i + 600).min(dom.len())])
        .unwrap_or(dom)
}
