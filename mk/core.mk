# The Rust core: build, tests (unit, table, differential against CPython and
# tokenfence, property, adversarial), lint, bench, fuzz and the Rust demo.

CORPUS_DIR := $(ROOT)/target/corpus

.PHONY: build-core test-core lint-core corpus vectors-check bench-core fuzz-core demo-core

build-core:
	cargo build --release

# The differential corpora, judged by the references: CPython's fnmatch and
# tokenfence 0.3.1's Policy for names; for argument conditions, the
# independent reference model of CONDITIONS.md (tests/conditions/), 20 000
# policies and 160 000 calls. Every binding's differential tests read them.
CONDITIONS_POLICIES ?= 20000
CONDITIONS_CALLS ?= 8
corpus: $(CORPUS_DIR)/.ok
$(CORPUS_DIR)/.ok: tests/differential/generate.py tests/conditions/generate.py tests/conditions/reference.py $(VENV)/.deps-ok
	$(PY) tests/differential/generate.py --out $(CORPUS_DIR)
	$(PY) tests/conditions/generate.py --out $(CORPUS_DIR) --policies $(CONDITIONS_POLICIES) --calls $(CONDITIONS_CALLS)
	@touch $@

lint-core:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

# The committed vectors must still be what the references say, and the
# reference model of conditions passes its own tests.
vectors-check: $(VENV)/.deps-ok
	$(PY) tests/vectors/make_vectors.py --check
	$(PY) tests/vectors/make_flow_vectors.py --check
	$(PY) tests/vectors/make_conditions_vectors.py --check
	$(call timed,$(PYTHON_SUITE_TIMEOUT_S),$(PY) -m pytest -p no:cacheprovider -q --timeout=$(PYTEST_TIMEOUT_S) tests/conditions)

# Built first, so the run's timeout measures tests, not compiling (which has
# its own, for a build stuck behind another's lock).
test-core: lint-core corpus vectors-check
	$(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo test --release --no-run)
	AGENTGUARD_CORPUS=$(CORPUS_DIR) $(call timed,$(CARGO_TEST_TIMEOUT_S),cargo test --release -- --show-output)

bench-core:
	cargo bench --bench check
	cargo bench --bench conditions
	cargo bench --bench analysis
	python3 bench/rust/report.py

demo-core:
	cargo run --quiet --release --example policy_templates

# cargo-fuzz needs nightly flags; no nightly toolchain can be downloaded
# here, so the stable compiler is allowed them with RUSTC_BOOTSTRAP=1.
fuzz-core:
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	@mkdir -p fuzz/corpus/check_policy fuzz/corpus/check_call
	@for f in examples/policies/*.json; do \
	  { cat $$f; printf '\0drop_table\0read_database\0write_database\0\xc3\xa9'; } > fuzz/corpus/check_policy/seed-$$(basename $$f .json); \
	done
	@python3 -c 'import json,sys; \
	  cases = json.load(open("tests/vectors/conditions.json"))["cases"]; \
	  [open(f"fuzz/corpus/check_call/seed-{i}", "wb").write(json.dumps(c["policy"]).encode() + b"".join( \
	    b"\0" + k["tool"].encode() + b"\n" + json.dumps(k["args"]).encode() for k in c["calls"])) for i, c in enumerate(cases)]'
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run check_policy corpus/check_policy -- -max_total_time=$${FUZZ_SECONDS:-60}
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run check_call corpus/check_call -- -max_total_time=$${FUZZ_SECONDS:-60}
