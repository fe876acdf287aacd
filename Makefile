# agentguard: the one entry point.
#   make demo    build and run the main demo
#   make test    the whole suite (what CI runs)
#   make bench   benchmarks; figures go to bench/RESULTS.md
#   make fuzz    cargo-fuzz over spec parsing + check, and rules + check_call (not in CI)
#   make install the `agentguard` command (check, test, lint, diff) into ~/.cargo/bin
# Every tool is installed here, only when missing (see mk/tools.mk).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT := $(CURDIR)
CARGO_BIN := $(HOME)/.cargo/bin
export PATH := $(ROOT)/node_modules/.bin:$(CARGO_BIN):$(PATH)

# Hard timeouts, so a hang fails a suite in minutes instead of running into
# CI's 90-minute limit. Per test: node --test-timeout (ms) and pytest-timeout
# (s). Per suite: coreutils timeout (s) around the runner, which stops its
# whole process group (servers and browsers the tests started included) and
# SIGKILLs it SUITE_KILL_AFTER_S later. Measured in a fresh-clone `make test`
# here: gateway 70 s, edge and browsers 40-50 s, pytest 7 s, cargo test 5 min
# to build and 20 s to run; the slowest single node test about 10 s.
NODE_TEST_TIMEOUT_MS := 120000
BROWSER_TEST_TIMEOUT_MS := 300000
PYTEST_TIMEOUT_S := 120
SUITE_KILL_AFTER_S := 10
GATEWAY_SUITE_TIMEOUT_S := 600
EDGE_SUITE_TIMEOUT_S := 900
NPM_SUITE_TIMEOUT_S := 900
PYTHON_SUITE_TIMEOUT_S := 600
CARGO_TEST_BUILD_TIMEOUT_S := 2400
CARGO_TEST_TIMEOUT_S := 900
# $(call timed,SECONDS,COMMAND): COMMAND under those rules, saying so when it
# is stopped (exit 124, or 137 after the SIGKILL). Environment assignments go
# before it: VAR=x $(call timed,60,node ...).
timed = timeout --kill-after=$(SUITE_KILL_AFTER_S) $(1) $(2) || { rc=$$?; \
  if [ $$rc -eq 124 ] || [ $$rc -eq 137 ]; then echo "error: stopped after a $(1) s timeout: $(2)" >&2; fi; exit $$rc; }

# Every area is required: a missing file is an error, never a suite dropped.
include mk/tools.mk
include mk/core.mk
include mk/npm.mk
include mk/python.mk
include mk/edge.mk
include mk/gateway.mk
include mk/cli.mk
include mk/mcp.mk

.PHONY: help demo build test bench fuzz
help:
	@echo "make demo | make test | make bench | make fuzz | make build | make install"
	@echo "also: make demo-core, make demo-python, make playground, make gateway, make pack, make wheel, make test-cli"

# Each area adds its own prerequisites to these with `test: test-xyz` etc.
build: build-core
test: test-core
bench: bench-core
fuzz: fuzz-core
# The main demo is the Node agent (mk/npm.mk: demo-npm); demo-core and
# demo-python run the Rust and Python ones.
