"""copy.copy, copy.deepcopy and pickle of Policy, PolicyResult, AuditEntry
and Decision: each round-trips the rules, decisions, callbacks and audit log
into an independent policy; copy_script.py's transcript matches tokenfence's
except for the documented shallow-copy difference."""

import copy
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import tokenfence

import agentguard
from agentguard import AuditEntry, Decision, Policy, PolicyResult

SCRIPT = Path(__file__).with_name("copy_script.py")

CALLS = []


def on_deny(result):
    CALLS.append(("deny", result.tool))


def on_approval(result):
    CALLS.append(("approval", result.tool))
    return result.tool != "write_no"


def on_decision(entry):
    CALLS.append(("decision", entry.tool))


def pickled(obj):
    return pickle.loads(pickle.dumps(obj))


COPIERS = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": pickled}
TOOLS = ["read_a", "drop_b", "write_c", "write_no", "other", "list_x", "list_xy"]


def make(**options):
    policy = Policy(
        name="copy-me",
        allow=["read_*", "list_?"],
        deny=["drop_*"],
        require_approval=["write_*"],
        on_deny=on_deny,
        on_approval=on_approval,
        on_decision=on_decision,
        **options,
    )
    for tool in ["drop_1", "write_2", "write_no", "read_3"]:
        policy.check(tool, context={"tool": tool, "nested": [tool]})
    return policy


def outcomes(policy, tools):
    CALLS.clear()
    results = [(r.decision, r.reason, r.matched_rule) for r in map(policy.check, tools)]
    return results, list(CALLS)


@pytest.mark.parametrize("how", COPIERS)
def test_copy_keeps_rules_callbacks_and_log(how):
    original = make(audit_capacity=3)
    dup = COPIERS[how](original)
    assert type(dup) is Policy and dup is not original
    assert dup.to_dict() == original.to_dict()
    assert repr(dup) == repr(original)
    assert (dup.audit_capacity, dup.audit_dropped) == (3, 1)
    assert dup.audit_log == original.audit_log
    assert [e.timestamp for e in dup.audit_log] == [e.timestamp for e in original.audit_log]
    assert [e.to_dict() for e in dup.audit_log] == [e.to_dict() for e in original.audit_log]
    # The same decisions, and the same callbacks run (in the same order).
    theirs = outcomes(original, TOOLS)
    ours = outcomes(dup, TOOLS)
    assert ours == theirs
    assert ("approval", "write_no") in ours[1] and ("deny", "drop_b") in ours[1]
    assert ours[0][3][0] is Decision.DENY  # on_approval said no to write_no


@pytest.mark.parametrize("how", COPIERS)
def test_copy_is_independent(how):
    original = make()
    dup = COPIERS[how](original)
    dup.check("read_only_copy")
    original.check("read_only_original")
    assert [e.tool for e in original.audit_log][-1] == "read_only_original"
    assert "read_only_copy" not in [e.tool for e in original.audit_log]
    assert "read_only_original" not in [e.tool for e in dup.audit_log]
    original.clear_audit()
    assert original.audit_log == [] and len(dup.audit_log) == 5


@pytest.mark.parametrize("how", COPIERS)
def test_copies_keep_contexts_that_no_one_can_change(how):
    # Updated deliberately (issue 9, item 7): a shallow copy used to share
    # the context dicts with the original. An entry now holds a copy made
    # at decision time and hands out only fresh copies, so no copy of a
    # policy, entry or context can change another's log.
    original = make()
    context = original.audit_log[0].context
    dup = COPIERS[how](original)
    assert dup.audit_log[0].context == context == {"tool": "drop_1", "nested": ["drop_1"]}
    dup.audit_log[0].context["nested"].append("changed")
    context["nested"].append("changed")
    assert original.audit_log[0].context == dup.audit_log[0].context == {
        "tool": "drop_1", "nested": ["drop_1"]}


class Recorder:
    def __init__(self):
        self.seen = []

    def __call__(self, result):
        self.seen.append(result.tool)


def test_deepcopy_copies_callable_callbacks():
    recorder = Recorder()
    original = Policy(deny=["x"], on_deny=recorder)
    copy.copy(original).check("x")
    assert recorder.seen == ["x"]  # a shallow copy shares the callback
    copy.deepcopy(original).check("x")
    pickled(original).check("x")
    assert recorder.seen == ["x"]  # the deep copies called their own


def test_no_callbacks_and_audit_off_round_trip():
    original = Policy(allow=["a"], default="allow", audit=False, audit_capacity=0)
    for copier in COPIERS.values():
        dup = copier(original)
        assert dup.to_dict() == original.to_dict() and dup.audit_capacity == 0
        assert dup.check("b").allowed and dup.audit_log == []


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_every_pickle_protocol(protocol):
    original = make()
    dup = pickle.loads(pickle.dumps(original, protocol))
    assert dup.to_dict() == original.to_dict() and dup.audit_log == original.audit_log
    assert outcomes(dup, TOOLS) == outcomes(original, TOOLS)


MODULE_LAMBDA = lambda r: None  # noqa: E731 - pickle cannot look it up by name


def local_lambda():
    return lambda r: None


