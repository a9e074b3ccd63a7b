//! Where the function is built from. Inside imgdeploy's source tree: its `function/` crate, so that
//! development works as cargo does. Anywhere else: the function's source embedded in this binary
//! (`imgdeploy_function::source`), the exact code this CLI was released with, written once into the
//! user's cache as a workspace of its own and built there; its checked zip is kept by version, source
//! digest, architecture and profile, so that a second `up` or a second stack reuses it without cargo.
use super::{Arch, BuildProfile, Features};
use anyhow::{bail, Context};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The function's build inputs carried by this binary.
static FILES: &[(&str, &[u8])] = imgdeploy_function::source::FILES;
/// Names in `FILES` that are not files of the function crate.
const LOCK: &str = "Cargo.lock";
const WORKSPACE_MANIFEST: &str = "workspace/Cargo.toml";
const PROFILES: &str = "lambda-profiles.toml";

/// `<function version>-<12 hex digits of the embedded source's SHA-256>`: names the extracted source
/// and the cached zips, and `imgdeploy --version` prints it.
pub static SOURCE_ID: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for (name, bytes) in FILES {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    let digest = hex::encode(hash.finalize());
    format!("{}-{}", imgdeploy_function::source::VERSION, &digest[..12])
});

/// What `imgdeploy --version` prints after the name: this CLI's version and the function it deploys.
pub static VERSION_LINE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (deploys imgdeploy-function {})",
        env!("CARGO_PKG_VERSION"),
        SOURCE_ID.as_str()
    )
});

/// Where a build's source came from, as `build`, `up` and `update` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// The `function/` crate of the imgdeploy source tree at this path.
    Workspace { root: PathBuf },
    /// The source embedded in this CLI, compiled now.
    Embedded { id: String },
    /// The zip compiled earlier from the embedded source, reused without running cargo.
    Cached { id: String },
    /// A zip given with `--artifact`.
    Given,
}

impl Origin {
    /// The function's [`crate::names::SOURCE_TAG`] for code built from here: this binary's source id
    /// (the source tree's `function/` is what this binary embeds), or `artifact` for a given zip.
    pub fn tag_value(&self) -> String {
        match self {
            Origin::Workspace { .. } => SOURCE_ID.clone(),
            Origin::Embedded { id } | Origin::Cached { id } => id.clone(),
            Origin::Given => crate::names::GIVEN_SOURCE.to_string(),
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Workspace { root } => write!(f, "the source tree at {}", root.display()),
            Origin::Embedded { id } => write!(f, "imgdeploy-function {id}, built now"),
            Origin::Cached { id } => write!(f, "imgdeploy-function {id}, cached build reused"),
            Origin::Given => f.write_str("--artifact"),
        }
    }
}

/// imgdeploy's per-user cache: `$IMGDEPLOY_CACHE`, else `~/.cache/imgdeploy` (where `scripts/setup.sh`
/// puts its virtualenv too).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMGDEPLOY_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"));
    home.join(".cache/imgdeploy")
}

/// The cached zip of the embedded source for this architecture, profile and feature set (it may not
/// exist yet).
pub fn cached_zip(cache: &Path, arch: Arch, profile: BuildProfile, features: Features) -> PathBuf {
    cache
        .join("artifacts")
        .join(SOURCE_ID.as_str())
        .join(format!(
            "{}-{}{}",
            arch.lambda_name(),
            profile.cargo_name(),
            features.cache_suffix()
        ))
        .join("bootstrap.zip")
}

/// The target directory of builds from the embedded source: `$CARGO_TARGET_DIR` when set (as cargo
/// itself would), else one shared by every version in the cache, so that a new version recompiles
/// only what changed.
pub fn target_dir(cache: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("target"))
}

