"""A call's arguments from Python: `args` must be a mapping; only the values
a condition of a rule for the called tool reads are converted, and those
must be JSON data (an error naming the path otherwise), while anything else
is ignored; `True` is not 1; NaN and the infinities are unknown; ints are
exact within the 64-bit range and refused beyond it."""

import asyncio
import collections
import math
import re
import types
from collections.abc import Mapping

import pytest

from agentguard import Decision, Policy, ToolDenied


def rule(id, tool, decision, when=None, **extra):
    r = {"id": id, "tool": tool, "decision": decision, **extra}
    if when is not None:
        r["when"] = when
    return r


MAIL = Policy(
    allow=["read_*"],
    rules=[
        rule("mail", "send_email", "allow", {"recipient.email": {"glob": "*@ok.com"}, "to": {"glob": "*@ok.com"}}),
        rule("files", "write_file", "allow", {"path": {"path_under": "/w"}}),
    ],
)


def approved(policy, tool, args):
    return policy.evaluate(tool, args=args).decision


# --- args must be a mapping -----------------------------------------------------


@pytest.mark.parametrize("args", [[], [("to", "x")], "to=x", b"x", 5, 1.5, ("a",), {"a"}, True, object()])
@pytest.mark.parametrize("tool", ["send_email", "read_x", "nothing"])
def test_args_that_is_not_a_mapping_is_a_type_error(args, tool):
    # Whether or not a rule applies to the tool: a wrong type is never a decision.
    entries = []
    policy = Policy(allow=["read_*"], rules=MAIL.to_dict()["rules"], on_decision=entries.append)
    calls = [
        lambda: policy.evaluate(tool, args=args),
        lambda: policy.check(tool, args=args),
        lambda: policy.enforce(tool, args=args),
        lambda: asyncio.run(policy.check_async(tool, args=args)),
        lambda: asyncio.run(policy.enforce_async(tool, args=args)),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"^args must be a mapping \(a dict of argument names to values\) "
                                            r"or None, not \w+$"):
            call()
    assert policy.audit_log == [] and entries == []


class Args(Mapping):
    """A read-only mapping that records what is asked of it."""

    def __init__(self, data):
        self.data = data
        self.asked = []

    def __getitem__(self, key):
        self.asked.append(key)
        return self.data[key]

    def __iter__(self):
        self.asked.append("__iter__")
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def test_args_may_be_any_mapping_and_none_means_empty():
    ok = {"recipient": {"email": "a@ok.com"}, "to": "b@ok.com"}
    for args in (
        ok,
        collections.OrderedDict(ok),
        types.MappingProxyType(ok),
        Args(ok),
        {"recipient": Args({"email": "a@ok.com"}), "to": "b@ok.com"},
        {"recipient": types.MappingProxyType({"email": "a@ok.com"}), "to": "b@ok.com"},
    ):
        r = MAIL.evaluate("send_email", args=args)
        assert (r.decision, r.matched_rule) == (Decision.ALLOW, "mail"), args
    for empty in (None, {}, Args({})):
        assert MAIL.evaluate("send_email", args=empty) == MAIL.evaluate("send_email")
        assert MAIL.evaluate("send_email", args=empty).denied
    # A defaultdict is read, never written: a missing argument stays missing.
    dd = collections.defaultdict(lambda: "a@ok.com", {"to": "b@ok.com"})
    assert MAIL.evaluate("send_email", args=dd).denied and dict(dd) == {"to": "b@ok.com"}


def test_only_the_paths_conditions_read_are_asked_for():
    args = Args({"to": "b@ok.com", "recipient": Args({"email": "a@ok.com", "name": "A"}), "body": "x" * 10_000})
    assert MAIL.evaluate("send_email", args=args).allowed
    inner = args.data["recipient"]
    # `path` is read too, but by write_file's rule only.
    assert sorted(args.asked) == ["recipient", "to"] and inner.asked == ["email"]
    args.asked.clear()
    assert MAIL.evaluate("write_file", args=args).denied and args.asked == ["path"]
    # No rule applies to the tool: nothing is asked at all.
    args.asked.clear()
    assert MAIL.evaluate("read_file", args=args).allowed and args.asked == []
    assert MAIL.evaluate("delete_file", args=args).denied and args.asked == []


# --- values a condition reads must be JSON data ---------------------------------

NOT_JSON = [
    ({1, 2}, "set"),
    (frozenset(), "frozenset"),
    (b"a@ok.com", "bytes"),
    (bytearray(b"x"), "bytearray"),
    (object(), "object"),
    (1j, "complex"),
    (range(3), "range"),
    (collections.deque(["a"]), "deque"),
    (print, "builtin_function_or_method"),
]


