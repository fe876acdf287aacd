# The mesh gateway (examples/gateway): action policies enforced on every
# intent between agents, over node:http, with the npm package's
# ActionPolicies (installed from the packed tarball, as a user would).
#   make gateway          start it with the demo keys on http://127.0.0.1:8787
#   make mesh-cli         install the agentguard-mesh command into $(MESH_PREFIX)/bin
#                         (npm install --global of examples/gateway: no network, no
#                         dependencies); then export PATH="$PWD/target/mesh/bin:$PATH"
#   make test-gateway     tests/gateway/: real HTTP on 127.0.0.1, Chromium (mk/edge.mk
#                         installs it when missing), kill -9, SIGTERM, tsc; each test
#                         within NODE_TEST_TIMEOUT_MS, the suite within
#                         GATEWAY_SUITE_TIMEOUT_S (the Makefile)
#   make bench-gateway    10 000 intents at concurrency 50 -> bench/RESULTS.md
# (The Rust side, tests/action.rs, runs in test-core; the Python side,
# tests/python/test_action.py, in test-python.)

GATEWAY_DIR := $(ROOT)/examples/gateway
GATEWAY_PORT ?= 8787
GATEWAY_DATA ?= $(ROOT)/target/gateway-data
# Stamp: the tarball the gateway has installed.
GATEWAY_PKG := $(GATEWAY_DIR)/node_modules/.agentguard-installed
# Where `make mesh-cli` installs the CLI (bin/agentguard-mesh under it).
MESH_PREFIX ?= $(ROOT)/target/mesh
MESH_STAMP := $(MESH_PREFIX)/.agentguard-mesh-installed

.PHONY: gateway gateway-deps mesh-cli test-gateway bench-gateway

test: test-gateway
bench: bench-gateway

gateway-deps: $(GATEWAY_PKG)
$(GATEWAY_PKG): $(NPM_TGZ)
	cd $(GATEWAY_DIR) && npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts $(NPM_TGZ)
	@touch $@

gateway: $(GATEWAY_PKG)
	node $(GATEWAY_DIR)/server.mjs --port $(GATEWAY_PORT) --data-dir $(GATEWAY_DATA) --keys $(GATEWAY_DIR)/demo/keys.json

# A real install (npm packs the folder and copies it, --install-links), so
# the tests run what a user runs, not the source file.
mesh-cli: $(MESH_STAMP)
$(MESH_STAMP): $(GATEWAY_DIR)/cli.mjs $(GATEWAY_DIR)/package.json
	npm install --global --prefix $(MESH_PREFIX) --install-links --ignore-scripts --no-audit --no-fund --loglevel=error $(GATEWAY_DIR)
	@touch $@
	@echo 'installed $(MESH_PREFIX)/bin/agentguard-mesh; put it on your PATH with: export PATH="$(MESH_PREFIX)/bin:$$PATH"'

test-gateway: $(GATEWAY_PKG) $(MESH_STAMP) | node-deps chromium
	AGENTGUARD_MESH_BIN=$(MESH_PREFIX)/bin $(call timed,$(GATEWAY_SUITE_TIMEOUT_S),node --test --test-concurrency=1 --test-timeout=$(NODE_TEST_TIMEOUT_MS) tests/gateway/*.test.mjs)

bench-gateway: $(GATEWAY_PKG)
	node bench/gateway/run.mjs --requests 10000 --concurrency 50 --write bench/RESULTS.md
