//! `imgdeploy build` and `imgdeploy update` (issue 3): the real zigbuilt bootstrap read back with
//! `readelf`, a rebuilt zip compared byte for byte, artifacts refused before any AWS call, and `update`
//! against moto sending no `UpdateFunctionCode` when nothing changed.
use crate::harness::{moto, repo_root, Moto};
use crate::stack::{lambda_zip, last_json, StackDir};
use serde_json::Value;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

fn readelf(flag: &str, file: &Path) -> String {
    let out = Command::new("readelf")
        .arg(flag)
        .arg(file)
        .output()
        .expect("readelf (binutils)");
    assert!(out.status.success(), "readelf {flag} {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `bootstrap` from a deployment zip, with its unix mode.
pub fn unzip_bootstrap(zip: &[u8]) -> (Vec<u8>, Option<u32>) {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("a zip");
    assert_eq!(archive.file_names().collect::<Vec<_>>(), vec!["bootstrap"]);
    let mut entry = archive.by_name("bootstrap").unwrap();
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).unwrap();
    (bytes, entry.unix_mode())
}

/// A deployment zip holding `binary` as `bootstrap` (0755), as a CI pipeline would make by hand.
pub fn zip_of(binary: &[u8], dir: &Path, name: &str) -> PathBuf {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(binary).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, writer.finish().unwrap().into_inner()).unwrap();
    path
}