@pytest.mark.parametrize("value, type_name", NOT_JSON, ids=[t for _, t in NOT_JSON])
def test_non_json_value_where_a_condition_reads_it_is_a_type_error_naming_the_path(value, type_name):
    expected = rf"expected JSON data \(a dict, list, tuple, str, int, float, bool or None\), got {type_name}$"
    for args, path in [
        ({"to": value}, "args.to"),
        ({"to": ["a@ok.com", value]}, "args.to[1]"),
        ({"to": ("a@ok.com", [value])}, "args.to[1][0]"),
        ({"to": {"deep": {"er": value}}}, "args.to.deep.er"),
        ({"recipient": {"email": value}}, "args.recipient.email"),
        ({"recipient": {"email": [{"x": value}]}}, "args.recipient.email[0].x"),
    ]:
        entries = []
        policy = Policy(rules=MAIL.to_dict()["rules"], on_decision=entries.append,
                        on_approval=lambda r: pytest.fail("never asked"))
        for call in (policy.evaluate, policy.check, policy.enforce):
            with pytest.raises(TypeError, match=rf"^{re.escape(path)}: {expected}") as info:
                call("send_email", args=args)
            assert (info.value.path, info.value.kind) == (path, "wrong_type")
        with pytest.raises(TypeError, match=expected):
            asyncio.run(policy.check_async("send_email", args=args))
        assert policy.audit_log == [] and entries == []


def test_a_value_that_must_be_looked_into_may_be_json_data_but_not_anything_else():
    # recipient.email is read: recipient is looked into. A str, list, number
    # or None there is not an object, so the path is missing (an allow rule
    # needs proof: not allowed); a set or an object is an error.
    for recipient in ("a@ok.com", ["a@ok.com"], 5, None, 2**80, float("nan"), "\ud800"):
        assert MAIL.evaluate("send_email", args={"recipient": recipient, "to": "b@ok.com"}).denied
    for recipient, name in ((object(), "object"), ({"email"}, "set"), (b"", "bytes")):
        with pytest.raises(TypeError) as info:
            MAIL.evaluate("send_email", args={"recipient": recipient, "to": "b@ok.com"})
        assert str(info.value) == f"args.recipient: expected a dict to look into (or other JSON data), got {name}"
        assert info.value.path == "args.recipient"


def test_non_str_keys_where_a_condition_reads_them():
    with pytest.raises(TypeError) as info:
        MAIL.evaluate("send_email", args={"to": {1: "a"}})
    assert str(info.value) == "args.to: a key must be a str to be JSON data, got int 1"
    with pytest.raises(TypeError, match=r"^args.to\[0\]: a key must be a str to be JSON data, got tuple \(1, 2\)$"):
        MAIL.evaluate("send_email", args={"to": [{(1, 2): "a"}]})
    # A non-str key beside the paths (in args, or in a dict that is only
    # looked into) is never read.
    assert MAIL.evaluate("send_email", args={1: "x", "to": "b@ok.com",
                                             "recipient": {2: "y", "email": "a@ok.com"}}).allowed


@pytest.mark.parametrize("args, path, where", [
    ({"to": "a\ud800@ok.com"}, "args.to", "the string is not well-formed Unicode (a lone surrogate at index 1)"),
    ({"to": ["a@ok.com", "\udfff"]}, "args.to[1]", "the string is not well-formed Unicode (a lone surrogate at index 0)"),
    ({"recipient": {"email": "x\ud83d"}}, "args.recipient.email",
     "the string is not well-formed Unicode (a lone surrogate at index 1)"),
    ({"to": {"k\udc80": 1}}, "args.to", "a key is not well-formed Unicode (a lone surrogate at index 1)"),
])
def test_lone_surrogates_where_a_condition_reads_them_are_refused_not_repaired(args, path, where):
    # "a\ud800@ok.com" would be allowed by *@ok.com if it were decided on a
    # repaired string: it is not decided at all.
    policy = Policy(rules=MAIL.to_dict()["rules"])
    with pytest.raises(ValueError) as info:
        policy.check("send_email", args=args)
    assert str(info.value) == (f"{path}: {where}; agentguard refuses it rather than deciding on a "
                               "repaired string")
    assert (info.value.path, info.value.kind) == (path, "invalid_value")
    assert policy.audit_log == []