@pytest.mark.parametrize("make_lambda, expected", [
    (lambda: MODULE_LAMBDA, pickle.PicklingError),  # "attribute lookup <lambda> failed"
    (local_lambda, AttributeError),  # "Can't pickle local object"
])
@pytest.mark.parametrize("hook", ["on_deny", "on_approval", "on_decision"])
def test_lambda_callback_pickles_with_the_same_error_as_tokenfence(make_lambda, expected, hook):
    ours = Policy(**{hook: make_lambda()})
    their_hook = "on_deny" if hook == "on_decision" else hook  # tokenfence has no on_decision
    theirs = tokenfence.Policy(**{their_hook: make_lambda()})
    with pytest.raises(Exception) as their_error:
        pickle.dumps(theirs)
    with pytest.raises(Exception) as our_error:
        pickle.dumps(ours)
    assert our_error.type is their_error.type is expected
    assert "lambda" in str(our_error.value)
    # copy and deepcopy keep a lambda, as for any object.
    assert copy.deepcopy(ours).to_dict() == copy.copy(ours).to_dict() == ours.to_dict()


class Owner:
    def __init__(self):
        self.denials = []
        self.policy = Policy(deny=["drop_*"], on_deny=self.denied)

    def denied(self, result):
        self.denials.append(result.tool)


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_callback_referring_back_to_the_policy(how):
    owner = Owner()
    dup = COPIERS[how](owner.policy)
    dup.check("drop_x")
    assert owner.denials == []
    # The copy's callback is bound to a copy of the owner (reached through
    # the copy's own pickle state), whose policy is the copy itself.
    copied_owner = dup.__reduce__()[2]["on_deny"].__self__
    assert copied_owner is not owner and copied_owner.policy is dup
    assert copied_owner.denials == ["drop_x"]


class Sub(Policy):
    """A subclass with its own attributes."""


@pytest.mark.parametrize("how", COPIERS)
def test_subclass_and_its_attributes(how):
    original = Sub(allow=["a"])
    original.tag = {"team": ["x"]}
    dup = COPIERS[how](original)
    assert type(dup) is Sub and dup.tag == original.tag
    assert (dup.tag is original.tag) == (how == "copy")
    assert dup.check("a").allowed


@pytest.mark.parametrize("how", COPIERS)
def test_value_classes(how):
    policy = make()
    result = policy.check("drop_z")
    dup = COPIERS[how](result)
    assert type(dup) is PolicyResult and dup == result and hash(dup) == hash(result)
    assert dup.decision is Decision.DENY and dup.matched_rule == "drop_*"
    default = policy.check("other")
    assert COPIERS[how](default).matched_rule is None
    for entry in policy.audit_log:
        copied = COPIERS[how](entry)
        assert type(copied) is AuditEntry and copied == entry
        assert copied.to_dict() == entry.to_dict()
    assert COPIERS[how](Decision.REQUIRE_APPROVAL) is Decision.REQUIRE_APPROVAL


def test_a_policy_stays_immutable():
    policy = Policy(deny=["x"])
    state = make().__reduce__()[2]
    with pytest.raises(TypeError, match="Policy is immutable"):
        policy.__setstate__(state)
    assert policy.audit_log == [] and not policy.check("write_1").needs_approval
    with pytest.raises(TypeError, match="needs Policy or a subclass"):
        agentguard._native._restore_policy(dict, {}, 10)
    blank = agentguard._native._restore_policy(Policy, {"deny": ["x"]}, 10)
    with pytest.raises(ValueError, match="unknown key 'extra'"):
        blank.__setstate__({"extra": 1})
    with pytest.raises(TypeError, match="must hold AuditEntry objects"):
        blank.__setstate__({"audit_log": [{"tool": "x"}]})
    blank.__setstate__({"audit_dropped": 4})
    assert blank.audit_dropped == 4
    with pytest.raises(TypeError, match="Policy is immutable"):
        blank.__setstate__({})


def transcript(module):
    run = subprocess.run([sys.executable, str(SCRIPT), module], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    steps = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(steps) > 50
    return steps


def test_transcript_matches_tokenfence():
    theirs, ours = transcript("tokenfence"), transcript("agentguard")
    assert [s for s, _ in theirs] == [s for s, _ in ours]
    same = [(s, a, b) for (s, a), (_, b) in zip(theirs, ours) if not s.startswith("DIFF:")]
    mismatched = [m for m in same if m[1] != m[2]]
    assert mismatched == [], mismatched[:3]
    # The documented difference: tokenfence's shallow copy shares its audit
    # log list with the original (checks and clear_audit() on either show
    # in both); ours is an independent policy, like a deep copy.
    diffs = {s: (a, b) for (s, a), (_, b) in zip(theirs, ours) if s.startswith("DIFF:")}
    assert set(diffs) == {"DIFF: copy: logs independent", "DIFF: copy: clear_audit independent",
                          "DIFF: copy: context is the same object",
                          "DIFF: copy AuditEntry context shared"}
    # tokenfence's shallow copies share the context dicts; ours hand out
    # copies only (an entry is a record of the moment).
    assert diffs["DIFF: copy: context is the same object"] == (True, False)
    assert diffs["DIFF: copy AuditEntry context shared"] == (True, False)
    (their_orig, their_copy), (our_orig, our_copy) = diffs["DIFF: copy: logs independent"]
    assert their_orig == their_copy and our_orig != our_copy
    assert "read_a" in our_copy and "read_a" not in our_orig
    assert diffs["DIFF: copy: clear_audit independent"] == (0, 10)
