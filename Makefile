# agentguard: the one entry point.
#   make demo    build and run the main demo
#   make test    the whole suite (what CI runs)
#   make bench   benchmarks; figures go to bench/RESULTS.md
#   make fuzz    cargo-fuzz over spec parsing + check (not in CI)
# Every tool is installed here, only when missing (see mk/tools.mk).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(ROOT)/node_modules/.bin:$(CARGO_BIN):$(PATH)

# Every area is required: a missing file is an error, never a suite dropped.
include mk/tools.mk
include mk/core.mk
include mk/npm.mk
include mk/python.mk
include mk/edge.mk
include mk/gateway.mk

.PHONY: help demo build test bench fuzz
help:
	@echo "make demo | make test | make bench | make fuzz | make build"
	@echo "also: make demo-core, make demo-python, make playground, make gateway, make mesh-cli, make pack, make wheel"

# Each area adds its own prerequisites to these with `test: test-xyz` etc.
build: build-core
test: test-core
bench: bench-core
fuzz: fuzz-core
# The main demo is the Node agent (mk/npm.mk: demo-npm); demo-core and
# demo-python run the Rust and Python ones.
