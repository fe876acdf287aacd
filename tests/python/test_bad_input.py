"""Bad input fails loudly and closed: non-str tools, lone surrogates, strict
policy dicts, raising callbacks."""

import pytest

from agentguard import ApprovalRequired, Policy, PolicyError, TokenFenceError, ToolDenied, fnmatch

DB = dict(
    allow=["read_*"],
    deny=["drop_*"],
    require_approval=["write_*"],
)


@pytest.mark.parametrize("tool", [5, None, b"drop_table", ["drop_table"], 3.5, object()])
def test_non_str_tool_is_a_type_error(tool):
    policy = Policy(**DB)
    for method in (policy.check, policy.enforce):
        with pytest.raises(TypeError, match=r"tool name must be a str, not \w+"):
            method(tool)
    assert policy.audit_log == []


def test_str_subclass_is_a_str():
    class Name(str):
        pass

    r = Policy(**DB).check(Name("drop_table"))
    assert r.denied and r.matched_rule == "drop_*"


@pytest.mark.parametrize("tool", ["\ud800", "drop_\udfff", "read_\ud83d"])
def test_lone_surrogate_tool_is_refused_not_repaired(tool):
    # "read_\ud83d" would be allowed by read_* if it were decided on a
    # repaired string; "drop_\udfff" would be denied: neither is decided.
    policy = Policy(**DB, default="allow")
    with pytest.raises(UnicodeEncodeError, match="tool name is not well-formed Unicode") as info:
        policy.check(tool)
    assert isinstance(info.value, ValueError)
    assert info.value.start == tool.index(next(c for c in tool if 0xD800 <= ord(c) <= 0xDFFF))
    assert policy.audit_log == []


def test_fnmatch_refuses_bad_arguments():
    with pytest.raises(TypeError, match="pattern must be a str, not int"):
        fnmatch("a", 1)
    with pytest.raises(TypeError, match="name must be a str, not NoneType"):
        fnmatch(None, "*")
    with pytest.raises(UnicodeEncodeError, match="name is not well-formed Unicode"):
        fnmatch("\udc80", "*")


def test_astral_characters_are_one_code_point():
    assert fnmatch("\U0001d518", "?")
    assert Policy(allow=["read_?"]).check("read_\U0001f600").allowed


@pytest.mark.parametrize(
    "spec, field, index, kind",
    [
        ({"denny": ["drop_*"]}, "denny", None, "unknown_key"),
        ({"allow": ["read_*", 5]}, "allow", 1, "wrong_type"),
        ({"deny": "drop_*"}, "deny", None, "wrong_type"),
        ({"deny": ["drop_*", {"x": 1}]}, "deny", 1, "wrong_type"),
        ({"deny": ["ok", b"bytes"]}, "deny", 1, "wrong_type"),
        ({"deny": {"drop_*"}}, "deny", None, "wrong_type"),
        ({"deny": ["ok", "\ud800"]}, "deny", 1, "invalid_value"),
        ({"audit": 1}, "audit", None, "wrong_type"),
        ({"audit": None}, "audit", None, "wrong_type"),
        ({"default": "DENY"}, "default", None, "invalid_value"),
        ({"name": ["x"]}, "name", None, "wrong_type"),
        ({"allow": [float("nan")]}, "allow", 0, "wrong_type"),
        ({1: ["x"]}, None, None, "wrong_type"),
        ({"allow": ["a", 10**400]}, "allow", 1, "wrong_type"),
        ({"allow": [2**70]}, "allow", 0, "wrong_type"),
    ],
)
def test_from_dict_is_strict_and_names_the_key(spec, field, index, kind):
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(spec)
    err = info.value
    assert (err.kind, err.field, err.index) == (kind, field, index)
    if field is not None:
        assert field in str(err)
    if index is not None:
        assert f"{field}[{index}]" in str(err)


@pytest.mark.parametrize("data", [None, "deny", 5, ["drop_*"]])
def test_from_dict_wants_an_object(data):
    with pytest.raises(PolicyError, match="a policy must be a JSON object") as info:
        Policy.from_dict(data)
    assert info.value.kind == "not_an_object"


def test_from_json_errors():
    with pytest.raises(PolicyError, match="invalid JSON") as info:
        Policy.from_json("{deny: [}")
    assert info.value.kind == "json"
    with pytest.raises(PolicyError, match='unknown key "denny"'):
        Policy.from_json('{"denny": ["drop_*"]}')
    with pytest.raises(TypeError, match="text must be a str"):
        Policy.from_json(b"{}")


