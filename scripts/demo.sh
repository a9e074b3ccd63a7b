#!/usr/bin/env bash
# The local demo (`make demo`): the whole imgdeploy pipeline on this machine, with no AWS account.
# It installs what it needs (scripts/setup.sh), starts moto's AWS emulator on 127.0.0.1, runs the real
# `imgdeploy up` against it, uploads the sample photos of examples/photos, processes each upload with
# the real function code (`imgdeploy invoke --local`), lists the variants, writes an HTML contact sheet,
# and leaves the stack (and moto) running, printing how to look at it and how to tear it down.
#
# Environment (all optional):
#   IMGDEPLOY_DEMO_OUT   output directory (default: demo-out/ in the repository)
#   IMGDEPLOY_BIN        an imgdeploy binary to use instead of building one with cargo
#   IMGDEPLOY_ARTIFACT   a function zip built earlier by `imgdeploy build` (passed to `up --artifact`)
#   IMGDEPLOY_DEMO_FRESH=1  start a new moto even if the previous demo's is still running
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${IMGDEPLOY_DEMO_OUT:-$ROOT/demo-out}"
CONFIG="$ROOT/examples/imgdeploy.toml"
PHOTOS="$ROOT/examples/photos"
VENV="${IMGDEPLOY_VENV:-${IMGDEPLOY_CACHE:-$HOME/.cache/imgdeploy}/venv}"
export IMGDEPLOY_VENV="$VENV"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

if [ -t 1 ]; then BOLD=$'\033[1m'; DIM=$'\033[2m'; RESET=$'\033[0m'; else BOLD=""; DIM=""; RESET=""; fi
STEP=0
step() { STEP=$((STEP + 1)); printf '\n%s[%d/9] %s%s\n' "$BOLD" "$STEP" "$*" "$RESET"; }
note() { printf '%s      %s%s\n' "$DIM" "$*" "$RESET"; }
started=$(date +%s)

# --- 1. tools and builds ------------------------------------------------------------------------------
step "Installing what the demo needs (moto in a venv, the cross-compile tools) while the CLI compiles"
# Both cores compile from the first minute: the Debian packages the host build needs (nasm) come first,
# then the CLI compiles in the background while the venv (moto, zig, cargo-zigbuild) and the arm64 Rust
# target install; the arm64 function (the `--quick` profile that `up --quick` deploys) then compiles
# beside the CLI, and `up` finds it built. Logs: $OUT/cli-build.log and $OUT/function-build.log.
bash "$ROOT/scripts/setup.sh" demo --apt-only
cli_build=""
if [ -z "${IMGDEPLOY_BIN:-}" ]; then
  # Without AVIF (libaom): the demo's variants are JPEG and WebP, and its function is built without it.
  # The `demo` profile is dev's with the engine at opt-level 1 (Cargo.toml): quicker to build, and
  # quick enough for the four photos it renders here.
  note "building the imgdeploy CLI (cargo build --profile demo -p imgdeploy) and the arm64 function beside it: minutes the first time"
  cargo build --quiet --profile demo -p imgdeploy --no-default-features >"$OUT/cli-build.log" 2>&1 &
  cli_build=$!
fi
bash "$ROOT/scripts/setup.sh" demo
export PATH="$VENV/bin:$PATH"
PY="$VENV/bin/python"

prebuild=""
if [ -z "${IMGDEPLOY_ARTIFACT:-}" ]; then
  # Exactly the build `up` asks for when no variant is AVIF (provisioner/src/artifact/compile.rs).
  cargo zigbuild --quiet --profile lambda-quick -p imgdeploy-function --bin bootstrap \
    --no-default-features --features lambda --target aarch64-unknown-linux-gnu.2.34 >"$OUT/function-build.log" 2>&1 &
  prebuild=$!
fi

# A failed demo stops its background builds (moto, detached, is left to its own pid file).
trap 'status=$?; [ "$status" -eq 0 ] || kill ${cli_build:-} ${prebuild:-} 2>/dev/null || true' EXIT

if [ -n "${IMGDEPLOY_BIN:-}" ]; then
  BIN="$IMGDEPLOY_BIN"
