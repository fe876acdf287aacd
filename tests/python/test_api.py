"""The additions to tokenfence's API and the value semantics of the classes."""

import dataclasses
import json
import pickle

import pytest

import agentguard
from agentguard import (
    DEFAULT_AUDIT_CAPACITY,
    ApprovalRequired,
    AuditEntry,
    Decision,
    Policy,
    PolicyError,
    PolicyResult,
    ToolDenied,
)

SPEC = dict(name="db", allow=["read_*"], deny=["drop_*"], require_approval=["write_*"])


def test_on_decision_sees_every_entry_even_past_the_capacity():
    seen = []
    policy = Policy(**SPEC, on_decision=seen.append, audit_capacity=3)
    tools = [f"read_{i}" for i in range(10)]
    for t in tools:
        policy.check(t, context={"i": t})
    assert [e.tool for e in seen] == tools
    assert all(isinstance(e, AuditEntry) for e in seen)
    assert [e.tool for e in policy.audit_log] == tools[-3:]
    assert policy.audit_dropped == 7 and policy.audit_capacity == 3
    assert seen[-1] == policy.audit_log[-1]
    policy.clear_audit()
    assert (policy.audit_log, policy.audit_dropped) == ([], 0)


def test_audit_capacity_defaults_and_zero():
    assert Policy().audit_capacity == DEFAULT_AUDIT_CAPACITY == 10_000
    seen = []
    p = Policy(audit_capacity=0, on_decision=seen.append)
    p.check("x")
    assert p.audit_log == [] and p.audit_dropped == 1 and len(seen) == 1


def test_audit_off_records_nothing_but_still_calls_on_deny():
    seen, denied = [], []
    p = Policy(**SPEC, audit=False, on_decision=seen.append, on_deny=denied.append)
    assert p.check("drop_x").denied
    assert p.audit_log == [] and seen == [] and [r.tool for r in denied] == ["drop_x"]


def test_on_deny_sees_its_own_entry_in_the_log():
    # As in tokenfence: the entry is recorded before on_deny runs.
    logged = []
    p = Policy(**SPEC, on_deny=lambda r: logged.append([e.tool for e in p.audit_log]))
    p.check("drop_a")
    assert logged == [["drop_a"]]


def test_callbacks_may_call_the_policy_again():
    p = None
    inner = []

    def on_deny(r):
        inner.append(p.check("read_" + r.tool).reason)

    p = Policy(**SPEC, on_deny=on_deny, on_approval=lambda r: p.check("read_x").allowed)
    assert p.check("drop_t").denied and inner == ["allowed by pattern: read_*"]
    assert p.check("write_t").reason == "approved via callback (pattern: write_*)"
    assert [e.tool for e in p.audit_log] == ["drop_t", "read_drop_t", "read_x", "write_t"]


def test_json_round_trip_and_key_order():
    p = Policy(**SPEC, default="allow", audit=False)
    text = p.to_json()
    assert list(json.loads(text)) == ["name", "allow", "deny", "require_approval", "default", "audit"]
    assert list(p.to_dict()) == list(json.loads(text))
    q = Policy.from_json(text)
    assert q.to_dict() == p.to_dict() and repr(q) == repr(p)
    assert Policy.from_dict(json.loads(text)).to_json() == text


def test_to_dict_lists_are_copies():
    p = Policy(**SPEC)
    d = p.to_dict()
    d["deny"].clear()
    assert p.check("drop_x").denied and p.to_dict()["deny"] == ["drop_*"]


def test_constructor_copies_its_lists():
    deny = ["drop_*"]
    p = Policy(deny=deny)
    deny.clear()
    assert p.check("drop_x").denied


def test_subclass_round_trips_through_from_dict():
    class MyPolicy(Policy):
        pass

    p = MyPolicy.from_dict({"deny": ["x"]}, on_deny=lambda r: None)
    assert type(p) is MyPolicy and p.check("x").denied
    assert type(MyPolicy.from_json('{"deny": ["x"]}')) is MyPolicy


