# Tools, each installed only when missing. A fresh machine has Rust, Node 20,
# Python 3.11 and Debian's tools; everything else comes from here.

VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# PyPI packages the suite needs; tokenfence is the reference we match;
# pytest-timeout gives each test a hard limit (mk/python.mk); mcp is the Python
# SDK, a client of the MCP proxy in tests/mcp (mk/mcp.mk); ziglang is the zig
# toolchain maturin links the wheel with, against glibc 2.17 (manylinux2014).
PY_DEPS := tokenfence==0.3.1 pytest==8.3.4 pytest-timeout==2.4.0 maturin==1.16.0 ziglang==0.17.0 mcp==2.3.0 openai-agents==0.24.0 langchain-core==1.8.1 langgraph==1.2.22 pydantic-ai-slim==2.68.0

.PHONY: venv
venv: $(VENV)/.deps-ok
$(VENV)/.deps-ok: mk/tools.mk
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check $(PY_DEPS)
	@touch $@

# The wasm toolchain (mk/npm.mk): the wasm32 target, wasm-pack, and
# wasm-bindgen-cli pinned to the exact `wasm-bindgen` in Cargo.toml /
# Cargo.lock (wasm-pack uses the one on PATH instead of downloading it).
WASM_BINDGEN_VERSION := 0.2.130
.PHONY: wasm-tools
wasm-tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@command -v wasm-pack >/dev/null || cargo install --locked wasm-pack
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN_VERSION)' \
	  || cargo install --locked --force wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) \
	  || cargo install --force wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
# (The registry mirror here lacks one crate version that wasm-bindgen-cli's
# lock file names, so `--locked` can fail; the unlocked retry resolves the
# nearest versions that exist.)

# The project's npm dev dependencies (package.json at the root: typescript,
# binaryen's wasm-opt, esbuild, playwright-core, miniflare), exactly as locked.
.PHONY: node-deps
node-deps: node_modules/.deps-ok
node_modules/.deps-ok: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@