else
  if ! wait "$cli_build"; then
    echo "building the CLI failed; its log ($OUT/cli-build.log):" >&2
    tail -n 60 "$OUT/cli-build.log" >&2
    exit 1
  fi
  target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  case "$target_dir" in /*) ;; *) target_dir="$ROOT/$target_dir" ;; esac
  BIN="$target_dir/demo/imgdeploy"
fi
note "imgdeploy: $BIN ($(( $(date +%s) - started )) s since the start)"

# Only moto, never a real account: dummy keys, no profile files, no instance metadata.
for name in $(compgen -e); do
  case "$name" in AWS_*) unset "$name" ;; esac
done
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# --- 2. moto -----------------------------------------------------------------------------------------
step "Starting the AWS emulator (moto) on 127.0.0.1"
MOTO_ENV="$OUT/moto.env"
endpoint=""
if [ -z "${IMGDEPLOY_DEMO_FRESH:-}" ] && [ -f "$MOTO_ENV" ]; then
  # shellcheck disable=SC1090
  . "$MOTO_ENV"
  if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)' \
    "$MOTO_ENDPOINT" 2>/dev/null; then
    endpoint="$MOTO_ENDPOINT"
    note "the previous demo's moto is still running at $endpoint (pid $MOTO_PID): reusing it"
  fi
fi
if [ -z "$endpoint" ]; then
  ready="$OUT/moto.ready"
  : >"$ready"
  # The launcher exits when its parent does; its parent here is a detached shell that only waits for
  # it, so moto outlives this script. Stopping moto: kill that shell (MOTO_PID) and the launcher follows.
  setsid bash -c "\"$PY\" \"$ROOT/tests/moto/launch.py\" --parent-pid \$\$ >\"$ready\" 2>\"$OUT/moto.log\" & wait" \
    </dev/null >/dev/null 2>&1 &
  holder=$!
  for _ in $(seq 1 300); do
    grep -q "MOTO READY" "$ready" 2>/dev/null && break
    kill -0 "$holder" 2>/dev/null || { echo "moto did not start; its log:" >&2; cat "$OUT/moto.log" >&2; exit 1; }
    sleep 0.1
  done
  port="$(sed -n 's/^MOTO READY port=\([0-9]*\)$/\1/p' "$ready")"
  [ -n "$port" ] || { echo "moto did not start within 30 s; its log: $OUT/moto.log" >&2; exit 1; }
  endpoint="http://127.0.0.1:$port"
  printf 'MOTO_ENDPOINT=%s\nMOTO_PID=%s\n' "$endpoint" "$holder" >"$MOTO_ENV"
  # For the commands printed at the end: `source demo-out/env.sh` points the AWS CLI and imgdeploy at moto.
  cat >"$OUT/env.sh" <<EOF
# Source this file to talk to the demo's moto: dummy credentials and its endpoint, never a real account.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_ENDPOINT_URL=$endpoint
unset AWS_PROFILE AWS_SESSION_TOKEN
export PATH="$VENV/bin:\$PATH"
EOF
  note "moto is listening at $endpoint (pid $holder)"
fi
. "$MOTO_ENV"
idp() { "$BIN" --config "$CONFIG" --endpoint-url "$endpoint" "$@"; }

# --- 3. up -------------------------------------------------------------------------------------------
step "Deploying the stack of examples/imgdeploy.toml with the real \`imgdeploy up\`"
note "buckets, topics, role, log group, the arm64 function, subscription, notification, CloudFront"
if [ -n "${IMGDEPLOY_ARTIFACT:-}" ]; then
  idp up --yes --artifact "$IMGDEPLOY_ARTIFACT"
else
  # A failed background build is built (and its error shown) again by `up`.
  [ -z "$prebuild" ] || wait "$prebuild" || note "the background function build failed; up builds it again"
  note "the arm64 function with the --quick profile (no whole-program LTO); deploy without --quick for production"
  idp up --yes --quick
fi
STACK="$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["stack"]["name"])' "$CONFIG")"
PREFIX="$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("source", {}).get("prefix", "originals/"))' "$CONFIG")"
ORIGINALS="$STACK-originals"

# --- 4. upload ---------------------------------------------------------------------------------------
step "Uploading the sample photos to s3://$ORIGINALS/$PREFIX"
keys=()
for photo in "$PHOTOS"/*.jpg; do
  name="$(basename "$photo")"
  aws --endpoint-url "$endpoint" s3 cp --only-show-errors "$photo" "s3://$ORIGINALS/$PREFIX$name"
  note "uploaded $name ($(stat -c %s "$photo") bytes)"
  keys+=("$name")
done

# --- 5. process ----------------------------------------------------------------------------------------
step "Processing each upload with the function's own code: imgdeploy invoke --local"
note "moto cannot run Lambda code without Docker, so the handler runs here, with the event SNS delivers"
note "\"rendering\" is the engine's time in this CLI (a dev build, the engine at opt-level 1); the Lambda's build is faster"
idp invoke --local "${keys[@]}"

# --- 6. list -------------------------------------------------------------------------------------------
step "The variants in s3://$STACK-processed, with their sizes"
"$PY" "$ROOT/scripts/contact_sheet.py" fetch --endpoint-url "$endpoint" --config "$CONFIG" --out "$OUT"

# --- 7. contact sheet ----------------------------------------------------------------------------------
step "Writing the HTML contact sheet"
"$PY" "$ROOT/scripts/contact_sheet.py" html --out "$OUT"

# --- 8. where --------------------------------------------------------------------------------------
step "Where to look"
echo "  contact sheet : file://$OUT/index.html   (open it in a browser)"
echo "  images        : $OUT/images/"
echo "  the stack now : $BIN --config examples/imgdeploy.toml status   (after: source ${OUT#"$ROOT"/}/env.sh)"
echo
idp status

# --- 9. what stays up ------------------------------------------------------------------------------
step "The stack and moto are still running"
cat <<EOF
  Point a shell at moto first (dummy credentials, its endpoint; imgdeploy honours AWS_ENDPOINT_URL):
    source ${OUT#"$ROOT"/}/env.sh
  Upload more photos and process them:
    aws --endpoint-url $endpoint s3 cp photo.jpg s3://$ORIGINALS/${PREFIX}photo.jpg
    $BIN --config examples/imgdeploy.toml invoke --local photo.jpg
  Tear the stack down (--delete-data also removes the uploaded originals and their backups):
    $BIN --config examples/imgdeploy.toml teardown --yes --delete-data
  Stop moto (it forgets everything it holds):
    kill $MOTO_PID

Demo done in $(( $(date +%s) - started )) s.
EOF
