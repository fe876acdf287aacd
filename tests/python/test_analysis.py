"""The analysis (lint, diff, test_policy) through the binding: the shared
cases of tests/vectors/analysis.json (written from the core by
tests/analysis_vectors.rs) must come back exactly, as Python data, for every
way of passing a policy and fixtures."""

import json

import pytest

import agentguard
from agentguard import Policy, PolicyError, diff, lint
from conftest import load_vectors

CASES = load_vectors("analysis")
# (Not imported by name: pytest would try to collect a `test_policy`.)
run_fixtures = agentguard.test_policy


def _policies(spec):
    """A policy as each accepted form: a Policy, a dict, JSON text."""
    return [Policy.from_dict(spec), spec, json.dumps(spec)]


def _same(got, want):
    # Deep equality, and the JSON text too (so no bool passes for an int).
    assert got == want
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)


def test_the_vectors_cover_every_operation():
    ops = {c["op"] for c in CASES}
    assert ops == {"lint", "diff", "test"}
    assert 20 <= len(CASES) <= 40


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_vector(case):
    if case["op"] == "lint":
        for p in _policies(case["policy"]):
            _same(lint(p), case["want"])
    elif case["op"] == "diff":
        for old, new in zip(_policies(case["old"]), _policies(case["new"])):
            _same(diff(old, new), case["want"])
    else:
        fixtures = case["fixtures"]
        forms = [fixtures] if isinstance(fixtures, str) else [fixtures, json.dumps(fixtures)]
        for p in _policies(case["policy"]):
            for f in forms:
                if "error" in case:
                    with pytest.raises(PolicyError) as e:
                        run_fixtures(p, f)
                    want = case["error"]
                    got = {"kind": e.value.kind, "field": e.value.field, "index": e.value.index,
                           "message": str(e.value)}
                    assert got == want
                else:
                    _same(run_fixtures(p, f), case["want"])


def test_results_are_fresh_python_data():
    a = lint({"deny": ["drop_*"], "allow": ["drop_table"]})
    assert isinstance(a, list) and isinstance(a[0], dict)
    a[0]["code"] = "changed"
    assert lint({"deny": ["drop_*"], "allow": ["drop_table"]})[0]["code"] == "shadowed"


def test_keyword_arguments():
    p = Policy(allow=["read_*"])
    assert diff(old=p, new=p)["changes"] == []
    assert lint(policy=p) == []
    assert run_fixtures(policy=p, fixtures=[])["total"] == 0


@pytest.mark.parametrize(
    "bad",
    [{"deny": "drop_*"}, {"denny": ["x"]}, "{not json", '{"allow": ["a"], "allow": ["b"]}'],
)
def test_a_bad_policy_raises_the_cores_error(bad):
    with pytest.raises(PolicyError) as e:
        lint(bad)
    with pytest.raises(PolicyError) as again:
        Policy.from_json(bad) if isinstance(bad, str) else Policy.from_dict(bad)
    assert (e.value.kind, e.value.field, str(e.value)) == (again.value.kind, again.value.field, str(again.value))


@pytest.mark.parametrize("bad", [None, 3, [1], [{"tool": "a", "expect": "allow", "args": {1, 2}}]])
def test_fixtures_that_are_not_json_data(bad):
    with pytest.raises((PolicyError, TypeError)):
        run_fixtures({"allow": ["a"]}, bad)


def test_a_lone_surrogate_is_refused():
    with pytest.raises(UnicodeEncodeError):
        run_fixtures({"allow": ["a"]}, '[{"tool": "\ud800", "expect": "allow"}]')
    with pytest.raises(PolicyError):
        run_fixtures({"allow": ["a"]}, [{"tool": "\ud800", "expect": "allow"}])
