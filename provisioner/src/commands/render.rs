//! `imgdeploy render`: the function's engine on local files, without AWS. Writes every variant of every
//! input, and with `--repeat N --json` measures a warm loop (the contract of `shared/bench/compare.py`:
//! the last stdout line is one JSON object with per-iteration "ms" and "cpu_ms").
use crate::cli::RenderArgs;
use anyhow::Result;
use imgdeploy_function::engine;
use imgdeploy_function::local::{self, Written};
use imgdeploy_function::spec::{Limits, VariantSpec};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

pub fn run(variants: &[VariantSpec], limits: &Limits, args: &RenderArgs) -> Result<RenderResult> {
    anyhow::ensure!(
        !variants.is_empty(),
        "the configuration defines no variants"
    );
    let run = local::render_files(&args.inputs, &args.out, variants, limits, args.repeat)?;
    Ok(RenderResult {
        tool: "imgdeploy",
        version: env!("CARGO_PKG_VERSION"),
        iterations: args.repeat.max(1),
        ms: run.ms,
        cpu_ms: run.cpu_ms,
        threads: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        peak_rss_mb: engine::peak_rss_mb(),
        outputs: run.written.iter().map(Output::of).collect(),
        written: run.written,
    })
}

/// What `render` wrote and how long each iteration took.
#[derive(Debug, Serialize)]
pub struct RenderResult {
    pub tool: &'static str,
    pub version: &'static str,
    #[serde(rename = "loop")]
    pub iterations: usize,
    /// Wall milliseconds of each iteration (all inputs).
    pub ms: Vec<f64>,
    /// CPU milliseconds (user + system) of each iteration.
    pub cpu_ms: Vec<f64>,
    pub threads: usize,
    pub peak_rss_mb: f64,
    pub outputs: Vec<Output>,
    #[serde(skip)]
    pub written: Vec<Written>,
}

#[derive(Debug, Serialize)]
pub struct Output {
    pub path: PathBuf,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    pub format: &'static str,
    /// Which decoder read the input: "dct-parallel", "libjpeg-turbo", "png-pipe", "png-crate",
    /// "image" (`IMGDEPLOY_DECODER=library` forces the libraries).
    pub decoder: imgdeploy_function::engine::Decoder,
}

impl Output {
    fn of(w: &Written) -> Output {
        Output {
            path: w.path.clone(),
            width: w.width,
            height: w.height,
            bytes: w.bytes,
            format: w.format.extension(),
            decoder: w.decoder,
        }
    }
}

impl RenderResult {
    /// `--json`: one line, since compare.py reads the last stdout line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("json")
    }
}

impl fmt::Display for RenderResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for w in &self.written {
            writeln!(f, "{w}")?;
        }
        if self.iterations > 1 {
            let median = |v: &[f64]| {
                let mut v = v.to_vec();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            writeln!(
                f,
                "median per iteration: {:.1} ms wall, {:.1} ms CPU",
                median(&self.ms),
                median(&self.cpu_ms)
            )?;
        }
        Ok(())
    }
}
