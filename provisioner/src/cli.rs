//! The command line, all of it: global flags and one subcommand per verb, with their arguments. Doc
//! comments here are the `--help` text.
use crate::artifact::Arch;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// The global flags, by long name: `parse` reports which were given on the command line.
pub const GLOBAL_FLAGS: [&str; 7] = [
    "config",
    "region",
    "profile",
    "endpoint-url",
    "yes",
    "dry-run",
    "json",
];

/// Parses the command line (exiting with clap's message on an error), and names the global flags
/// given on it, so that a command can refuse one it does not take.
pub fn parse() -> (Cli, crate::commands::Given) {
    parse_from(std::env::args_os())
}

pub fn parse_from<I, T>(args: I) -> (Cli, crate::commands::Given)
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sub = matches.subcommand().map(|(_, m)| m);
    let given = GLOBAL_FLAGS
        .into_iter()
        .filter(|flag| {
            let id = flag.replace('-', "_");
            let given = |m: &ArgMatches| m.value_source(&id) == Some(ValueSource::CommandLine);
            given(&matches) || sub.is_some_and(given)
        })
        .collect();
    (cli, given)
}

/// Deploy and operate an image-variant pipeline on AWS: uploads to S3 become thumbnails and web sizes,
/// served through CloudFront. One command creates it all, re-running it converges, `teardown` removes it.
#[derive(Parser, Debug)]
#[command(
    name = "imgdeploy",
    version = crate::artifact::source::VERSION_LINE.as_str(),
    propagate_version = true,
    max_term_width = 110
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        default_value = "imgdeploy.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    /// AWS region; overrides `[stack] region`, the profile and AWS_REGION.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS named profile from ~/.aws/config.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (a local emulator such as moto). AWS_ENDPOINT_URL is honoured
    /// too. S3 then uses path-style addressing.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Do not ask for confirmation (commands that never ask accept it).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Print the plan and change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Machine-readable output: the plan and the result as JSON on stdout, no spinners.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented imgdeploy.toml for a new stack: three variants (a square WebP thumbnail, a
    /// 4:3 card, a web size that never enlarges) and every other key with its default. Never
    /// overwrites; checks with AWS, when there are credentials, that the bucket names are free.
    Init(InitArgs),
    /// Build the function and create or converge every resource of the stack.
    Up(UpArgs),
    /// Remove every resource of the stack, in a safe order. Keeps buckets that hold your data unless
    /// `--delete-data` is given.
    Teardown(TeardownArgs),
    /// Cross-compile the function for Lambda (Amazon Linux 2023), check it and zip it.
    Build(BuildArgs),
    /// Build, then update the deployed function's code and configuration where they differ.
    Update(UpdateArgs),
    /// Render the configured variants of local images (no AWS): the engine the function runs.
    Render(RenderArgs),
    /// Show every resource of the stack and its state, the function, the counts of originals and
    /// variants, the originals missing a variant, and the latest failure reports.
    Status(StatusArgs),
    /// Send the function the event SNS delivers for these uploads: `--local` runs the handler here
    /// (no deployed function needed), otherwise the deployed function is invoked asynchronously.
    Invoke(InvokeArgs),
    /// Make every original under the source prefix (or the given sub-prefixes) have every current
    /// variant: list, print the plan and its estimated cost, ask, then process. Work already done is
    /// skipped; a second backfill rewrites nothing.
    Backfill(BackfillArgs),
    /// After a fix is deployed, send the function every event the failure queue kept (those Lambda
    /// or SNS gave up on), with progress. A message is deleted only once Lambda accepted it;
    /// `--dry-run` says how many wait.
    Redrive(RedriveArgs),
    /// Print every policy the stack grants (the function's role, the upload topic, each bucket),
    /// rendered for this account and configuration exactly as `up` sends them. Read-only.
    Policies(PoliciesArgs),
    /// Read the function's logs: one line per image (time, outcome, key, variants, milliseconds).
    /// `--json` passes the function's JSON lines through.
    Logs(LogsArgs),
    /// Check every prerequisite of a deploy: cargo, the Rust target, cargo-zigbuild and zig, where the
    /// function is built from, the configuration, credentials, region, the endpoint, and (where IAM
    /// allows simulating) every permission of policies/deployer.json. Prints each missing one with its
    /// fix; exits non-zero when anything is missing.
    Doctor(DoctorArgs),
    /// Print the completion script for a shell, e.g. `imgdeploy completions bash >
    /// ~/.local/share/bash-completion/completions/imgdeploy` (zsh: a file `_imgdeploy` on `$fpath`;
    /// fish: `~/.config/fish/completions/imgdeploy.fish`).
    Completions(CompletionsArgs),
    /// Print the man page (roff: `imgdeploy man | man -l -`), or with `--dir` write one page per
    /// command there (`imgdeploy.1`, `imgdeploy-up.1`, ...).
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Keep reading new events until interrupted (Ctrl-C).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How far back to start: 30s, 15m, 2h, 7d.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub since: String,
    /// Only this upload's events (relative to the source prefix, or with it): its story.
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,
    /// Only failures: permanent (a broken image) and transient (retried).
    #[arg(long)]
    pub failures: bool,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write `imgdeploy.1` and a page per command into this directory instead of printing one page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {}

