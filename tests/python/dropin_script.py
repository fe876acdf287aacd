"""One script, run against tokenfence and against agentguard (the module name
is the first argument): prints a transcript, one JSON line per step, that
test_dropin.py compares. Timestamps are checked here and left out of the
transcript; steps whose outcome differs on purpose are tagged `DIFF:`."""

import importlib
import json
import re
import sys
import time

mod = importlib.import_module(sys.argv[1])
Policy, PolicyResult, Decision = mod.Policy, mod.PolicyResult, mod.Decision
ToolDenied, AuditEntry, TokenFenceError = mod.ToolDenied, mod.AuditEntry, mod.TokenFenceError

START = time.time()
TS = re.compile(r"timestamp=[0-9.e+-]+")


def out(step, value):
    print(json.dumps([step, value], ensure_ascii=True, sort_keys=True))


def outcome(fn):
    """What calling fn did: returned a value, or raised (type, message)."""
    try:
        value = fn()
    except Exception as e:  # noqa: BLE001 - the transcript records it
        return ["raised", type(e).__name__, str(e)]
    return ["returned", repr(value)]


def entries(policy):
    rows = []
    for e in policy.audit_log:
        assert isinstance(e.timestamp, float) and START - 1 <= e.timestamp <= time.time() + 1
        d = e.to_dict()
        assert d.pop("timestamp") == e.timestamp
        rows.append([d, TS.sub("timestamp=T", repr(e)), e.decision, e.matched_rule, e.context])
    stamps = [e.timestamp for e in policy.audit_log]
    assert stamps == sorted(stamps)
    return rows


def result_row(r):
    return [repr(r), r.decision.value, r.decision.name, r.tool, r.reason, r.matched_rule,
            r.allowed, r.denied, r.needs_approval, type(r).__name__, r == r, hash(r) == hash(r)]


