//! `imgdeploy render`: the function's engine on local files, without AWS. Writes every variant of every
//! input, and with `--repeat N --json` measures a warm loop (the contract of `shared/bench/compare.py`).
use anyhow::{Context, Result};
use imgdeploy_function::engine;
use imgdeploy_function::spec::{Limits, VariantSpec};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct RenderArgs {
    /// Output directory: `DIR/<variant>.<ext>`, or `DIR/<input stem>/<variant>.<ext>` for several inputs.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Process each input N times in one process (a warm Lambda); with `--json` the last stdout line
    /// lists the wall ("ms") and CPU ("cpu_ms") milliseconds of every iteration.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: usize,
    /// Images to render (the format is sniffed from the bytes).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Renders every input; `json` is the global `--json` flag (compare.py's contract: the last stdout
/// line is one JSON object with per-iteration "ms" and "cpu_ms").
pub fn run_json(
    variants: &[VariantSpec],
    limits: &Limits,
    args: &RenderArgs,
    json: bool,
) -> Result<()> {
    anyhow::ensure!(
        !variants.is_empty(),
        "the configuration defines no variants"
    );
    let (mut ms, mut cpu_ms) = (Vec::new(), Vec::new());
    let mut outputs = Vec::new();
    for iteration in 0..args.repeat.max(1) {
        let (t0, c0) = (Instant::now(), engine::process_cpu_ms());
        for input in &args.inputs {
            let dir = if args.inputs.len() > 1 {
                args.out.join(stem(input))
            } else {
                args.out.clone()
            };
            let bytes =
                std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
            let rendered = engine::render(&bytes, variants, limits).map_err(|e| {
                anyhow::anyhow!("{} cannot be rendered: {e} [{}]", input.display(), e.kind())
            })?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for r in rendered {
                let path = dir.join(format!("{}.{}", r.name, r.format.extension()));
                std::fs::write(&path, &r.bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                if iteration == 0 {
                    if !json {
                        println!(
                            "{}  {}x{}  {} bytes  {:.1} ms",
                            path.display(),
                            r.width,
                            r.height,
                            r.bytes.len(),
                            r.millis
                        );
                    }
                    outputs.push(
                        serde_json::json!({"path": path, "width": r.width, "height": r.height,
                        "bytes": r.bytes.len(), "format": r.format.extension()}),
                    );
                }
            }
        }
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        cpu_ms.push(engine::process_cpu_ms() - c0);
    }
    if json {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let doc = serde_json::json!({"tool": "imgdeploy", "version": env!("CARGO_PKG_VERSION"), "loop": args.repeat.max(1),
            "ms": ms, "cpu_ms": cpu_ms, "threads": threads, "peak_rss_mb": engine::peak_rss_mb(), "outputs": outputs});
        // One line: compare.py reads the last stdout line.
        println!("{doc}");
    } else if args.repeat > 1 {
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!(
            "median per iteration: {:.1} ms wall, {:.1} ms CPU",
            median(&mut ms),
            median(&mut cpu_ms)
        );
    }
    Ok(())
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into())
}
