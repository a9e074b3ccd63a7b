//! `imgdeploy build`: cross-compile the function for Lambda, check the binary and write the zip,
//! without touching AWS (CI builds once, then deploys with `--artifact`).
use crate::artifact::{self, Arch, BuildProfile, Features, Summary};
use crate::cli::{BuildArgs, GlobalArgs};
use crate::config::Config;
use crate::progress::Progress;
use std::path::Path;

pub fn run(global: &GlobalArgs, args: &BuildArgs) -> anyhow::Result<Summary> {
    let (configured_arch, needs) = configured(&global.config)?;
    let arch = args.arch.unwrap_or(configured_arch);
    let features = Features {
        avif: args.avif || needs.avif,
    };
    let profile = BuildProfile::from_quick(args.quick);
    let progress = Progress::new(global.json);
    let built = artifact::build_here(arch, profile, features, &progress)?;
    Ok(built.summary())
}

/// The architecture and features the configuration file asks for when it exists; a missing default
/// file is fine.
fn configured(config_path: &Path) -> anyhow::Result<(Arch, Features)> {
    if !config_path.exists() {
        return Ok((Arch::default(), Features::default()));
    }
    let config = Config::load(config_path)?;
    Ok((config.function.architecture, Features::for_config(&config)))
}