TEMPLATES = {
    "database-safety": dict(
        allow=["read_database", "generate_report", "list_tables", "describe_schema"],
        deny=["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
        require_approval=["write_database", "create_table", "create_index"],
    ),
    "email-agent": dict(
        allow=["read_inbox", "search_emails", "draft_*"],
        deny=["delete_*", "forward_all*"],
        require_approval=["send_email", "send_*"],
    ),
    "open": dict(deny=["rm_*", "*sudo*"], default="allow"),
    "empty": dict(),
}
TOOLS = ["read_database", "drop_table", "write_database", "send_email", "send_sms", "draft_reply",
         "rm_rf", "run_sudo_cmd", "ls", "", "DROP_TABLE", "drop_", "read_inbox", "forward_all_mail",
         "create_index", "d\u00e9l\u00e9te", "\U0001f600", "a\nb", "generate_report"]

# Construction, repr, name, to_dict, and round trips.
for name, spec in TEMPLATES.items():
    p = Policy(**spec, name=name)
    out(f"repr {name}", repr(p))
    out(f"name {name}", p.name)
    out(f"to_dict {name}", p.to_dict())
    q = Policy.from_dict(p.to_dict())
    out(f"round trip {name}", [repr(q), q.to_dict() == p.to_dict()])
    for tool in TOOLS:
        out(f"check {name} {tool!r}", result_row(p.check(tool)))
    out(f"audit {name}", entries(p))
    p.clear_audit()
    out(f"cleared {name}", entries(p))
for n in [None, "", "x"]:
    out(f"name {n!r}", [Policy(name=n).name, repr(Policy(name=n))])
out("from_dict partial", repr(Policy.from_dict({"allow": ["a*"], "deny": ["ab"]})))
out("from_dict lists", Policy.from_dict({"allow": ("a", "b")}).to_dict())

# Contexts: recorded with the entry, left out of to_dict() when empty.
p = Policy(**TEMPLATES["database-safety"])
ctx = {"agent_id": "bot-1", "nested": {"k": [1, 2]}}
for c in [None, {}, ctx]:
    p.check("drop_table", context=c)
out("contexts", entries(p))
# Documented difference: tokenfence keeps the caller's dict, so changing it
# afterwards rewrites the audit log; agentguard records a copy.
out("DIFF: context is the caller's object", p.audit_log[2].context is ctx)
ctx["agent_id"] = "changed"
ctx["nested"]["k"].append(3)
out("DIFF: context changed after check", entries(p))

# Callbacks: on_deny after each deny; on_approval answers True or False.
denied = []
asked = []
for answer in [True, False]:
    def approve(r, answer=answer):
        asked.append(repr(r))
        return answer
    p = Policy(**TEMPLATES["database-safety"], on_deny=lambda r: denied.append(repr(r)),
               on_approval=approve)
    out(f"approval {answer!r}", [result_row(p.check("write_database")),
                                 result_row(p.check("read_database")),
                                 result_row(p.check("drop_table")), entries(p)])
out("asked", asked)
out("denied", denied)
# Documented difference: tokenfence judges any other answer by truthiness
# (a string "no" approves); agentguard raises TypeError and decides nothing.
for answer in [1, 0, "yes", "", "no", None, [0], []]:
    denied.clear()
    p = Policy(**TEMPLATES["database-safety"], on_deny=lambda r: denied.append(r.tool),
               on_approval=lambda r, answer=answer: answer)
    out(f"DIFF: approval {answer!r}", [outcome(lambda: result_row(p.check("write_database"))),
                                       entries(p), list(denied)])

# enforce(): allowed tools return; denied ones raise ToolDenied.
p = Policy(**TEMPLATES["database-safety"])
out("enforce allowed", outcome(lambda: p.enforce("read_database")))
for tool in ["drop_table", "ls"]:
    try:
        p.enforce(tool, context={"why": "test"})
    except ToolDenied as e:
        out(f"enforce {tool}", [type(e).__name__, str(e), e.tool, e.reason, e.matched_rule,
                                isinstance(e, TokenFenceError), isinstance(e, Exception)])
approved = Policy(**TEMPLATES["database-safety"], on_approval=lambda r: True)
out("enforce approved", outcome(lambda: approved.enforce("write_database")))
# Documented difference: tokenfence returns the needs-approval result,
# agentguard raises ApprovalRequired (a ToolDenied).
out("DIFF: enforce unapproved", outcome(lambda: p.enforce("write_database")))
out("audit after enforce", entries(p))

# Values and exceptions.
out("Decision", [[d.name, d.value, repr(d), str(d), f"{d}", f"{d:>20}|", d == d, d != d.value.upper()]
                 for d in Decision])
out("Decision lookup", repr(Decision("require_approval")))
# Documented difference: a Decision equals its string value (and hashes
# like it); tokenfence's plain Enum silently compares unequal.
out("DIFF: Decision equals its value", [[d == d.value, d.value == d, hash(d) == hash(d.value),
                                         d.value in {d}] for d in Decision])
r = PolicyResult(decision=Decision.DENY, tool="t", reason="why", matched_rule=None)
out("PolicyResult built", [result_row(r), r == PolicyResult(Decision.DENY, "t", "why")])
e = ToolDenied("t", "because", "p*")
out("ToolDenied built", [str(e), e.tool, e.reason, e.matched_rule, repr(ToolDenied("t", "r"))])
a = AuditEntry(timestamp=1.5, tool="t", decision="deny", reason="r", matched_rule=None, context={})
out("AuditEntry built", [repr(a), a.to_dict()])
b = AuditEntry(1.5, "t", "allow", "r", "p", {"k": 1})
out("AuditEntry full", [repr(b), b.to_dict(), b == AuditEntry(1.5, "t", "allow", "r", "p", {"k": 1})])

# Audit off; bad default (tokenfence's TokenFenceError; ours a PolicyError,
# which is one: the message differs on purpose).
p = Policy(deny=["x"], audit=False)
p.check("x")
out("audit off", entries(p))
try:
    Policy(default="maybe")
except TokenFenceError as err:
    out("bad default", [isinstance(err, TokenFenceError)])
out("DIFF: bad default message", outcome(lambda: Policy(default="maybe")))
