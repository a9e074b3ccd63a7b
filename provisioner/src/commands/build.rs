//! `imgdeploy build`: cross-compile the function for Lambda, check the binary and write the zip,
//! without touching AWS (CI builds once, then deploys with `--artifact`).
use crate::artifact::{self, Arch, Artifact, BuildProfile};
use crate::cli::GlobalArgs;
use crate::config::Config;
use crate::progress::Progress;
use anyhow::Context;
use clap::Args;
use serde_json::json;
use std::path::Path;

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
}

pub fn run(global: &GlobalArgs, args: &BuildArgs) -> anyhow::Result<()> {
    let arch = match args.arch {
        Some(arch) => arch,
        None => configured_arch(&global.config)?,
    };
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let root = artifact::find_workspace_root(&cwd)?;
    let progress = Progress::new(global.json);
    let built = artifact::build(&root, arch, BuildProfile::from_quick(args.quick), &progress)?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&artifact_json(&built))?);
    } else {
        print!("{}", describe(&built, &cwd));
    }
    Ok(())
}

/// The architecture from the configuration file when it exists; a missing default file is fine.
pub fn configured_arch(config_path: &Path) -> anyhow::Result<Arch> {
    if !config_path.exists() {
        return Ok(Arch::default());
    }
    Ok(Config::load(config_path)?.function.architecture)
}

/// The artifact as a JSON object (`--json` output of `build`, and part of `update`'s).
pub fn artifact_json(artifact: &Artifact) -> serde_json::Value {
    json!({
        "zip": artifact.zip_path,
        "size": artifact.zip_bytes.len(),
        "unzipped_size": artifact.unzipped_size,
        "sha256": artifact.sha256_hex,
        "code_sha256": artifact.code_sha256,
        "architecture": artifact.arch,
        "elf": artifact.elf,
    })
}

/// What people read after a build: where the zip is, how big, its digest and what was checked.
pub fn describe(artifact: &Artifact, cwd: &Path) -> String {
    let shown = artifact
        .zip_path
        .strip_prefix(cwd)
        .unwrap_or(&artifact.zip_path);
    let elf = &artifact.elf;
    format!(
        "zip      {}\nsize     {} ({} unzipped)\nsha256   {}\nchecked  {} {}, glibc {} (Amazon Linux 2023 has 2.34), links {}\n",
        shown.display(),
        artifact::human_size(artifact.zip_bytes.len() as u64),
        artifact::human_size(artifact.unzipped_size),
        artifact.sha256_hex,
        elf.machine,
        elf.kind,
        elf.max_glibc.as_deref().map_or("not needed".to_string(), |v| format!("{v} at most")),
        if elf.needed.is_empty() { "nothing".to_string() } else { elf.needed.join(", ") },
    )
}
