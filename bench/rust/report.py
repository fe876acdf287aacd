#!/usr/bin/env python3
"""Turn criterion's estimates from `cargo bench --bench check` into the
`rust` section of bench/RESULTS.md, with the budget beside each figure."""

import json
import os
import platform
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRIT = os.path.join(ROOT, "target", "criterion")


def median_ns(*parts):
    path = os.path.join(CRIT, *parts, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1e6:.1f} ms" if ns >= 1e6 else f"{ns:.0f} ns"


def main():
    c13 = median_ns("check", "db_safety_13")
    e13 = median_ns("check", "db_safety_13_evaluate")
    big = {n: median_ns("check", "patterns", str(n)) for n in (100, 1000, 10000)}
    comp = median_ns("compile", "patterns_10000")
    ok = lambda b: "yes" if b else "**NO**"
    rows = [
        ("`check`, database-safety policy (13 patterns), mixed names", fmt(c13), "< 100 ns", ok(c13 < 100)),
        ("`evaluate` (allocation-free verdict), same", fmt(e13), "", ""),
        ("`check`, 100 patterns", fmt(big[100]), "", ""),
        ("`check`, 1 000 patterns", fmt(big[1000]), "", ""),
        ("`check`, 10 000 patterns", f"{fmt(big[10000])} ({big[10000] / c13:.2f}x the 13-pattern time)",
         "<= 2x the 13-pattern time", ok(big[10000] <= 2 * c13)),
        ("`Policy::new`, 10 000 patterns", fmt(comp), "< 50 ms", ok(comp < 50e6)),
    ]
    lines = [
        "<!-- BEGIN rust -->",
        "## Rust core",
        "",
        f"`make bench-core` (`cargo bench --bench check`, criterion medians), "
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores.",
        "Large policies mix exact names, `prefix_*`, `*_suffix` and `?`/class patterns",
        "over the three lists; names mix hits and misses.",
        "",
        "| figure | measured | budget | within |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["<!-- END rust -->"]
    section = "\n".join(lines)
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"<!-- BEGIN rust -->.*?<!-- END rust -->", lambda _: section, text, flags=re.S)
    open(path, "w", encoding="utf-8").write(text)
    print(section)


if __name__ == "__main__":
    sys.exit(main())
