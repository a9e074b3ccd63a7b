# Entry points for people and CI. `make test` installs what the tests need (scripts/setup.sh), then runs
# every test of the workspace with the test venv's tools (moto, the AWS CLI, cargo-zigbuild) on PATH.
# `make demo` installs only what the demo needs (scripts/setup.sh demo, run by scripts/demo.sh).
IMGDEPLOY_VENV ?= $(HOME)/.cache/imgdeploy/venv
export IMGDEPLOY_VENV
export PATH := $(IMGDEPLOY_VENV)/bin:$(PATH)

.PHONY: setup test demo fuzz

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
