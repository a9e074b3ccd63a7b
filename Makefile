# Entry points for people and CI. `make test` installs what the tests need (scripts/setup.sh), then runs
# every test of the workspace with the test venv's tools (moto, the AWS CLI, cargo-zigbuild) on PATH.
IMGDEPLOY_VENV ?= $(HOME)/.cache/imgdeploy/venv
export IMGDEPLOY_VENV
export PATH := $(IMGDEPLOY_VENV)/bin:$(PATH)

.PHONY: setup test demo

setup:
	@bash scripts/setup.sh

test: setup
	cargo test --workspace --all-targets

demo: setup
	bash scripts/demo.sh
