//! `imgdeploy render`: the function's engine on local files, without AWS. Writes every variant of every
//! input, and with `--repeat N --json` measures a warm loop (the contract of `shared/bench/compare.py`).
use crate::cli::RenderArgs;
use anyhow::Result;
use imgdeploy_function::spec::{Limits, VariantSpec};
use imgdeploy_function::{engine, local};

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
    let run = local::render_files(&args.inputs, &args.out, variants, limits, args.repeat)?;
    let (mut ms, mut cpu_ms) = (run.ms, run.cpu_ms);
    let mut outputs = Vec::new();
    for w in &run.written {
        if !json {
            println!("{w}");
        }
        outputs.push(
            serde_json::json!({"path": w.path, "width": w.width, "height": w.height,
            "bytes": w.bytes, "format": w.format.extension()}),
        );
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