def test_bad_values_where_no_condition_reads_them_are_ignored():
    bad = {"blob": b"\x00", "seen": {1, 2}, "obj": object(), "text": "\ud800", "big": 10**400,
           "nan": float("nan"), 5: "non-str key", "deep": [[[[{"x": {1}}]]]], "s\udc80": 1}
    # Beside the paths read.
    assert MAIL.evaluate("send_email", args={**bad, "to": "b@ok.com", "recipient": {"email": "a@ok.com"}}).allowed
    # Under a dict that is only looked into.
    assert MAIL.evaluate("send_email", args={"to": "b@ok.com", "recipient": {"email": "a@ok.com", **bad}}).allowed
    # At a path only another tool's rule reads: write_file's rule reads
    # `path`, send_email's read `to`.
    assert MAIL.evaluate("write_file", args={"path": "/w/a", "to": {1}, "recipient": object()}).allowed
    assert MAIL.evaluate("write_file", args={"path": "/elsewhere", "to": b"x"}).denied
    # No rule applies to the tool at all.
    assert MAIL.evaluate("read_file", args={"to": {1}, "path": object()}).allowed
    # A policy without rules reads nothing.
    assert Policy(allow=["x"]).check("x", args={"to": {1}}).allowed


def test_a_mapping_that_raises_when_read():
    class Broken(Mapping):
        def __getitem__(self, key):
            raise RuntimeError(f"cannot read {key}")

        def __iter__(self):
            return iter(["to"])

        def __len__(self):
            return 1

    with pytest.raises(RuntimeError, match="cannot read recipient"):
        MAIL.evaluate("send_email", args=Broken())
    with pytest.raises(RuntimeError, match="cannot read to"):
        MAIL.evaluate("send_email", args={"to": Broken()})  # converted as a whole: items() reads it
    assert MAIL.evaluate("read_file", args=Broken()).allowed  # never read


def test_nesting_too_deep_or_cyclic_where_read():
    cyclic = []
    cyclic.append(cyclic)
    deep = "a@ok.com"
    for _ in range(500):
        deep = [deep]
    for value in (cyclic, deep):
        with pytest.raises(ValueError, match=r"^args.to(\[0\])+: lists and dicts nested deeper than 200 levels"):
            MAIL.evaluate("send_email", args={"to": value})
        assert MAIL.evaluate("read_file", args={"to": value}).allowed
    shallow = "a@ok.com"
    for _ in range(150):
        shallow = {"k": shallow}
    assert MAIL.evaluate("send_email", args={"to": shallow, "recipient": {"email": "a@ok.com"}}).denied


def test_subclasses_of_json_types_are_their_base_type():
    import enum

    class Name(str):
        pass

    class Level(enum.IntEnum):
        HIGH = 3

    class Amount(float):
        pass

    policy = Policy(rules=[rule("r", "t", "allow", {"to": {"glob": "*@ok.com"}, "n": {"in": [3]},
                                                    "x": {"lte": 1.5}})])
    assert policy.evaluate("t", args={"to": Name("a@ok.com"), "n": Level.HIGH, "x": Amount(1.5)}).allowed
    assert policy.evaluate("t", args=collections.OrderedDict(to="a@ok.com", n=3.0, x=1)).allowed


# --- numbers: bool is not int, exact ints, NaN and infinities unknown -----------


def test_bool_is_json_true_never_one():
    policy = Policy(rules=[
        rule("ints", "n", "allow", {"v": {"in": [1, 0]}}),
        rule("bools", "b", "allow", {"v": {"in": [True]}}),
        rule("cmp", "c", "allow", {"v": {"gte": 0}}),
    ])
    assert [approved(policy, "n", {"v": v}) for v in (1, 0, 1.0, -0.0, True, False)] == ["allow"] * 4 + ["deny"] * 2
    assert [approved(policy, "b", {"v": v}) for v in (True, 1, 1.0, "true")] == ["allow"] + ["deny"] * 3
    # A boolean is not a number: a comparison is unknown, so no proof.
    assert [approved(policy, "c", {"v": v}) for v in (0, 5, True, False)] == ["allow", "allow", "deny", "deny"]


