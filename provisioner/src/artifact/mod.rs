//! The function's deployable artifact: cross-compiled for Amazon Linux 2023, checked, zipped reproducibly.
//!
//! `build` compiles the `function` crate with cargo-zigbuild (glibc pinned to 2.34), `load` takes a zip
//! built earlier (`--artifact`); both run the same checks, so nothing that would fail to start on
//! Lambda (`Runtime.InvalidEntrypoint`, `GLIBC_2.35 not found`) is ever uploaded.
mod arch;
mod compile;
mod elf;
mod features;
mod package;
pub mod source;
pub mod toolchain;

#[cfg(test)]
mod real_binaries;

pub use arch::{Arch, AL2023_GLIBC};
pub use elf::{check_elf, ElfReport};
pub use features::Features;
pub use package::MAX_UNZIPPED_BYTES;
pub use source::Origin;

use crate::config::Config;
use crate::output::size;
use crate::progress::Progress;
use anyhow::Context;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// The Cargo profile that builds the function (both in the root Cargo.toml, both `panic = "unwind"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildProfile {
    /// `lambda`: fat LTO and one codegen unit, stripped: the smallest and fastest binary, for the
    /// price of a whole-program link of minutes after any change.
    #[default]
    Optimised,
    /// `lambda-quick` (`--quick`): the same opt-level 3 code without cross-crate LTO, compiled
    /// incrementally: seconds after a one-line change, for iterating on the function.
    Quick,
}

impl BuildProfile {
    pub fn from_quick(quick: bool) -> Self {
        if quick {
            BuildProfile::Quick
        } else {
            BuildProfile::Optimised
        }
    }

    /// The profile's name in Cargo.toml (and the directory under `target/<triple>/`).
    pub fn cargo_name(self) -> &'static str {
        match self {
            BuildProfile::Optimised => "lambda",
            BuildProfile::Quick => "lambda-quick",
        }
    }
}

/// A checked deployment package, ready to upload.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub zip_path: PathBuf,
    pub zip_bytes: Vec<u8>,
    /// Base64 of the SHA-256 of the zip: exactly what Lambda reports as `CodeSha256`.
    pub code_sha256: String,
    /// The same digest in hex, for people and `sha256sum`.
    pub sha256_hex: String,
    pub arch: Arch,
    pub unzipped_size: u64,
    pub elf: ElfReport,
    pub origin: Origin,
}

/// An artifact as `build` reports it (and `update` with `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub zip: PathBuf,
    pub size: u64,
    pub unzipped_size: u64,
    /// Hex SHA-256 of the zip.
    pub sha256: String,
    /// Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    pub architecture: Arch,
    pub elf: ElfReport,
    /// What the function was built from.
    pub origin: Origin,
    /// The zip's path for people: relative to the current directory when it is below it.
    #[serde(skip)]
    pub shown: PathBuf,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let elf = &self.elf;
        let glibc = elf
            .max_glibc
            .as_deref()
            .map_or("not needed".to_string(), |v| format!("{v} at most"));
        let links = if elf.needed.is_empty() {
            "nothing".to_string()
        } else {
            elf.needed.join(", ")
        };
        writeln!(f, "zip      {}", self.shown.display())?;
        writeln!(f, "source   {}", self.origin)?;
        writeln!(
            f,
            "size     {} ({} unzipped)",
            size(self.size),
            size(self.unzipped_size)
        )?;
        writeln!(f, "sha256   {}", self.sha256)?;
        writeln!(
            f,
            "checked  {} {}, glibc {glibc} (Amazon Linux 2023 has 2.34), links {links}",
            elf.machine, elf.kind
        )
    }
}

impl Artifact {
    pub fn summary(&self) -> Summary {
        let shown = std::env::current_dir()
            .ok()
            .and_then(|cwd| self.zip_path.strip_prefix(cwd).ok().map(Path::to_path_buf))
            .unwrap_or_else(|| self.zip_path.clone());
        Summary {
            zip: self.zip_path.clone(),
            size: self.zip_bytes.len() as u64,
            unzipped_size: self.unzipped_size,
            sha256: self.sha256_hex.clone(),
            code_sha256: self.code_sha256.clone(),
            architecture: self.arch,
            elf: self.elf.clone(),
            origin: self.origin.clone(),
            shown,
        }
    }

    /// Checks the bootstrap and wraps an already built zip. `zip_bytes` must hold `bootstrap` (`binary`).
    fn new(
        zip_path: PathBuf,
        zip_bytes: Vec<u8>,
        binary: &[u8],
        arch: Arch,
    ) -> Result<Self, ArtifactError> {
        let elf = check_elf(binary, arch)?;
        package::check_zip_size(zip_bytes.len() as u64)?;
        let (code_sha256, sha256_hex) = package::digests(&zip_bytes);
        Ok(Artifact {
            zip_path,
            zip_bytes,
            code_sha256,
            sha256_hex,
            arch,
            unzipped_size: binary.len() as u64,
            elf,
            origin: Origin::Given,
        })
    }
}

