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


def test_the_result_keeps_the_callers_tool_and_context_objects():
    p = Policy(**SPEC)
    tool = "".join(["read_", "x"])
    ctx = {"k": "v"}
    assert p.check(tool, context=ctx).tool is tool
    assert p.audit_log[0].context is ctx
    assert p.audit_log[0].to_dict()["context"] is ctx


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
    assert list(ours)[len(theirs):] == ["on_decision", "audit_capacity"]
    for name, param in theirs.items():
        assert ours[name].kind is param.kind is inspect.Parameter.KEYWORD_ONLY
        assert ours[name].default == param.default, name
    assert ours["audit_capacity"].default == DEFAULT_AUDIT_CAPACITY
    for method in ["check", "enforce"]:
        assert list(inspect.signature(getattr(Policy, method)).parameters) == ["self", "tool", "context"]
