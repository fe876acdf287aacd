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

.PHONY: help demo build test bench fuzz test-docs
help:
	@printf '%s\n' \
	  "make TARGET [VARIABLE=value ...]   (every tool is installed when missing)" \
	  "" \
	  "Start here:" \
	  "  demo                  build and run the main demo, the Node agent (DEMO_ARGS=--interactive asks you)" \
	  "  test                  the whole suite, what CI runs" \
	  "" \
	  "Run:" \
	  "  demo-core             the Rust demo (examples/policy_templates.rs)" \
	  "  demo-npm              the Node agent demo (what demo runs)" \
	  "  demo-python           the Python quickstart, against the built wheel" \
	  "  playground            the policy playground in a browser, on PLAYGROUND_PORT" \
	  "  gateway               agentguard serve with the demo keys (GATEWAY_KEYS) on GATEWAY_PORT, data in GATEWAY_DATA" \
	  "  install               the agentguard command into ~/.cargo/bin" \
	  "" \
	  "Build:" \
	  "  build                 the core, the command, the npm package and the wheel" \
	  "  build-core            the Rust core" \
	  "  build-cli             the agentguard command, release (target/cli/release/agentguard)" \
	  "  build-mcp             the same binary, for the MCP proxy's tests" \
	  "  build-npm             the npm package (pkg/), core compiled to WebAssembly" \
	  "  pack                  the npm tarball (target/npm/agentguard-VERSION.tgz)" \
	  "  wheel                 the Python wheel (target/wheels/)" \
	  "  build-python          the wheel, installed into .venv" \
	  "" \
	  "Test (each also part of test):" \
	  "  test-core             Rust: unit, tables, differential (CPython fnmatch, tokenfence), properties" \
	  "  test-npm              the packed tarball in fresh ESM/CommonJS projects, the adapters, GatewayClient" \
	  "  test-edge             workerd, Chromium, Deno, bundlers, against the tarball" \
	  "  test-python           pytest against the installed wheel (adapters and GatewayClient included)" \
	  "  test-cli              the agentguard command's unit, end-to-end and README tests; the gateway crate's units" \
	  "  test-mcp              the MCP proxy: unit tests, the official SDKs and servers, --approvals" \
	  "  test-gateway          tests/gateway/ on SQLite, then on PostgreSQL" \
	  "  test-gateway-sqlite   the gateway tests on SQLite alone" \
	  "  test-gateway-postgres the gateway tests on PostgreSQL alone (AGENTGUARD_TEST_DATABASE_URL, else 127.0.0.1:5432, else a throwaway cluster)" \
	  "  vectors-check         the committed vectors are still what the references say" \
	  "  test-docs             the READMEs: links, anchors and paths exist, every code block has a runner, the performance table is bench/RESULTS.md's" \
	  "  lint-core lint-npm lint-python lint-cli lint-mcp   formatting and clippy of each part" \
	  "" \
	  "Measure:" \
	  "  bench                 every benchmark below; figures go to bench/RESULTS.md, and its budgets to README.md's performance table" \
	  "  bench-core            Rust: check (every pattern shape), conditions, analysis (cargo bench)" \
	  "  bench-npm             Node check and evaluate against a hand-written JS loop" \
	  "  bench-python          Python check against tokenfence 0.3.1" \
	  "  bench-mcp             the latency agentguard mcp adds per tools/call" \
	  "  bench-gateway         intents, tool decisions (wrk) and MCP over HTTP through agentguard serve" \
	  "  fuzz                  cargo-fuzz over spec parsing + check and rules + check_call (not in CI)" \
	  "" \
	  "Tools (installed by the targets that need them): wasm-tools node-deps venv chromium deno wrk corpus" \
	  "" \
	  "Variables:" \
	  "  DEMO_ARGS             arguments of the Node demo (--interactive)" \
	  "  GATEWAY_PORT          make gateway's port (8787)" \
	  "  GATEWAY_DATA          make gateway's data directory (target/gateway-data)" \
	  "  GATEWAY_KEYS          make gateway's keys file (examples/mesh/keys.json)" \
	  "  PLAYGROUND_PORT       make playground's port (8099)" \
	  "  CHROMIUM              the Chromium the browser tests launch (/usr/bin/chromium)" \
	  "  AGENTGUARD_TEST_DATABASE_URL   an admin postgres:// URL for the PostgreSQL tests" \
	  "  NODE_TEST_TIMEOUT_MS, PYTEST_TIMEOUT_S, *_SUITE_TIMEOUT_S   the hard timeouts of one test and of each suite" \
	  "  CONDITIONS_POLICIES, CONDITIONS_CALLS   the size of the generated conditions corpus (20000, 8)"

# Each area adds its own prerequisites to these with `test: test-xyz` etc.
build: build-core
test: test-core test-docs
# After every bench-* (they write bench/RESULTS.md), the README's table.
bench: bench-core
	node scripts/perf-table.mjs --write README.md
fuzz: fuzz-core
# The main demo is the Node agent (mk/npm.mk: demo-npm); demo-core and
# demo-python run the Rust and Python ones.

# The READMEs point only at what is in the repository, every code block has a
# runner, and the performance table is made from bench/RESULTS.md (tests/docs/).
test-docs:
	$(call timed,120,node --test --test-timeout=60000 tests/docs/*.test.mjs)

