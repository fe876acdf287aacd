"""`make bench-python`: agentguard's `Policy.check` against tokenfence 0.3.1's,
on the database-safety policy (13 patterns, a realistic mix of repeated tool
names) and on generated policies of 100, 1 000 and 10 000 patterns; and
agentguard's argument conditions on a 20-rule policy that uses every
operator, called with 3 arguments (tokenfence has no argument conditions).

Prints markdown tables of per-call times and speed-ups (best of several
rounds, both libraries with their default settings: auditing on) and, with
--results FILE, writes them between the `python` markers of FILE. The
budgets (DESIGN.md): at least 10x faster at 13 patterns, 10 000x at 10 000;
`evaluate` with 3 arguments on 20 rules under 2 µs.
"""

import argparse
import gc
import os
import platform
import re
import sys
import time
from pathlib import Path

import agentguard
import tokenfence

DB = dict(
    name="database-safety",
    allow=["read_database", "generate_report", "list_tables", "describe_schema"],
    deny=["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
    require_approval=["write_database", "create_table", "create_index"],
)
DB_NAMES = ["read_database", "read_database", "list_tables", "generate_report", "drop_table",
            "write_database", "describe_schema", "read_database", "delete_users", "send_email",
            "truncate_logs", "create_index"]


# 20 rules with conditions of every operator (glob, not_glob, in, not_in, lt,
# lte, gt, gte, path_under, path_glob, command, present), enforced and
# shadow, over the tools of a coding, mail, payments and data agent.
RULES_20 = dict(
    name="twenty-rules",
    allow=["read_file", "list_files"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[
        {"id": "no-secrets", "tool": "*_file", "decision": "deny",
         "when": {"path": {"path_glob": ["*.env", "*/.ssh/*", "*/id_rsa*"]}}},
        {"id": "workspace-writes", "tool": ["write_file", "edit_file"], "decision": "allow",
         "when": {"path": {"path_under": ["/workspace", "/tmp/agent"]}}},
        {"id": "no-huge-writes", "tool": "write_file", "decision": "require_approval",
         "when": {"size": {"gt": 1_000_000}}},
        {"id": "outside-mail", "tool": "send_email", "decision": "require_approval",
         "when": {"to": {"not_glob": ["*@example.com", "*@example.org"]}}},
        {"id": "no-evil-mail", "tool": "send_email", "decision": "deny", "when": {"to": {"glob": "*@evil.com"}}},
        {"id": "mail-ok", "tool": "send_email", "decision": "allow",
         "when": {"to": {"glob": "*@example.com"}, "subject": {"present": True}}},
        {"id": "small-refunds", "tool": "refund", "decision": "allow",
         "when": {"amount": {"lte": 100}, "currency": {"in": ["EUR", "USD", "GBP"]}}},
        {"id": "no-negative-refunds", "tool": "refund", "decision": "deny", "when": {"amount": {"lt": 0}}},
        {"id": "big-refunds", "tool": "refund", "decision": "require_approval", "when": {"amount": {"gte": 1000}}},
        {"id": "blocked-currencies", "tool": "refund", "decision": "deny",
         "when": {"currency": {"not_in": ["EUR", "USD", "GBP", "CHF"]}}},
        {"id": "safe-shell", "tool": "run_shell", "decision": "allow",
         "when": {"command": {"command": ["git status", "git diff *", "ls *", "cat *"]}}},
        {"id": "no-rm", "tool": "run_shell", "decision": "deny", "when": {"command": {"command": ["rm *", "sudo *"]}}},
        {"id": "try-no-curl", "tool": "run_shell", "decision": "deny", "mode": "shadow",
         "when": {"command": {"command": "curl *"}}},
        {"id": "fetch-internal", "tool": "fetch", "decision": "allow",
         "when": {"url": {"glob": "https://internal.example.com/*"}}},
        {"id": "fetch-no-metadata", "tool": "fetch", "decision": "deny",
         "when": {"url": {"glob": "http://169.254.169.254/*"}}},
        {"id": "query-tables", "tool": "query_*", "decision": "allow",
         "when": {"table": {"in": ["orders", "customers"]}, "limit": {"lte": 1000}}},
        {"id": "no-pii", "tool": "query_*", "decision": "deny", "when": {"columns": {"glob": ["ssn", "card_*"]}}},
        {"id": "tickets", "tool": "create_ticket", "decision": "allow", "when": {"priority": {"gte": 1, "lte": 3}}},
        {"id": "force-push", "tool": "git_*", "decision": "deny", "when": {"force": {"present": True}}},
        {"id": "shadow-large-refund", "tool": "refund", "decision": "require_approval", "mode": "shadow",
         "when": {"amount": {"gt": 500}}},
    ],
)
# Calls with 3 arguments each (some read by no condition), allowed, denied
# and approval-gated by rules, and one decided by the lists.
CALLS_3 = [
    ("refund", {"amount": 42.5, "currency": "EUR", "order_id": "A-1001"}),
    ("write_file", {"path": "/workspace/src/main.py", "content": "print('hi')\n", "size": 12}),
    ("send_email", {"to": "bob@example.com", "subject": "Weekly report", "body": "All green."}),
    ("run_shell", {"command": "git status && git diff HEAD -- src", "cwd": "/workspace", "timeout": 30}),
    ("query_db", {"table": "orders", "limit": 100, "columns": ["id", "total"]}),
    ("fetch", {"url": "https://internal.example.com/api", "method": "GET", "timeout": 5}),
    ("edit_file", {"path": "/workspace/../etc/passwd", "old": "x", "new": "y"}),
    ("refund", {"amount": 2500, "currency": "USD", "order_id": "B-7"}),
    ("read_file", {"path": "/workspace/README.md", "offset": 0, "limit": 4096}),
]


def large_spec(n):
    """n patterns: a quarter each of exact names, prefix_*, *_suffix and
    ?/class patterns, spread over the three lists (as the Rust bench)."""
    spec = dict(allow=[], deny=[], require_approval=[])
    for i in range(n):
        p = [f"tool_{i}", f"ns{i}_*", f"*_sfx{i}", f"q{i}_[a-f]?"][i % 4]
        spec["allow" if i % 10 <= 5 else "deny" if i % 10 <= 8 else "require_approval"].append(p)
    return spec


def large_names(n):
    names = []
    for k in range(64):
        i = (k * 7919) % n
        names.append([f"tool_{i}", f"ns{i}_anything", f"call_sfx{i}", f"q{i}_bz", f"missing_{k}"][k % 5])
    return names


# The pattern shapes of DESIGN.md's budget, as benches/check.rs builds them:
# pattern i of each shape, and a name that pattern i matches.
RANGES = ["a-b", "c-d", "e-f", "g-h", "i-j", "k-l", "m-n", "o-p", "q-r", "s-t"]
VERBS = ["read", "list", "drop", "delete", "write", "create", "send", "truncate", "generate", "describe"]


def _digit_range(i, k):
    return RANGES[(i // 10 ** k) % 10]


SHAPES = {
    "exact names": (lambda i: f"{VERBS[i % 10]}_record_{i}",
                    lambda i: f"{VERBS[i % 10]}_record_{i}"),
    "shared prefix `mcp__*__delete_N`": (lambda i: f"mcp__*__delete_{i}",
                                         lambda i: f"mcp__filesystem__delete_{i}"),
    "shared prefix `t[0-9]N?`": (lambda i: f"t[0-9]{i}?", lambda i: f"t7{i}x"),
    "shared suffix `*_N?.log`": (lambda i: f"*_{i}?.log", lambda i: f"app/server_{i}x.log"),
    "inner literal only `?*_opN_*?`": (lambda i: f"?*_op{i}_*?", lambda i: f"x_op{i}_y"),
    "sets and `?` `[a-f]?N[0-9]?`": (lambda i: f"[a-f]?{i}[0-9]?", lambda i: f"cz{i}5q"),
    "no literal `[a-b]?[c-d][e-f]*[g-h]`": (
        lambda i: "[{}]?[{}][{}]*[{}]".format(*(_digit_range(i, k) for k in range(4))),
        lambda i: "{}z{}{}zz{}".format(*(_digit_range(i, k)[0] for k in range(4)))),
}


def shape_spec(shape, n):
    """n patterns of one shape, spread over the three lists."""
    pattern = SHAPES[shape][0]
    spec = dict(allow=[], deny=[], require_approval=[])
    for i in range(n):
        spec["allow" if i % 10 <= 5 else "deny" if i % 10 <= 8 else "require_approval"].append(pattern(i))
    return spec


def shape_names(shape, n):
    """Hits of early, middle and late patterns, each with a near miss, and
    names holding only what the shape's patterns share."""
    hit = SHAPES[shape][1]
    names = []
    for k in (0, n // 3, 2 * n // 3, n - 1):
        names += [hit(k), hit(k) + "~"]
    return names + ["send_email", "mcp__filesystem__delete_", "t7x", "app/server.log", "x_op_y", "cz5q",
                    "_op1_op12_op123_op1234_op12345_"]


ROUNDS = 7


def names_loop(policy, names, method="check"):
    """A measure: `policy.method(name)` over `names`, `loops` times."""
    call = getattr(policy, method)

    def run(loops):
        gc.disable()
        t = time.perf_counter_ns()
        for _ in range(loops):
            for name in names:
                call(name)
        elapsed = time.perf_counter_ns() - t
        gc.enable()
        return elapsed

    return run, len(names), policy.clear_audit


def calls_loop(policy, calls, method="evaluate"):
    """A measure: `policy.method(tool, args=args)` over `calls`, `loops` times."""
    call = getattr(policy, method)

    def run(loops):
        gc.disable()
        t = time.perf_counter_ns()
        for _ in range(loops):
            for tool, args in calls:
                call(tool, args=args)
        elapsed = time.perf_counter_ns() - t
        gc.enable()
        return elapsed

    return run, len(calls), policy.clear_audit


def best_per_call(measures, seconds):
    """The best per-call time in ns of each measure. Each is calibrated to
    rounds of about `seconds / ROUNDS`, then the rounds run interleaved (one
    of each measure in turn, ROUNDS times), so that a burst of other work on
    the machine hits every measure alike instead of every round of one."""
    loops = []
    for run, _, reset in measures:
        k = 1
        while run(k) < seconds * 1e9 / ROUNDS and k < 1 << 20:
            k *= 2
        reset()
        loops.append(k)
    best = [float("inf")] * len(measures)
    for _ in range(ROUNDS):
        for i, ((run, n, reset), k) in enumerate(zip(measures, loops)):
            best[i] = min(best[i], run(k) / (k * n))
            reset()
    return best


def conditions_rows(seconds):
    """The 20-rule figures: (label, time, budget verdict) rows."""
    policy = agentguard.Policy(**RULES_20)
    quiet = agentguard.Policy(**RULES_20, audit=False)
    decided = [policy.evaluate(t, args=a) for t, a in CALLS_3]
    assert {r.decision.value for r in decided} == {"allow", "deny", "require_approval"}
    assert any(r.rule and "id" in r.rule for r in decided) and any(r.shadow for r in decided)
    assert len({r.matched_rule for r in decided}) >= 7
    for tool, args in CALLS_3:
        assert len(args) == 3
    # The same calls with 1 000 more arguments that no condition reads (and
    # that could not be converted if one did).
    padding = {f"extra_{i}": {i} for i in range(1000)}
    padded = [(t, {**a, **padding}) for t, a in CALLS_3]
    assert [policy.evaluate(t, args=a) for t, a in padded] == decided
    names = [t for t, _ in CALLS_3]
    ev, ch, qu, pad, name_only = best_per_call([
        calls_loop(policy, CALLS_3),
        calls_loop(policy, CALLS_3, "check"),
        calls_loop(quiet, CALLS_3, "check"),
        calls_loop(policy, padded),
        names_loop(policy, names, "evaluate"),
    ], seconds)
    rows = [
        ("`evaluate`, 3 arguments", ev, "< 2 µs: " + ("met" if ev < 2000 else "MISSED")),
        ("`check`, 3 arguments", ch, ""),
        ("`check`, 3 arguments, `audit=False`", qu, ""),
        ("`evaluate`, 3 arguments + 1 000 that no condition reads", pad, ""),
        ("`evaluate`, name only (no arguments)", name_only, ""),
    ]
    for label, ns, _ in rows:
        print(f"20 rules, {label}: {fmt(ns)}", file=sys.stderr)
    return rows


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, help="write the table into this file's python section")
    ap.add_argument("--seconds", type=float, default=1.0, help="rough time per measurement")
    args = ap.parse_args()

    workloads = [("database-safety (13 patterns, repeated names)", DB, DB_NAMES, 10)]
    for n in (100, 1_000, 10_000):
        workloads.append((f"{n:,} patterns".replace(",", " "), large_spec(n), large_names(n),
                          10_000 if n == 10_000 else None))
    for shape in SHAPES:  # the budget holds for every shape
        workloads.append((f"10 000 patterns, {shape}", shape_spec(shape, 10_000), shape_names(shape, 10_000),
                          10_000))
    load = os.getloadavg()[0]
    rows = []
    for label, spec, names, budget in workloads:
        ours = agentguard.Policy(**spec)
        theirs = tokenfence.Policy(**spec)
        for name in names:  # same answers before timing anything
            a, b = ours.check(name), theirs.check(name)
            assert (a.decision.value, a.reason, a.matched_rule) == (b.decision.value, b.reason, b.matched_rule)
        ag, tf, quiet, pure = best_per_call([
            names_loop(ours, names),
            names_loop(theirs, names),
            names_loop(agentguard.Policy(**spec, audit=False), names),
            names_loop(ours, names, "evaluate"),
        ], args.seconds)
        ratio = tf / ag
        verdict = "" if budget is None else (f"≥ {budget:,}x: " + ("met" if ratio >= budget else "MISSED")).replace(",", " ")
        rows.append((label, fmt(tf), fmt(ag), fmt(quiet), fmt(pure), f"{ratio:,.0f}x".replace(",", " "),
                     verdict))
        print(f"{label}: tokenfence {fmt(tf)}, agentguard {fmt(ag)} (audit off {fmt(quiet)}, "
              f"evaluate {fmt(pure)}), {ratio:,.0f}x", file=sys.stderr)

    table = ["| workload | tokenfence 0.3.1 `check` | agentguard `check` | agentguard, `audit=False` "
             "| agentguard `evaluate` | speed-up | budget |",
             "|---|---:|---:|---:|---:|---:|---|"]
    table += ["| " + " | ".join(r) + " |" for r in rows]
    conditions = ["| figure | per call | budget |", "|---|---:|---|"]
    conditions += [f"| {label} | {fmt(ns)} | {verdict} |" for label, ns, verdict in conditions_rows(args.seconds)]
    text = "\n".join([
        "## Python",
        "",
        "Python `Policy.check`, agentguard (native wheel) vs tokenfence 0.3.1, per call, "
        f"best of {ROUNDS} rounds (the figures of a row measured in turn, round by round), both with auditing "
        "on (their default) unless noted; `evaluate` is the "
        "pure step (no approver, no audit entry, no callback). Speed-up: `check` against `check`. "
        f"CPython {platform.python_version()}; {os.cpu_count()} cores, load average {load:.2f} at the start "
        "(other work running: compare ratios within this run).",
        "",
        "Command: `make bench-python` (runs `bench/python/bench_check.py --results bench/RESULTS.md`).",
        "",
        *table,
        "",
        "Argument conditions (agentguard only; tokenfence decides on names): the 20-rule policy of "
        "`bench/python/bench_check.py` (every operator, enforced and shadow rules, 13 argument paths), "
        "9 calls of 3 arguments each, allowed, denied and approval-gated by rules and by the lists. Only "
        "the values a condition of a rule for the called tool reads are converted.",
        "",
        *conditions,
    ])
    print(text)
    if args.results:
        doc = args.results.read_text(encoding="utf-8")
        pattern = re.compile(r"(<!-- BEGIN python -->\n).*?(<!-- END python -->)", re.S)
        if not pattern.search(doc):
            sys.exit(f"{args.results}: no <!-- BEGIN python --> ... <!-- END python --> section")
        args.results.write_text(pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), doc),
                                encoding="utf-8")


if __name__ == "__main__":
    main()
