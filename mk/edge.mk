# Everywhere JavaScript runs (issue 4): the edge worker in workerd (through
# miniflare), the playground and an esbuild bundle in Debian's Chromium
# (through playwright-core), Node bundles, the README's runtime examples,
# and what the tarball ships. All against the packed tarball, installed by
# npm into a fresh project under target/runtimes/.
#   make test-edge    those tests; screenshots go to target/artifacts/
#   make playground   the policy playground on http://127.0.0.1:$(PLAYGROUND_PORT)/

CHROMIUM ?= /usr/bin/chromium
PLAYGROUND_PORT ?= 8099
EDGE_TESTS = $(sort $(wildcard tests/edge/*.test.mjs tests/browser/*.test.mjs))

.PHONY: chromium test-edge playground

test: test-edge

# Debian's Chromium; playwright-core drives it (no browser download).
chromium:
	@test -x $(CHROMIUM) || apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }

test-edge: $(NPM_TGZ) pkg/package.json | node-deps chromium
	CHROMIUM=$(CHROMIUM) AGENTGUARD_TARBALL=$(NPM_TGZ) node --test $(EDGE_TESTS)

playground: pkg/package.json
	node examples/playground/serve.mjs --port $(PLAYGROUND_PORT) --pkg $(ROOT)/pkg
