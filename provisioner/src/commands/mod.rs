//! One module per subcommand, plus what they share: loading the configuration and connecting to AWS.
//! Each command reads top to bottom as its steps and returns a typed result; [`run`] prints it
//! (`output::emit`). No command imports another.
use crate::aws::{Aws, AwsOptions};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Config;
use crate::output::emit;
use anyhow::Result;

pub mod backfill;
pub mod build;
pub mod invoke;
pub mod policies;
pub mod redrive;
pub mod render;
pub mod status;
pub mod teardown;
pub mod up;
pub mod update;

pub async fn run(cli: Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Up(args) => emit(g.json, &up::run(g, args).await?),
        Command::Teardown(args) => emit(g.json, &teardown::run(g, args).await?),
        Command::Build(args) => emit(g.json, &build::run(g, args)?),
        Command::Update(args) => emit(g.json, &update::run(g, args).await?),
        Command::Status(args) => emit(g.json, &status::run(g, args).await?),
        Command::Policies(args) => emit(g.json, &policies::run(g, args).await?),
        Command::Backfill(args) if args.status.is_some() => {
            let job = args.status.as_deref().unwrap_or_default();
            let result = backfill::status(g, job).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Backfill(args) if args.follow.is_some() => {
            let id = args.follow.as_deref().unwrap_or_default();
            let result = backfill::follow(g, id).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Backfill(args) => {
            let result = backfill::run(g, args).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Redrive(args) => {
            let result = redrive::run(g, args).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Invoke(args) => {
            let result = invoke::run(g, args).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Render(args) => {
            let config = Config::load(&g.config)?;
            let result = render::run(&config.variants, &config.function.limits(), args)?;
            match g.json {
                true => println!("{}", result.json_line()),
                false => print!("{result}"),
            }
        }
    }
    Ok(())
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
