//! One module per subcommand, plus what they share: loading the configuration and connecting to AWS.
use crate::aws::{Aws, AwsOptions};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Config;
use anyhow::Result;

pub mod build;
pub mod invoke;
pub mod render;
pub mod stack_objects;
pub mod status;
pub mod teardown;
pub mod up;
pub mod update;

pub async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Up(args) => up::run(g, args).await,
        Command::Teardown(args) => teardown::run(g, args).await,
        Command::Build(args) => build::run(g, args),
        Command::Update(args) => update::run(g, args).await,
        Command::Status(args) => status::run(g, args).await,
        Command::Invoke(args) => invoke::run(g, args).await,
        Command::Render(args) => {
            let config = Config::load(&g.config)?;
            render::run_json(&config.variants, &config.function.limits(), args, g.json)
        }
    }
}

/// Connects with the global flags; `--region` beats `[stack] region`, which beats the environment.
pub async fn connect(g: &GlobalArgs, config: &Config) -> Result<Aws> {
    let region = g
        .region
        .clone()
        .or_else(|| config.stack.as_ref().and_then(|s| s.region.clone()));
    Aws::connect(&AwsOptions {
        region,
        profile: g.profile.clone(),
        endpoint_url: g.endpoint_url.clone(),
    })
    .await
}

/// Prints a JSON document on stdout (the only thing on stdout in `--json` mode).
pub fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).expect("json"));
}
