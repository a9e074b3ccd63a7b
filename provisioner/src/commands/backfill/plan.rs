//! The backfill's plan: how many originals, how many miss a variant, which engine, how many
//! invocations, and what it should cost, itemised, at us-east-1 list prices. The model's inputs are
//! named constants here; `docs/backfill.md` derives them and compares the result with the articles.
use crate::artifact::Arch;
use crate::config::Config;
use crate::output::size;
use anyhow::{bail, Result};
use serde::Serialize;
use std::fmt;
use std::io::{BufRead, IsTerminal, Write};

/// S3 list prices (us-east-1, per request): GET-class (GET, HEAD) and PUT-class (PUT, COPY, LIST).
const S3_GET_USD: f64 = 0.0004 / 1000.0;
const S3_PUT_USD: f64 = 0.005 / 1000.0;
/// Lambda: per request, and per GB-second on each architecture.
const LAMBDA_REQUEST_USD: f64 = 0.20 / 1_000_000.0;
const LAMBDA_GB_S_ARM64: f64 = 0.000_013_333_4;
const LAMBDA_GB_S_X86: f64 = 0.000_016_666_7;
/// The model of one original's work on Lambda, per record: the engine's CPU for the three variants
/// of a 12 MP photo (~0.1 s, docs/benchmarks.md) scaled by its size, plus the S3 round trips.
const ENGINE_S_PER_MB: f64 = 0.025;
const S3_S_PER_ORIGINAL: f64 = 0.15;
/// A chunk is sized to finish in this share of the function's timeout.
const CHUNK_SHARE_OF_TIMEOUT: f64 = 0.25;

/// Which engine runs the backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The deployed function lists the originals and invokes itself once per chunk.
    Lambda,
    /// S3 Batch Operations invokes the function once per original of a manifest.
    Batch,
    /// This process runs the handler on this machine's cores.
    Local,
}

/// Above this many originals the default engine is S3 Batch Operations.
pub const BATCH_ABOVE: usize = 1_000_000;
/// S3 Batch Operations: per job, and per object processed.
const BATCH_JOB_USD: f64 = 0.25;
const BATCH_TASK_USD: f64 = 1.00 / 1_000_000.0;

impl Engine {
    fn describe(self) -> &'static str {
        match self {
            Engine::Lambda => "lambda, the function's fan-out",
            Engine::Batch => "batch, S3 Batch Operations",
            Engine::Local => "local, this machine",
        }
    }
}

/// What the backfill will do, and what it should cost.
#[derive(Debug, Serialize)]
pub struct BackfillPlan {
    pub stack: String,
    pub engine: Engine,
    /// The prefixes listed in the originals bucket.
    pub prefixes: Vec<String>,
    pub originals: usize,
    pub original_bytes: u64,
    /// Originals with at least one variant missing (known from listing; a variant made with other
    /// settings is found by the function's own check).
    pub to_process: usize,
    pub missing_variants: usize,
    /// Keys per chunk invocation (the fan-out); 1 for the local engine.
    pub chunk_size: usize,
    pub invocations: usize,
    pub estimated_cost_usd: f64,
    pub cost: Vec<CostItem>,
}

#[derive(Debug, Serialize)]
pub struct CostItem {
    pub item: &'static str,
    pub requests: u64,
    pub usd: f64,
}

/// What listing found.
pub struct Survey {
    pub prefixes: Vec<String>,
    /// (key, size) of each original.
    pub originals: Vec<(String, u64)>,
    pub to_process: usize,
    pub missing_variants: usize,
}

/// Seconds of one record on Lambda, in the model.
fn seconds_per_original(average_bytes: f64) -> f64 {
    S3_S_PER_ORIGINAL + ENGINE_S_PER_MB * average_bytes / 1e6
}

