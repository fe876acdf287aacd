# Tools, each installed only when missing. A fresh machine has Rust, Node 20,
# Python 3.11 and Debian's tools; everything else comes from here.

VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# PyPI packages the suite needs; tokenfence is the reference we match.
PY_DEPS := tokenfence==0.3.1 pytest==8.3.4 maturin==1.16.0

.PHONY: venv
venv: $(VENV)/.deps-ok
$(VENV)/.deps-ok: mk/tools.mk
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check $(PY_DEPS)
	@touch $@