/// Compiles a C program with the host's `cc` (Debian 12: glibc 2.36, x86_64).
fn host_binary(dir: &Path, source: &str) -> Vec<u8> {
    let src = dir.join("main.c");
    std::fs::write(&src, source).unwrap();
    let out = dir.join("host-bin");
    let status = Command::new("cc")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("cc");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// `imgdeploy build --arch arm64 --json` with the production profile (fat LTO, stripped): its report.
fn production_build() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_imgdeploy"))
        .current_dir(repo_root())
        .args(["build", "--arch", "arm64", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last_json(&out.stdout)
}

#[test]
fn build_gives_an_arm64_bootstrap_needing_at_most_glibc_2_34_and_a_reproducible_zip() {
    // The profile users deploy; the other tests deploy `--quick` zips (`stack::lambda_zip`).
    let report = production_build();
    let zip_path = PathBuf::from(report["zip"].as_str().expect("the report names the zip"));
    assert!(
        zip_path.ends_with("aarch64-unknown-linux-gnu/lambda/bootstrap.zip"),
        "{}",
        zip_path.display()
    );
    let first = std::fs::read(&zip_path).unwrap();
    let (bootstrap, mode) = unzip_bootstrap(&first);
    assert_eq!(
        mode,
        Some(0o100_755),
        "bootstrap must be a regular file with mode 0755"
    );
    let dir = tempfile::tempdir().unwrap();
    let extracted = dir.path().join("bootstrap");
    std::fs::write(&extracted, &bootstrap).unwrap();

    let header = readelf("-h", &extracted);
    assert!(header.contains("AArch64"), "{header}");
    let versions = readelf("-V", &extracted);
    let mut glibc: Vec<(u32, u32)> = versions
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("GLIBC_")?.split_once('.'))
        .filter_map(|(a, b)| Some((a.parse().ok()?, b.split('.').next()?.parse().ok()?)))
        .collect();
    glibc.sort_unstable();
    assert!(
        glibc.last().is_some_and(|v| *v <= (2, 34)),
        "newest glibc needed: {:?}\n{versions}",
        glibc.last()
    );
    assert!(!versions.contains("GLIBC_ABI_DT_RELR"), "{versions}");
    let sections = readelf("-S", &extracted);
    assert!(
        !sections.contains(".debug_info") && !sections.contains(".symtab"),
        "the production profile strips the binary:\n{sections}"
    );

    // Building again gives the same bytes: the zip is deleted (only this test uses the production
    // zip), so it is written again from the binary cargo left in place.
    std::fs::remove_file(&zip_path).unwrap();
    let again = production_build();
    assert_eq!(
        std::fs::read(&zip_path).unwrap(),
        first,
        "the re-written zip differs"
    );
    let expected_sha = sha256_hex(&first);
    assert_eq!(again["sha256"], expected_sha.as_str());
    assert_eq!(again["architecture"], "arm64");
    assert_eq!(
        again["elf"]["max_glibc"]
            .as_str()
            .map(|v| v <= "GLIBC_2.34"),
        Some(true),
        "{again}"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `update --artifact` against an unreachable endpoint: the check must refuse before any AWS call.
fn refused(moto: &Moto, config: &str, artifact: &Path) -> String {
    let dir = artifact.parent().unwrap();
    std::fs::write(dir.join("imgdeploy.toml"), config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_imgdeploy"));
    moto.configure(&mut cmd);
    let out = cmd
        .current_dir(dir)
        .args(["update", "--artifact"])
        .arg(artifact)
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "update accepted {}",
        artifact.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn update_refuses_artifacts_that_would_not_start_on_lambda() {
    let moto = moto();
    let dir = tempfile::tempdir().unwrap();
    let hello = host_binary(
        dir.path(),
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    );
    let variant = "[[variant]]\nname = \"thumb\"\nwidth = 200\nheight = 150\n";
    let arm64 = format!("[stack]\nname = \"refusals\"\n{variant}");
    let x86 =
        format!("[stack]\nname = \"refusals\"\n[function]\narchitecture = \"x86_64\"\n{variant}");

    let host_zip = zip_of(&hello, dir.path(), "host.zip");
    let err = refused(moto, &arm64, &host_zip);
    assert!(
        err.contains("built for x86_64 but the function is arm64"),
        "{err}"
    );
    assert!(
        !err.contains("127.0.0.1:9"),
        "the check must come before AWS: {err}"
    );

    let newer = host_binary(
        dir.path(),
        "#include <stdio.h>\n#include <stdlib.h>\nint main(void) { printf(\"%u\\n\", arc4random()); return 0; }\n",
    );
    let err = refused(moto, &x86, &zip_of(&newer, dir.path(), "newer.zip"));
    assert!(
        err.contains("needs GLIBC_2.36") && err.contains("glibc 2.34"),
        "{err}"
    );

    let err = refused(
        moto,
        &arm64,
        &zip_of(b"#!/bin/sh\necho hi\n", dir.path(), "script.zip"),
    );
    assert!(err.contains("not an ELF executable"), "{err}");
}

fn recorded_operations(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["operation"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn update_uploads_only_what_differs() {
    let moto = moto();
    let s = StackDir::new("update", "");
    let zip = lambda_zip().display().to_string();
    s.ok(moto, &["up", "--yes"]);
    let update = |tag: &str, artifact: &str| -> (Value, Vec<String>) {
        let record = s.dir.path().join(format!("{tag}.jsonl"));
        let (ok, json, stderr) = s.run_env(
            moto,
            &["update", "--artifact", artifact],
            &[("IMGDEPLOY_RECORD_REQUESTS", &record)],
        );
        assert!(ok, "update ({tag}) failed:\n{stderr}");
        (json, recorded_operations(&record))
    };

    let (json, ops) = update("unchanged", &zip);
    assert_eq!(json["changed"], false, "{json}");
    assert_eq!(json["changes"], serde_json::json!([]), "{json}");
    assert!(ops.contains(&"GetFunction".to_string()), "{ops:?}");
    assert!(
        !ops.iter()
            .any(|op| op.starts_with("Update") || op.starts_with("Put")),
        "{ops:?}"
    );

    s.write_config("[function]\nmemory_mb = 1024");
    let (json, ops) = update("memory", &zip);
    assert_eq!(
        json["changes"],
        serde_json::json!(["memory 2048 -> 1024 MB"]),
        "{json}"
    );
    assert!(
        ops.contains(&"UpdateFunctionConfiguration".to_string()),
        "{ops:?}"
    );
    assert!(!ops.contains(&"UpdateFunctionCode".to_string()), "{ops:?}");

    // Other code: the same bootstrap with one byte appended still passes the checks.
    let (mut other, _) = unzip_bootstrap(&std::fs::read(lambda_zip()).unwrap());
    other.push(0);
    let other_zip = zip_of(&other, s.dir.path(), "other.zip");
    let (json, ops) = update("code", other_zip.to_str().unwrap());
    assert_eq!(json["changes"], serde_json::json!(["code"]), "{json}");
    assert_eq!(
        ops.iter().filter(|op| *op == "UpdateFunctionCode").count(),
        1,
        "{ops:?}"
    );
    assert!(
        !ops.contains(&"UpdateFunctionConfiguration".to_string()),
        "{ops:?}"
    );

    let (json, _) = update("again", other_zip.to_str().unwrap());
    assert_eq!(
        json["changed"], false,
        "moto must now report the new CodeSha256: {json}"
    );

    // A change the notification, the role and the log group must follow is `up`'s: `update` names
    // each resource and changes nothing, not even the function's own prefix.
    s.write_config(
        "[function]\nmemory_mb = 1024\nlog_retention_days = 1096\n[source]\nprefix = \"uploads/\"",
    );
    let record = s.dir.path().join("prefix.jsonl");
    let (ok, _, stderr) = s.run_env(
        moto,
        &["update", "--artifact", other_zip.to_str().unwrap()],
        &[("IMGDEPLOY_RECORD_REQUESTS", &record)],
    );
    assert!(!ok, "update applied a prefix change alone");
    for line in [
        "  notification ",
        "  role ",
        "  log-group ",
        "run `imgdeploy up`",
    ] {
        assert!(stderr.contains(line), "no {line:?} in:\n{stderr}");
    }
    let ops = recorded_operations(&record);
    assert!(
        !ops.iter().any(|op| ["Update", "Put", "Create", "Delete"]
            .iter()
            .any(|verb| op.starts_with(verb))),
        "{ops:?}"
    );
    s.ok(moto, &["up", "--yes"]);
    // (`up` deployed the test's usual zip.)
    let (json, _) = update("after-up", &zip);
    assert_eq!(json["changed"], false, "up applied it all: {json}");
    s.ok(moto, &["teardown", "--yes"]);
}

/// The AWS SDK's default features would bring a second HTTP stack (hyper 0.14, rustls 0.21), SigV4a's
/// elliptic curves and aws-lc-sys, a C build longer than any other unit of the demo's first build
/// (Cargo.toml, docs/architecture.md "Build time"). The lock file holds every package that any build
/// of the workspace can compile, so none of them is in it; a default feature turned back on fails here.
#[test]
fn no_build_compiles_aws_lc_or_a_second_http_stack() {
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
    let lock: toml::Table = toml::from_str(&lock).unwrap();
    let packages: Vec<(String, String)> = lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().into(),
                p["version"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        packages.iter().any(|(name, _)| name == "ring"),
        "the TLS crypto"
    );
    let unwanted: Vec<_> = packages
        .iter()
        .filter(|(name, version)| {
            matches!(name.as_str(), "aws-lc-sys" | "aws-lc-rs" | "p256")
                || (name == "hyper" && version.starts_with("0."))
                || (name == "rustls" && version.starts_with("0.21"))
        })
        .collect();
    assert!(unwanted.is_empty(), "in Cargo.lock: {unwanted:?}");
}