#[derive(Args, Debug)]
pub struct PoliciesArgs {
    /// Print only the policy the identity running imgdeploy needs (policies/deployer.json) for this
    /// stack: it reads nothing but who you are, so it works before that identity has any grant.
    #[arg(long)]
    pub deployer: bool,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// The stack's name, the prefix of every resource name (default: the current folder's name, made
    /// valid). The region comes from `--region`, else AWS_REGION.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct RedriveArgs {
    /// Redrive at most this many events (default: all that wait).
    #[arg(long, value_name = "N")]
    pub max: Option<u64>,
}

#[derive(Args, Debug)]
pub struct BackfillArgs {
    /// Sub-prefixes of the originals to backfill, relative to the source prefix (`2024/`) or with it
    /// (`originals/2024/`); default: everything under the source prefix.
    #[arg(value_name = "PREFIX")]
    pub prefixes: Vec<String>,
    /// Which engine does the work. Default: `lambda`, or `local` against an emulator endpoint.
    #[arg(long, value_enum, value_name = "ENGINE")]
    pub engine: Option<crate::commands::backfill::plan::Engine>,
    /// Short for `--engine local`: the function's handler runs in this process, on this machine's
    /// cores, against the configured endpoint.
    #[arg(long, conflicts_with = "engine")]
    pub local: bool,
    /// Follow a fan-out to its end: a progress bar with rate and ETA, then what was processed,
    /// skipped and failed, and where the failure reports are.
    #[arg(long)]
    pub wait: bool,
    /// Show an S3 Batch Operations job's progress and the failures of its completion report
    /// (the job id `backfill --engine batch` printed); starts nothing.
    #[arg(long, value_name = "JOB", conflicts_with_all = ["engine", "local", "wait", "prefixes"])]
    pub status: Option<String>,
    /// Follow a fan-out started earlier, or by your app's own `Invoke` (its `id`), to its end, as
    /// `--wait` does; starts nothing.
    #[arg(long, value_name = "ID", conflicts_with_all = ["engine", "local", "wait", "prefixes", "status"])]
    pub follow: Option<String>,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    #[command(flatten)]
    pub source: ArtifactSource,
    /// Take over resources of the stack's names that carry no `imgdeploy:stack` tag (made by hand, or
    /// by an `up` interrupted before it tagged them): the plan says "adopt" and `up` tags them. Never
    /// takes a resource tagged for another stack, nor a role with policies imgdeploy did not put there.
    #[arg(long)]
    pub adopt: bool,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub source: ArtifactSource,
}

/// Where the function's zip comes from: a build now (optimised, or `--quick`), or `--artifact`.
#[derive(Args, Debug, Default)]
pub struct ArtifactSource {
    /// Deploy this zip (built earlier by `imgdeploy build`) instead of building.
    #[arg(long, value_name = "ZIP")]
    pub artifact: Option<PathBuf>,
    /// Build with the `lambda-quick` profile: no whole-program LTO, incremental, so a one-line change
    /// deploys in seconds instead of minutes. The binary is larger and slightly slower; deploy without
    /// `--quick` for production.
    #[arg(long, conflicts_with = "artifact")]
    pub quick: bool,
}

#[derive(Args, Debug)]
pub struct TeardownArgs {
    /// Also empty and delete the originals and backup buckets (every object version). Asks first unless
    /// `--yes`.
    #[arg(long)]
    pub delete_data: bool,
}

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Instruction set to build for. Defaults to `[function] architecture` in the configuration file
    /// when there is one, else arm64 (Graviton: cheaper per GB-second).
    #[arg(long, value_enum, value_name = "ARCH")]
    pub arch: Option<Arch>,
    /// Build with the `lambda-quick` profile: no whole-program LTO, incremental, so a one-line change
    /// rebuilds in seconds instead of minutes. The binary is larger and slightly slower.
    #[arg(long)]
    pub quick: bool,
    /// Compile the AVIF encoder (libaom) in even when no variant of the configuration file asks for
    /// AVIF; with an AVIF variant it always is.
    #[arg(long)]
    pub avif: bool,
}

#[derive(Args, Debug)]
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

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// How many of the latest failure reports to show.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub failures: usize,
}

#[derive(Args, Debug)]
pub struct InvokeArgs {
    /// Keys of uploads in the originals bucket, relative to the source prefix (`photo.jpg`) or with it
    /// (`originals/photo.jpg`).
    #[arg(required_unless_present = "event", value_name = "KEY")]
    pub keys: Vec<String>,
    /// With `--local`: run the handler on this event instead of one built from keys (`-` reads
    /// stdin). Any event the function accepts: S3 or SNS-wrapped S3 notifications, created or removed,
    /// or a backfill list; paste one from the function's CloudWatch logs to replay it.
    #[arg(long, value_name = "FILE", requires = "local", conflicts_with = "keys")]
    pub event: Option<PathBuf>,
    /// Run the function's handler here, in-process, against the configured endpoint, with the settings
    /// the deployed function gets, and print each upload's outcome. Works on moto (no Docker needed).
    #[arg(long)]
    pub local: bool,
    /// Without `--local`: after the asynchronous invoke, wait until every variant of every key is in the
    /// processed bucket.
    #[arg(long, conflicts_with = "local")]
    pub wait: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
}
