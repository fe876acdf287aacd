"""Action policies through the installed wheel: the shared vectors of
tests/vectors/action.json, plus the Python-side conversions."""

import json

import pytest

from agentguard import ActionPolicies, PolicyError
from conftest import VECTORS

DOC = json.loads((VECTORS / "action.json").read_text(encoding="utf-8"))
assert DOC["cases"] and DOC["store_errors"]


def run_step(store, step):
    """One step: (result, error) in the vector's terms."""
    op = step["op"]
    try:
        if op == "set":
            store.set(step["agent"], step["policy"])
            return None, None
        if op == "get":
            return store.get(step["agent"], step["direction"]), None
        if op == "delete":
            return store.delete(step["agent"], step["direction"]), None
        if op == "check":
            return store.check_intent(step["from"], step["to"], step["intent_type"]), None
        if op == "store":
            return store.to_dict(), None
    except PolicyError as e:
        return None, {"kind": e.kind, "field": e.field, "index": e.index, "message": str(e)}
    raise AssertionError(f"unknown op {op}")


EXPECTED = {"get": "policy", "delete": "removed", "check": "violation", "store": "store"}


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: c["name"])
def test_action_vectors(case):
    store = ActionPolicies() if case["store"] is None else ActionPolicies.from_dict(case["store"])
    for step in case["steps"]:
        got, error = run_step(store, step)
        want = step[EXPECTED[step["op"]]] if step["op"] in EXPECTED else None
        assert (got, error) == (want, step.get("error")), step
    assert ActionPolicies.from_json(store.to_json()).to_dict() == store.to_dict()


@pytest.mark.parametrize("case", DOC["store_errors"], ids=lambda c: c["name"])
def test_store_errors(case):
    with pytest.raises(PolicyError) as info:
        ActionPolicies.from_dict(case["store"])
    err = info.value
    assert (err.kind, err.field, err.index, str(err)) == (
        case["kind"],
        case["field"],
        case["index"],
        case["message"],
    )


def test_python_values_and_types():
    store = ActionPolicies()
    assert store.set("agent://o/e/a", {"direction": "receive", "mode": "denylist", "patterns": ("x.*",)}) is None
    assert store.get("a") == {"send": None, "receive": {"direction": "receive", "mode": "denylist", "patterns": ["x.*"]}}
    assert store.agents == ["a"] and len(store) == 1
    assert repr(store) == "ActionPolicies(agents=1, policies=1)"
    v = store.check_intent("b", "a", "x.y")
    assert v == {
        "error": "action_policy_violation",
        "message": "Intent type 'x.y' in receive denylist (pattern: x.*)",
        "direction": "receive",
        "address_id": "a",
        "pattern": "x.*",
    }
    assert ActionPolicies.resolve_address("agent://myorg/production/analytics-agent") == "analytics-agent"
    with pytest.raises(TypeError, match="intent_type must be a str"):
        store.check_intent("b", "a", 5)
    with pytest.raises(UnicodeEncodeError):
        store.check_intent("b", "a", "x.\ud800")
    with pytest.raises(PolicyError, match=r"^patterns\[0\]: expected a string pattern, got number 1$"):
        store.set("a", {"direction": "send", "mode": "denylist", "patterns": [1]})
    with pytest.raises(PolicyError, match="not a valid agent address"):
        ActionPolicies.resolve_address("agent://nope")


def test_readme_example(capsys):
    """The Python example of the README's gateway section prints what its comment says."""
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- BEGIN gateway -->")[1].split("<!-- END gateway -->")[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    expected = re.findall(r"^print\(.*\)  # (.*)$", code, re.M)
    assert len(expected) == 1
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == expected


@pytest.mark.parametrize("intent_type, shown", [
    ("intent.data.read.v1\nintent.data.delete.v1", "control character U+000A"),
    ("intent.x\tintent.y", "control character U+0009"),
    ("intent.data read", "whitespace"),
    ("intent.x\u2028y", "U+2028"),
])
def test_intent_types_with_whitespace_or_controls_are_refused(intent_type, shown):
    # A newline could smuggle a second type past an allowlist: the core
    # refuses such a type, in both directions, before anything is decided.
    store = ActionPolicies()
    store.set("a", {"direction": "send", "mode": "allowlist", "patterns": ["intent.data.read.*"]})
    store.set("b", {"direction": "receive", "mode": "denylist", "patterns": ["intent.data.delete.*"]})
    for sender, receiver in [("a", "b"), ("c", "d")]:
        with pytest.raises(PolicyError) as info:
            store.check_intent(sender, receiver, intent_type)
        err = info.value
        assert (err.kind, err.field) == ("invalid_value", "intent_type")
        assert "is not a valid intent type" in str(err) and shown in str(err)
    assert store.check_intent("a", "b", "intent.data.read.v1") is None


def test_action_store_duplicate_keys_are_refused():
    text = '{"policies": [{"agent": "a", "direction": "send", "mode": "denylist", "patterns": ["x"], "mode": "allowlist"}]}'
    with pytest.raises(PolicyError) as info:
        ActionPolicies.from_json(text)
    assert info.value.kind == "duplicate_key"
