//! Runs `cargo zigbuild` for the function's `bootstrap` with a Lambda profile and glibc pinned to
//! Amazon Linux 2023's, showing a spinner with cargo's current step and, on failure, the tail of its
//! output.
use super::toolchain::Toolchain;
use super::{Arch, BuildProfile, Features};
use crate::progress::Progress;
use anyhow::{bail, Context};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The package and binary that become the Lambda's `bootstrap`.
const PACKAGE: &str = "imgdeploy-function";
const BINARY: &str = "bootstrap";
/// Lines of cargo's output shown when the build fails.
const TAIL_LINES: usize = 40;

/// The command line, kept separate so that tests can read it.
pub fn zigbuild_args(arch: Arch, profile: BuildProfile, features: Features) -> Vec<String> {
    let target = arch.zig_target();
    [
        "zigbuild",
        "--profile",
        profile.cargo_name(),
        "-p",
        PACKAGE,
        "--bin",
        BINARY,
        "--target",
        &target,
    ]
    .into_iter()
    .map(String::from)
    .chain(["--no-default-features", "--features", features.cargo_list()].map(String::from))
    .chain(["--message-format=json-render-diagnostics".to_string()])
    .collect()
}

/// Compiles and returns the path of the built `bootstrap`.
pub fn compile(
    workspace_root: &Path,
    arch: Arch,
    profile: BuildProfile,
    features: Features,
    tools: &Toolchain,
    progress: &Progress,
) -> anyhow::Result<PathBuf> {
    let task = progress.start(
        "build",
        &format!(
            "bootstrap for {} (profile {})",
            arch.zig_target(),
            profile.cargo_name()
        ),
    );
    let mut child = Command::new(&tools.cargo_zigbuild)
        .args(zigbuild_args(arch, profile, features))
        .current_dir(workspace_root)
        .envs(tools.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", tools.cargo_zigbuild.display()))?;

    // Cargo's human output (progress and rendered errors) is on stderr, the JSON messages on stdout;
    // both are drained at once so that neither pipe fills up and stalls cargo.
    let stderr = child.stderr.take().expect("piped stderr");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tail, executable) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut tail = VecDeque::with_capacity(TAIL_LINES);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(step) = line.trim_start().strip_prefix("Compiling ") {
                    task.set_message(&format!(
                        "compiling {}",
                        step.split(" (").next().unwrap_or(step)
                    ));
                }
                if tail.len() == TAIL_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            tail
        });
        let mut executable = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            executable = bootstrap_path(&line).or(executable);
        }
        (reader.join().unwrap_or_default(), executable)
    });
    let status = child.wait().context("waiting for cargo zigbuild")?;

    if !status.success() {
        task.fail("failed");
        let tail: Vec<String> = tail.into_iter().collect();
        bail!(
            "cargo zigbuild failed ({status}) building {PACKAGE} for {}; its last output:\n{}",
            arch.zig_target(),
            tail.join("\n")
        );
    }
    let Some(executable) = executable else {
        task.fail("no binary");
        bail!(
            "cargo zigbuild succeeded but reported no `{BINARY}` executable for {}",
            arch.zig_target()
        );
    };
    task.finish("compiled");
    Ok(executable)
}

/// The executable path in a cargo `compiler-artifact` JSON message for the `bootstrap` binary.
fn bootstrap_path(line: &str) -> Option<PathBuf> {
    if !line.starts_with('{') {
        return None;
    }
    let message: serde_json::Value = serde_json::from_str(line).ok()?;
    if message["reason"] != "compiler-artifact" || message["target"]["name"] != BINARY {
        return None;
    }
    message["executable"].as_str().map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_pins_glibc_and_uses_the_lambda_profile() {
        let args =
            zigbuild_args(Arch::Arm64, BuildProfile::Optimised, Features::default()).join(" ");
        assert!(
            args.contains("--target aarch64-unknown-linux-gnu.2.34"),
            "{args}"
        );
        assert!(args.contains("--profile lambda "), "{args}");
        assert!(
            args.contains("--no-default-features --features lambda "),
            "{args}"
        );
        let quick =
            zigbuild_args(Arch::X86_64, BuildProfile::Quick, Features { avif: true }).join(" ");
        assert!(quick.contains("--profile lambda-quick "), "{quick}");
        assert!(quick.contains("--features lambda,avif "), "{quick}");
        assert!(
            quick.contains("--target x86_64-unknown-linux-gnu.2.34"),
            "{quick}"
        );
        assert!(
            args.contains("-p imgdeploy-function --bin bootstrap"),
            "{args}"
        );
    }

    #[test]
    fn the_bootstrap_is_found_in_cargos_json() {
        let artifact = r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["bin"],"name":"bootstrap"},"executable":"/w/target/aarch64-unknown-linux-gnu/lambda/bootstrap","fresh":true}"#;
        assert_eq!(
            bootstrap_path(artifact),
            Some(PathBuf::from(
                "/w/target/aarch64-unknown-linux-gnu/lambda/bootstrap"
            ))
        );
        let library = r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"serde"},"executable":null}"#;
        assert_eq!(bootstrap_path(library), None);
        assert_eq!(
            bootstrap_path(r#"{"reason":"build-finished","success":true}"#),
            None
        );
        assert_eq!(bootstrap_path("   Compiling serde v1"), None);
    }
}
