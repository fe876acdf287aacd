"""The shared conformance vectors in tests/vectors/, which every binding runs."""

import pytest

from agentguard import Decision, Policy, PolicyError, fnmatch
from conftest import load_vectors

FNMATCH = load_vectors("fnmatch")
POLICY = load_vectors("policy")
SPEC_ERRORS = load_vectors("spec_errors")


@pytest.mark.parametrize("case", FNMATCH, ids=lambda c: f"{c['pattern']!r}~{c['name']!r}")
def test_fnmatch(case):
    assert fnmatch(case["name"], case["pattern"]) is case["match"]


@pytest.mark.parametrize("case", POLICY, ids=lambda c: c["name"])
def test_policy(case):
    approvals = []

    def on_approval(result):
        approvals.append(result.tool)
        return case["approval"]

    options = {} if case["approval"] is None else {"on_approval": on_approval}
    policy = Policy.from_dict(case["policy"], **options)
    for check in case["checks"]:
        r = policy.check(check["tool"], context=check["context"])
        got = (r.decision, r.tool, r.reason, r.matched_rule)
        want = (Decision(check["decision"]), check["tool"], check["reason"], check["matched_rule"])
        assert got == want, check
    entries = [e.to_dict() for e in policy.audit_log]
    for e in entries:
        assert isinstance(e.pop("timestamp"), float)
    assert entries == case["audit"]
    # Round trip: the policy writes what it read (defaults filled in).
    assert Policy.from_dict(policy.to_dict()).to_dict() == policy.to_dict()
    if case["approval"] is None:
        assert approvals == []


@pytest.mark.parametrize("case", SPEC_ERRORS, ids=lambda c: c["name"])
def test_spec_errors(case):
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(case["spec"])
    err = info.value
    assert (err.kind, err.field, err.index, str(err)) == (
        case["kind"],
        case["field"],
        case["index"],
        case["message"],
    )
    assert isinstance(err, ValueError)
