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


NON_BOOL_ANSWERS = {1: "int 1", 0: "int 0", "yes": "str 'yes'", "": "str ''", "no": "str 'no'",
                    None: "NoneType None", (0,): "list [0]", (): "list []"}


def test_documented_differences(both):
    theirs, ours = ({s: v for s, v in t if s.startswith("DIFF:")} for t in both)
    approvals = {f"DIFF: approval {list(a) if isinstance(a, tuple) else a!r}": d
                 for a, d in NON_BOOL_ANSWERS.items()}
    assert set(theirs) == set(ours) == {
        "DIFF: enforce unapproved", "DIFF: bad default message", "DIFF: context is the caller's object",
        "DIFF: context changed after check", "DIFF: Decision equals its value", *approvals}
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
    # The audit context: tokenfence keeps the caller's dict, so changing it
    # after the check rewrites the log; ours is a copy made at decision time.
    assert theirs["DIFF: context is the caller's object"] is True
    assert ours["DIFF: context is the caller's object"] is False
    their_log, our_log = theirs["DIFF: context changed after check"], ours["DIFF: context changed after check"]
    assert their_log[2][0]["context"] == {"agent_id": "changed", "nested": {"k": [1, 2, 3]}}
    assert our_log[2][0]["context"] == {"agent_id": "bot-1", "nested": {"k": [1, 2]}}
    # Decision: equal to its string value, hashed like it; tokenfence's is not.
    assert theirs["DIFF: Decision equals its value"] == [[False, False, False, False]] * 3
    assert ours["DIFF: Decision equals its value"] == [[True, True, True, True]] * 3
    # An approver's answer: tokenfence judges truthiness; ours must be a bool.
    for step, described in approvals.items():
        (their_outcome, their_entries, their_denied) = theirs[step]
        (our_outcome, our_entries, our_denied) = ours[step]
        assert their_outcome[0] == "returned" and len(their_entries) == 1
        assert ("approved via callback" in their_outcome[1]) == (step not in (
            "DIFF: approval 0", "DIFF: approval ''", "DIFF: approval None", "DIFF: approval []"))
        assert our_outcome == ["raised", "TypeError", f"on_approval must return True or False, got "
                               f"{described}; the tool stays unapproved"]
        assert our_entries == [] and our_denied == []