/// Why an artifact is refused. Every message names the object, the reason and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error("the bootstrap is not an ELF executable (it starts with {magic:?}): a Lambda custom runtime needs a Linux binary; build one with `imgdeploy build`")]
    NotElf { magic: String },
    #[error("the bootstrap is built for {found} but the function is {expected}: rebuild with `imgdeploy build --arch {expected}`, or set `[function] architecture` to match the binary")]
    WrongMachine { expected: Arch, found: String },
    #[error("the bootstrap needs {version} (from {library}) but Amazon Linux 2023 has glibc 2.34, so Lambda would fail with `{version} not found`: build with `imgdeploy build`, which pins glibc to 2.34 (cargo zigbuild --target <triple>.2.34)")]
    GlibcTooNew { version: String, library: String },
    #[error("the bootstrap links {library}, which provided.al2023 does not ship: link it statically or drop the dependency (e.g. rustls instead of OpenSSL/native-tls)")]
    UnsupportedLibrary { library: String },
    #[error("the bootstrap is {kind}, not an executable: build the `bootstrap` binary target of the function crate")]
    NotExecutable { kind: &'static str },
    #[error("the bootstrap's ELF headers cannot be read ({0}): the file is truncated or corrupt; rebuild it")]
    Malformed(String),
    #[error("{what} is {}, over Lambda's limit of {} for {limit_name}: shrink the binary (the `lambda` profile strips it) or drop dependencies", crate::output::size(*size), crate::output::size(*limit))]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
        limit_name: &'static str,
    },
    #[error("the zip has no `bootstrap` file at its root (it holds: {entries}): Lambda's provided.al2023 runtime starts `/var/task/bootstrap`; zip the binary as `bootstrap` or use `imgdeploy build`")]
    MissingBootstrap { entries: String },
    #[error("`bootstrap` in the zip has mode {mode:o}, Lambda needs an executable regular file with mode 0755: re-zip it with `imgdeploy build`, or `chmod 755 bootstrap` before zipping")]
    BadMode { mode: u32 },
    #[error(
        "the file is not a readable zip archive ({0}): pass the zip written by `imgdeploy build`"
    )]
    BadZip(String),
}

/// Builds the function for `arch` from wherever this command runs: the source tree's `function/`
/// crate inside it, else the source embedded in this binary (its zip cached per version, architecture
/// and profile, and reused).
pub fn build_here(
    arch: Arch,
    profile: BuildProfile,
    features: Features,
    progress: &Progress,
) -> anyhow::Result<Artifact> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    if let Some(root) = workspace_root(&cwd) {
        let mut artifact = build(&root, arch, profile, features, &[], progress)?;
        artifact.origin = Origin::Workspace { root };
        return Ok(artifact);
    }
    let cache = source::cache_dir();
    let id = source::SOURCE_ID.to_string();
    let cached = source::cached_zip(&cache, arch, profile, features);
    if cached.is_file() {
        let task = progress.start("build", &format!("imgdeploy-function {id} for {arch}"));
        let mut artifact = load(&cached, arch, features)?;
        task.finish("cached build reused");
        artifact.origin = Origin::Cached { id };
        return Ok(artifact);
    }
    let root = source::extract(&cache)?;
    let target = source::target_dir(&cache);
    let env = [("CARGO_TARGET_DIR".into(), target.into_os_string())];
    let mut artifact = build(&root, arch, profile, features, &env, progress)?;
    package::keep(&artifact.zip_bytes, &cached)
        .with_context(|| format!("caching the zip as {}", cached.display()))?;
    artifact.zip_path = cached;
    artifact.origin = Origin::Embedded { id };
    Ok(artifact)
}

/// Compiles the function of the workspace at `workspace_root` for `arch`, checks the binary and zips
/// it next to it: `<target>/<triple>/<profile>/bootstrap.zip`.
fn build(
    workspace_root: &Path,
    arch: Arch,
    profile: BuildProfile,
    features: Features,
    env: &[(std::ffi::OsString, std::ffi::OsString)],
    progress: &Progress,
) -> anyhow::Result<Artifact> {
    let mut tools = toolchain::Toolchain::detect(arch, progress)?;
    tools.env.extend(env.iter().cloned());
    if features.avif
        && toolchain::find_on_path("cmake").is_none()
        && std::env::var_os("CMAKE").is_none()
    {
        anyhow::bail!(
            "a variant has format = \"avif\": the function's AVIF encoder (libaom) is built with CMake, \
             which is not on PATH; install it (`apt install cmake`, `brew install cmake`) and run again"
        );
    }
    let binary_path = compile::compile(workspace_root, arch, profile, features, &tools, progress)?;
    let binary = std::fs::read(&binary_path)
        .with_context(|| format!("reading {}", binary_path.display()))?;
    let task = progress.start("package", "bootstrap.zip");
    let zip_path = binary_path.with_file_name("bootstrap.zip");
    let result = package::write_zip_cached(&zip_path, &binary)
        .and_then(|zip_bytes| Ok(Artifact::new(zip_path.clone(), zip_bytes, &binary, arch)?));
    match result {
        Ok(artifact) => {
            task.finish(&format!("{} zipped", size(artifact.zip_bytes.len() as u64)));
            Ok(artifact)
        }
        Err(e) => {
            task.fail("refused");
            Err(e.context(format!("checking {}", binary_path.display())))
        }
    }
}

