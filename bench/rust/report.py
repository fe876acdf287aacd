#!/usr/bin/env python3
"""Turn criterion's estimates from `cargo bench --bench check` into the
`rust` section of bench/RESULTS.md, with the budget beside each figure.

Criterion's output is read where the bench wrote it: `$CRITERION_HOME`, else
`$CARGO_TARGET_DIR/criterion`, else `target/criterion`."""

import argparse
import json
import os
import platform
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The shapes of DESIGN.md's budget, as benches/check.rs names and builds them.
SHAPES = [
    ("exact", "exact names", "`read_record_N`"),
    ("prefix_star", "shared short prefix, `*`", "`mcp__*__delete_N`"),
    ("prefix_class", "shared short prefix, set and `?`", "`t[0-9]N?`"),
    ("suffix", "shared suffix", "`*_N?.log`"),
    ("inner", "inner literal only", "`?*_opN_*?`"),
    ("classes", "sets and `?` around a literal", "`[a-f]?N[0-9]?`"),
    ("no_literal", "no literal at all", "`[a-b]?[c-d][e-f]*[g-h]`"),
]
SIZES = (100, 1000, 10000)
ADVERSARIAL = [
    ("question_marks_5000", "`*?{5000}x*` (5 000 `?`, then `x`)", "1 MB of `a`"),
    ("set_run_3000", "`*[ab]{3000}c*` (3 000 sets)", "1 MB of `a`/`b`"),
    ("a_b_c_26", "`*a?b?c?…z?*` (52 atoms)", "1 MB of `a`"),
    ("a__run_2000", "`*(a?){2000}c*` (4 001 atoms)", "1 MB of `a`"),
    ("star_a_8_b", "`*a*a*a*a*a*a*a*a*b`", "1 MB of `a`"),
]


def criterion_dir():
    if os.environ.get("CRITERION_HOME"):
        return os.environ["CRITERION_HOME"]
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    return os.path.join(ROOT, target, "criterion")


CRIT = criterion_dir()


