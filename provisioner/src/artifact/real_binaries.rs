//! The ELF check on real binaries compiled by the test itself: the host's `cc` (Debian 12, glibc 2.36)
//! for binaries Amazon Linux 2023 cannot load, and zig pinned to glibc 2.34 for ones it can.
use super::toolchain::venv_dir;
use super::{check_elf, Arch, ArtifactError};
use std::path::{Path, PathBuf};
use std::process::Command;

const HELLO: &str = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n";
/// `arc4random` arrived in glibc 2.36: a host build needs `GLIBC_2.36`.
const NEEDS_GLIBC_236: &str =
    "#include <stdio.h>\n#include <stdlib.h>\nint main(void) { printf(\"%u\\n\", arc4random()); return 0; }\n";

fn host_arch() -> Arch {
    if cfg!(target_arch = "aarch64") {
        Arch::Arm64
    } else {
        Arch::X86_64
    }
}

fn other_arch() -> Arch {
    match host_arch() {
        Arch::Arm64 => Arch::X86_64,
        Arch::X86_64 => Arch::Arm64,
    }
}

/// Compiles `source` with `compiler` (plus `args`) and returns the output's bytes.
fn compile(dir: &Path, compiler: &[&str], source: &str, args: &[&str]) -> Vec<u8> {
    let src = dir.join("main.c");
    let out = dir.join("a.out");
    std::fs::write(&src, source).unwrap();
    let (program, leading) = compiler.split_first().unwrap();
    let status = Command::new(program)
        .args(leading)
        .arg(&src)
        .args(args)
        .arg("-o")
        .arg(&out)
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("running {program}: {e} (the C compiler comes with build-essential)")
        });
    assert!(status.success(), "{compiler:?} {args:?} failed");
    std::fs::read(out).unwrap()
}

/// `readelf -V` as an independent witness of what the binary needs.
fn readelf_versions(bytes: &[u8]) -> String {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let out = Command::new("readelf")
        .arg("-V")
        .arg(file.path())
        .output()
        .expect("readelf (binutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_host_build_needing_glibc_2_36_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let binary = compile(dir.path(), &["cc"], NEEDS_GLIBC_236, &["-O2"]);
    assert!(
        readelf_versions(&binary).contains("GLIBC_2.36"),
        "the fixture must need GLIBC_2.36"
    );
    let err = check_elf(&binary, host_arch()).unwrap_err();
    match &err {
        ArtifactError::GlibcTooNew { version, library } => {
            assert_eq!(version, "GLIBC_2.36");
            assert_eq!(library, "libc.so.6");
        }
        other => panic!("expected GlibcTooNew, got {other}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("glibc 2.34") && message.contains("imgdeploy build"),
        "{message}"
    );
}

#[test]
fn a_host_binary_offered_for_the_other_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let binary = compile(dir.path(), &["cc"], HELLO, &[]);
    let err = check_elf(&binary, other_arch()).unwrap_err();
    assert!(
        matches!(err, ArtifactError::WrongMachine { expected, .. } if expected == other_arch()),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("is built for {}", host_arch().lambda_name())),
        "{message}"
    );
}

#[test]
fn a_plain_host_build_is_accepted_with_what_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let pie = check_elf(&compile(dir.path(), &["cc"], HELLO, &[]), host_arch()).unwrap();
    assert_eq!(pie.kind, "pie executable");
    assert_eq!(pie.needed, vec!["libc.so.6"]);
    assert!(
        pie.interpreter
            .as_deref()
            .is_some_and(|i| i.contains("ld-linux")),
        "{pie:?}"
    );
    let exec = check_elf(
        &compile(dir.path(), &["cc"], HELLO, &["-no-pie"]),
        host_arch(),
    )
    .unwrap();
    assert_eq!(exec.kind, "executable");
    let fully_static = check_elf(
        &compile(dir.path(), &["cc"], HELLO, &["-static"]),
        host_arch(),
    )
    .unwrap();
    assert_eq!(
        (fully_static.kind, fully_static.max_glibc.clone()),
        ("static executable", None)
    );
}

#[test]
fn a_shared_library_is_not_an_executable() {
    let dir = tempfile::tempdir().unwrap();
    let library = compile(
        dir.path(),
        &["cc"],
        "int answer(void) { return 42; }\n",
        &["-shared", "-fPIC"],
    );
    let err = check_elf(&library, host_arch()).unwrap_err();
    assert!(
        matches!(
            err,
            ArtifactError::NotExecutable {
                kind: "a shared library"
            }
        ),
        "{err}"
    );
}

#[test]
fn a_library_amazon_linux_lacks_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let lib_dir = dir.path().join("lib");
    std::fs::create_dir(&lib_dir).unwrap();
    let library = compile(
        &lib_dir,
        &["cc"],
        "int answer(void) { return 42; }\n",
        &["-shared", "-fPIC"],
    );
    std::fs::write(lib_dir.join("libanswer.so"), library).unwrap();
    let main = "int answer(void);\nint main(void) { return answer(); }\n";
    let binary = compile(dir.path(), &["cc"], main, &["-Llib", "-lanswer"]);
    let err = check_elf(&binary, host_arch()).unwrap_err();
    assert!(
        matches!(&err, ArtifactError::UnsupportedLibrary { library } if library == "libanswer.so"),
        "{err}"
    );
    assert!(err.to_string().contains("libanswer.so"), "{err}");
}

#[test]
fn non_elf_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let script = b"#!/bin/sh\nexec ./real-binary\n";
    let zip = super::package::zip_bootstrap(script).unwrap();
    for bytes in [&script[..], &zip[..], &[][..]] {
        let err = check_elf(bytes, Arch::Arm64).unwrap_err();
        assert!(err.to_string().contains("not an ELF executable"), "{err}");
    }
    drop(dir);
}

/// zig from the project's toolchain (set up by scripts/setup.sh), as `python -m ziglang`.
fn zig_cc() -> Vec<String> {
    if let Some(zig) = super::toolchain::find_on_path("zig") {
        return vec![zig.display().to_string(), "cc".into()];
    }
    let venv_python: PathBuf = venv_dir().join("bin/python3");
    assert!(
        venv_python.is_file(),
        "zig is part of the project's toolchain: run scripts/setup.sh (looked for {})",
        venv_python.display()
    );
    vec![
        venv_python.display().to_string(),
        "-m".into(),
        "ziglang".into(),
        "cc".into(),
    ]
}

#[test]
fn a_build_pinned_to_glibc_2_34_is_accepted_for_arm64_only() {
    let dir = tempfile::tempdir().unwrap();
    let zig = zig_cc();
    let mut compiler: Vec<&str> = zig.iter().map(String::as_str).collect();
    compiler.extend(["-target", "aarch64-linux-gnu.2.34"]);
    let binary = compile(dir.path(), &compiler, HELLO, &["-O2"]);
    let report = check_elf(&binary, Arch::Arm64).unwrap();
    assert_eq!(report.machine, "arm64 (aarch64)");
    assert_eq!(
        report.max_glibc.as_deref(),
        Some("GLIBC_2.34"),
        "{report:?}"
    );
    assert!(
        readelf_versions(&binary).contains("GLIBC_2.34"),
        "{}",
        readelf_versions(&binary)
    );
    let err = check_elf(&binary, Arch::X86_64).unwrap_err();
    assert!(
        err.to_string()
            .contains("is built for arm64 (aarch64) but the function is x86_64"),
        "{err}"
    );
}
