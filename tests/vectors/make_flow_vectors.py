"""Writes tests/vectors/flow.json: the decision flow's shared vectors.

Each case scripts the callbacks of a policy (what the approver answers,
what on_decision / on_deny do), runs one check in the sync or async flow,
and pins what comes out: the result or the error, the order in which the
hooks ran and what each saw (the log length inside on_decision), and the
audit log afterwards. The Rust (tests/vectors.rs), JavaScript
(tests/js/esm/flow.test.mjs) and Python (tests/python/test_flow.py) suites
all run this file through their bindings.

Script values:
  approve:     absent | true | false | throw | string | none | object |
               pending_true | pending_throw
  on_decision: absent | ok | throw | pending_ok | pending_throw | reenter
  on_deny:     absent | ok | throw | pending_ok | pending_throw
`string` answers "yes", `none` returns nothing (undefined / None),
`object` a truthy object ({ok: true} / {"ok": True}); `pending_*` are
async functions (a Promise / a coroutine); `throw` raises an error whose
message is "approver crashed", "sink down" or "alert failed";
`reenter` calls check(reenter_tool) on the same policy from inside the
outermost on_decision.

Messages that name callbacks differ by language only in those names,
which the core takes from each binding; they are listed per language.

Run: python3 tests/vectors/make_flow_vectors.py [--check]
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("flow.json")

NAMES = {
    "rust": dict(on_approval="approve", on_decision="on_decision", on_deny="on_deny",
                 sync_calls="decide()", async_calls="answer_approval() and record() in Mode::Async",
                 pending="Answer::Pending", booleans="true or false"),
    "js": dict(on_approval="onApproval", on_decision="onDecision", on_deny="onDeny",
               sync_calls="check() / enforce()", async_calls="checkAsync() / enforceAsync()",
               pending="a Promise", booleans="true or false"),
    "python": dict(on_approval="on_approval", on_decision="on_decision", on_deny="on_deny",
                   sync_calls="check() / enforce()", async_calls="check_async() / enforce_async()",
                   pending="a coroutine", booleans="True or False"),
}

# How each binding describes a non-boolean answer.
DESCRIBE = {
    "string": {"rust": 'string "yes"', "js": 'string "yes"', "python": "str 'yes'"},
    "none": {"rust": "null", "js": "undefined", "python": "NoneType None"},
    "object": {"rust": "an object", "js": "an object", "python": "dict {'ok': True}"},
}


def per_lang(template, **extra):
    return {lang: template.format(**names, **extra) for lang, names in NAMES.items()}


def approver_pending():
    return {"kind": "async_hook", "message": per_lang(
        "{on_approval} returned {pending} inside {sync_calls}; that is not an answer, "
        "and the tool stays unapproved. Use {async_calls} for an asynchronous approver")}


def not_a_bool(what):
    return {"kind": "not_a_bool", "message": {
        lang: "{on_approval} must return {booleans}, got {what}; the tool stays unapproved".format(
            what=DESCRIBE[what][lang], **names)
        for lang, names in NAMES.items()}}


def hook_pending(hook):
    return {"kind": "async_hook", "message": {
        lang: ("{hook} returned {pending} inside {sync_calls}; it would finish after the decision "
               "and a failure would be lost. Use {async_calls} for asynchronous hooks").format(
            hook=names[hook], **names)
        for lang, names in NAMES.items()}}


def hook_error(message):
    return {"kind": "hook", "message": message}


POLICY = {"name": "flow", "allow": ["read_*"], "deny": ["drop_*"],
          "require_approval": ["write_*"], "default": "deny", "audit": True}


def result(tool, decision, reason, matched, rule):
    return {"tool": tool, "decision": decision, "reason": reason, "matched_rule": matched,
            "rule": rule, "shadow": []}


def entry(tool, decision, reason, matched=None, context=None):
    e = {"tool": tool, "decision": decision, "reason": reason}
    if matched:
        e["matched_rule"] = matched
    if context:
        e["context"] = context
    return e


APPROVED = result("write_x", "allow", "approved via callback (pattern: write_*)", "write_*",
                  {"list": "require_approval", "index": 0})
REFUSED = result("write_x", "deny", "approval denied via callback (pattern: write_*)", "write_*",
                 {"list": "require_approval", "index": 0})
PENDING = result("write_x", "require_approval", "requires approval per pattern: write_*", "write_*",
                 {"list": "require_approval", "index": 0})
READ = result("read_x", "allow", "allowed by pattern: read_*", "read_*", {"list": "allow", "index": 0})
DROP = result("drop_x", "deny", "denied by pattern: drop_*", "drop_*", {"list": "deny", "index": 0})
E_APPROVED = entry("write_x", "allow", "approved via callback (pattern: write_*)", "write_*")
E_REFUSED = entry("write_x", "deny", "approval denied via callback (pattern: write_*)", "write_*")
E_READ = entry("read_x", "allow", "allowed by pattern: read_*", "read_*")
E_DROP = entry("drop_x", "deny", "denied by pattern: drop_*", "drop_*")


def case(name, tool, *, approve="absent", on_decision="ok", on_deny="ok", mode="sync",
         policy=POLICY, context=None, result=None, error=None, events, log, reenter_tool=None):
    c = {"name": name, "policy": policy, "mode": mode, "tool": tool, "context": context,
         "hooks": {"approve": approve, "on_decision": on_decision, "on_deny": on_deny},
         "expect": {"result": result, "error": error, "events": events, "log": log}}
    if reenter_tool is not None:
        c["reenter_tool"] = reenter_tool
    return c


def dec(tool, decision, n):
    return f"on_decision {tool} {decision} log={n}"


CASES = [
    case("an approver's true allows; on_decision finds its own entry in the log", "write_x",
         approve="true", result=APPROVED,
         events=["approve write_x", dec("write_x", "allow", 1)], log=[E_APPROVED]),
    case("an approver's false denies, then on_deny runs", "write_x", approve="false",
         result=REFUSED,
         events=["approve write_x", dec("write_x", "deny", 1), "on_deny write_x deny"],
         log=[E_REFUSED]),
    case("a throwing approver: its error, nothing recorded, nothing allowed", "write_x",
         approve="throw", error=hook_error("approver crashed"),
         events=["approve write_x"], log=[]),
    case("an approver answering a string is an error, never an approval", "write_x",
         approve="string", error=not_a_bool("string"), events=["approve write_x"], log=[]),
    case("an approver returning nothing is an error, never a refusal recorded as a decision",
         "write_x", approve="none", error=not_a_bool("none"), events=["approve write_x"], log=[]),
    case("an approver returning a truthy object is an error, never an approval", "write_x",
         approve="object", error=not_a_bool("object"), events=["approve write_x"], log=[]),
    case("an async approver in the sync flow is an error, never an approval", "write_x",
         approve="pending_true", error=approver_pending(), events=["approve write_x"], log=[]),
    case("an async approver in the async flow is awaited", "write_x", approve="pending_true",
         mode="async", result=APPROVED,
         events=["approve write_x", dec("write_x", "allow", 1)], log=[E_APPROVED]),
    case("an async approver that rejects: its error, nothing recorded", "write_x",
         approve="pending_throw", mode="async", error=hook_error("approver crashed"),
         events=["approve write_x"], log=[]),
    case("no approver: the result stays require_approval", "write_x", result=PENDING,
         events=[dec("write_x", "require_approval", 1)],
         log=[entry("write_x", "require_approval", "requires approval per pattern: write_*", "write_*")]),
    case("the approver is asked only for require_approval", "read_x", approve="throw",
         result=READ, events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("a throwing on_decision on an allow fails closed; the entry is kept", "read_x",
         on_decision="throw", error=hook_error("sink down"),
         events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("both hooks fail: both ran, the first error wins", "drop_x", on_decision="throw",
         on_deny="throw", error=hook_error("sink down"),
         events=[dec("drop_x", "deny", 1), "on_deny drop_x deny"], log=[E_DROP]),
    case("a throwing on_deny: its error", "drop_x", on_deny="throw",
         error=hook_error("alert failed"),
         events=[dec("drop_x", "deny", 1), "on_deny drop_x deny"], log=[E_DROP]),
    case("an async on_decision in the sync flow is an error; the entry is kept", "read_x",
         on_decision="pending_ok", error=hook_pending("on_decision"),
         events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("an async on_deny in the sync flow is an error", "drop_x", on_deny="pending_ok",
         error=hook_pending("on_deny"),
         events=[dec("drop_x", "deny", 1), "on_deny drop_x deny"], log=[E_DROP]),
    case("an async on_decision in the async flow is awaited", "read_x", mode="async",
         on_decision="pending_ok", result=READ, events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("an async on_decision that rejects in the async flow: its error", "read_x", mode="async",
         on_decision="pending_throw", error=hook_error("sink down"),
         events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("an async on_deny that rejects in the async flow: its error", "drop_x", mode="async",
         on_deny="pending_throw", error=hook_error("alert failed"),
         events=[dec("drop_x", "deny", 1), "on_deny drop_x deny"], log=[E_DROP]),
    case("a re-entrant check from on_decision is recorded after the outer entry", "read_x",
         on_decision="reenter", reenter_tool="drop_x", result=READ,
         events=[dec("read_x", "allow", 1), dec("drop_x", "deny", 2), "on_deny drop_x deny"],
         log=[E_READ, E_DROP]),
    case("the context goes into the entry", "drop_x", context={"agent": "bot-1", "n": [1, 2]},
         result=DROP, events=[dec("drop_x", "deny", 1), "on_deny drop_x deny"],
         log=[entry("drop_x", "deny", "denied by pattern: drop_*", "drop_*",
                    {"agent": "bot-1", "n": [1, 2]})]),
    case("an empty context is no context", "read_x", context={}, result=READ,
         events=[dec("read_x", "allow", 1)], log=[E_READ]),
    case("audit off: no entry, no on_decision, on_deny still runs", "drop_x",
         policy={**POLICY, "audit": False}, result=DROP,
         events=["on_deny drop_x deny"], log=[]),
    case("audit off with a refused approval: on_deny runs", "write_x", approve="false",
         policy={**POLICY, "audit": False}, result=REFUSED,
         events=["approve write_x", "on_deny write_x deny"], log=[]),
]


def main():
    text = json.dumps({"about": __doc__.strip().splitlines()[0], "cases": CASES},
                      indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if OUT.read_text() != text:
            sys.exit(f"{OUT} is stale: run python3 {sys.argv[0]}")
        print(f"{OUT.name}: {len(CASES)} cases, up to date")
        return
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