/// Writes the embedded source as a workspace under `cache/function-src/<id>/` (once; a finished copy
/// is reused) and returns its root.
pub fn extract(cache: &Path) -> anyhow::Result<PathBuf> {
    let root = cache.join("function-src").join(SOURCE_ID.as_str());
    if root.join("Cargo.toml").is_file() {
        return Ok(root);
    }
    let parent = root.parent().expect("a parent");
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    // Written beside and renamed into place, so that an interrupted or concurrent `up` never leaves
    // (or sees) half a source tree.
    let staging = parent.join(format!(".{}.{}", SOURCE_ID.as_str(), std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    write_workspace(&staging, FILES)
        .with_context(|| format!("writing the function's source into {}", staging.display()))?;
    if let Err(e) = std::fs::rename(&staging, &root) {
        let _ = std::fs::remove_dir_all(&staging);
        if !root.join("Cargo.toml").is_file() {
            return Err(e).with_context(|| format!("moving the source to {}", root.display()));
        }
    }
    Ok(root)
}

/// The workspace: `function/` with a self-contained manifest, the lock file, and a root manifest with
/// the Lambda profiles.
fn write_workspace(root: &Path, files: &[(&str, &[u8])]) -> anyhow::Result<()> {
    let find = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, b)| *b);
    let text = |name: &str| -> anyhow::Result<&str> {
        let bytes = find(name).with_context(|| format!("the embedded source has no {name}"))?;
        std::str::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8"))
    };
    let workspace = find(WORKSPACE_MANIFEST)
        .map(std::str::from_utf8)
        .transpose()
        .context("the workspace manifest is not UTF-8")?;
    let manifest = standalone_manifest(text("Cargo.toml")?, workspace)?;
    let root_manifest = format!(
        "# Written by imgdeploy from the function's embedded source ({}): a workspace of its own, so that\n\
         # its build does not depend on the folder it is run from.\n\
         [workspace]\nresolver = \"2\"\nmembers = [\"function\"]\n\n{}",
        SOURCE_ID.as_str(),
        text(PROFILES)?
    );
    for (name, bytes) in files {
        let path = match *name {
            WORKSPACE_MANIFEST => continue,
            LOCK => root.join(LOCK),
            "Cargo.toml" => root.join("function/Cargo.toml"),
            other => root.join("function").join(other),
        };
        let bytes = if *name == "Cargo.toml" {
            manifest.as_bytes()
        } else {
            bytes
        };
        std::fs::create_dir_all(path.parent().expect("a parent"))?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(root.join("Cargo.toml"), root_manifest)?;
    Ok(())
}

/// The function's manifest made buildable on its own: every `workspace = true` key resolved from the
/// workspace manifest (as `cargo package` does), and the targets and dependencies that only tests,
/// benchmarks and examples use dropped (their files are not embedded).
pub fn standalone_manifest(manifest: &str, workspace: Option<&str>) -> anyhow::Result<String> {
    let mut table: toml::Table =
        toml::from_str(manifest).context("parsing the function's Cargo.toml")?;
    let workspace: toml::Table = match workspace {
        Some(text) => toml::from_str(text).context("parsing the workspace's Cargo.toml")?,
        None => toml::Table::new(),
    };
    let shared = workspace.get("workspace").and_then(|w| w.as_table());
    let section = |name: &str| shared.and_then(|w| w.get(name)).and_then(|t| t.as_table());

    for key in ["dev-dependencies", "test", "bench", "example"] {
        table.remove(key);
    }
    let package = table
        .get_mut("package")
        .and_then(|p| p.as_table_mut())
        .context("the function's Cargo.toml has no [package]")?;
    for key in ["autotests", "autobenches", "autoexamples"] {
        package.insert(key.into(), toml::Value::Boolean(false));
    }
    for (key, value) in package.iter_mut() {
        if inherits(value) {
            *value = section("package")
                .and_then(|p| p.get(key))
                .cloned()
                .with_context(|| {
                    format!("package.{key} is inherited from a workspace that does not set it")
                })?;
        }
    }
    let mut dependency_tables: Vec<&mut toml::Table> = Vec::new();
    let (mut plain, mut targets) = (Vec::new(), None);
    for (key, value) in table.iter_mut() {
        match key.as_str() {
            "dependencies" | "build-dependencies" => plain.push(value),
            "target" => targets = Some(value),
            _ => {}
        }
    }
    dependency_tables.extend(plain.into_iter().filter_map(|v| v.as_table_mut()));
    if let Some(targets) = targets.and_then(|t| t.as_table_mut()) {
        for (_, target) in targets.iter_mut() {
            let Some(target) = target.as_table_mut() else {
                continue;
            };
            for (key, deps) in target.iter_mut() {
                if key == "dependencies" || key == "build-dependencies" {
                    dependency_tables.extend(deps.as_table_mut());
                }
            }
        }
    }
    for deps in dependency_tables {
        for (name, entry) in deps.iter_mut() {
            if inherits(entry) {
                let base = section("dependencies")
                    .and_then(|d| d.get(name))
                    .with_context(|| format!("dependency {name} is inherited from a workspace that does not declare it"))?;
                *entry = merge_dependency(base, entry);
            }
        }
    }
    if table.get("lints").is_some_and(inherits) {
        bail!("[lints] is inherited from the workspace, which the embedded build does not support");
    }
    Ok(toml::to_string(&table)?)
}

/// `{ workspace = true, ... }` or `x.workspace = true`.
fn inherits(value: &toml::Value) -> bool {
    value
        .as_table()
        .and_then(|t| t.get("workspace"))
        .and_then(|w| w.as_bool())
        == Some(true)
}

/// The workspace's declaration with the member's `features` added and its `optional` and
/// `default-features` kept, as cargo merges them.
fn merge_dependency(base: &toml::Value, member: &toml::Value) -> toml::Value {
    let mut merged = match base {
        toml::Value::String(version) => {
            let mut t = toml::Table::new();
            t.insert("version".into(), toml::Value::String(version.clone()));
            t
        }
        other => other.as_table().cloned().unwrap_or_default(),
    };
    let member = member.as_table().cloned().unwrap_or_default();
    for (key, value) in member {
        match key.as_str() {
            "workspace" => {}
            "features" => {
                let features = merged
                    .entry("features")
                    .or_insert_with(|| toml::Value::Array(Vec::new()));
                if let (Some(all), Some(more)) = (features.as_array_mut(), value.as_array()) {
                    for feature in more {
                        if !all.contains(feature) {
                            all.push(feature.clone());
                        }
                    }
                }
            }
            _ => {
                merged.insert(key, value);
            }
        }
    }
    toml::Value::Table(merged)
}

#[cfg(test)]
mod tests;
