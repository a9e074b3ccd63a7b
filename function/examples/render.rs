//! The pure engine as a command line, for benchmarks without the AWS build:
//! `render --config JOB.toml --out DIR [--repeat N] [--json] INPUT...` (same contract as `imgdeploy render`;
//! the config holds `[[variant]]` tables and an optional `[limits]` table). With `--json` the last line
//! also lists the outputs, each with the decoder that ran (`IMGDEPLOY_DECODER=library` forces the
//! library decoders).
use imgdeploy_function::spec::{Limits, VariantSpec};
use imgdeploy_function::{engine, local};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Job {
    #[serde(default)]
    variant: Vec<VariantSpec>,
    #[serde(default)]
    limits: Limits,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("render: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut config, mut out, mut repeat, mut json, mut inputs) =
        (None, None, 1usize, false, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config = args.next(),
            "--out" => out = args.next().map(PathBuf::from),
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--repeat needs a number")?
            }
            "--json" => json = true,
            _ => inputs.push(PathBuf::from(a)),
        }
    }
    let config = config.ok_or("--config is required")?;
    let out = out.ok_or("--out is required")?;
    let text = std::fs::read_to_string(&config).map_err(|e| format!("{config}: {e}"))?;
    let job: Job = toml::from_str(&text).map_err(|e| format!("{config}: {e}"))?;
    if inputs.is_empty() {
        return Err("no INPUT given".into());
    }
    let run = local::render_files(&inputs, &out, &job.variant, &job.limits, repeat)
        .map_err(|e| e.to_string())?;
    if !json {
        for w in &run.written {
            println!("{w}");
        }
    }
    let (ms, cpu_ms) = (run.ms, run.cpu_ms);
    if json {
        // Per output, as `imgdeploy render --json` lists them, with the decoder that ran.
        let outputs: Vec<_> = (run.written.iter())
            .map(|w| {
                serde_json::json!({"path": w.path, "width": w.width, "height": w.height,
                    "bytes": w.bytes, "format": w.format.extension(), "decoder": w.decoder})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"tool": "imgdeploy-engine", "loop": repeat, "ms": ms, "cpu_ms": cpu_ms,
                "threads": rayon_threads(), "peak_rss_mb": engine::peak_rss_mb(), "outputs": outputs})
        );
    }
    Ok(())
}

fn rayon_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}
