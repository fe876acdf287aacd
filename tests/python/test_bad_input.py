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


def test_approver_answer_must_be_a_bool():
    # Updated deliberately (issue 9, item 3): this test used to pin
    # tokenfence's truthiness (1 and "yes" approved, None denied). Now only
    # True and False are answers; anything else is a TypeError and nothing
    # is decided, recorded or denied. test_flow.py has the messages.
    class Falsy:
        def __bool__(self):
            return False

    class BadBool:
        def __bool__(self):
            raise Boom("truthiness is never asked")

    for answer, decision in [(True, "allow"), (False, "deny")]:
        r = Policy(**DB, on_approval=lambda _r, a=answer: a).check("write_db")
        assert r.decision.value == decision, answer
    for answer in [1, "yes", [], Falsy(), None, BadBool(), 1.0, b"", "True"]:
        denied = []
        policy = Policy(**DB, on_approval=lambda _r, a=answer: a, on_deny=denied.append)
        with pytest.raises(TypeError, match="on_approval must return True or False, got ") as info:
            policy.check("write_db")
        assert info.value.kind == "not_a_bool"
        assert policy.audit_log == [] and denied == [], answer


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


# Issue 9, item 6: audit_capacity is an int, and out-of-range values say so.

@pytest.mark.parametrize("capacity", [True, False, None, 1.0, "10", float("inf")])
def test_audit_capacity_must_be_an_int(capacity):
    with pytest.raises(TypeError, match=r"^audit_capacity must be an int, not \w+$"):
        Policy(audit_capacity=capacity)
    with pytest.raises(TypeError, match="audit_capacity must be an int"):
        Policy.from_dict({}, audit_capacity=capacity)


@pytest.mark.parametrize("capacity", [-1, 2**63, 2**64, -(2**70), 10**400])
def test_audit_capacity_out_of_range_is_a_value_error(capacity):
    with pytest.raises(ValueError, match="^audit_capacity must be a non-negative int no larger than "
                                         "sys.maxsize, got -?[0-9]+$") as info:
        Policy(audit_capacity=capacity)
    assert not isinstance(info.value, OverflowError)


def test_audit_capacity_accepts_int_subclasses_up_to_sys_maxsize():
    import enum
    import sys

    class Size(enum.IntEnum):
        SMALL = 2

    assert Policy(audit_capacity=Size.SMALL).audit_capacity == 2
    assert Policy(audit_capacity=sys.maxsize).audit_capacity == sys.maxsize
    assert Policy(audit_capacity=0).audit_capacity == 0


# Issue 9, item 4: a name over 1 MiB of UTF-8 is refused before the core decides.

def test_a_tool_name_over_one_mebibyte_is_a_value_error():
    decided = []
    policy = Policy(deny=["x*"], default="allow", on_decision=decided.append, on_deny=decided.append)
    limit = 2**20
    for huge in ["x" * (limit + 1), "\u00e9" * (limit // 2 + 1), "\U0001f600" * (limit // 4 + 1)]:
        assert len(huge.encode()) > limit
        for method in (policy.check, policy.enforce, policy.evaluate):
            with pytest.raises(PolicyError) as info:
                method(huge)
            err = info.value
            assert isinstance(err, ValueError) and err.kind == "too_long"
            assert str(err) == (f"tool name is {len(huge.encode())} bytes of UTF-8; "
                                "the limit is 1048576 (1 MiB)")
    assert policy.audit_log == [] and decided == []
    # At the limit it is decided (the multi-byte name counts bytes, not characters).
    assert policy.check("x" * limit).denied
    assert policy.check("\u00e9" * (limit // 2)).allowed


# Issue 9, item 5: a context that cannot be copied is refused, never kept by reference.

def test_a_context_that_cannot_be_copied_is_a_type_error():
    import threading

    decided = []
    policy = Policy(**DB, on_decision=decided.append)
    for context in [{"lock": threading.Lock()}, {"gen": (i for i in range(3))}]:
        with pytest.raises(TypeError, match="the context cannot be copied for the audit log") as info:
            policy.check("read_x", context=context)
        assert info.value.__cause__ is not None
    assert policy.audit_log == [] and decided == []
    # Nothing is recorded, so nothing needs a copy: audit off accepts it.
    assert Policy(**DB, audit=False).check("read_x", context={"lock": threading.Lock()}).allowed


def test_a_context_whose_deepcopy_raises_is_a_type_error_naming_the_problem():
    class Secret(dict):
        def __deepcopy__(self, memo):
            raise RuntimeError("refuses to be copied")

    policy = Policy(**DB)
    with pytest.raises(TypeError, match=r"\(RuntimeError: refuses to be copied\)"):
        policy.check("drop_x", context=Secret(a=1))
    assert policy.audit_log == []


# Issue 9, item 8: errors stay structured through the new kinds.

@pytest.mark.parametrize("case", __import__("conftest").load_vectors("duplicate_keys"),
                         ids=lambda c: c["name"])
def test_duplicate_key_vectors(case):
    with pytest.raises(PolicyError) as info:
        Policy.from_json(case["text"])
    err = info.value
    assert (err.kind, err.field, str(err)) == ("duplicate_key", case["field"], case["message"])


def test_a_mapping_that_repeats_a_key_is_refused():
    from collections.abc import Mapping

    class Repeating(Mapping):
        def __init__(self, items):
            self._items = items

        def __getitem__(self, key):
            return dict(self._items)[key]

        def __iter__(self):
            return (k for k, _ in self._items)

        def __len__(self):
            return len(self._items)

        def items(self):
            return list(self._items)

    spec = Repeating([("deny", ["drop_*"]), ("default", "allow"), ("deny", [])])
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(spec)
    assert (info.value.kind, info.value.field) == ("duplicate_key", "deny")
    assert str(info.value) == "duplicate key 'deny' in a mapping: each key may appear only once"
