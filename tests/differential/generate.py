#!/usr/bin/env python3
"""Generate the differential corpus, judged by the real references.

Writes two JSON-lines files into --out:

* ``fnmatch.jsonl``: ``{"p": pattern, "n": name, "m": bool}``, one line per
  (pattern, name) pair, ``m`` being CPython's ``fnmatch.fnmatchcase``.
* ``policy.jsonl``: ``{"policy": <to_dict()>, "checks": [[tool, decision,
  reason, matched_rule], ...]}``, one line per random policy, every check
  judged by tokenfence 0.3.1's ``Policy.check``.

Every binding (Rust, Node, Python) replays these files and must agree on
every line. The generator is seeded, so a run is reproducible; pass --seed to
explore. It never emits lone surrogates (the bindings reject them by design).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import sys
import time

# Characters that matter to fnmatch or to byte-level matchers: set syntax,
# globset's specials, separators, newlines, and multi-byte code points
# (2, 3 and 4 bytes in UTF-8) on both sides of ASCII ranges.
SPECIAL = list("*?[]!^-\\{},")
PLAIN = list("abcxyz_./ ") + ["\n", "\t"]
UNICODE = ["é", "ü", "ß", "Ā", "€", "中", "\u2028", "😀", "𝔘", "\x7f", "\x00", "~"]
ALPHABET = SPECIAL * 3 + PLAIN * 3 + UNICODE

TOOL_WORDS = [
    "read", "write", "delete", "drop", "truncate", "alter", "grant", "list",
    "send", "email", "table", "database", "git", "push", "force", "rm",
    "deploy", "create", "index", "file", "search", "report", "é", "😀",
]


def rand_string(rng: random.Random, alphabet, max_len: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_len)))


def rand_class(rng: random.Random) -> str:
    """A bracket expression biased towards the awkward cases."""
    body = rng.choice([
        "", "!", "^", "]", "!]", "-", "!-", "a-z", "z-a", "!z-a", "a-", "-a",
        "]-a", "a-]", "!^", "^!", "\\", "a\\-z", "é-ü", "ü-é", "a-€", "!a-c",
        "z-a!x", "z-a!", "z-a!-q", "--", "---", "a--", "!--b", "[", "[:alpha:]",
        "&&", "~~", "||", "a-c-e", "c-a-e", "x-zA-C", "😀-😀", "\n",
    ])
    if rng.random() < 0.5:
        body = body + rand_string(rng, ALPHABET, 3)
    closing = "]" if rng.random() < 0.9 else ""
    return "[" + body + closing


def rand_pattern(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        r = rng.random()
        if r < 0.2:
            parts.append("*" * rng.randint(1, 2))
        elif r < 0.3:
            parts.append("?")
        elif r < 0.5:
            parts.append(rand_class(rng))
        else:
            parts.append(rand_string(rng, ALPHABET, 3))
    return "".join(parts)


def instantiate(rng: random.Random, pattern: str) -> str:
    """A name likely to match `pattern`: wildcards filled in at random."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(rand_string(rng, ALPHABET, 3))
        elif c == "?":
            out.append(rng.choice(ALPHABET))
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j < 0:
                out.append("[")
            else:
                inner = [ch for ch in pattern[i + 1:j] if ch not in "!-"] or ["a"]
                out.append(rng.choice(inner + ALPHABET[:4]))
                i = j
        else:
            out.append(c)
        i += 1
    return "".join(out)


def mutate(rng: random.Random, name: str) -> str:
    """A near miss: one character changed, added or removed."""
    if not name or rng.random() < 0.3:
        return name + rng.choice(ALPHABET)
    k = rng.randrange(len(name))
    r = rng.random()
    if r < 0.4:
        return name[:k] + rng.choice(ALPHABET) + name[k + 1:]
    if r < 0.7:
        return name[:k] + name[k + 1:]
    return name[:k] + rng.choice(ALPHABET) + name[k:]


def gen_fnmatch(rng: random.Random, count: int, out) -> int:
    n = 0
    while n < count:
        pattern = rand_pattern(rng)
        names = [instantiate(rng, pattern) for _ in range(3)]
        names += [mutate(rng, names[0]), rand_string(rng, ALPHABET, 6)]
        for name in names:
            m = fnmatch.fnmatchcase(name, pattern)
            out.write(json.dumps({"p": pattern, "n": name, "m": m}) + "\n")
            n += 1
    return n


def tool_pattern(rng: random.Random) -> str:
    w = rng.choice(TOOL_WORDS)
    shape = rng.random()
    if shape < 0.3:
        return w + "_" + rng.choice(TOOL_WORDS)
    if shape < 0.55:
        return w + "_*"
    if shape < 0.65:
        return "*_" + w
    if shape < 0.72:
        return w + "_?" + rng.choice(["", "*"])
    if shape < 0.8:
        return "[" + rng.choice(["a-m", "!a-m", "dw", "z-a", "]"]) + "]" + w[1:] + "*"
    if shape < 0.85:
        return "*"
    return rand_pattern(rng)


def gen_policies(rng: random.Random, count: int, out) -> tuple[int, int]:
    from importlib.metadata import version

    from tokenfence import Policy  # the reference

    if version("tokenfence") != "0.3.1":
        raise SystemExit(f"tokenfence 0.3.1 required, found {version('tokenfence')}")

    checks_total = 0
    for _ in range(count):
        spec = {
            "name": rng.choice(["default", "db", "email-agent", "策略", ""]),
            "allow": [tool_pattern(rng) for _ in range(rng.randint(0, 5))],
            "deny": [tool_pattern(rng) for _ in range(rng.randint(0, 5))],
            "require_approval": [tool_pattern(rng) for _ in range(rng.randint(0, 3))],
            "default": rng.choice(["allow", "deny"]),
            "audit": rng.random() < 0.5,
        }
        policy = Policy(
            allow=spec["allow"], deny=spec["deny"],
            require_approval=spec["require_approval"], default=spec["default"],
            audit=False, name=spec["name"],
        )
        every = spec["allow"] + spec["deny"] + spec["require_approval"]
        tools = []
        for _ in range(6):
            if every and rng.random() < 0.7:
                tools.append(instantiate(rng, rng.choice(every)))
            else:
                tools.append(rng.choice(TOOL_WORDS) + "_" + rng.choice(TOOL_WORDS))
        tools.append(mutate(rng, tools[0]))
        tools.append(rand_string(rng, ALPHABET, 5))
        checks = []
        for tool in tools:
            r = policy.check(tool)
            checks.append([tool, r.decision.value, r.reason, r.matched_rule])
        checks_total += len(checks)
        out.write(json.dumps({"policy": policy.to_dict(), "checks": checks}) + "\n")
    return count, checks_total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=20261121)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--policies", type=int, default=20_000)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    t0 = time.time()
    with open(os.path.join(args.out, "fnmatch.jsonl"), "w", encoding="utf-8") as f:
        pairs = gen_fnmatch(rng, args.pairs, f)
    with open(os.path.join(args.out, "policy.jsonl"), "w", encoding="utf-8") as f:
        policies, checks = gen_policies(rng, args.policies, f)
    print(
        f"corpus: {pairs} fnmatch pairs (CPython {sys.version.split()[0]}), "
        f"{policies} policies / {checks} checks (tokenfence 0.3.1) "
        f"in {time.time() - t0:.1f}s -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
