//! `imgdeploy doctor` as a new user meets it, in a folder outside the repository: each prerequisite
//! taken away in turn (by PATH, a venv missing a piece, a fake `rustc`, the environment, the folder)
//! is the one reported missing, with its own fix, and doctor exits non-zero; with everything, against
//! moto, it is ready. The simulation of the deployer's grants is unit-tested (moto has none).
use crate::harness::{self, moto, unique_name, Moto};
use crate::stack::last_json;
use serde_json::Value;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How one run differs from a machine that has everything.
#[derive(Default)]
struct Without<'a> {
    set: Vec<(&'a str, String)>,
    unset: &'a [&'a str],
    args: &'a [&'a str],
}

/// `imgdeploy doctor --json` in `dir`; (success, the report).
fn doctor(moto: &Moto, dir: &Path, w: &Without) -> (bool, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd)
        .current_dir(dir)
        .args(["doctor", "--json"])
        .args(w.args)
        .env("IMGDEPLOY_VENV", harness::venv_dir());
    for (k, v) in &w.set {
        cmd.env(k, v);
    }
    for k in w.unset {
        cmd.env_remove(k);
    }
    let out = cmd.output().expect("run imgdeploy doctor");
    (out.status.success(), last_json(&out.stdout))
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report:#}"))
}

fn missing(report: &Value) -> Vec<&str> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "missing")
        .map(|c| c["name"].as_str().unwrap())
        .collect()
}

fn which(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} is not on PATH"))
}

fn script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
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

    // Everything, as the harness installed it: ready, and the endpoint is moto's account.
    let (ok, report) = doctor(moto, dir.path(), &Without::default());
    assert!(ok, "{report:#}");
    assert_eq!(report["ready"], true);
    let endpoint = check(&report, "endpoint");
    assert!(
        endpoint["detail"]
            .as_str()
            .unwrap()
            .contains("123456789012"),
        "{endpoint:#}"
    );
    assert_eq!(check(&report, "permissions")["status"], "unchecked");
    assert!(
        check(&report, "function source")["detail"]
            .as_str()
            .unwrap()
            .contains("imgdeploy-function"),
        "outside the repository the embedded source is used: {report:#}"
    );

    // The pieces each case takes away.
    let scratch = tempfile::tempdir().unwrap();
    let cargo_dir = which("cargo").parent().unwrap().to_path_buf();
    let bare_path = format!("{}:/usr/bin:/bin", cargo_dir.display());
    let real_venv = harness::venv_dir();
    // A venv with cargo-zigbuild but no ziglang, and one with ziglang but no cargo-zigbuild.
    let no_zig = scratch.path().join("no-zig");
    std::fs::create_dir_all(no_zig.join("bin")).unwrap();
    symlink(
        real_venv.join("bin/cargo-zigbuild"),
        no_zig.join("bin/cargo-zigbuild"),
    )
    .unwrap();
    let no_zigbuild = scratch.path().join("no-zigbuild");
    std::fs::create_dir_all(no_zigbuild.join("bin")).unwrap();
    symlink(
        real_venv.join("bin/python3"),
        no_zigbuild.join("bin/python3"),
    )
    .unwrap();
    symlink(real_venv.join("lib"), no_zigbuild.join("lib")).unwrap();
    // A rustc whose sysroot has no target at all.
    let fake = scratch.path().join("fake-rustc");
    std::fs::create_dir_all(fake.join("sysroot")).unwrap();
    script(
        &fake.join("rustc"),
        &format!("#!/bin/sh\necho {}\n", fake.join("sysroot").display()),
    );
    let empty_dir = tempfile::tempdir().unwrap();
    let only = scratch.path().join("only-bin");
    std::fs::create_dir_all(&only).unwrap();

    let install = |venv: &Path| {
        format!(
            "python3 -m venv {} && {}/bin/pip install cargo-zigbuild ziglang",
            venv.display(),
            venv.display()
        )
    };
    // (case, what differs, folder, the checks reported missing (the first with its fix), that fix)
    let cases: Vec<(&str, Without, &Path, &[&str], String)> = vec![
        (
            "no cargo on PATH",
            Without {
                set: vec![("PATH", format!("{}:/usr/bin:/bin", only.display()))],
                ..Default::default()
            },
            dir.path(),
            // Without Rust there is no sysroot either.
            &["cargo", "rust target"],
            "install Rust with rustup: https://rustup.rs".into(),
        ),
        (
            "no arm64 target in the sysroot",
            Without {
                set: vec![("PATH", format!("{}:{bare_path}", fake.display()))],
                ..Default::default()
            },
            dir.path(),
            &["rust target"],
            "rustup target add aarch64-unknown-linux-gnu".into(),
        ),
        (
            "a venv without ziglang",
            Without {
                set: vec![
                    ("PATH", bare_path.clone()),
                    ("IMGDEPLOY_VENV", no_zig.display().to_string()),
                ],
                ..Default::default()
            },
            dir.path(),
            &["zig"],
            install(&no_zig),
        ),
        (
            "a venv without cargo-zigbuild",
            Without {
                set: vec![
                    ("PATH", bare_path.clone()),
                    ("IMGDEPLOY_VENV", no_zigbuild.display().to_string()),
                ],
                ..Default::default()
            },
            dir.path(),
            &["cargo-zigbuild"],
            install(&no_zigbuild),
        ),
        (
            "no imgdeploy.toml",
            Without::default(),
            empty_dir.path(),
            &["config"],
            "`imgdeploy init` writes one (or pass --config PATH)".into(),
        ),
        (
            "no credentials",
            Without {
                unset: &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
                ..Default::default()
            },
            dir.path(),
            &["credentials"],
            "run `aws configure` or `aws sso login`, set AWS_PROFILE, or pass --profile".into(),
        ),
        (
            "no region",
            Without {
                unset: &["AWS_REGION", "AWS_DEFAULT_REGION"],
                ..Default::default()
            },
            dir.path(),
            &["region"],
            "pass --region, set [stack] region, or export AWS_REGION".into(),
        ),
        (
            "an endpoint nothing listens on",
            Without {
                args: &["--endpoint-url", "http://127.0.0.1:9"],
                ..Default::default()
            },
            dir.path(),
            &["endpoint"],
            "start it, or check --endpoint-url".into(),
        ),
    ];
    for (case, without, folder, names, fix) in cases {
        let (ok, report) = doctor(moto, folder, &without);
        assert!(!ok, "{case}: doctor passed: {report:#}");
        assert_eq!(report["ready"], false, "{case}");
        assert_eq!(missing(&report), names, "{case}: {report:#}");
        let found = check(&report, names[0])["fix"].as_str().unwrap_or_default();
        assert!(
            found.starts_with(fix.as_str()),
            "{case}: fix {found:?}, expected {fix:?}"
        );
    }
}
