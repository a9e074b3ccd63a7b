//! `imgdeploy backfill [PREFIX...]`: every original under the source prefix (or the given
//! sub-prefixes) gets every current variant. It lists the originals and the variant folders, prints
//! the plan (`plan.rs`), asks unless `--yes`, stops there with `--dry-run`, then hands the work to an
//! engine:
//! - `lambda` (`fanout.rs`): one orchestration event; the deployed function lists and fans out;
//!   `--wait` follows the chunks' records to the end;
//! - `batch` (`batch.rs`): an S3 Batch Operations job over a manifest, for millions of originals;
//!   `--status JOB` reads its progress and its report's failures (`job.rs`);
//! - `local`: the handler in this process (`crate::local`).
//!
//! Work already done is skipped by the function itself (same source ETag and variant settings), so a
//! second backfill rewrites nothing, and an added variant is the only one written.
mod batch;
pub mod fanout;
pub mod job;
pub mod plan;

use crate::aws::Explain;
use crate::cli::{BackfillArgs, GlobalArgs};
use crate::commands::connect;
use crate::config::Config;
use crate::local::{self, LocalRun};
use crate::resources::bucket::list::list;
use crate::resources::Stack;
use anyhow::Result;
use batch::BatchRun;
use fanout::RemoteRun;
use imgdeploy_function::handler::{manifest, record::variant_keys};
use imgdeploy_function::spec::MANIFESTS_PREFIX;
use plan::{BackfillPlan, Engine, Survey};
use serde::Serialize;
use serde_json::json;
use std::collections::HashSet;
use std::fmt;

/// `backfill`'s whole answer: the plan, and what the run did (none with `--dry-run`).
#[derive(Debug, Serialize)]
pub struct BackfillResult {
    #[serde(flatten)]
    pub plan: BackfillPlan,
    pub dry_run: bool,
    /// The local engine's outcome per original.
    pub result: Option<LocalRun>,
    /// The fan-out's batch, and its progress when waited for.
    pub remote: Option<RemoteRun>,
    /// The S3 Batch Operations job.
    pub job: Option<BatchRun>,
}

impl BackfillResult {
    /// An error when an original did not become variants (after printing, a non-zero exit).
    pub fn check(&self) -> Result<()> {
        if let Some(remote) = &self.remote {
            remote.check()?;
        }
        self.result.as_ref().map_or(Ok(()), LocalRun::check)
    }
}

pub async fn run(g: &GlobalArgs, args: &BackfillArgs) -> Result<BackfillResult> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);

    // 1. What there is: the originals, and which of their variants exist.
    let survey = survey(&stack, &args.prefixes).await?;

    // 2. The engine and the plan.
    let engine = match (args.local, args.engine) {
        (true, _) => Engine::Local,
        (false, Some(engine)) => engine,
        // An emulator runs no functions: the handler runs here.
        (false, None) if aws.endpoint.is_some() => Engine::Local,
        (false, None) if survey.originals.len() > plan::BATCH_ABOVE => Engine::Batch,
        (false, None) => Engine::Lambda,
    };
    let plan = plan::plan(&stack.names.stack, &config, engine, &survey);
    if g.dry_run {
        return Ok(BackfillResult {
            plan,
            dry_run: true,
            result: None,
            remote: None,
            job: None,
        });
    }
    if !g.json {
        print!("{plan}");
    }
    plan::confirm(&plan, g.yes)?;

    // 3. The work.
    let id = batch_id();
    let mut job = None;
    let (result, remote) = match engine {
        Engine::Local => {
            let bucket = &stack.names.originals_bucket;
            let events = survey
                .originals
                .iter()
                .map(|(key, _)| (key.clone(), json!({"bucket": bucket, "keys": [key]})))
                .collect();
            (Some(local::run(&stack, events, g.json).await?), None)
        }
        Engine::Lambda => {
            let run = fanout::start(&stack, &id, &survey.prefixes, plan.chunk_size).await?;
            let run = match args.wait {
                true => fanout::wait(&stack, run, g.json).await?,
                false => run,
            };
            (None, Some(run))
        }
        Engine::Batch => {
            let keys: Vec<String> = survey.originals.iter().map(|(k, _)| k.clone()).collect();
            job = Some(batch::start(&stack, &id, &keys).await?);
            (None, None)
        }
    };
    Ok(BackfillResult {
        plan,
        dry_run: false,
        result,
        remote,
        job,
    })
}

