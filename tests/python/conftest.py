"""Shared paths for the Python suite. The suite tests the installed wheel
(`make build-python` puts it into the project's .venv), never the source."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
CORPUS = Path(os.environ.get("AGENTGUARD_CORPUS", ROOT / "target" / "corpus"))


def load_vectors(name):
    """The cases of a shared vector file; a missing or empty file fails."""
    path = VECTORS / f"{name}.json"
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    assert cases, f"{path} has no cases"
    return cases


@pytest.fixture(scope="module")
def gateway():
    """A real `agentguard serve` (gateway_server.Gateway) for the module's
    tests, stopped after them. A missing binary fails, never skips."""
    from gateway_server import Gateway

    try:
        gw = Gateway()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield gw
    finally:
        gw.stop()
