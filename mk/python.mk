# The Python package (bindings/python, PyO3 + maturin): build the wheel,
# install it into the project's .venv, and test what is installed.
#   make wheel          the wheel in target/wheels/
#   make build-python   the wheel, installed into .venv
#   make test-python    lint, then pytest tests/python against the installed wheel
#                       (pytest-timeout: PYTEST_TIMEOUT_S a test; PYTHON_SUITE_TIMEOUT_S in all);
#                       GatewayClient and the adapters' remote mode run against the
#                       built gateway (agentguard serve, $(AGENTGUARD_BIN); mk/cli.mk)
#   make bench-python   check() vs tokenfence's; the table goes to bench/RESULTS.md

PY_CRATE := bindings/python
WHEEL_DIR := $(ROOT)/target/wheels
# Our own target dir: never wait on another area's cargo lock.
PY_CARGO_ENV := CARGO_TARGET_DIR=$(ROOT)/target/python PYO3_PYTHON=$(PY)

.PHONY: wheel build-python lint-python test-python bench-python demo-python

# manylinux2014 (glibc 2.17 and later): zig (PyPI's ziglang, found by maturin
# through the venv's python on PATH) links against glibc 2.17's symbols,
# whatever glibc this machine has, and maturin refuses a wheel that needs a
# newer one.
wheel: venv
	rm -f $(WHEEL_DIR)/agentguard-*.whl
	PATH="$(VENV)/bin:$$PATH" $(PY_CARGO_ENV) $(VENV)/bin/maturin build --release --quiet -i $(PY) \
	  --zig --compatibility manylinux2014 -m $(PY_CRATE)/Cargo.toml --out $(WHEEL_DIR)

build-python: wheel
	$(PIP) install -q --disable-pip-version-check --force-reinstall --no-deps $(WHEEL_DIR)/agentguard-*.whl

lint-python: venv
	cargo fmt -p agentguard-python -- --check
	$(PY_CARGO_ENV) cargo clippy -p agentguard-python -- -D warnings

test-python: lint-python build-python build-cli corpus
	AGENTGUARD_CORPUS=$(CORPUS_DIR) AGENTGUARD_BIN=$(AGENTGUARD_BIN) \
	  $(call timed,$(PYTHON_SUITE_TIMEOUT_S),$(PY) -m pytest -p no:cacheprovider -q -rP --timeout=$(PYTEST_TIMEOUT_S) tests/python)

bench-python: build-python
	$(PY) bench/python/bench_check.py --results bench/RESULTS.md

demo-python: build-python
	$(PY) $(PY_CRATE)/examples/quickstart.py

build: build-python
test: test-python
bench: bench-python
