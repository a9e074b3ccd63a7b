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
pub mod doctor;
pub mod init;
pub mod invoke;
pub mod logs;
pub mod manual;
pub mod policies;
pub mod redrive;
pub mod render;
pub mod status;
pub mod teardown;
pub mod up;
pub mod update;

/// The global flags given on the command line (not defaulted), by their long names.
pub type Given = std::collections::BTreeSet<&'static str>;

/// The global flags a command does not take, and why. Every other global flag is honoured: the AWS
/// commands that never ask accept `--yes`, the read-only ones accept `--dry-run` (they change nothing).
pub fn refused(command: &Command) -> &'static [(&'static str, &'static str)] {
    const NO_AWS: &str = "it talks to no AWS account";
    const NO_PLAN: &str = "it changes nothing in AWS, so there is no plan to print";
    match command {
        Command::Build(_) => &[
            ("region", NO_AWS),
            ("profile", NO_AWS),
            ("endpoint-url", NO_AWS),
            ("dry-run", "it only writes the zip on this machine; `imgdeploy up --dry-run` shows what a deploy would change"),
        ],
        Command::Render(_) => &[
            ("region", NO_AWS),
            ("profile", NO_AWS),
            ("endpoint-url", NO_AWS),
            ("dry-run", "it only writes files into --out"),
            ("yes", "it asks nothing"),
        ],
        Command::Logs(_) => &[("dry-run", NO_PLAN)],
        Command::Doctor(_) => &[("dry-run", NO_PLAN), ("yes", "it asks nothing")],
        Command::Invoke(_) => &[(
            "dry-run",
            "it sends the events at once; `imgdeploy backfill --dry-run` lists what is missing without processing it",
        )],
        Command::Completions(_) | Command::Man(_) => &[
            ("config", NO_AWS),
            ("region", NO_AWS),
            ("profile", NO_AWS),
            ("endpoint-url", NO_AWS),
            ("dry-run", NO_PLAN),
            ("yes", "it asks nothing"),
            ("json", "its output is a script or a roff page"),
        ],
        _ => &[],
    }
}

/// Refuses a global flag the command would otherwise ignore.
pub fn check_flags(command: &Command, given: &Given) -> Result<()> {
    for (flag, why) in refused(command) {
        if given.contains(flag) {
            anyhow::bail!(
                "`imgdeploy {}` does not take --{flag}: {why}",
                command_name(command)
            );
        }
    }
    Ok(())
}

fn command_name(command: &Command) -> String {
    use clap::CommandFactory;
    let debug = format!("{command:?}");
    let variant = debug
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .find(|name| *name == variant)
        .unwrap_or(variant)
}

pub async fn run(cli: Cli, given: &Given) -> Result<()> {
    check_flags(&cli.command, given)?;
    let g = &cli.global;
    match &cli.command {
        Command::Init(args) => emit(g.json, &init::run(g, args.name.as_deref()).await?),
        Command::Doctor(args) => {
            let result = doctor::run(g, args).await?;
            emit(g.json, &result);
            result.check()?
        }
        Command::Logs(args) => logs::run(g, args).await?,
        Command::Completions(args) => print!("{}", manual::completions(args.shell)),
        Command::Man(args) => match &args.dir {
            None => print!("{}", manual::page()?),
            Some(dir) => {
                for page in manual::write_pages(dir)? {
                    println!("{}", dir.join(page).display());
                }
            }
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Each refused flag, given to its command, stops it before it runs; the flags it takes pass.
    #[test]
    fn a_command_refuses_the_global_flags_it_would_ignore() {
        let commands: [&[&str]; 6] = [
            &["build"],
            &["render", "--out", "o", "in.jpg"],
            &["invoke", "k.jpg"],
            &["completions", "bash"],
            &["man"],
            &["up"],
        ];
        let mut refusals = 0;
        for args in commands {
            for flag in crate::cli::GLOBAL_FLAGS {
                let mut line = vec!["imgdeploy"];
                line.extend_from_slice(args);
                let value = ["config", "region", "profile", "endpoint-url"].contains(&flag);
                let long = format!("--{flag}");
                line.push(&long);
                if value {
                    line.push("x");
                }
                let (cli, given) = crate::cli::parse_from(line.clone());
                assert!(given.contains(flag), "{line:?}: {given:?}");
                let refused = refused(&cli.command).iter().any(|(f, _)| *f == flag);
                match check_flags(&cli.command, &given) {
                    Err(e) => {
                        assert!(refused, "{line:?}");
                        let e = e.to_string();
                        assert!(
                            e.contains(&format!(
                                "`imgdeploy {}` does not take --{flag}: ",
                                args[0]
                            )),
                            "{e}"
                        );
                        refusals += 1;
                    }
                    Ok(()) => assert!(!refused, "{line:?} was not refused"),
                }
            }
        }
        assert_eq!(refusals, 4 + 5 + 1 + 7 + 7);
        let (cli, given) = crate::cli::parse_from(["imgdeploy", "logs", "--dry-run"]);
        assert!(check_flags(&cli.command, &given).is_err());
        // Defaulted flags (`--config imgdeploy.toml`) count as not given.
        let (_, given) = crate::cli::parse_from(["imgdeploy", "man"]);
        assert!(given.is_empty(), "{given:?}");
        // A global flag before the command counts too.
        let (cli, given) = crate::cli::parse_from(["imgdeploy", "--dry-run", "build"]);
        assert!(check_flags(&cli.command, &given).is_err());
    }
}
