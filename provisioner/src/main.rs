//! `imgdeploy`: parses the command line and dispatches; each command in `commands/` reads as its steps.
mod artifact;
mod aws;
mod calls;
mod cli;
mod commands;
mod config;
mod local;
mod names;
mod output;
mod policy;
mod progress;
mod resources;

use std::process::ExitCode;

fn main() -> ExitCode {
    let (cli, given) = cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(commands::run(cli, &given)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
