# The `agentguard` command (crates/cli, package agentguard-cli): check, test,
# lint and diff policies in a terminal or in CI; the MCP proxy (crates/mcp);
# the gateway and its client, serve and mesh (crates/gateway).
#   make build-cli   target/cli/release/agentguard
#   make test-cli    rustfmt and clippy on the crate, then its tests: every
#                    command, format and exit code on the built binary, and
#                    the agentguard lines of examples/ci/agentguard-policy.yml
#   make install     the command into ~/.cargo/bin (cargo install)

# Our own target dir: never wait on another area's cargo lock.
CLI_CARGO_ENV := CARGO_TARGET_DIR=$(ROOT)/target/cli
# Per suite (s); the Makefile sets both, the defaults are for this file alone.
CARGO_TEST_BUILD_TIMEOUT_S ?= 2400
CARGO_TEST_TIMEOUT_S ?= 900

.PHONY: build-cli lint-cli test-cli install

build: build-cli
test: test-cli

build-cli:
	$(CLI_CARGO_ENV) cargo build -p agentguard-cli --release

# The gateway crate (agentguard serve / mesh) is part of the command.
lint-cli:
	cargo fmt -p agentguard-cli -p agentguard-gateway -- --check
	$(CLI_CARGO_ENV) $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo clippy -p agentguard-cli -p agentguard-gateway --all-targets -- -D warnings)
	$(CLI_CARGO_ENV) RUSTDOCFLAGS="-D warnings" $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo doc --no-deps --quiet -p agentguard-gateway)

# Built first, so the run's timeout measures tests, not compiling.
test-cli: lint-cli
	$(CLI_CARGO_ENV) $(call timed,$(CARGO_TEST_BUILD_TIMEOUT_S),cargo test -p agentguard-cli -p agentguard-gateway --release --no-run)
	$(CLI_CARGO_ENV) $(call timed,$(CARGO_TEST_TIMEOUT_S),cargo test -p agentguard-cli -p agentguard-gateway --release)

# Offline first (everything is usually in the cargo cache already); with
# the network when that fails. --locked: the versions in Cargo.lock.
install:
	$(CLI_CARGO_ENV) cargo install --locked --offline --path crates/cli \
	  || $(CLI_CARGO_ENV) cargo install --locked --path crates/cli
	@echo "installed: $$(command -v agentguard || echo '$(CARGO_BIN)/agentguard (not on PATH)')"
