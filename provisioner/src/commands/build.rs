//! `imgdeploy build`: cross-compile the function for Lambda, check the binary and write the zip,
//! without touching AWS (CI builds once, then deploys with `--artifact`).
use crate::artifact::{self, Arch, BuildProfile, Summary};
use crate::cli::{BuildArgs, GlobalArgs};
use crate::config::Config;
use crate::progress::Progress;
use std::path::Path;

pub fn run(global: &GlobalArgs, args: &BuildArgs) -> anyhow::Result<Summary> {
    let arch = match args.arch {
        Some(arch) => arch,
        None => configured_arch(&global.config)?,
    };
    let progress = Progress::new(global.json);
    let built = artifact::build_here(arch, BuildProfile::from_quick(args.quick), &progress)?;
    Ok(built.summary())
}

/// The architecture from the configuration file when it exists; a missing default file is fine.
fn configured_arch(config_path: &Path) -> anyhow::Result<Arch> {
    if !config_path.exists() {
        return Ok(Arch::default());
    }
    Ok(Config::load(config_path)?.function.architecture)
}
