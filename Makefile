# Entry points for people and CI. `make test` installs what the tests need (scripts/setup.sh), then runs
# every test of the workspace with the test venv's tools (moto, the AWS CLI, cargo-zigbuild) on PATH.
# `make demo` installs only what the demo needs (scripts/setup.sh demo, run by scripts/demo.sh).
IMGDEPLOY_VENV ?= $(HOME)/.cache/imgdeploy/venv
export IMGDEPLOY_VENV
export PATH := $(IMGDEPLOY_VENV)/bin:$(PATH)

.PHONY: setup test demo fuzz bench-arm64 test-arm64

setup:
	@bash scripts/setup.sh

# Setup runs once: the demo test (tests/it/demo.rs) and scripts/demo.sh see IMGDEPLOY_SETUP_DONE=1.
# The CloudFront Function (JavaScript) is tested by Node's own runner, over real viewers' Accept values.
test: setup
	node --test provisioner/edge/negotiate.test.js
	IMGDEPLOY_SETUP_DONE=1 cargo test --workspace --all-targets

demo:
	bash scripts/demo.sh

# Fuzzing (docs/fuzzing.md): every target, or those in TARGETS, for FUZZ_SECONDS each (default 60);
# e.g. `make fuzz FUZZ_SECONDS=1800 TARGETS=jpeg_decoders`. Needs libjpeg-turbo-progs for the seeds.
FUZZ_SECONDS ?= 60
export FUZZ_SECONDS
fuzz:
	bash fuzz/run.sh $(TARGETS)

# Instructions per image on arm64 (the Lambda's default), imgdeploy against sharp and Pillow, all
# three as arm64 programs under qemu-aarch64 (bench/arm64/README.md, docs/benchmarks.md); needs
# ../shared beside the checkout, and `make setup` (zig, qemu). ARGS go to compare.py.
bench-arm64:
	$(MAKE) -C bench/arm64
	bash bench/arm64/peers.sh
	bash bench/arm64/build-render.sh
	python3 bench/arm64/compare.py $(ARGS)

# The engine's unit tests built for arm64 and run under qemu-aarch64 (the NEON kernels against the
# portable code, and everything else on the Lambda's architecture). About 15 minutes the first time.
test-arm64: setup
	CARGO_TARGET_DIR=target/arm64-tests \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu neoverse-n1" \
	  cargo-zigbuild test -p imgdeploy-function --no-default-features --lib --target aarch64-unknown-linux-gnu.2.34