/// Reads a zip built earlier (`--artifact ZIP`) and runs the same checks as `build`, and that it has
/// the parts the stack's variants need.
pub fn load(zip: &Path, arch: Arch, needs: Features) -> anyhow::Result<Artifact> {
    let zip_bytes =
        std::fs::read(zip).with_context(|| format!("reading the artifact {}", zip.display()))?;
    let binary = package::read_bootstrap(&zip_bytes)
        .with_context(|| format!("checking the artifact {}", zip.display()))?;
    if let Err(why) = needs.check_binary(&binary) {
        anyhow::bail!("checking the artifact {}: {why}", zip.display());
    }
    Artifact::new(zip.to_path_buf(), zip_bytes, &binary, arch)
        .with_context(|| format!("checking the artifact {}", zip.display()))
}

/// The function's zip for `up` and `update`: the one given with `--artifact` (checked as a build is),
/// or a build now with `profile`.
pub fn obtain(
    given: Option<&Path>,
    profile: BuildProfile,
    config: &Config,
    progress: &Progress,
) -> anyhow::Result<Artifact> {
    let arch = config.function.architecture;
    match given {
        Some(zip) => load(zip, arch, Features::for_config(config)),
        None => build_here(arch, profile, Features::for_config(config), progress),
    }
}

/// The imgdeploy source tree holding `from`, if any: the directory with a `[workspace]` Cargo.toml
/// next to `function/Cargo.toml`, searched upwards.
pub fn workspace_root(from: &Path) -> Option<PathBuf> {
    from.ancestors()
        .find(|dir| {
            let manifest = dir.join("Cargo.toml");
            std::fs::read_to_string(manifest).is_ok_and(|text| text.contains("[workspace]"))
                && dir.join("function").join("Cargo.toml").is_file()
        })
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_names_match_rust_and_lambda() {
        assert_eq!(Arch::Arm64.zig_target(), "aarch64-unknown-linux-gnu.2.34");
        assert_eq!(Arch::X86_64.zig_target(), "x86_64-unknown-linux-gnu.2.34");
        assert_eq!(Arch::X86_64.lambda_name(), "x86_64");
        assert_eq!(Arch::default(), Arch::Arm64);
    }

    #[test]
    fn arch_parses_from_config_and_cli_spelling() {
        let parsed: Arch = serde_json::from_str("\"x86_64\"").unwrap();
        assert_eq!(parsed, Arch::X86_64);
        assert!(serde_json::from_str::<Arch>("\"amd64\"").is_err());
        use clap::ValueEnum;
        assert_eq!(Arch::from_str("x86_64", false), Ok(Arch::X86_64));
        assert_eq!(Arch::from_str("arm64", false), Ok(Arch::Arm64));
    }

    #[test]
    fn every_build_profile_exists_and_keeps_panics_catchable() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest: toml::Table =
            toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
        let profiles = manifest["profile"].as_table().unwrap();
        // Walks `inherits` the way Cargo does, so that a setting inherited from `lambda` counts.
        let setting = |name: &str, key: &str| {
            let mut profile = name.to_string();
            loop {
                let table = profiles[&profile].as_table().unwrap();
                if let Some(value) = table.get(key) {
                    return Some(value.clone());
                }
                profile = table.get("inherits")?.as_str()?.to_string();
            }
        };
        for profile in [BuildProfile::Optimised, BuildProfile::Quick] {
            let name = profile.cargo_name();
            assert!(profiles.contains_key(name), "no [profile.{name}]");
            assert_eq!(
                setting(name, "panic").and_then(|v| v.as_str().map(String::from)),
                Some("unwind".to_string()),
                "[profile.{name}] must unwind: the handler catches panics per record"
            );
            assert_eq!(setting(name, "strip").and_then(|v| v.as_bool()), Some(true));
            assert_eq!(
                setting(name, "opt-level").and_then(|v| v.as_integer()),
                Some(3)
            );
        }
        assert_eq!(
            setting("lambda", "lto").and_then(|v| v.as_str().map(String::from)),
            Some("fat".to_string())
        );
        assert_eq!(
            setting("lambda-quick", "incremental").and_then(|v| v.as_bool()),
            Some(true)
        );
        assert_eq!(BuildProfile::from_quick(true), BuildProfile::Quick);
        assert_eq!(BuildProfile::default(), BuildProfile::Optimised);
    }

    #[test]
    fn workspace_root_is_found_from_a_subdirectory() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = workspace_root(&here.join("src")).unwrap();
        assert!(root.join("function/Cargo.toml").is_file());
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(workspace_root(outside.path()), None);
    }
}
