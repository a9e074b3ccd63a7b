#!/usr/bin/env bash
# Builds the engine's `render` example (function/examples/render.rs) for arm64 as `imgdeploy build`
# builds the Lambda's bootstrap (provisioner/src/artifact/compile.rs): cargo zigbuild, the `lambda`
# profile (fat LTO, one codegen unit, from function/lambda-profiles.toml), glibc pinned to 2.34 (Amazon
# Linux 2023), the engine without the `lambda` feature, which is all that `render` runs.
# As a binary of a scratch workspace (target/arm64-render), the way `imgdeploy up` builds the function
# outside this repository: built as an example, it would compile the function's dev-dependencies (the
# AWS SDK) for arm64 too. It starts from the repository's Cargo.lock, so the versions are the same.
# Needs scripts/setup.sh's venv (zig, cargo-zigbuild). Prints the binary's path last.
# `build-render.sh --symbols` builds the same binary with its symbol table kept (the Lambda's is
# stripped) and Rust's v0 symbol mangling, whose names carry generic arguments, so that a closure rayon
# runs is named by the function it was written in; in target/arm64-render/symbols, for symbols.so.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="${IMGDEPLOY_VENV:-$HOME/.cache/imgdeploy/venv}/bin:$PATH"
WS="$ROOT/target/arm64-render"
mkdir -p "$WS"
{
  cat <<TOML
[package]
name = "arm64-render"
version = "0.0.0"
edition = "2021"
publish = false

[[bin]]
name = "render"
path = "$ROOT/function/examples/render.rs"

[dependencies]
imgdeploy-function = { path = "$ROOT/function", default-features = false }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
toml = "0.9"

[workspace]

TOML
  cat "$ROOT/function/lambda-profiles.toml"
} >"$WS/Cargo.toml"
cp "$ROOT/Cargo.lock" "$WS/Cargo.lock"
cd "$WS"
TARGET="$WS/target"
if [ "${1:-}" = "--symbols" ]; then
  export CARGO_PROFILE_LAMBDA_STRIP=false
  export RUSTFLAGS="-C symbol-mangling-version=v0"
  TARGET="$WS/symbols"
fi
CARGO_TARGET_DIR="$TARGET" cargo zigbuild --profile lambda --target aarch64-unknown-linux-gnu.2.34 >&2
echo "$TARGET/aarch64-unknown-linux-gnu/lambda/render"