/// An object of the processed bucket (a batch record, a report), or `None` when there is none yet.
async fn get_processed(stack: &Stack<'_>, key: &str) -> Result<Option<Vec<u8>>> {
    let bucket = &stack.names.processed_bucket;
    match stack
        .aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.body.collect().await?.into_bytes().to_vec())),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => Ok(None),
        Err(e) => Err(e).explain(stack.aws, &format!("s3:GetObject {bucket}/{key}")),
    }
}

/// `backfill --follow ID`: the fan-out `ID`'s progress, followed to its end.
pub async fn follow(g: &GlobalArgs, id: &str) -> Result<RemoteRun> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    fanout::wait(&stack, fanout::started(&stack, id), g.json).await
}

/// `backfill --status JOB`.
pub async fn status(g: &GlobalArgs, job_id: &str) -> Result<job::JobStatus> {
    let config = Config::load(&g.config)?;
    let aws = connect(g, &config).await?;
    let stack = Stack::new(&aws, &config, &config.stack()?.name);
    job::status(&stack, job_id).await
}

/// A backfill's id: the time, readable and sortable, plus a few digits that differ between two
/// backfills started in one second.
fn batch_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{:05}", now.as_secs(), now.subsec_nanos() % 100_000)
}

/// Lists the originals under `prefixes` (all of the source prefix when empty), the variant folders
/// and the manifests, and counts what is missing.
async fn survey(stack: &Stack<'_>, prefixes: &[String]) -> Result<Survey> {
    let config = stack.config;
    let source = &config.source.prefix;
    let prefixes: Vec<String> = if prefixes.is_empty() {
        vec![source.clone()]
    } else {
        prefixes.iter().map(|p| full_prefix(source, p)).collect()
    };
    let mut originals = Vec::new();
    for prefix in &prefixes {
        let found = list(stack, &stack.names.originals_bucket, prefix).await?;
        originals.extend(found.into_iter().map(|o| (o.key, o.size)));
    }
    originals.retain(|(key, _)| !key.ends_with('/'));
    let mut existing = HashSet::new();
    let folders = config.variants.iter().map(|v| format!("{}/", v.name));
    for folder in folders.chain([MANIFESTS_PREFIX.to_string()]) {
        for prefix in &prefixes {
            let under = format!("{folder}{}", &prefix[source.len()..]);
            let found = list(stack, &stack.names.processed_bucket, &under).await?;
            existing.extend(found.into_iter().map(|o| o.key));
        }
    }
    let mut to_process = 0;
    let mut missing_variants = 0;
    for (key, _) in &originals {
        let relative = &key[source.len()..];
        let missing = config
            .variants
            .iter()
            .filter(|v| {
                variant_keys(v, relative)
                    .iter()
                    .any(|k| !existing.contains(k))
            })
            .count();
        // An original processed before manifests existed needs only its manifest.
        let no_manifest = !existing.contains(&manifest::key(relative));
        to_process += (missing > 0 || no_manifest) as usize;
        missing_variants += missing;
    }
    Ok(Survey {
        prefixes,
        originals,
        to_process,
        missing_variants,
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

impl fmt::Display for BackfillResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.dry_run {
            return writeln!(f, "{}(dry run: nothing was processed)", self.plan);
        }
        if let Some(result) = &self.result {
            write!(f, "{result}")?;
        }
        if let Some(remote) = &self.remote {
            write!(f, "{remote}")?;
        }
        if let Some(job) = &self.job {
            write!(f, "{job}")?;
        }
        Ok(())
    }
}