def test_policy_result_is_a_frozen_value():
    r = Policy(**SPEC).check("drop_x")
    with pytest.raises(AttributeError):
        r.reason = "allowed"
    same = PolicyResult(Decision.DENY, "drop_x", "denied by pattern: drop_*", "drop_*")
    assert r == same and hash(r) == hash(same) and len({r, same}) == 1
    assert r != PolicyResult(Decision.DENY, "drop_x", "denied by pattern: drop_*")
    assert r != "deny" and (r == object()) is False
    assert PolicyResult("allow", "t", "r").decision is Decision.ALLOW
    with pytest.raises(ValueError):
        PolicyResult("maybe", "t", "r")
    assert not dataclasses.is_dataclass(r)  # a native class with the same fields


def test_result_fields_and_decision_enum():
    p = Policy(**SPEC)
    r = p.check("write_x")
    assert r.decision is Decision.REQUIRE_APPROVAL and r.needs_approval
    assert not r.allowed and not r.denied
    assert [d.value for d in Decision] == ["allow", "deny", "require_approval"]
    assert p.check("read_x").tool == "read_x" and p.check("ls").matched_rule is None


def test_the_result_keeps_the_callers_tool_object_and_a_copy_of_the_context():
    # Updated deliberately (issue 9, item 7): the entry used to keep the
    # caller's context dict itself, so changing it rewrote the audit log.
    p = Policy(**SPEC)
    tool = "".join(["read_", "x"])
    ctx = {"k": "v", "nested": [1, {"deep": "x"}]}
    assert p.check(tool, context=ctx).tool is tool
    (entry,) = p.audit_log
    assert entry.context == ctx and entry.context is not ctx
    ctx["k"] = "changed"
    ctx["nested"].append(2)
    ctx["nested"][1]["deep"] = "changed"
    ctx["added"] = True
    want = {"k": "v", "nested": [1, {"deep": "x"}]}
    assert entry.context == want and p.audit_log[0].context == want
    assert entry.to_dict()["context"] == want


def test_an_entry_hands_out_copies_so_readers_cannot_rewrite_it():
    seen = []
    p = Policy(**SPEC, on_decision=seen.append)
    p.check("read_x", context={"items": [1]})
    (entry,) = p.audit_log
    entry.context["items"].append("reader")
    entry.to_dict()["context"]["items"].append("reader")
    seen[0].context["items"].append("sink")
    assert entry.context is not entry.context
    assert p.audit_log[0].context == seen[0].context == {"items": [1]}
    assert p.audit_log == seen


def test_the_context_keeps_its_dict_type():
    from collections import OrderedDict

    class Tagged(dict):
        pass

    p = Policy(**SPEC)
    p.check("read_x", context=OrderedDict(b=1, a=2))
    p.check("read_y", context=Tagged(k=[1]))
    first, second = p.audit_log
    assert type(first.context) is OrderedDict and list(first.context) == ["b", "a"]
    assert type(second.context) is Tagged and second.context == {"k": [1]}


def test_audit_entry_constructor_copies_its_context():
    ctx = {"k": [1]}
    e = AuditEntry(1.5, "t", "deny", "r", None, ctx)
    ctx["k"].append(2)
    assert e.context == {"k": [1]}


# Issue 9, item 6: Decision is equal to its value and hashes like it.

def test_decision_equals_its_string_value():
    r = Policy(**SPEC).check("drop_x")
    assert r.decision == "deny" and "deny" == r.decision and r.decision != "allow"
    assert hash(Decision.DENY) == hash("deny") and "deny" in {r.decision}
    assert {Decision.ALLOW: 1}["allow"] == 1
    assert r.decision is Decision.DENY and Decision("deny") is Decision.DENY
    assert isinstance(Decision.DENY, str) and json.dumps(Decision.DENY) == '"deny"'


def test_decision_keeps_tokenfences_repr_str_and_format():
    import tokenfence

    for ours, theirs in zip(Decision, tokenfence.Decision):
        assert (ours.name, ours.value) == (theirs.name, theirs.value)
        assert repr(ours) == repr(theirs) == f"<Decision.{ours.name}: {ours.value!r}>"
        assert str(ours) == str(theirs) == f"Decision.{ours.name}"
        assert f"{ours}" == f"{theirs}" and f"{ours:>30}" == f"{theirs:>30}"
    r = Policy(**SPEC).check("drop_x")
    t = tokenfence.Policy(**SPEC).check("drop_x")
    assert repr(r) == repr(t)


