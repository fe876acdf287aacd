# Everywhere JavaScript runs (issue 4): the edge worker in workerd (through
# miniflare), the playground and esbuild, Vite and webpack 5 apps in Debian's
# Chromium (through playwright-core), Node bundles, the README's runtime
# examples, and what the tarball ships. All against the packed tarball, installed by
# npm into a fresh project under target/runtimes/.
#   make test-edge    those tests; screenshots go to target/artifacts/ (each test
#                     within BROWSER_TEST_TIMEOUT_MS: app builds; the suite within
#                     EDGE_SUITE_TIMEOUT_S)
#   make playground   the policy playground on http://127.0.0.1:$(PLAYGROUND_PORT)/

CHROMIUM ?= /usr/bin/chromium
PLAYGROUND_PORT ?= 8099
EDGE_TESTS = $(sort $(wildcard tests/edge/*.test.mjs tests/browser/*.test.mjs))

# Deno, for the README's Deno example: from npm (its binary ships in a
# platform package), kept out of the root lock because the registry mirror
# lacks Deno's other-platform packages, which `npm ci` would demand.
DENO_VERSION := 2.9.6
DENO_DIR_TOOL := $(ROOT)/target/tools/deno
DENO := $(DENO_DIR_TOOL)/node_modules/.bin/deno

.PHONY: chromium deno test-edge playground

test: test-edge

# Debian's Chromium; playwright-core drives it (no browser download).
chromium:
	@test -x $(CHROMIUM) || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

deno:
	@test -x $(DENO) || npm install --prefix $(DENO_DIR_TOOL) --no-save --no-package-lock --no-audit --no-fund deno@$(DENO_VERSION)

test-edge: $(NPM_TGZ) pkg/package.json | node-deps chromium deno
	CHROMIUM=$(CHROMIUM) DENO=$(DENO) AGENTGUARD_TARBALL=$(NPM_TGZ) \
	  $(call timed,$(EDGE_SUITE_TIMEOUT_S),node --test --test-timeout=$(BROWSER_TEST_TIMEOUT_MS) $(EDGE_TESTS))

playground: pkg/package.json
	node examples/playground/serve.mjs --port $(PLAYGROUND_PORT) --pkg $(ROOT)/pkg