/// Keys per chunk: at most enough work for [`CHUNK_SHARE_OF_TIMEOUT`] of the timeout on the
/// function's vCPUs (Lambda gives one vCPU per 1,769 MB), and no more than spreads `originals` over
/// the function's reserved concurrency: a small batch runs on every instance it may have, a large one
/// in chunks that finish well inside the timeout.
pub fn chunk_size(config: &Config, originals: usize, average_bytes: f64) -> usize {
    let f = &config.function;
    let vcpus = (f.memory_mb as f64 / 1769.0).max(1.0);
    let budget = f.timeout_s as f64 * CHUNK_SHARE_OF_TIMEOUT * vcpus;
    let by_time = (budget / seconds_per_original(average_bytes)).floor() as usize;
    let concurrency = f
        .reserved_concurrency
        .unwrap_or(crate::resources::function::concurrency::DEFAULT_CAP)
        .max(1) as usize;
    let by_spread = originals.div_ceil(concurrency);
    by_time.min(by_spread).clamp(
        1,
        imgdeploy_function::handler::batch::fanout::MAX_CHUNK_KEYS,
    )
}

pub fn plan(stack: &str, config: &Config, engine: Engine, survey: &Survey) -> BackfillPlan {
    let n = survey.originals.len() as u64;
    let to_process = survey.to_process as u64;
    let bytes: u64 = survey.originals.iter().map(|(_, s)| s).sum();
    let average = if n == 0 { 0.0 } else { bytes as f64 / n as f64 };
    let variants = config.variants.len() as u64;
    let backups = if config.backup.enabled { to_process } else { 0 };
    // Each original: a HEAD, a HEAD per variant and of its manifest; each one with work: a GET, the
    // missing variants' PUTs, the manifest's PUT and the backup COPY. Deleting a cleared failure
    // report is free.
    let reads = n * (2 + variants) + to_process;
    let writes = survey.missing_variants as u64 + to_process + backups;
    // Listing pages: the originals, each variant's folder and the manifests, by this process; the
    // orchestrator lists the originals again.
    let pages = n.div_ceil(1000).max(survey.prefixes.len() as u64);
    let lists = pages * (2 + variants) + if engine == Engine::Lambda { pages } else { 0 };
    let mut cost = vec![
        CostItem {
            item: "S3 LIST",
            requests: lists,
            usd: lists as f64 * S3_PUT_USD,
        },
        CostItem {
            item: "S3 HEAD and GET",
            requests: reads,
            usd: reads as f64 * S3_GET_USD,
        },
        CostItem {
            item: "S3 PUT and COPY",
            requests: writes,
            usd: writes as f64 * S3_PUT_USD,
        },
    ];
    let (chunk, invocations) = match engine {
        Engine::Local | Engine::Batch => (1, survey.originals.len()),
        Engine::Lambda => {
            let chunk = chunk_size(config, survey.originals.len(), average);
            // One per chunk, plus the orchestration.
            (chunk, survey.originals.len().div_ceil(chunk) + 1)
        }
    };
    if engine == Engine::Batch {
        cost.push(CostItem {
            item: "Batch Operations",
            requests: n,
            usd: BATCH_JOB_USD + n as f64 * BATCH_TASK_USD,
        });
    }
    if engine != Engine::Local {
        let f = &config.function;
        let gb_s_price = match f.architecture {
            Arch::Arm64 => LAMBDA_GB_S_ARM64,
            Arch::X86_64 => LAMBDA_GB_S_X86,
        };
        // Originals already done cost their HEADs only (counted in the S3 round trips).
        let seconds = to_process as f64 * seconds_per_original(average)
            + (n - to_process) as f64 * S3_S_PER_ORIGINAL / 2.0;
        let gb_s = seconds * f.memory_mb as f64 / 1024.0;
        cost.push(CostItem {
            item: "Lambda requests",
            requests: invocations as u64,
            usd: invocations as f64 * LAMBDA_REQUEST_USD,
        });
        cost.push(CostItem {
            item: "Lambda compute",
            requests: gb_s.ceil() as u64,
            usd: gb_s * gb_s_price,
        });
    }
    BackfillPlan {
        stack: stack.to_string(),
        engine,
        prefixes: survey.prefixes.clone(),
        originals: survey.originals.len(),
        original_bytes: bytes,
        to_process: survey.to_process,
        missing_variants: survey.missing_variants,
        chunk_size: chunk,
        invocations,
        estimated_cost_usd: cost.iter().map(|c| c.usd).sum(),
        cost,
    }
}