# Issue 9, item 7: evaluate, rule, shadow and the cross-language JSON form.

def test_evaluate_is_pure():
    calls = []
    p = Policy(**SPEC, on_approval=lambda r: calls.append("approve") or True,
               on_decision=calls.append, on_deny=calls.append)
    for tool, decision in [("write_x", "require_approval"), ("drop_x", "deny"), ("read_x", "allow"),
                           ("other", "deny")]:
        r = p.evaluate(tool)
        assert r.decision == decision and r == Policy(**SPEC).check(tool)
    assert calls == [] and p.audit_log == []
    assert p.check("write_x").allowed and calls == ["approve", p.audit_log[0]]


def test_evaluate_refuses_what_check_refuses():
    p = Policy(**SPEC)
    with pytest.raises(TypeError, match="tool name must be a str"):
        p.evaluate(None)
    with pytest.raises(UnicodeEncodeError):
        p.evaluate("x\udfff")
    with pytest.raises(TypeError, match="args must be a mapping"):
        p.evaluate("x", args=["read"])
    with pytest.raises(TypeError):
        p.evaluate("x", {})  # args is keyword-only
    assert p.evaluate("read_x", args={"any": {1}}) == p.evaluate("read_x", args=None) == p.evaluate("read_x")


@pytest.mark.parametrize("tool, rule", [
    ("drop_x", {"list": "deny", "index": 0}),
    ("write_x", {"list": "require_approval", "index": 0}),
    ("read_x", {"list": "allow", "index": 0}),
    ("other", None),
])
def test_result_rule_and_to_dict(tool, rule):
    p = Policy(**SPEC)
    r = p.check(tool)
    assert r.rule == rule and r.shadow == ()
    d = r.to_dict()
    assert list(d) == ["tool", "decision", "reason", "matched_rule", "rule", "shadow"]
    assert d == {"tool": tool, "decision": r.decision.value, "reason": r.reason,
                 "matched_rule": r.matched_rule, "rule": rule, "shadow": []}
    assert type(d["decision"]) is str and json.loads(json.dumps(d)) == d
    assert p.evaluate(tool).to_dict() == d


def test_rule_index_and_approved_results():
    p = Policy(deny=["a", "b*"], require_approval=["w1", "w*"], allow=["x", "y", "r*"],
               on_approval=lambda r: r.tool == "w_yes")
    assert p.check("bz").rule == {"list": "deny", "index": 1}
    assert p.check("r1").rule == {"list": "allow", "index": 2}
    assert p.check("w_yes").to_dict() == {
        "tool": "w_yes", "decision": "allow", "reason": "approved via callback (pattern: w*)",
        "matched_rule": "w*", "rule": {"list": "require_approval", "index": 1}, "shadow": []}
    assert p.check("w_no").rule == {"list": "require_approval", "index": 1}
    r = p.check("q")
    assert (r.rule, r.to_dict()["rule"], r.to_dict()["matched_rule"]) == (None, None, None)


def test_rule_is_a_fresh_dict():
    r = Policy(**SPEC).check("drop_x")
    r.rule["index"] = 7
    assert r.rule == {"list": "deny", "index": 0}


