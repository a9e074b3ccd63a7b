//! Every hostile file of `../shared/badinputs/` must end in `Ok` or a typed error: no panic, no abort,
//! under 2 s and under 300 MB of RSS. Each file runs in a child process (this test binary, re-entered
//! through `child_renders_one_file`), so that an abort is caught and the peak RSS measured by wait4 is real.
mod engine_common;
use imgdeploy_function::engine;
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ENV_FILE: &str = "IMGDEPLOY_BADINPUT_FILE";
const MAX_SECONDS: f64 = 2.0;
const MAX_RSS_MB: f64 = 300.0;

fn corpus() -> Option<PathBuf> {
    engine_common::shared("badinputs")
}

fn variants() -> Vec<VariantSpec> {
    serde_json::from_str(
        r#"[{"name":"800x600","width":800,"height":600,"fit":"cover","format":"jpeg"},
            {"name":"thumb","width":200,"height":200,"fit":"inside","format":"png"},
            {"name":"web","width":300,"fit":"contain","format":"webp"}]"#,
    )
    .unwrap()
}

/// The child side: renders the file named by the environment and prints one verdict line.
#[test]
fn child_renders_one_file() {
    let Ok(file) = std::env::var(ENV_FILE) else {
        return;
    };
    let bytes = std::fs::read(&file).unwrap();
    let limits = Limits {
        max_input_pixels: 100_000_000,
        max_input_bytes: 64 << 20,
    };
    match engine::render(&bytes, &variants(), &limits) {
        Ok(v) => println!("VERDICT ok {}", v.len()),
        Err(e) => println!("VERDICT err {} {}", e.kind(), e),
    }
}

struct Outcome {
    verdict: String,
    seconds: f64,
    rss_mb: f64,
    status: i32,
}

// The child is reaped with wait4 (for its rusage), not Child::wait.
#[allow(clippy::zombie_processes)]
fn run_child(file: &Path) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let child = std::process::Command::new(exe)
        .args([
            "--exact",
            "child_renders_one_file",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(ENV_FILE, file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let t0 = Instant::now();
    let (mut status, mut ru): (libc::c_int, libc::rusage) = (0, unsafe { std::mem::zeroed() });
    loop {
        // SAFETY: wait4 on our own child, writing into locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if r == pid {
            break;
        }
        if t0.elapsed() > Duration::from_secs(20) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let seconds = t0.elapsed().as_secs_f64();
    let mut out = String::new();
    use std::io::Read;
    child.stdout.unwrap().read_to_string(&mut out).ok();
    let mut err = String::new();
    child.stderr.unwrap().read_to_string(&mut err).ok();
    let verdict = out
        .lines()
        .find_map(|l| l.split_once("VERDICT ").map(|(_, v)| v.to_string()))
        .unwrap_or_else(|| {
            format!(
                "NO VERDICT (status {status}) {}",
                err.lines().last().unwrap_or("")
            )
        });
    Outcome {
        verdict,
        seconds,
        rss_mb: ru.ru_maxrss as f64 / 1024.0,
        status,
    }
}

/// What the manifest's files must give, where the reason is certain.
fn expected_kind(name: &str) -> Option<&'static str> {
    Some(match name {
        "zero_bytes.jpg" | "zero_bytes.png" => "empty",
        n if n.ends_with(".heic") || n == "heic_named.jpg" => "unsupported_format",
        n if n.ends_with(".avif")
            || n.ends_with(".svg")
            || n.ends_with(".bmp")
            || n.ends_with(".tif") =>
        {
            "unsupported_format"
        }
        "html_named.png" | "text_named.jpg" | "pngsuite_xs1n0g01.png" => "unsupported_format",
        "png_bomb_gray8_16000x16000.png"
        | "png_ihdr_50000x50000_rgba8.png"
        | "sharp_65536-uint32-limit.png" => "too_many_pixels",
        "webp_bomb_lossless_16383x16383.webp" => "too_many_pixels",
        "truncated_30pct_baseline.jpg" | "truncated_30pct_lossless.webp" => "corrupt",
        _ => return None,
    })
}

#[test]
fn every_bad_input_ends_in_a_typed_result_quickly_and_small() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "MANIFEST.txt"))
        .collect();
    files.sort();
    assert!(
        files.len() > 40,
        "only {} files in {}",
        files.len(),
        dir.display()
    );
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let o = run_child(f);
        println!(
            "{name:50} {:6.3}s {:6.1}MB {}",
            o.seconds,
            o.rss_mb,
            o.verdict.chars().take(110).collect::<String>()
        );
        let typed = o.verdict.starts_with("ok ") || o.verdict.starts_with("err ");
        if o.status != 0 || !typed {
            failures.push(format!("{name}: no typed result ({})", o.verdict));
        }
        if o.seconds > MAX_SECONDS {
            failures.push(format!("{name}: took {:.2} s", o.seconds));
        }
        if o.rss_mb > MAX_RSS_MB {
            failures.push(format!("{name}: peak RSS {:.0} MB", o.rss_mb));
        }
        if let Some(kind) = expected_kind(&name) {
            if !o.verdict.starts_with(&format!("err {kind} ")) {
                failures.push(format!("{name}: expected {kind}, got {}", o.verdict));
            }
        }
        if o.verdict.starts_with("err internal") {
            failures.push(format!(
                "{name}: internal error is not a verdict on the input: {}",
                o.verdict
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} bad inputs misbehaved:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