pub fn confirm(plan: &BackfillPlan, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "no terminal to confirm the backfill of {} original(s) on\n  fix: add --yes",
            plan.originals
        );
    }
    eprint!("Backfill {} original(s)? [y/N] ", plan.originals);
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        bail!("not confirmed: nothing was processed");
    }
    Ok(())
}

impl fmt::Display for BackfillPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Backfill of stack {} (engine: {})",
            self.stack,
            self.engine.describe()
        )?;
        writeln!(
            f,
            "  originals under {}: {} ({})",
            self.prefixes.join(", "),
            self.originals,
            size(self.original_bytes)
        )?;
        writeln!(
            f,
            "  need work: {} ({} variant(s) missing); the function checks the other {} and skips what is done",
            self.to_process,
            self.missing_variants,
            self.originals - self.to_process
        )?;
        match self.engine {
            Engine::Local => writeln!(f, "  invocations: {} (in this process)", self.invocations)?,
            Engine::Batch => writeln!(
                f,
                "  invocations: {} (one per original, by S3 Batch Operations)",
                self.invocations
            )?,
            Engine::Lambda => writeln!(
                f,
                "  invocations: {} (one orchestration, then one per {} originals, queued by the function)",
                self.invocations, self.chunk_size
            )?,
        }
        writeln!(f, "  estimated cost: {}", usd(self.estimated_cost_usd))?;
        for c in &self.cost {
            let cost = usd(c.usd);
            let unit = if c.item == "Lambda compute" {
                "GB-s"
            } else {
                "requests"
            };
            writeln!(f, "    {:<16} {:>8} {unit:<8}  {cost}", c.item, c.requests)?;
        }
        Ok(())
    }
}

/// Dollars: cents for real bills, six decimals for small ones.
pub fn usd(amount: f64) -> String {
    if amount < 0.01 {
        format!("${amount:.6}")
    } else {
        format!("${amount:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(function: &str) -> Config {
        let text = format!(
            "[stack]\nname = \"acme\"\n[function]\n{function}\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n\
             [[variant]]\nname = \"card\"\nwidth = 400\nheight = 300\n[[variant]]\nname = \"web\"\nwidth = 1200\nfit = \"inside\"\n"
        );
        Config::parse(&text, "imgdeploy.toml").unwrap()
    }

    fn survey(n: usize, bytes: u64) -> Survey {
        Survey {
            prefixes: vec!["originals/".into()],
            originals: (0..n)
                .map(|i| (format!("originals/{i}.jpg"), bytes))
                .collect(),
            to_process: n,
            missing_variants: 3 * n,
        }
    }

    #[test]
    fn chunks_spread_a_small_batch_over_the_concurrency_and_bound_a_large_one_by_the_timeout() {
        let c = config("");
        // 1,000 photos of 1.2 MB over the default cap of 50: 20 each.
        assert_eq!(chunk_size(&c, 1000, 1.2e6), 20);
        // 300,000: bounded by a quarter of the 60 s timeout on 1.16 vCPUs at 0.18 s each.
        assert_eq!(chunk_size(&c, 300_000, 1.2e6), 96);
        // A longer timeout is bounded by the payload's limit.
        let long = config("timeout_s = 900");
        assert_eq!(chunk_size(&long, 300_000, 1.2e6), 200);
        assert_eq!(chunk_size(&c, 1, 50e6), 1);
    }

    #[test]
    fn the_lambda_plan_prices_levels_reprocessing_below_the_articles_figure() {
        // LEVELS: 300,000 images, 8 GB, $27.50 on Lambda.
        let plan = plan(
            "acme",
            &config(""),
            Engine::Lambda,
            &survey(300_000, 26_667),
        );
        assert!(plan.estimated_cost_usd < 27.50, "{plan}");
        assert_eq!(plan.invocations, 300_000usize.div_ceil(plan.chunk_size) + 1);
        insta::assert_snapshot!(plan.to_string());
    }
}
