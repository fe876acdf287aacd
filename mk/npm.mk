# The npm package: the core compiled to wasm through the adapter crate
# bindings/wasm/, assembled into pkg/ with the JS API of bindings/js/,
# packed into target/npm/.
#   make build-npm   pkg/
#   make pack        target/npm/agentguard-VERSION.tgz
#   make test-npm    the packed tarball in fresh ESM and CommonJS projects (and,
#                    for GatewayClient's remote mode, against the built gateway)
#   make bench-npm   bench/node/ -> bench/RESULTS.md (section node)
#   make demo-npm    examples/node-agent/ (DEMO_ARGS=--interactive to ask)

NPM_VERSION := $(shell sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml)
WASM_OUT := $(ROOT)/target/wasm/pkg
# The analysis (lint, diff, fixture tests): the same crate with its
# `analysis` feature, a second module behind `agentguard/analysis`, so the
# main module keeps its size budget (150 KB gzipped; the npm test checks it).
WASM_ANALYSIS_OUT := $(ROOT)/target/wasm/analysis
NPM_TGZ := $(ROOT)/target/npm/agentguard-$(NPM_VERSION).tgz
NPM_SOURCES := $(shell find src bindings/wasm bindings/js -type f) Cargo.toml Cargo.lock scripts/build-pkg.mjs mk/npm.mk

.PHONY: build-npm pack lint-npm test-npm bench-npm demo-npm

build: build-npm
test: test-npm
bench: bench-npm
demo: demo-npm

build-npm: pkg/package.json

# Size and speed, measured (bench/node/, A/B of builds): opt-level "s" with
# wasm-opt -Oz is 89 KB gzipped against 101 KB for opt-level 3 with -O3,
# and checks within noise of it (about 10% slower only at 10 000 patterns
# with unique names); "z" is a third slower. The profile overrides apply to
# this target dir only; panic=abort drops the unwinding machinery.
# --converge (wasm-opt repeats -Oz while it still shrinks): 1 KB less
# gzipped, no change in speed.
pkg/package.json: $(NPM_SOURCES) | wasm-tools node-deps
	CARGO_TARGET_DIR=$(ROOT)/target/wasm \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_PANIC=abort \
	  wasm-pack --quiet build --target web --release --no-opt --no-pack \
	    --out-dir $(WASM_OUT) --out-name agentguard bindings/wasm
	wasm-opt -Oz --converge --strip-debug --strip-producers $(WASM_OUT)/agentguard_bg.wasm -o $(WASM_OUT)/agentguard_bg.wasm
	CARGO_TARGET_DIR=$(ROOT)/target/wasm \
	CARGO_PROFILE_RELEASE_OPT_LEVEL=s CARGO_PROFILE_RELEASE_PANIC=abort \
	  wasm-pack --quiet build --target web --release --no-opt --no-pack \
	    --out-dir $(WASM_ANALYSIS_OUT) --out-name agentguard_analysis bindings/wasm -- --features analysis
	wasm-opt -Oz --converge --strip-debug --strip-producers $(WASM_ANALYSIS_OUT)/agentguard_analysis_bg.wasm -o $(WASM_ANALYSIS_OUT)/agentguard_analysis_bg.wasm
	node scripts/build-pkg.mjs --wasm $(WASM_OUT) --analysis $(WASM_ANALYSIS_OUT) --out $(ROOT)/pkg

pack: $(NPM_TGZ)
$(NPM_TGZ): pkg/package.json
	@mkdir -p $(dir $@)
	npm pack --silent --pack-destination $(dir $@) ./pkg >/dev/null
	@echo "packed $@"

# The adapter only compiles for wasm32, so lint-core's clippy never sees it;
# --no-deps: the core is lint-core's.
lint-npm: | wasm-tools
	CARGO_TARGET_DIR=$(ROOT)/target/wasm cargo clippy -p agentguard-wasm --no-deps --release --target wasm32-unknown-unknown -- -D warnings
	CARGO_TARGET_DIR=$(ROOT)/target/wasm cargo clippy -p agentguard-wasm --no-deps --release --target wasm32-unknown-unknown --features analysis -- -D warnings

# A hang fails in minutes: every node test within NODE_TEST_TIMEOUT_MS (run.mjs
# passes --test-timeout, and bounds each script it runs), the whole suite
# within NPM_SUITE_TIMEOUT_S (then SIGKILL 10 s later). The Makefile sets
# both; the defaults are for this file alone.
# The remote-mode tests (GatewayClient, the adapters against a gateway) start
# the built `agentguard serve` (mk/cli.mk: build-cli; mk/gateway.mk: AGENTGUARD_BIN).
NODE_TEST_TIMEOUT_MS ?= 120000
NPM_SUITE_TIMEOUT_S ?= 900
test-npm: lint-npm $(NPM_TGZ) corpus build-cli | node-deps
	AGENTGUARD_BIN=$(AGENTGUARD_BIN) NODE_TEST_TIMEOUT_MS=$(NODE_TEST_TIMEOUT_MS) timeout --kill-after=10 $(NPM_SUITE_TIMEOUT_S) \
	  node tests/js/run.mjs --tarball $(NPM_TGZ) --corpus $(CORPUS_DIR) \
	  || { rc=$$?; [ $$rc -ne 124 ] && [ $$rc -ne 137 ] || echo "error: test-npm stopped after $(NPM_SUITE_TIMEOUT_S) s" >&2; exit $$rc; }

bench-npm: $(NPM_TGZ) | node-deps
	node bench/node/run.mjs --tarball $(NPM_TGZ) --write bench/RESULTS.md

demo-npm: pkg/package.json
	@cd examples/node-agent && npm install --silent --no-audit --no-fund --no-package-lock
	node examples/node-agent/agent.mjs $(DEMO_ARGS)
