//! `imgdeploy doctor` as a new user meets it: in a folder outside the repository, with the
//! cross-compile tools off PATH and no venv, it names each missing tool with the one command that
//! installs it and exits non-zero; with them, against moto, it is ready; an unreachable endpoint is
//! named as such. The simulation of the deployer's grants is unit-tested (moto has none).
use crate::harness::{self, moto, unique_name, Moto};
use crate::stack::last_json;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `imgdeploy doctor --json` in `dir`; (success, the report, stderr).
fn doctor(moto: &Moto, dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> (bool, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd)
        .current_dir(dir)
        .args(["doctor", "--json"])
        .args(extra)
        .envs(env.iter().copied());
    let out = cmd.output().expect("run imgdeploy doctor");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), last_json(&out.stdout), stderr)
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report:#}"))
}

#[test]
fn doctor_names_each_missing_prerequisite_with_its_fix() {
    let moto = moto();
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("doctor");
    std::fs::write(
        dir.path().join("imgdeploy.toml"),
        format!("[stack]\nname = \"{name}\"\n\n[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 200\n"),
    )
    .unwrap();

    // cargo and rustc stay reachable; cargo-zigbuild, zig and the venv do not.
    let cargo = which("cargo");
    let bare_path = format!("{}:/usr/bin:/bin", cargo.parent().unwrap().display());
    let empty = tempfile::tempdir().unwrap();
    let venv = empty.path().join("venv");
    let hidden = [
        ("PATH", bare_path.as_str()),
        ("IMGDEPLOY_VENV", venv.to_str().unwrap()),
    ];
    let (ok, report, stderr) = doctor(moto, dir.path(), &hidden, &[]);
    assert!(!ok, "doctor passed without the tools: {report:#}");
    assert!(stderr.contains("prerequisite(s) missing"), "{stderr}");
    assert_eq!(report["ready"], false);
    let install = format!(
        "python3 -m venv {} && {}/bin/pip install cargo-zigbuild ziglang",
        venv.display(),
        venv.display()
    );
    for tool in ["cargo-zigbuild", "zig"] {
        let c = check(&report, tool);
        assert_eq!(c["status"], "missing", "{c:#}");
        assert_eq!(c["fix"], install.as_str(), "{c:#}");
    }
    assert_eq!(check(&report, "cargo")["status"], "ok");
    assert_eq!(check(&report, "config")["status"], "ok");
    let endpoint = check(&report, "endpoint");
    assert_eq!(endpoint["status"], "ok", "{endpoint:#}");
    assert!(
        endpoint["detail"]
            .as_str()
            .unwrap()
            .contains("123456789012"),
        "{endpoint:#}"
    );
    assert_eq!(check(&report, "permissions")["status"], "unchecked");
    let source = check(&report, "function source");
    assert!(
        source["detail"]
            .as_str()
            .unwrap()
            .contains("imgdeploy-function"),
        "outside the repository the embedded source is used: {source:#}"
    );

    // With the tools, as the harness installed them: ready.
    let venv = harness::venv_dir();
    let tools = [("IMGDEPLOY_VENV", venv.to_str().unwrap())];
    let (ok, report, stderr) = doctor(moto, dir.path(), &tools, &[]);
    assert!(ok, "{report:#}\n{stderr}");
    assert_eq!(report["ready"], true);

    // An endpoint nothing listens on is named, with its fix.
    let (ok, report, _) = doctor(
        moto,
        dir.path(),
        &tools,
        &["--endpoint-url", "http://127.0.0.1:9"],
    );
    assert!(!ok);
    let endpoint = check(&report, "endpoint");
    assert_eq!(endpoint["status"], "missing", "{endpoint:#}");
    assert!(
        endpoint["detail"]
            .as_str()
            .unwrap()
            .contains("cannot reach the endpoint http://127.0.0.1:9"),
        "{endpoint:#}"
    );
}

fn which(tool: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}