def test_constructor_is_strict_too():
    with pytest.raises(PolicyError, match=r'default: expected "allow" or "deny", got string "maybe"'):
        Policy(default="maybe")
    with pytest.raises(PolicyError, match='got null'):
        Policy(default=None)
    # tokenfence raises its TokenFenceError for a bad default; ours is one.
    with pytest.raises(TokenFenceError):
        Policy(default="maybe")
    with pytest.raises(PolicyError, match=r"allow: expected an array of string patterns, got string"):
        Policy(allow="read_*")
    with pytest.raises(PolicyError, match=r"deny\[0\]: expected a string pattern, got number 3"):
        Policy(deny=(3,))
    with pytest.raises(PolicyError, match=r"audit: expected true or false"):
        Policy(audit="yes")
    with pytest.raises(TypeError, match="on_deny must be callable or None, not str"):
        Policy(on_deny="print")
    with pytest.raises(ValueError, match="audit_capacity must be a non-negative int"):
        Policy(audit_capacity=-1)
    with pytest.raises(TypeError):
        Policy(["read_*"])  # keywords only, as in tokenfence
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        Policy(denny=["drop_*"])


def test_from_dict_options_are_behaviour_only():
    with pytest.raises(TypeError, match="unexpected keyword argument \"allow\""):
        Policy.from_dict({}, allow=["x"])
    seen = []
    p = Policy.from_dict({"deny": ["x"]}, on_deny=seen.append, audit_capacity=1)
    p.check("x")
    assert [r.tool for r in seen] == ["x"] and p.audit_capacity == 1


class Boom(Exception):
    pass


def _raise(*_):
    raise Boom("callback failed")


def test_raising_approver_propagates_and_allows_nothing():
    decided = []
    policy = Policy(**DB, on_approval=_raise, on_decision=decided.append)
    with pytest.raises(Boom):
        policy.check("write_db")
    with pytest.raises(Boom):
        policy.enforce("write_db")
    assert policy.audit_log == [] and decided == []


def test_approver_answer_is_judged_by_truthiness():
    class Falsy:
        def __bool__(self):
            return False

    class BadBool:
        def __bool__(self):
            raise Boom("no answer")

    for answer, decision in [(1, "allow"), ("yes", "allow"), ([], "deny"), (Falsy(), "deny"), (None, "deny")]:
        r = Policy(**DB, on_approval=lambda _r, a=answer: a).check("write_db")
        assert r.decision.value == decision, answer
    policy = Policy(**DB, on_approval=lambda _r: BadBool())
    with pytest.raises(Boom):
        policy.check("write_db")
    assert policy.audit_log == []


def test_raising_on_deny_propagates_after_the_entry_is_recorded():
    policy = Policy(**DB, on_deny=_raise)
    with pytest.raises(Boom):
        policy.check("drop_table")
    assert [e.decision for e in policy.audit_log] == ["deny"]
    with pytest.raises(Boom):  # enforce fails closed too: an exception, not a result
        policy.enforce("drop_table")
    assert policy.check("read_x").allowed  # on_deny runs only after a deny


def test_raising_on_decision_propagates_and_on_deny_still_runs():
    denied = []
    policy = Policy(**DB, on_decision=_raise, on_deny=denied.append)
    with pytest.raises(Boom):
        policy.check("drop_table")
    assert len(policy.audit_log) == 1 and [r.tool for r in denied] == ["drop_table"]
    with pytest.raises(Boom):
        policy.check("read_x")  # an allow is not returned past a failing sink


def test_raising_context_truthiness_decides_nothing():
    class BadContext(dict):
        def __bool__(self):
            raise Boom("bad context")

    policy = Policy(**DB)
    with pytest.raises(Boom):
        policy.check("read_x", context=BadContext())
    assert policy.audit_log == []


def test_enforce_raises_for_deny_and_unapproved_approval():
    policy = Policy(**DB)
    with pytest.raises(ToolDenied) as info:
        policy.enforce("drop_table")
    assert type(info.value) is ToolDenied
    assert (info.value.tool, info.value.reason, info.value.matched_rule) == (
        "drop_table", "denied by pattern: drop_*", "drop_*")
    assert str(info.value) == "Tool 'drop_table' denied: denied by pattern: drop_*"
    with pytest.raises(ApprovalRequired) as info:
        policy.enforce("write_db")
    assert isinstance(info.value, ToolDenied)
    assert info.value.reason == "requires approval per pattern: write_*"
    assert policy.enforce("read_db").allowed
