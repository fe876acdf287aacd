# The gateway (`agentguard serve`, crates/gateway): per-agent action policies
# enforced on every intent between agents, on SQLite or PostgreSQL; and its
# client, `agentguard mesh`. Both are subcommands of the agentguard command
# (mk/cli.mk builds it).
#   make gateway               start it with the demo keys on http://127.0.0.1:$(GATEWAY_PORT)
#                              (state in $(GATEWAY_DATA))
#   make test-gateway          tests/gateway/ against the built binary on SQLite, then
#                              again on PostgreSQL (test-gateway-postgres): real HTTP on
#                              127.0.0.1, Chromium (mk/edge.mk installs it when missing),
#                              kill -9, SIGTERM; each test within NODE_TEST_TIMEOUT_MS, each
#                              run within GATEWAY_SUITE_TIMEOUT_S (the Makefile)
#   make test-gateway-postgres the PostgreSQL run alone: $$AGENTGUARD_TEST_DATABASE_URL, else
#                              the server at 127.0.0.1:5432, else a throwaway cluster
#                              (scripts/with-postgres.sh installs Debian's postgresql if missing)
#   make bench-gateway         10 000 intents at concurrency 50 against the built binary on
#                              SQLite, then on PostgreSQL (scripts/with-postgres.sh, a fresh
#                              database, dropped after) -> bench/RESULTS.md (the recorded Node
#                              gateway column is kept); then POST /v1/tools/check
#                              for 10 s from wrk at concurrency 50 on SQLite (bench/gateway/tools.mjs;
#                              wrk comes from Debian's packages when missing); then the
#                              latency MCP over Streamable HTTP through the gateway adds per
#                              tools/call (the TypeScript SDK's client; vs the server over stdio
#                              and `agentguard mcp` over stdio; bench/gateway/mcp_http.mjs)
# (The Rust side of the semantics, tests/action.rs, runs in test-core; the
# gateway crate's own unit tests in test-cli.)

GATEWAY_PORT ?= 8787
GATEWAY_DATA ?= $(ROOT)/target/gateway-data
GATEWAY_KEYS ?= $(ROOT)/examples/mesh/keys.json
AGENTGUARD_BIN := $(ROOT)/target/cli/release/agentguard
GATEWAY_TESTS = node --test --test-concurrency=1 --test-timeout=$(NODE_TEST_TIMEOUT_MS)
# postgres.test.mjs needs PostgreSQL (two instances on one database, a
# database that goes away): the PostgreSQL run only.
GATEWAY_SQLITE_TESTS = $(filter-out tests/gateway/postgres.test.mjs,$(sort $(wildcard tests/gateway/*.test.mjs)))

.PHONY: gateway test-gateway test-gateway-sqlite test-gateway-postgres bench-gateway wrk

test: test-gateway
bench: bench-gateway

gateway: build-cli
	$(AGENTGUARD_BIN) serve --port $(GATEWAY_PORT) --data-dir $(GATEWAY_DATA) --keys $(GATEWAY_KEYS)

test-gateway: test-gateway-sqlite test-gateway-postgres

test-gateway-sqlite: build-cli | node-deps chromium
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) $(call timed,$(GATEWAY_SUITE_TIMEOUT_S),$(GATEWAY_TESTS) $(GATEWAY_SQLITE_TESTS))

test-gateway-postgres: build-cli | node-deps chromium
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) $(call timed,$(GATEWAY_SUITE_TIMEOUT_S),bash scripts/with-postgres.sh $(GATEWAY_TESTS) tests/gateway/*.test.mjs)

# The load generator of the tool-decision bench (C, light enough to leave
# the gateway most of the 2 cores).
wrk:
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }

bench-gateway: build-cli | node-deps wrk
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) bash scripts/with-postgres.sh node bench/gateway/run.mjs --duration 10 --concurrency 50 --write bench/RESULTS.md
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) node bench/gateway/tools.mjs --duration 10 --concurrency 50 --write bench/RESULTS.md
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) $(call timed,$(MCP_BENCH_TIMEOUT_S),node bench/gateway/mcp_http.mjs --calls 2000 --rounds 4 --concurrent 2000 --window 16 --timeout-s 540 --write bench/RESULTS.md)
