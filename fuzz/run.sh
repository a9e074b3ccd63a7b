#!/usr/bin/env bash
# Runs the fuzz targets: `fuzz/run.sh [TARGET...]`, each for FUZZ_SECONDS (default 60), with a 2 s
# per-input timeout and a 1 GB memory cap. Seeds are regenerated (fuzz/seeds.py); the corpus each
# target grows is kept in fuzz/corpus/<target>/ between runs. Prints libFuzzer's final figures per
# target and exits non-zero when any target found something (its input is in
# fuzz/artifacts/<target>/). `make fuzz` and CI's smoke call this. See docs/fuzzing.md.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# FUZZ_SEED fixes libFuzzer's random seed (CI: the same mutations each run); unset, each run differs.
seed_flag=()
[ -n "${FUZZ_SEED:-}" ] && seed_flag=(-seed="$FUZZ_SEED")
all=(jpeg_decoders png_decoders probe render event config)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
# cargo fuzz passes -Zsanitizer and friends; a fresh machine has only the stable toolchain, whose
# compiler accepts them with RUSTC_BOOTSTRAP (the sanitizer runtimes ship with stable's rust-std).
export RUSTC_BOOTSTRAP=1
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2 || exit 1
python3 fuzz/seeds.py "${targets[@]}" || exit 1
mkdir -p fuzz/corpus
image_dict=$(mktemp)
cat fuzz/dict/jpeg.dict fuzz/dict/png.dict > "$image_dict"
cargo fuzz build -O || exit 1
failed=()
for t in "${targets[@]}"; do
  case $t in
    jpeg_decoders) dict=fuzz/dict/jpeg.dict ;;
    png_decoders) dict=fuzz/dict/png.dict ;;
    event) dict=fuzz/dict/event.dict ;;
    config) dict=fuzz/dict/config.dict ;;
    *) dict=$image_dict ;;
  esac
  mkdir -p "fuzz/corpus/$t"
  echo "== $t: ${seconds}s"
  log=$(mktemp)
  cargo fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -timeout=2 -rss_limit_mb=1024 -max_len=262144 \
    -dict="$dict" -print_final_stats=1 "${seed_flag[@]}" >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+.*(DONE|pulse|INITED)|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)|cov: ' "$log" | tail -6
  if [ $rc -ne 0 ]; then
    failed+=("$t")
    echo "!! $t found something (exit $rc):"
    grep -E -A1 'panicked' "$log" | head -4; grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -6
  fi
  rm -f "$log"
done
rm -f "$image_dict"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzzing found something in: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, nothing found"
