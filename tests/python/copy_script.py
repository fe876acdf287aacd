"""copy.copy, copy.deepcopy and pickle on a Policy, run against tokenfence and
against agentguard (the module name is the first argument): prints a
transcript, one JSON line per step, that test_copy.py compares. Steps whose
outcome differs on purpose are tagged `DIFF:`."""

import copy
import importlib
import json
import pickle
import sys

mod = importlib.import_module(sys.argv[1])
Policy, Decision = mod.Policy, mod.Decision
PolicyResult, AuditEntry = mod.PolicyResult, mod.AuditEntry

#: Every callback call, as (callback's id, hook, tool): a copied callback
#: object shows up under a new id.
CALLS = []


class Recorder:
    """A callable callback with state, so copies of it can be told apart."""

    def __init__(self, hook, answer=None):
        self.hook, self.answer, self.seen = hook, answer, []

    def __call__(self, result):
        self.seen.append(result.tool)
        CALLS.append([id(self), self.hook, result.tool])
        return self.answer


class Owner:
    """An object whose policy calls back into it: a reference cycle."""

    def __init__(self):
        self.denials = []
        self.policy = Policy(deny=["drop_*"], on_deny=self.denied)

    def denied(self, result):
        self.denials.append(result.tool)


def out(step, value):
    print(json.dumps([step, value], ensure_ascii=True, sort_keys=True))


def log(policy):
    return [[e.to_dict(), e.context] for e in policy.audit_log]


def make():
    policy = Policy(
        name="copy-me",
        allow=["read_*", "list_?"],
        deny=["drop_*", "delete_*"],
        require_approval=["write_*"],
        on_deny=Recorder("deny"),
        on_approval=Recorder("approval", answer=True),
    )
    policy.check("drop_table", context={"agent": "a", "tags": ["x"]})
    policy.check("write_users")
    policy.check("read_rows", context={"n": 1})
    return policy


def pickled(policy, protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.loads(pickle.dumps(policy, protocol))


COPIERS = {"copy": copy.copy, "deepcopy": copy.deepcopy, "pickle": pickled}
TOOLS = ["read_a", "list_x", "drop_users", "delete_x", "write_x", "other", "list_xy"]

for how, copier in COPIERS.items():
    original = make()
    before = log(original)
    CALLS.clear()
    dup = copier(original)
    out(f"{how}: type", type(dup).__name__)
    out(f"{how}: is a new object", dup is not original)
    out(f"{how}: to_dict", dup.to_dict())
    out(f"{how}: repr", repr(dup))
    out(f"{how}: name", dup.name)
    out(f"{how}: audit log copied", log(dup) == before)
    out(f"{how}: timestamps kept",
        [e.timestamp for e in dup.audit_log] == [e.timestamp for e in original.audit_log])
    ctx_original = original.audit_log[0].context
    # tokenfence's shallow copy shares the context dicts; ours never hands
    # out a recorded context itself, only copies (a documented difference).
    step = f"DIFF: {how}: context is the same object" if how == "copy" else f"{how}: context is the same object"
    out(step, dup.audit_log[0].context is ctx_original)
    out(f"{how}: context equal", dup.audit_log[0].context == ctx_original)
    out(f"{how}: decisions", [[r.decision.value, r.reason, r.matched_rule]
                              for r in map(dup.check, TOOLS)])
    ids = {hook: i for i, hook, _ in CALLS}
    out(f"{how}: callbacks ran on the copy", sorted([h, t] for _, h, t in CALLS))
    CALLS.clear()
    original.check("drop_original")
    original.check("write_original")
    original_ids = {hook: i for i, hook, _ in CALLS}
    out(f"{how}: callbacks are the same objects", ids == original_ids)
    out(f"{how}: callbacks still work on the original", sorted([h, t] for _, h, t in CALLS))
    # Independence: what one records, the other does not (tokenfence's
    # shallow copy shares the list: a documented difference).
    tools_in = lambda p: [e.tool for e in p.audit_log]  # noqa: E731
    step = f"DIFF: {how}: logs independent" if how == "copy" else f"{how}: logs independent"
    out(step, [tools_in(original), tools_in(dup)])
    original.clear_audit()
    step = f"DIFF: {how}: clear_audit independent" if how == "copy" else f"{how}: clear_audit independent"
    out(step, len(dup.audit_log))

# Every pickle protocol.
for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
    original = make()
    dup = pickled(original, protocol)
    out(f"pickle protocol {protocol}", [dup.to_dict(), log(dup) == log(original)])

# A lambda callback: pickle fails with Python's own error.
for hook in ["on_deny", "on_approval"]:
    try:
        pickle.dumps(Policy(**{hook: lambda r: True}))
        out(f"pickle lambda {hook}", "pickled")
    except Exception as e:  # noqa: BLE001 - the transcript records it
        out(f"pickle lambda {hook}", [type(e).__module__, type(e).__qualname__,
                                      "lambda" in str(e)])
# ... but copy and deepcopy keep a lambda (functions copy as themselves).
fn = lambda r: CALLS.append([0, "lambda", r.tool])  # noqa: E731
for how in ["copy", "deepcopy"]:
    CALLS.clear()
    COPIERS[how](Policy(deny=["x"], on_deny=fn)).check("x")
    out(f"{how} lambda", CALLS)

# A callback that refers back to the policy: copies and pickles, and the
# copy's callback is bound to the copied owner, whose policy is the copy.
for how in ["deepcopy", "pickle"]:
    owner = Owner()
    owner.policy.check("drop_a")
    dup = COPIERS[how](owner.policy)
    dup.check("drop_b")
    out(f"{how} cycle", [owner.denials, [e.tool for e in dup.audit_log]])

# The value classes.
policy = make()
result = policy.check("drop_table")
entry = policy.audit_log[0]
for how, copier in COPIERS.items():
    r = copier(result)
    out(f"{how} PolicyResult", [r == result, r is result, repr(r), hash(r) == hash(result)])
    e = copier(entry)
    out(f"{how} AuditEntry", [e == entry, e is entry, e.to_dict() == entry.to_dict()])
    step = f"DIFF: {how} AuditEntry context shared" if how == "copy" else f"{how} AuditEntry context shared"
    out(step, e.context is entry.context)
    d = copier(Decision.REQUIRE_APPROVAL)
    out(f"{how} Decision", [d is Decision.REQUIRE_APPROVAL, repr(d)])
