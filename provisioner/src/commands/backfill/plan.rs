//! `imgdeploy backfill [PREFIX...]`: every original under the source prefix (or the given
//! sub-prefixes) gets every current variant. It lists the originals and the variant folders, prints
//! the plan (how many originals, how many miss a variant, the invocations, the estimated cost,
//! itemised), asks unless `--yes`, stops there with `--dry-run`, then runs the function's handler on
//! them. Work already done is skipped by the function itself (same source ETag and variant settings),
//! so a second backfill rewrites nothing, and an added variant is the only one written.
//!
//! Engines: `--local` runs the handler in this process (the emulator demo, a big machine). The remote
//! engines (the function's own fan-out, S3 Batch Operations) are not built yet.
use crate::cli::{BackfillArgs, GlobalArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::local::{self, LocalRun};
use crate::output::size;
use crate::resources::bucket::list::list;
use crate::resources::Stack;
use anyhow::{bail, Result};
use imgdeploy_function::handler::record::variant_key;
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use std::fmt;
use std::io::{BufRead, IsTerminal, Write};

/// S3 list prices (us-east-1, per request): GET-class (GET, HEAD) and PUT-class (PUT, COPY).
const S3_GET_USD: f64 = 0.0004 / 1000.0;
const S3_PUT_USD: f64 = 0.005 / 1000.0;

/// What the backfill will do, and what it should cost.
#[derive(Debug, Serialize)]
pub struct BackfillPlan {
    pub stack: String,
    pub engine: &'static str,
    /// The prefixes listed in the originals bucket.
    pub prefixes: Vec<String>,
    pub originals: usize,
    pub original_bytes: u64,
    /// Originals with at least one variant missing (known from listing; a variant made with other
    /// settings is found by the function's own check).
    pub to_process: usize,
    pub missing_variants: usize,
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

/// `backfill`'s whole answer: the plan, and what the run did (none with `--dry-run`).
#[derive(Debug, Serialize)]
pub struct BackfillResult {
    #[serde(flatten)]
    pub plan: BackfillPlan,
    pub dry_run: bool,
    pub result: Option<LocalRun>,
}

impl BackfillResult {
    /// An error when an original did not become variants (after printing, a non-zero exit).
    pub fn check(&self) -> Result<()> {
        self.result.as_ref().map_or(Ok(()), LocalRun::check)
    }
}

pub async fn run(g: &GlobalArgs, args: &BackfillArgs) -> Result<BackfillResult> {
    let config = Config::load(&g.config)?;
    if !args.local {
        bail!("backfill runs in this process for now: add --local (the handler runs here, on this machine's cores, against the configured endpoint)");
    }
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);

    // 1. What there is: the originals, and which of their variants exist.
    let source = &config.source.prefix;
    let prefixes: Vec<String> = if args.prefixes.is_empty() {
        vec![source.clone()]
    } else {
        args.prefixes
            .iter()
            .map(|p| full_prefix(source, p))
            .collect()
    };
    let mut originals = Vec::new();
    for prefix in &prefixes {
        let found = list(&stack, &stack.names.originals_bucket, prefix).await?;
        originals.extend(found.into_iter().map(|o| (o.key, o.size)));
    }
    originals.retain(|(key, _)| !key.ends_with('/'));
    let mut existing = HashSet::new();
    for variant in &config.variants {
        for prefix in &prefixes {
            let folder = format!("{}/{}", variant.name, &prefix[source.len()..]);
            let found = list(&stack, &stack.names.processed_bucket, &folder).await?;
            existing.extend(found.into_iter().map(|o| o.key));
        }
    }

    // 2. The plan.
    let mut to_process = 0;
    let mut missing_variants = 0;
    for (key, _) in &originals {
        let relative = &key[source.len()..];
        let missing = config
            .variants
            .iter()
            .filter(|v| !existing.contains(&variant_key(v, relative)))
            .count();
        to_process += (missing > 0) as usize;
        missing_variants += missing;
    }
    let plan = plan(
        &stack,
        &config,
        prefixes,
        &originals,
        to_process,
        missing_variants,
    );
    if g.dry_run {
        return Ok(BackfillResult {
            plan,
            dry_run: true,
            result: None,
        });
    }
    if !g.json {
        print!("{plan}");
    }
    confirm(&plan, g.yes)?;

    // 3. The work: one backfill list per original, as the function receives them.
    let bucket = &stack.names.originals_bucket;
    let events = originals
        .iter()
        .map(|(key, _)| (key.clone(), json!({"bucket": bucket, "keys": [key]})))
        .collect();
    let result = local::run(&stack, events, g.json).await?;
    Ok(BackfillResult {
        plan,
        dry_run: false,
        result: Some(result),
    })
}

/// A prefix in the originals bucket: given with the source prefix, or relative to it.
fn full_prefix(source: &str, prefix: &str) -> String {
    let prefix = prefix.trim_start_matches('/');
    if prefix.starts_with(source) {
        prefix.to_string()
    } else {
        format!("{source}{prefix}")
    }
}

fn plan(
    stack: &Stack<'_>,
    config: &Config,
    prefixes: Vec<String>,
    originals: &[(String, u64)],
    to_process: usize,
    missing_variants: usize,
) -> BackfillPlan {
    let n = originals.len() as u64;
    let variants = config.variants.len() as u64;
    let backups = if config.backup.enabled {
        to_process as u64
    } else {
        0
    };
    // Each original: a HEAD, a HEAD per variant; each one with work: a GET, the missing variants'
    // PUTs and the backup COPY. Deleting a cleared failure report is free.
    let reads = n * (1 + variants) + to_process as u64;
    let writes = missing_variants as u64 + backups;
    let cost = vec![
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
    BackfillPlan {
        stack: stack.names.stack.clone(),
        engine: "local",
        prefixes,
        originals: originals.len(),
        original_bytes: originals.iter().map(|(_, s)| s).sum(),
        to_process,
        missing_variants,
        invocations: originals.len(),
        estimated_cost_usd: cost.iter().map(|c| c.usd).sum(),
        cost,
    }
}

fn confirm(plan: &BackfillPlan, yes: bool) -> Result<()> {
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
            "Backfill of stack {} (engine: {}, this machine)",
            self.stack, self.engine
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
        writeln!(f, "  invocations: {} (in this process)", self.invocations)?;
        writeln!(f, "  estimated cost: {}", usd(self.estimated_cost_usd))?;
        for c in &self.cost {
            let cost = usd(c.usd);
            writeln!(f, "    {:<16} {:>8} requests  {cost}", c.item, c.requests)?;
        }
        Ok(())
    }
}

/// Dollars: cents for real bills, six decimals for small ones.
fn usd(amount: f64) -> String {
    if amount < 0.01 {
        format!("${amount:.6}")
    } else {
        format!("${amount:.2}")
    }
}

impl fmt::Display for BackfillResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            None => writeln!(f, "{}(dry run: nothing was processed)", self.plan),
            Some(result) => write!(f, "{result}"),
        }
    }
}
