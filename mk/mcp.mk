# The MCP proxy (crates/mcp, `agentguard mcp`): a policy enforced between
# any MCP client and any stdio MCP server.
#   make test-mcp   lint and unit tests of crates/mcp, then tests/mcp/: the
#                   official TypeScript SDK's Client spawning the built
#                   agentguard binary in front of server-filesystem,
#                   server-everything and a raw stub (lifecycle, byte
#                   fidelity), tests/mcp/changes.test.mjs (tool pinning, a
#                   server whose tools change), tests/mcp/inspector.test.mjs
#                   (the MCP inspector's CLI), tests/mcp/stateless.test.mjs
#                   (protocol 2026-07-28, scripted), tests/mcp/gateway.test.mjs
#                   (--approvals: the queue of a live `agentguard serve`),
#                   and tests/mcp/test_proxy.py: the Python SDK
#                   (PyPI mcp) as the client; each test within
#                   NODE_TEST_TIMEOUT_MS / PYTEST_TIMEOUT_S, each suite within
#                   MCP_SUITE_TIMEOUT_S
#   make bench-mcp  bench/mcp/run.mjs: the latency the proxy adds to each
#                   tools/call over calling the same stub server directly
#                   (p50, p99; 5 000 sequential calls) and its throughput, in
#                   one run -> bench/RESULTS.md (section mcp)

MCP_SUITE_TIMEOUT_S := 600
MCP_BENCH_TIMEOUT_S := 600
# The proxy's own crate builds in its own target dir (never waiting on
# another area's cargo lock); the agentguard binary is built exactly as
# mk/cli.mk builds it, so when both run it is built once.
MCP_CARGO_ENV := CARGO_TARGET_DIR=$(ROOT)/target/mcp
MCP_BIN_ENV := CARGO_TARGET_DIR=$(ROOT)/target/cli
MCP_BIN := $(ROOT)/target/cli/release/agentguard

.PHONY: build-mcp lint-mcp test-mcp bench-mcp

test: test-mcp
bench: bench-mcp

# The agentguard command, which carries the proxy (crates/cli wires it in).
build-mcp:
	$(MCP_BIN_ENV) $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo build -p agentguard-cli --release)

lint-mcp:
	cargo fmt -p agentguard-mcp -- --check
	$(MCP_CARGO_ENV) $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo clippy -p agentguard-mcp --all-targets -- -D warnings)

test-mcp: lint-mcp build-mcp $(VENV)/.deps-ok | node-deps
	$(MCP_CARGO_ENV) $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo test -p agentguard-mcp --no-run)
	$(MCP_CARGO_ENV) $(call timed,$(CARGO_TEST_TIMEOUT_S),cargo test -p agentguard-mcp)
	AGENTGUARD_BIN=$(MCP_BIN) $(call timed,$(MCP_SUITE_TIMEOUT_S),node --test --test-concurrency=1 --test-timeout=$(NODE_TEST_TIMEOUT_MS) tests/mcp/*.test.mjs)
	AGENTGUARD_BIN=$(MCP_BIN) $(call timed,$(MCP_SUITE_TIMEOUT_S),$(PY) -m pytest -p no:cacheprovider -q --timeout=$(PYTEST_TIMEOUT_S) tests/mcp)

bench-mcp: build-mcp | node-deps
	AGENTGUARD_BIN=$(MCP_BIN) $(call timed,$(MCP_BENCH_TIMEOUT_S),node bench/mcp/run.mjs --calls 5000 --rounds 10 --pipelined 20000 --window 64 --write bench/RESULTS.md)