def test_policy_result_constructor_takes_rule_and_shadow():
    r = PolicyResult("deny", "t", "r", "p", {"list": "deny", "index": 2},
                     [{"id": "s1", "decision": "allow"}])
    assert r.rule == {"list": "deny", "index": 2}
    assert r.shadow == ({"id": "s1", "decision": "allow"},)
    assert r.to_dict() == {"tool": "t", "decision": "deny", "reason": "r", "matched_rule": "p",
                           "rule": {"list": "deny", "index": 2},
                           "shadow": [{"id": "s1", "decision": "allow"}]}
    assert PolicyResult("allow", "t", "r", rule={"id": "rule-1"}).rule == {"id": "rule-1"}
    # Equality, hash and repr are tokenfence's: the four fields.
    plain = PolicyResult("deny", "t", "r", "p")
    assert r == plain and hash(r) == hash(plain)
    assert repr(r) == "PolicyResult(decision=<Decision.DENY: 'deny'>, tool='t', reason='r', matched_rule='p')"
    for bad in [{"list": "denny", "index": 0}, {"list": "deny", "index": -1}, {"list": "deny"},
                {"list": "deny", "index": 0, "extra": 1}, {"id": 5}, "deny", [1]]:
        with pytest.raises(ValueError, match="rule must be None, "):
            PolicyResult("deny", "t", "r", rule=bad)
    for bad in [[{"id": "s"}], [{"id": "s", "decision": "maybe"}], ["s"]]:
        with pytest.raises(ValueError, match="each shadow hit must be"):
            PolicyResult("deny", "t", "r", shadow=bad)
    with pytest.raises(TypeError, match="shadow must be a sequence"):
        PolicyResult("deny", "t", "r", shadow="s")


def test_value_classes_round_trip_rule_and_shadow():
    import copy

    r = PolicyResult("deny", "t", "r", "p", {"list": "deny", "index": 2}, [{"id": "s", "decision": "deny"}])
    e = AuditEntry(1.0, "t", "deny", "r", "p", {"k": 1}, [{"id": "s", "decision": "deny"}])
    for dup in (copy.copy(r), copy.deepcopy(r), pickle.loads(pickle.dumps(r))):
        assert dup.to_dict() == r.to_dict()
    for dup in (copy.copy(e), copy.deepcopy(e), pickle.loads(pickle.dumps(e))):
        assert dup.to_dict() == e.to_dict() and dup.shadow == e.shadow
    assert e.to_dict()["shadow"] == [{"id": "s", "decision": "deny"}]
    assert "shadow" not in AuditEntry(1.0, "t", "deny", "r").to_dict()


def test_audit_entry_to_dict_drops_empty_rule_and_context():
    p = Policy(deny=[""], default="allow")
    p.check("")
    (e,) = p.audit_log
    assert e.matched_rule == "" and e.context == {}
    assert set(e.to_dict()) == {"timestamp", "tool", "decision", "reason"}
    with pytest.raises(AttributeError):
        e.tool = "other"
    with pytest.raises(ValueError, match="decision must be"):
        AuditEntry(0.0, "t", "maybe", "r")


def test_exceptions_are_picklable_and_keep_their_fields():
    for err in [ToolDenied("t", "r", "p"), ApprovalRequired("t", "r", "p"),
                PolicyError("allow[1]: bad", kind="wrong_type", field="allow", index=1)]:
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
        assert vars(back) == vars(err)


def test_exception_hierarchy():
    assert issubclass(ApprovalRequired, ToolDenied)
    assert issubclass(PolicyError, ValueError)
    assert agentguard.TokenFenceError is agentguard.AgentGuardError
    for cls in (ToolDenied, ApprovalRequired, PolicyError):
        assert issubclass(cls, agentguard.AgentGuardError)


def test_version():
    assert agentguard.__version__.count(".") == 2


def test_constructor_signature_is_tokenfences_plus_additions():
    import inspect

    import tokenfence

    ours = inspect.signature(Policy).parameters
    theirs = inspect.signature(tokenfence.Policy).parameters
    assert list(ours)[: len(theirs)] == list(theirs)
    assert list(ours)[len(theirs):] == ["rules", "on_decision", "audit_capacity"]
    assert ours["rules"].default is None
    for name, param in theirs.items():
        assert ours[name].kind is param.kind is inspect.Parameter.KEYWORD_ONLY
        assert ours[name].default == param.default, name
    assert ours["audit_capacity"].default == DEFAULT_AUDIT_CAPACITY
    for method in ["check", "enforce", "check_async", "enforce_async"]:
        params = inspect.signature(getattr(Policy, method)).parameters
        assert list(params) == ["self", "tool", "args", "context", "approved"]
        assert params["args"].kind is params["context"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["approved"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["args"].default is params["context"].default is params["approved"].default is None
    params = inspect.signature(Policy.evaluate).parameters
    assert list(params) == ["self", "tool", "args"] and params["args"].kind is inspect.Parameter.KEYWORD_ONLY
