//! The Python virtualenv that holds moto's server, boto3 and the AWS CLI: found, or made from
//! `tests/requirements.txt`, under a file lock so that parallel test processes never build it twice.
use anyhow::{bail, Context, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Written into the venv after a successful install; holds the requirements it was made from, so that an
/// edited `tests/requirements.txt` re-runs pip (`scripts/setup.sh` writes the same file).
const STAMP: &str = ".imgdeploy-requirements";

/// The repository's root (the integration tests belong to the `provisioner` package).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("provisioner/ has a parent")
        .to_path_buf()
}

/// `$IMGDEPLOY_VENV`, or `~/.cache/imgdeploy/venv`.
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IMGDEPLOY_VENV").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache/imgdeploy/venv")
}

pub fn venv_python(venv: &Path) -> PathBuf {
    venv.join("bin/python")
}

/// Makes sure the venv exists and matches `tests/requirements.txt`; returns its directory.
pub fn ensure_venv() -> Result<PathBuf> {
    let venv = venv_dir();
    let requirements_path = repo_root().join("tests/requirements.txt");
    let requirements = fs::read_to_string(&requirements_path)
        .with_context(|| format!("reading {}", requirements_path.display()))?;
    if is_current(&venv, &requirements) {
        return Ok(venv);
    }

    let parent = venv.parent().context("venv path has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let lock_path = venv.with_extension("lock");
    let lock =
        File::create(&lock_path).with_context(|| format!("creating {}", lock_path.display()))?;
    // Fully qualified: std's inherent `File::lock` is newer than the workspace's rust-version.
    fs4::FileExt::lock(&lock).with_context(|| format!("locking {}", lock_path.display()))?;
    // Another process may have finished the install while we waited for the lock.
    if is_current(&venv, &requirements) {
        return Ok(venv);
    }
    eprintln!(
        "harness: installing the test virtualenv at {} (once)",
        venv.display()
    );
    if !venv_python(&venv).exists() {
        let python = std::env::var("IMGDEPLOY_PYTHON").unwrap_or_else(|_| "python3.11".into());
        let python = if which(&python) {
            python
        } else {
            "python3".into()
        };
        run(
            Command::new(&python).arg("-m").arg("venv").arg(&venv),
            "python -m venv",
        )?;
    }
    run(
        Command::new(venv_python(&venv))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements_path),
        "pip install -r tests/requirements.txt",
    )?;
    fs::write(venv.join(STAMP), &requirements).context("writing the venv stamp")?;
    fs4::FileExt::unlock(&lock).ok();
    Ok(venv)
}

fn is_current(venv: &Path, requirements: &str) -> bool {
    venv_python(venv).exists()
        && fs::read_to_string(venv.join(STAMP)).is_ok_and(|stamp| stamp == requirements)
}

fn which(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("starting {what}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}\n{}\nrun scripts/setup.sh to install the test tools",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}
