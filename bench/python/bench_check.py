"""`make bench-python`: agentguard's `Policy.check` against tokenfence 0.3.1's,
on the database-safety policy (13 patterns, a realistic mix of repeated tool
names) and on generated policies of 100, 1 000 and 10 000 patterns.

Prints a markdown table of per-call times and speed-ups (best of several
rounds, both libraries with their default settings: auditing on) and, with
--results FILE, writes it between the `python` markers of FILE. The budget
(DESIGN.md): at least 10x faster at 13 patterns, 10 000x at 10 000.
"""

import argparse
import gc
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


def per_call(policy, names, min_seconds, method="check"):
    """Best per-call time in ns over rounds of `names`, repeated until a
    round lasts long enough to time."""
    check = getattr(policy, method)
    loops = 1
    while True:
        gc.disable()
        t = time.perf_counter_ns()
        for _ in range(loops):
            for name in names:
                check(name)
        elapsed = time.perf_counter_ns() - t
        gc.enable()
        if elapsed >= min_seconds * 1e9 / 5 or loops >= 1 << 20:
            break
        loops *= 2
    best = elapsed
    for _ in range(4):
        gc.disable()
        t = time.perf_counter_ns()
        for _ in range(loops):
            for name in names:
                check(name)
        best = min(best, time.perf_counter_ns() - t)
        gc.enable()
        policy.clear_audit()
    return best / (loops * len(names))


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
    rows = []
    for label, spec, names, budget in workloads:
        ours = agentguard.Policy(**spec)
        theirs = tokenfence.Policy(**spec)
        for name in names:  # same answers before timing anything
            a, b = ours.check(name), theirs.check(name)
            assert (a.decision.value, a.reason, a.matched_rule) == (b.decision.value, b.reason, b.matched_rule)
        ag = per_call(ours, names, args.seconds)
        tf = per_call(theirs, names, args.seconds)
        quiet = per_call(agentguard.Policy(**spec, audit=False), names, args.seconds)
        pure = per_call(ours, names, args.seconds, method="evaluate")
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
    text = "\n".join([
        "## Python",
        "",
        "Python `Policy.check`, agentguard (native wheel) vs tokenfence 0.3.1, per call, "
        "best of 5 rounds, both with auditing on (their default) unless noted; `evaluate` is the "
        "pure step (no approver, no audit entry, no callback). Speed-up: `check` against `check`. "
        f"CPython {platform.python_version()}.",
        "",
        "Command: `make bench-python` (runs `bench/python/bench_check.py --results bench/RESULTS.md`).",
        "",
        *table,
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