def test_ints_compare_exactly_within_64_bits_and_are_refused_beyond():
    policy = Policy(rules=[
        rule("hi", "t", "allow", {"v": {"gt": 2**64 - 2}}),
        rule("lo", "u", "allow", {"v": {"lt": -(2**63) + 1}}),
        rule("f", "f", "allow", {"v": {"gt": 9007199254740992.0}}),
    ])
    assert approved(policy, "t", {"v": 2**64 - 1}) == "allow"
    assert approved(policy, "t", {"v": 2**64 - 2}) == "deny"
    assert approved(policy, "u", {"v": -(2**63)}) == "allow"
    # 2**53 + 1 is above the float 2**53: as an int, exactly; as a float, not.
    assert approved(policy, "f", {"v": 2**53 + 1}) == "allow"
    assert approved(policy, "f", {"v": float(2**53 + 1)}) == "deny"
    for v in (2**64, -(2**63) - 1, 10**400, -(10**400)):
        with pytest.raises(ValueError) as info:
            policy.evaluate("t", args={"v": v})
        assert str(info.value) == ("args.v: an int outside -2**63 .. 2**64-1: conditions compare numbers "
                                   "exactly, and cannot hold this one")
        assert info.value.path == "args.v"
        with pytest.raises(ValueError, match=r"^args.v\[1\]: an int outside"):
            policy.evaluate("u", args={"v": [1, v]})
        assert policy.evaluate("other", args={"v": v}).denied  # not read: ignored


NAN_VALUES = [float("nan"), float("inf"), float("-inf"), -float("nan")]

# One allow and one deny rule per operator (`present` separately): with a
# non-finite value the allow rule never fires (no proof) and the deny rule
# always does (doubt), exactly as with `{}`, the value they are read as.
OPERATORS = {
    "glob": "*",
    "not_glob": "x",
    "in": [1, "inf", "nan"],
    "not_in": [1],
    "lt": 1e308,
    "lte": 1e308,
    "gt": -1e308,
    "gte": -1e308,
    "path_under": "/",
    "path_glob": "*",
    "command": "*",
}


def _operator_policy(op, value):
    return Policy(rules=[
        rule(f"allow-{op}", "allow_it", "allow", {"v": {op: value}}),
        rule(f"deny-{op}", "deny_it", "deny", {"v": {op: value}}),
        rule(f"shadow-deny-{op}", "*", "deny", {"v": {op: value}}, mode="shadow"),
        rule(f"shadow-allow-{op}", "*", "allow", {"v": {op: value}}, mode="shadow"),
    ])


@pytest.mark.parametrize("op", sorted(OPERATORS))
def test_nan_and_infinities_are_unknown_to_every_operator(op):
    policy = _operator_policy(op, OPERATORS[op])
    for nan in NAN_VALUES:
        for v in (nan, [nan], [1.0, nan]):
            allow = policy.evaluate("allow_it", args={"v": v})
            deny = policy.evaluate("deny_it", args={"v": v})
            assert allow.denied and allow.reason == "not in allow list (default: deny)", (op, v)
            assert deny.denied and deny.matched_rule == f"deny-{op}", (op, v)
            assert [h["id"] for h in deny.shadow] == [f"shadow-deny-{op}"]
            # Exactly as the empty object, which is what it is read as.
            as_object = [{}] * len(v) if isinstance(v, list) else {}
            if isinstance(v, list) and len(v) == 2:
                as_object = [1.0, {}]
            for tool in ("allow_it", "deny_it"):
                assert (policy.evaluate(tool, args={"v": v}).to_dict()
                        == policy.evaluate(tool, args={"v": as_object}).to_dict())
    # A finite value of the same kind is decided (the test can tell).
    finite = {"glob": "x", "not_glob": "y", "in": 1, "not_in": 2, "lt": 1.0, "lte": 1.0, "gt": 1.0,
              "gte": 1.0, "path_under": "/a", "path_glob": "/a", "command": "ls"}[op]
    assert policy.evaluate("allow_it", args={"v": finite}).allowed


def test_nan_and_infinities_are_present():
    policy = Policy(rules=[
        rule("need", "t", "allow", {"v": {"present": True}}),
        rule("absent", "u", "allow", {"v": {"present": False}}),
    ])
    for nan in NAN_VALUES:
        assert policy.evaluate("t", args={"v": nan}).allowed
        assert policy.evaluate("u", args={"v": nan}).denied
    assert policy.evaluate("t", args={"v": None}).denied and policy.evaluate("u", args={}).allowed
    assert math.isnan(NAN_VALUES[0])


def test_large_argument_dicts_convert_only_what_is_read():
    # A million unread keys and values nobody could convert: the decision
    # is the one the three read values give.
    huge = {f"k{i}": {i} for i in range(100_000)}
    huge.update(to="b@ok.com", recipient={"email": "a@ok.com", "blob": b"x" * 1_000_000})
    assert MAIL.evaluate("send_email", args=huge).allowed
    huge["to"] = "b@evil.com"
    assert MAIL.evaluate("send_email", args=huge).denied
    with pytest.raises(ToolDenied):
        MAIL.enforce("send_email", args=huge)
