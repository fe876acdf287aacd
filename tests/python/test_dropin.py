"""The drop-in test: dropin_script.py runs against tokenfence 0.3.1 and
against agentguard; the transcripts must match except for the steps tagged
`DIFF:`, the documented differences, which are checked here one by one."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("dropin_script.py")


def transcript(module):
    run = subprocess.run([sys.executable, str(SCRIPT), module], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    steps = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(steps) > 100
    return steps


@pytest.fixture(scope="module")
def both():
    return transcript("tokenfence"), transcript("agentguard")


def test_transcripts_match(both):
    theirs, ours = ({s: v for s, v in t if not s.startswith("DIFF:")} for t in both)
    assert [s for s, _ in both[0]] == [s for s, _ in both[1]]
    mismatched = [s for s in theirs if ours[s] != theirs[s]]
    assert mismatched == [], [(s, theirs[s], ours[s]) for s in mismatched[:3]]


def test_documented_differences(both):
    theirs, ours = ({s: v for s, v in t if s.startswith("DIFF:")} for t in both)
    assert set(theirs) == set(ours) == {"DIFF: enforce unapproved", "DIFF: bad default message"}
    # enforce() on an unapproved approval-gated tool: tokenfence returns the
    # needs-approval result; we raise ApprovalRequired (a ToolDenied).
    assert theirs["DIFF: enforce unapproved"][0] == "returned"
    assert "REQUIRE_APPROVAL" in theirs["DIFF: enforce unapproved"][1]
    assert ours["DIFF: enforce unapproved"] == [
        "raised", "ApprovalRequired",
        "Tool 'write_database' denied: requires approval per pattern: write_database"]
    # A bad default: both raise a TokenFenceError (checked in the common
    # part); ours is a PolicyError worded like every other policy error.
    assert theirs["DIFF: bad default message"][:2] == ["raised", "TokenFenceError"]
    assert ours["DIFF: bad default message"] == [
        "raised", "PolicyError", 'default: expected "allow" or "deny", got string "maybe"']
