//! Finds the cross-compilation toolchain (cargo-zigbuild, zig, the rustup target) before building, and
//! names the one command that installs whatever is missing. That command (and the repository's
//! `scripts/setup.sh`) installs cargo-zigbuild and ziglang into a virtualenv (`$IMGDEPLOY_VENV`,
//! default `~/.cache/imgdeploy/venv`), so that is searched as well as `PATH`.
use super::Arch;
use crate::progress::Progress;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum MissingTool {
    #[error("cargo is not on PATH: install Rust with rustup (https://rustup.rs)")]
    Cargo,
    #[error("cargo-zigbuild is not installed (looked on PATH and in {venv}/bin): install the cross-compile tools with `{install}`")]
    Zigbuild { venv: String, install: String },
    #[error("zig is not installed (no `zig` on PATH, no Python with the `ziglang` package on PATH or in {venv}): install the cross-compile tools with `{install}`")]
    Zig { venv: String, install: String },
    #[error("the Rust target {target} is not installed and `rustup target add {target}` failed ({why}): run `rustup target add {target}`")]
    RustTarget { target: String, why: String },
}

/// How to run cargo-zigbuild on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub cargo_zigbuild: PathBuf,
    /// Environment for the cargo-zigbuild process (`CARGO_ZIGBUILD_PYTHON_PATH` when zig comes from
    /// the `ziglang` Python package).
    pub env: Vec<(OsString, OsString)>,
}

impl Toolchain {
    /// Checks every piece, installing the rustup target when it is missing.
    pub fn detect(arch: Arch, progress: &Progress) -> Result<Self, MissingTool> {
        let venv = venv_dir();
        let install = install_command(&venv);
        let venv_name = venv.display().to_string();
        find_on_path("cargo").ok_or(MissingTool::Cargo)?;
        let cargo_zigbuild = find_on_path("cargo-zigbuild")
            .or_else(|| executable(venv.join("bin/cargo-zigbuild")))
            .ok_or_else(|| MissingTool::Zigbuild {
                venv: venv_name.clone(),
                install: install.clone(),
            })?;
        let env = zig_env(&venv).ok_or(MissingTool::Zig {
            venv: venv_name,
            install,
        })?;
        ensure_rust_target(arch.rust_target(), progress)?;
        Ok(Toolchain {
            cargo_zigbuild,
            env,
        })
    }
}

/// `$IMGDEPLOY_VENV`, else `venv` in imgdeploy's cache (`~/.cache/imgdeploy/venv`).
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMGDEPLOY_VENV").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    super::source::cache_dir().join("venv")
}

/// The one command that installs cargo-zigbuild and zig (the `ziglang` package) where `detect` looks:
/// into the virtualenv, created first when there is none. Debian's Python refuses a plain `pip install`
/// outside a virtualenv (PEP 668).
pub fn install_command(venv: &Path) -> String {
    let pip = venv.join("bin/pip");
    if pip.is_file() {
        format!("{} install cargo-zigbuild ziglang", pip.display())
    } else {
        format!(
            "python3 -m venv {} && {} install cargo-zigbuild ziglang",
            venv.display(),
            pip.display()
        )
    }
}

/// The environment that lets cargo-zigbuild find zig, or `None` when there is no zig at all.
/// cargo-zigbuild runs `zig` from PATH, else `python3 -m ziglang`; `CARGO_ZIGBUILD_PYTHON_PATH`
/// points it at the virtualenv's Python.
pub(crate) fn zig_env(venv: &Path) -> Option<Vec<(OsString, OsString)>> {
    if std::env::var_os("CARGO_ZIGBUILD_ZIG_PATH").is_some() || find_on_path("zig").is_some() {
        return Some(Vec::new());
    }
    let venv_python = venv.join("bin/python3");
    if venv_python.is_file() && python_has_ziglang(&venv_python) {
        return Some(vec![(
            "CARGO_ZIGBUILD_PYTHON_PATH".into(),
            venv_python.into_os_string(),
        )]);
    }
    let path_python = find_on_path("python3")?;
    python_has_ziglang(&path_python).then(Vec::new)
}

fn python_has_ziglang(python: &Path) -> bool {
    // A site-packages lookup instead of starting Python: the check runs on every `update`.
    let lib = python
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("lib"));
    let in_site_packages = lib
        .and_then(|lib| std::fs::read_dir(lib).ok())
        .is_some_and(|dirs| {
            dirs.flatten()
                .any(|d| d.path().join("site-packages/ziglang/__main__.py").is_file())
        });
    in_site_packages
        || Command::new(python)
            .args(["-c", "import ziglang"])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// Adds the rustup target when the active toolchain's sysroot lacks it.
fn ensure_rust_target(target: &str, progress: &Progress) -> Result<(), MissingTool> {
    if target_installed(target) {
        return Ok(());
    }
    let task = progress.start("rust target", target);
    let output = Command::new("rustup")
        .args(["target", "add", target])
        .output();
    let why = match output {
        Ok(out) if out.status.success() && target_installed(target) => {
            task.finish("added");
            return Ok(());
        }
        Ok(out) => String::from_utf8_lossy(&out.stderr)
            .trim()
            .lines()
            .next_back()
            .unwrap_or("no output")
            .to_string(),
        Err(e) => format!("rustup: {e}"),
    };
    task.fail("missing");
    Err(MissingTool::RustTarget {
        target: target.to_string(),
        why,
    })
}

pub(crate) fn target_installed(target: &str) -> bool {
    let Ok(out) = Command::new("rustc").args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    sysroot
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
}

/// The first executable file called `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| executable(dir.join(name)))
}

fn executable(path: PathBuf) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_target_is_installed_and_a_bogus_one_is_not() {
        let host = if cfg!(target_arch = "aarch64") {
            "aarch64-unknown-linux-gnu"
        } else {
            "x86_64-unknown-linux-gnu"
        };
        assert!(target_installed(host));
        assert!(!target_installed("sparc64-imaginary-none"));
    }

    #[test]
    fn missing_pieces_name_the_install_command() {
        let dir = tempfile::tempdir().unwrap();
        let venv = dir.path().join("venv");
        let fresh = install_command(&venv);
        assert_eq!(
            fresh,
            format!(
                "python3 -m venv {0} && {0}/bin/pip install cargo-zigbuild ziglang",
                venv.display()
            )
        );
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(venv.join("bin/pip"), "").unwrap();
        let existing = install_command(&venv);
        assert_eq!(
            existing,
            format!("{}/bin/pip install cargo-zigbuild ziglang", venv.display())
        );
        let err = MissingTool::Zig {
            venv: "/v".into(),
            install: fresh.clone(),
        };
        assert!(err.to_string().contains(&format!("`{fresh}`")), "{err}");
        let err = MissingTool::Zigbuild {
            venv: "/v".into(),
            install: existing.clone(),
        };
        assert!(err.to_string().contains(&format!("`{existing}`")), "{err}");
    }

    #[test]
    fn only_executable_files_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("tool");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        assert_eq!(executable(plain.clone()), None);
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(executable(plain.clone()), Some(plain));
        assert_eq!(executable(dir.path().to_path_buf()), None);
    }
}
