#!/usr/bin/env bash
# Installs what imgdeploy's build, tests and demo need on a Debian machine with rustup and Python 3.11:
# Debian packages (qemu-user and the arm64 C library to run the arm64 `bootstrap`, Chromium for the demo),
# the Python venv of tests/requirements.txt (moto's server, boto3, the AWS CLI, ziglang, cargo-zigbuild),
# and the Rust target and components. Idempotent, quiet, and fast once everything is there: one line per
# step. Details of each install go to $IMGDEPLOY_CACHE/setup.log and are printed only when a step fails.
# `setup.sh` installs what the tests need; `setup.sh demo`, the subset the demo needs (no qemu, no
# Chromium). With IMGDEPLOY_SETUP_DONE=1 in the environment (set by `make` and CI once setup has run),
# it returns at once.
set -euo pipefail

if [ "${IMGDEPLOY_SETUP_DONE:-}" = 1 ]; then
  echo "setup: done earlier in this run (IMGDEPLOY_SETUP_DONE=1)"
  exit 0
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${IMGDEPLOY_CACHE:-$HOME/.cache/imgdeploy}"
VENV="${IMGDEPLOY_VENV:-$CACHE/venv}"
REQUIREMENTS="$ROOT/tests/requirements.txt"
# Written into the venv after a successful install; the test harness reads the same file.
STAMP="$VENV/.imgdeploy-requirements"
LOG="$CACHE/setup.log"
# nasm: without it mozjpeg-sys silently builds libjpeg-turbo without its x86 SIMD (the host engine, `render`).
# The tests also run the arm64 bootstrap under qemu (qemu-user, the arm64 C library) and load the demo's
# contact sheet in headless Chromium, and make unusual JPEGs with libjpeg-turbo's jpegtran (libjpeg-turbo-progs);
# they build the AVIF encoder (libaom, with CMake) and read its files back with libavif's avifdec (libavif-bin).
# `setup.sh demo` installs only what the demo needs (its variants are JPEG and WebP: no CMake).
APT_PACKAGES=(nasm)
RUST_TARGET=aarch64-unknown-linux-gnu
RUST_COMPONENTS=(rustfmt clippy)
case "${1:-test}" in
  # The demo lints nothing: no rustfmt or clippy.
  demo) RUST_COMPONENTS=() ;;
  test) APT_PACKAGES+=(qemu-user libc6-arm64-cross chromium libjpeg-turbo-progs cmake libavif-bin) ;;
  *) echo "usage: setup.sh [test|demo] [--apt-only]" >&2; exit 2 ;;
esac
# --apt-only: only the Debian packages, which the host build needs (nasm); the demo starts compiling the
# CLI after them and installs the rest while it compiles.
APT_ONLY=""
[ "${2:-}" = "--apt-only" ] && APT_ONLY=1

mkdir -p "$CACHE"
: >"$LOG"

step() { printf 'setup: %-22s %s\n' "$1" "$2"; }

# Runs a command with its output in the log; on failure prints the log's end and stops.
quietly() {
  if ! "$@" >>"$LOG" 2>&1; then
    echo "setup: FAILED: $*" >&2
    tail -n 40 "$LOG" >&2
    exit 1
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- Debian packages -------------------------------------------------------------------------------
missing=()
for package in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  step "apt packages" "present (${APT_PACKAGES[*]})"
else
  quietly as_root apt-get update -qq
  quietly as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  step "apt packages" "installed ${missing[*]}"
fi

[ -z "$APT_ONLY" ] || exit 0

# --- Python venv -----------------------------------------------------------------------------------
if [ -x "$VENV/bin/python" ] && cmp -s "$REQUIREMENTS" "$STAMP"; then
  step "python venv" "up to date ($VENV)"
else
  python="${IMGDEPLOY_PYTHON:-}"
  if [ -z "$python" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
  fi
  [ -n "$python" ] || { echo "setup: no python3.11 or python3 on PATH" >&2; exit 1; }
  mkdir -p "$(dirname "$VENV")"
  # The same lock as the test harness (tests/it/harness/venv.rs), so that they never install at once.
  exec 9>"$VENV.lock"
  flock 9
  if ! { [ -x "$VENV/bin/python" ] && cmp -s "$REQUIREMENTS" "$STAMP"; }; then
    [ -x "$VENV/bin/python" ] || quietly "$python" -m venv "$VENV"
    quietly "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$STAMP"
  fi
  flock -u 9
  step "python venv" "installed tests/requirements.txt into $VENV"
fi

# --- Rust ------------------------------------------------------------------------------------------
if rustup target list --installed | grep -qx "$RUST_TARGET"; then
  step "rust target" "present ($RUST_TARGET)"
else
  quietly rustup target add "$RUST_TARGET"
  step "rust target" "added $RUST_TARGET"
fi

if [ "${#RUST_COMPONENTS[@]}" -gt 0 ]; then
  missing=()
  installed_components="$(rustup component list --installed)"
  for component in "${RUST_COMPONENTS[@]}"; do
    grep -q "^$component" <<<"$installed_components" || missing+=("$component")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    step "rust components" "present (${RUST_COMPONENTS[*]})"
  else
    quietly rustup component add "${missing[@]}"
    step "rust components" "added ${missing[*]}"
  fi
fi

# --- Check ---------------------------------------------------------------------------------------
"$VENV/bin/python" -c 'import moto, boto3' 2>>"$LOG" || { echo "setup: the venv cannot import moto" >&2; exit 1; }
step "ready" "add $VENV/bin to PATH (make test does) for cargo-zigbuild and the AWS CLI"
