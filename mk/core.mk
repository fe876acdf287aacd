# The Rust core: build, tests (unit, table, differential against CPython and
# tokenfence, property, adversarial), lint, bench, fuzz and the Rust demo.

CORPUS_DIR := $(ROOT)/target/corpus

.PHONY: build-core test-core lint-core corpus vectors-check bench-core fuzz-core demo-core

build-core:
	cargo build --release

# The differential corpus, judged by the real references (CPython's fnmatch,
# tokenfence 0.3.1's Policy). Every binding's differential test reads it.
corpus: $(CORPUS_DIR)/.ok
$(CORPUS_DIR)/.ok: tests/differential/generate.py $(VENV)/.deps-ok
	$(PY) tests/differential/generate.py --out $(CORPUS_DIR)
	@touch $@

lint-core:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --quiet

# The committed vectors must still be what the references say.
vectors-check: $(VENV)/.deps-ok
	$(PY) tests/vectors/make_vectors.py --check

# Built first, so the run's timeout measures tests, not compiling (which has
# its own, for a build stuck behind another's lock).
test-core: lint-core corpus vectors-check
	$(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo test --release --no-run)
	AGENTGUARD_CORPUS=$(CORPUS_DIR) $(call timed,$(CARGO_TEST_TIMEOUT_S),cargo test --release -- --show-output)

bench-core:
	cargo bench --bench check
	python3 bench/rust/report.py

demo-core:
	cargo run --quiet --release --example policy_templates

# cargo-fuzz needs nightly flags; no nightly toolchain can be downloaded
# here, so the stable compiler is allowed them with RUSTC_BOOTSTRAP=1.
fuzz-core:
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	@mkdir -p fuzz/corpus/check_policy
	@for f in examples/policies/*.json; do \
	  { cat $$f; printf '\0drop_table\0read_database\0write_database\0\xc3\xa9'; } > fuzz/corpus/check_policy/seed-$$(basename $$f .json); \
	done
	cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run check_policy corpus/check_policy -- -max_total_time=$${FUZZ_SECONDS:-60}