def median_ns(*parts):
    path = os.path.join(CRIT, *parts, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e4:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default=os.path.join(ROOT, "bench", "RESULTS.md"),
                    help="file whose rust section is rewritten (default: bench/RESULTS.md)")
    ap.add_argument("--print-only", action="store_true", help="print the section, write nothing")
    args = ap.parse_args()
    ok = lambda b: "yes" if b else "**NO**"
    c13 = median_ns("check", "db_safety_13")
    e13 = median_ns("check", "db_safety_13_evaluate")
    big = {n: median_ns("check", "patterns", str(n)) for n in SIZES}
    comp = median_ns("compile", "patterns_10000")
    rows = [
        ("`check`, database-safety policy (13 patterns), mixed names", fmt(c13), "< 100 ns", ok(c13 < 100)),
        ("`evaluate` (allocation-free verdict), same", fmt(e13), "", ""),
        ("`check`, 100 mixed patterns", fmt(big[100]), "", ""),
        ("`check`, 1 000 mixed patterns", fmt(big[1000]), "", ""),
        ("`check`, 10 000 mixed patterns", f"{fmt(big[10000])} ({big[10000] / c13:.2f}x the 13-pattern time)",
         "<= 2x the 13-pattern time", ok(big[10000] <= 2 * c13)),
        ("`Policy::new`, 10 000 mixed patterns", fmt(comp), "< 50 ms", ok(comp < 50e6)),
    ]
    # `cargo bench --bench conditions`: the shared 20-rule workload
    # (bench/workloads/twenty_rules.json), 9 calls of 3 arguments per
    # iteration.
    try:
        call = median_ns("conditions", "check_call_20_rules_3_args_x9") / 9
        rows.append(("`check_call`, 20 rules of every operator, 3 arguments (per call)", fmt(call),
                     "< 300 ns", ok(call < 300)))
    except FileNotFoundError:
        rows.append(("`check_call`, 20 rules, 3 arguments", "not measured (run `cargo bench --bench conditions`)",
                     "< 300 ns", "**NO**"))
    # `cargo bench --bench analysis`: lint and diff (exact, asserted by the
    # bench) of the 1 000-pattern mixed policies and of 100 rules.
    try:
        for label, key in [("`lint`, 1 000 mixed patterns", "lint_1000_patterns"),
                           ("`diff`, 1 000 mixed patterns, a tenth of them changed", "diff_1000_patterns")]:
            ns = median_ns("analysis", key)
            rows.append((label, fmt(ns), "< 1 s", ok(ns < 1e9)))
        for label, key in [("`lint`, 100 rules", "lint_100_rules"),
                           ("`diff`, 100 rules, a tenth of them changed", "diff_100_rules")]:
            rows.append((label, fmt(median_ns("analysis", key)), "", ""))
    except FileNotFoundError:
        rows.append(("`lint` / `diff`, 1 000 patterns", "not measured (run `cargo bench --bench analysis`)",
                     "< 1 s", "**NO**"))
    lines = [
        "<!-- BEGIN rust -->",
        "## Rust core",
        "",
        f"`make bench-core` (`cargo bench --bench check`, `--bench conditions` and `--bench analysis`, then `python3 bench/rust/report.py`; criterion medians), "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} when the report was written.",
        "Mixed policies hold a quarter each of exact names, `prefix_*`, `*_suffix` and `?`/class patterns",
        "over the three lists; their names mix hits and misses.",
        "",
        "| figure | measured | budget | within |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]

    slowest = {}
    names_path = os.path.join(CRIT, "slowest_names.json")
    if os.path.exists(names_path):
        with open(names_path, encoding="utf-8") as f:
            slowest = json.load(f)
    lines += [
        "",
        "Every shape of the budget, one `check` of the slowest name of that shape at each size (the slowest of",
        "hits of early, middle and late patterns, near misses, misses and names holding only the shared literal,",
        "picked by a quick timing before criterion runs), against the 13-pattern figure above. Patterns are",
        "spread over the three lists as above; `N` is the pattern's number.",
        "",
        "| shape | pattern `N` | 100 | 1 000 | 10 000 | slowest name at 10 000 | same name, 13 patterns of the shape "
        "| 10 000 / 13 patterns of the shape | 10 000 / database-safety 13 | budget | within |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    missed = []
    name_bound = []
    for key, label, example in SHAPES:
        t = {n: median_ns("check", f"shape_{key}", str(n)) for n in SIZES}
        same = median_ns("check", f"shape_13_{key}")
        ratio = t[10000] / c13
        name = slowest.get(f"{key}/10000", {}).get("slowest", "")
        within = ratio <= 2
        if not within:
            missed.append(key)
            if t[10000] <= 2 * same:
                name_bound.append((label, name, fmt(same)))
        lines.append(
            f"| {label} | {example} | {fmt(t[100])} | {fmt(t[1000])} | {fmt(t[10000])} | `{name}` | {fmt(same)} | "
            f"{t[10000] / same:.2f}x | {ratio:.2f}x | <= 2x of database-safety 13 | {ok(within)} |"
        )
    for label, name, same in name_bound:
        lines += [
            "",
            f"Over budget, {label}: `{name}` costs as much against 13 patterns of the same shape ({same}). "
            "The time is the name's, not the policy's size: the name is walked once through the key automaton "
            "and every key it holds is a candidate.",
        ]
    lines += [
        "",
        "`Policy::new` with 10 000 patterns of each shape:",
        "",
        "| shape | " + " | ".join(key for key, _, _ in SHAPES) + " |",
        "|---|" + "---|" * len(SHAPES),
        "| compile | " + " | ".join(fmt(median_ns("compile", f"shape_{key}_10000")) for key, _, _ in SHAPES) + " |",
    ]
    lines += [
        "",
        "Hostile middle segments (`fnmatch`, pattern compiled each time; answers asserted in",
        "`tests/adversarial.rs`): time roughly linear in the name, at most one pass of",
        "ceil(m / 64) words per character for a run of m sets and `?`.",
        "",
        "| pattern | name | time | throughput |",
        "|---|---|---|---|",
    ]
    for key, pattern, name in ADVERSARIAL:
        ns = median_ns("adversarial", key)
        lines.append(f"| {pattern} | {name} | {fmt(ns)} | {(1 << 20) / (ns / 1e9) / 1e6:.0f} MB/s |")
    lines += ["<!-- END rust -->"]
    section = "\n".join(lines)
    print(section)
    if not args.print_only:
        text = open(args.results, encoding="utf-8").read()
        if "<!-- BEGIN rust -->" not in text:
            sys.exit(f"{args.results}: no <!-- BEGIN rust --> ... <!-- END rust --> section")
        text = re.sub(r"<!-- BEGIN rust -->.*?<!-- END rust -->", lambda _: section, text, flags=re.S)
        open(args.results, "w", encoding="utf-8").write(text)
    if missed:
        print(f"over budget: {', '.join(missed)}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
