# The mesh gateway (examples/gateway): action policies enforced on every
# intent between agents, over node:http, with the npm package's
# ActionPolicies (installed from the packed tarball, as a user would).
#   make gateway          start it with the demo keys on http://127.0.0.1:8787
#   make test-gateway     tests/gateway/: real HTTP on 127.0.0.1, Chromium (mk/edge.mk
#                         installs it when missing), kill -9, tsc
#   make bench-gateway    10 000 intents at concurrency 50 -> bench/RESULTS.md
# (The Rust side, tests/action.rs, runs in test-core; the Python side,
# tests/python/test_action.py, in test-python.)

GATEWAY_DIR := $(ROOT)/examples/gateway
GATEWAY_PORT ?= 8787
GATEWAY_DATA ?= $(ROOT)/target/gateway-data
# Stamp: the tarball the gateway has installed.
GATEWAY_PKG := $(GATEWAY_DIR)/node_modules/.agentguard-installed

.PHONY: gateway gateway-deps test-gateway bench-gateway

# Hooked into the root goals only once the package exposes ActionPolicies
# (the registrations in src/wasm/mod.rs and pkg-template/src/index.js).
GATEWAY_READY := $(and $(NPM_TGZ),$(shell grep -ls '^mod action;' src/wasm/mod.rs),$(shell grep -ls 'ActionPolicies' pkg-template/src/index.js))
ifneq ($(GATEWAY_READY),)
test: test-gateway
bench: bench-gateway
endif

gateway-deps: $(GATEWAY_PKG)
$(GATEWAY_PKG): $(NPM_TGZ)
	cd $(GATEWAY_DIR) && npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts $(NPM_TGZ)
	@touch $@

gateway: $(GATEWAY_PKG)
	node $(GATEWAY_DIR)/server.mjs --port $(GATEWAY_PORT) --data-dir $(GATEWAY_DATA) --keys $(GATEWAY_DIR)/demo/keys.json

test-gateway: $(GATEWAY_PKG) | node-deps chromium
	node --test --test-concurrency=1 tests/gateway/*.test.mjs

bench-gateway: $(GATEWAY_PKG)
	node bench/gateway/run.mjs --requests 10000 --concurrency 50 --write bench/RESULTS.md
