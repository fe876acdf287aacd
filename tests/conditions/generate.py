#!/usr/bin/env python3
"""Generate the argument-conditions corpus, judged by the reference model.

    python3 tests/conditions/generate.py --out DIR [--seed N] [--policies N]
                                         [--calls N] [--errors N]

Writes two JSON-lines files into DIR:

* ``conditions.jsonl``: one random policy a line,
  ``{"policy": {...}, "calls": [{"tool", "args", "expect", "approved",
  "refused"}]}``; ``expect`` is ``reference.decide(policy, tool, args)``,
  ``approved`` / ``refused`` are ``reference.approve(expect, True / False)``
  when ``expect`` is ``require_approval``, else null.
* ``condition_errors.jsonl``: ``{"policy": {...}, "path": "rules[1].when.x.lte"}``,
  one invalid policy a line, each with exactly ONE defect (so the order in
  which an implementation looks for defects does not matter).

The generator is adversarial: policies mix the lists with rules of every
operator, shadow rules, overlapping tool patterns, multi-operator conditions
and nested paths; calls hit the edges (missing, null, wrong types, arrays
empty and nested, numbers at the boundaries, 1 vs 1.0 vs true, big ints,
paths with `..` `.` `//` NUL, relative paths, and shell strings from a
grammar that covers every rule of the accepted subset).

Everything is JSON: no NaN or infinities, no lone surrogates, integers within
[-2**63, 2**64-1] (exact in serde_json), and floats written with few enough
significant digits that every correct JSON parser reads the same double.
Each policy and call is serialised and parsed back before it is judged, so
``expect`` is what the model says about exactly what the file holds.
Deterministic for a seed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference  # noqa: E402

# ---------------------------------------------------------------------------
# Pools
# ---------------------------------------------------------------------------

TOOLS = [
    "read_file", "write_file", "edit_file", "delete_file", "send_email", "refund",
    "run_shell", "drop_table", "git_push", "list_files", "fetch", "t", "x1", "",
    "é_file", "run shell",
]
TOOL_PATTERNS = TOOLS + [
    "*_file", "*", "send_*", "run_?hell", "[rw]*", "*e*", "drop_*", "git_*", "?",
    "[!a-m]*", "*_*", "r*", "*l", "[a-z]*_[a-z]*",
]

ARG_PATHS = [
    "path", "to", "amount", "currency", "command", "cmd", "recipient.email",
    "meta.tags", "a.b.c", "a.b", "n", "x", "files", "é",
]

GLOBS = [
    "*@ok.com", "*@evil.com", "a*", "*", "", "[ab]*", "?", "*.env", "x", "EUR",
    "*/.ssh/*", "/workspace/*", "git *", "*[0-9]", "1", "true", "[!a]*", "*a*b",
    "é*", "*\n*", "[]]", "USD",
]

# Floats: few significant digits, so every correct parser (and serde_json's
# default, not correctly rounded in general, float parser) reads the same
# double. Ints: within i64/u64, which serde_json holds exactly.
NUMBERS = [
    0, 1, 1.0, 0.5, -0.5, -1, 2, 10, 100, 100.0, 99.99, 100.01, 1000, 1000.5,
    -0.0, 0.0, 2 ** 53, 2 ** 53 + 1, 2 ** 53 - 1, 9007199254740992.0, 2 ** 63 - 1,
    2 ** 63, -(2 ** 63), 2 ** 64 - 1, 1e16, 1e300, -1e300, 1e-7, 3, 4.5, 5,
]

SCALARS = [
    "EUR", "USD", "eur", "", "a", "x", "1", "1.0", "true", "null", "a@ok.com",
    1, 1.0, 0, -0.0, 0.5, -1, 100, True, False, 2 ** 53, 2 ** 53 + 1, 2 ** 64 - 1,
    -(2 ** 63), 1e16, "é", "😀",
]

DIRECTORIES = [
    "/workspace", "/", "/tmp/", "/workspace/sub", "/a/../b", "//x", "/workspace/.",
    "/home/u/.ssh", "/etc", "/workspace/..", "/tmp/x/../y", "/é",
]

PATH_GLOBS = [
    "*.env", "*/.ssh/*", "/workspace/*", "/etc/*", "/*", "*", "/a/?", "/workspace",
    "/tmp/*/x", "/", "*/", "/etc/passwd", "/[a-w]*",
]

PATH_SEGMENTS = ["", ".", "..", "workspace", "workspace2", "etc", "passwd", "a", ".ssh",
                 "x.env", "tmp", "y", "sub", "é", "a\u0000b", "..."]

COMMAND_PATTERNS = [
    "git status", "git diff *", "ls *", "rm *", "*", "echo hello", ["git", "commit", "-m", "*"],
    "git log", "cat *.txt", "a b c", "sudo *", "x*", "git * HEAD", "curl *", ["echo", "a b"],
    "ls", "* *", "git **", "echo *", ["printf", "%s\n", "*"], "[a-c]", "-*",
]

# Words a simple command is made of, before quoting.
SHELL_WORDS = [
    "git", "status", "diff", "HEAD", "log", "ls", "-la", "rm", "-rf", "/", "echo", "hello",
    "commit", "-m", "fix bug", "curl", "sudo", "cat", "a.txt", "a", "b", "c", "x", "printf",
    "%s\n", "a b", "", "é", "if", "time", "done", "[[", "]]", "a=b", "A=1", "=", "it's",
    'say "hi"', "$HOME", "*", "a;b", "x|y", "#", "~", "\\", "tab\there",
]

# Raw fragments injected unquoted (most make the string unknown).
SHELL_INJECTIONS = [
    "$HOME", "$(rm -rf /)", "`id`", ">", "<", "*", "?", "[a]", "~", "#", "!", "{a,b}",
    "(x)", "=", "\\\n", "'", '"', '"$x"', '"\\\n"', '"a\\b"', '"\\$"', '"`"', "\\",
    "a=b", "\\'", "\t", "\r", "\u00a0", "\u0000", "]", "}", ")",
]

SHELL_SEPARATORS = [";", "&", "|", "&&", "||", "\n", " ; ", " && ", " | ", "\t||\t", " &", "; "]
SHELL_TRAILING = [";", "&", "\n", "|", "&&", "||", ";\n", " ; ", "&;", "\n\n", " & "]

# Whole strings for the edges (the contract's own examples among them).
SHELL_EDGES = [
    "git status && git diff HEAD", "git status; rm -rf /", "ls; rm -rf /", "git log $(rm -rf /)",
    "", " ", "\t", "\n", ";", "&", "|", "&&", "; ls", "ls;", "ls;;", "ls ;; ls", "ls |", "ls &&",
    "ls ||", "ls &", "ls\n", "ls;\n", "ls\n\n", "''", '""', "'' ''", "ls ''", "a'b c'\"d\"",
    "echo 'unterminated", 'echo "unterminated', "echo \\", "echo a\\\nb", 'echo "a\\\nb"',
    'echo "a\nb"', "if true; then ls; fi", "'if' x", "time ls", "A=1 ls", "ls A=1", "'A'=1 ls",
    "A\\=1 ls", "ls &&& ls", "ls |& ls", "ls & & ls", "git  status", "git\tstatus", "git status ",
    " git status", "git\u00a0status", "git status\r", "echo \"\\\"\\\\\\`\\$\\a\"", "!",
    "ls # x", "echo ~", "echo a~", "rm -rf /", "sudo rm -rf /", "curl x | sh", "echo *",
    "echo \\*", "echo '*'", "\\ls", "l\\s -la", "git commit -m 'fix bug'",
    'git commit -m "fix \\"bug\\""', "printf '%s\n' x",
]

TYPE_ODDITIES = [None, True, False, 0, 1, 1.0, "", "x", [], [None], [[]], {}, {"k": "v"}, [1, "a"]]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def one_or_many(rng: random.Random, pool, k_max=3, p_single=0.5):
    if rng.random() < p_single:
        return rng.choice(pool)
    return [rng.choice(pool) for _ in range(rng.randint(1, k_max))]


def instantiate_glob(rng: random.Random, pattern: str) -> str:
    """A string likely to match `pattern`: wildcards filled in at random."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append(rng.choice(["", "a", "x/y", "@ok.com", "é", "ab", "-", "/"]))
        elif c == "?":
            out.append(rng.choice("abz0/é"))
        elif c == "[":
            close = pattern.find("]", i + 2)
            if close < 0:
                out.append("[")
            else:
                body = pattern[i + 1:close].lstrip("!")
                out.append(rng.choice(body) if body and rng.random() < 0.8 else rng.choice("abz"))
                i = close
        else:
            out.append(c)
        i += 1
    return "".join(out)


# ---------------------------------------------------------------------------
# Shell strings
# ---------------------------------------------------------------------------

SHELL_SPECIAL = set(" \t\n;&|'\"\\=") | reference.UNKNOWN_CHARS


def quote_word(rng: random.Random, word: str) -> str:
    """Shell text that the accepted subset reads as exactly `word` (when it
    can be written at all)."""
    if word == "":
        return rng.choice(["''", '""', "''\"\""])
    how = rng.random()
    if how < 0.3 and not (set(word) & SHELL_SPECIAL):
        return word
    if how < 0.5 and "'" not in word:
        return "'" + word + "'"
    if how < 0.7:
        body = "".join("\\" + c if c in '"\\`$' else c for c in word)
        return '"' + body + '"'
    if how < 0.85 and len(word) > 1:
        cut = rng.randint(1, len(word) - 1)
        return quote_word(rng, word[:cut]) + quote_word(rng, word[cut:])
    # backslash escapes; a newline cannot be escaped, so it is quoted
    parts = []
    for c in word:
        if c == "\n":
            parts.append("'\n'")
        elif c in SHELL_SPECIAL or rng.random() < 0.2:
            parts.append("\\" + c)
        else:
            parts.append(c)
    return "".join(parts)


def words_for_pattern(rng: random.Random, pattern) -> list[str]:
    globs = pattern.split(" ") if isinstance(pattern, str) else list(pattern)
    words = []
    for k, g in enumerate(globs):
        if g == "*" and k == len(globs) - 1:
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                words.append(rng.choice(SHELL_WORDS))
        else:
            words.append(instantiate_glob(rng, g))
    if not words or (rng.random() < 0.1):
        words = words or [rng.choice(SHELL_WORDS)]
        k = rng.randrange(len(words))
        words[k] = rng.choice(SHELL_WORDS)
    return words


def simple_command(rng: random.Random, patterns) -> str:
    if patterns and rng.random() < 0.7:
        words = words_for_pattern(rng, rng.choice(patterns))
    else:
        words = [rng.choice(SHELL_WORDS) for _ in range(rng.randint(1, 4))]
    blank = lambda: rng.choice([" ", " ", " ", "\t", "  ", " \t "])
    text = blank().join(quote_word(rng, w) for w in words)
    if rng.random() < 0.15:
        # an unquoted fragment, touching a word or on its own
        frag = rng.choice(SHELL_INJECTIONS)
        pos = rng.randint(0, len(text))
        glue = rng.choice(["", " "])
        text = text[:pos] + glue + frag + glue + text[pos:]
    return text


def shell_string(rng: random.Random, patterns=()) -> str:
    if rng.random() < 0.12:
        return rng.choice(SHELL_EDGES)
    n = rng.choice([1, 1, 1, 2, 2, 3])
    commands = [simple_command(rng, patterns) for _ in range(n)]
    text = ""
    for k, c in enumerate(commands):
        if k:
            sep = rng.choice(SHELL_SEPARATORS)
            if rng.random() < 0.04:
                sep += rng.choice(SHELL_SEPARATORS)  # an empty simple command
            text += sep
        text += c
    r = rng.random()
    if r < 0.2:
        text += rng.choice(SHELL_TRAILING)
    elif r < 0.25:
        text = rng.choice(SHELL_SEPARATORS) + text
    if rng.random() < 0.1:
        text = rng.choice([" ", "\t"]) + text + rng.choice([" ", "\t", ""])
    return text


# ---------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------


def path_string(rng: random.Random, directories=()) -> str:
    r = rng.random()
    if directories and r < 0.5:
        base = rng.choice(directories)
        tail = "/".join(rng.choice(PATH_SEGMENTS) for _ in range(rng.randint(0, 3)))
        text = base + rng.choice(["", "/", "//"]) + tail
    else:
        text = "/".join(rng.choice(PATH_SEGMENTS) for _ in range(rng.randint(1, 5)))
        if rng.random() < 0.8:
            text = "/" + text
    if rng.random() < 0.1:
        text += "/"
    if rng.random() < 0.05:
        text = text.replace("/", "//", 1)
    return text


# ---------------------------------------------------------------------------
# Policies
# ---------------------------------------------------------------------------


def rand_id(rng: random.Random, used: set) -> str:
    while True:
        r = rng.random()
        if r < 0.7:
            rid = f"r{rng.randint(0, 99)}"
        elif r < 0.85:
            rid = rng.choice(["A.b:c-d_e", "0", "x-y", "rule.1", "Z:z", "a" * 64, "9_"])
        else:
            rid = rng.choice("abcXYZ019") + "".join(
                rng.choice("abz09_.:-") for _ in range(rng.randint(0, 10)))
        if rid not in used:
            used.add(rid)
            return rid


OPERATOR_FAMILIES = ["string", "number", "path", "command", "present", "mixed", "in"]


def rand_operator_value(rng: random.Random, op: str):
    if op in ("glob", "not_glob"):
        return one_or_many(rng, GLOBS)
    if op in ("in", "not_in"):
        return [rng.choice(SCALARS) for _ in range(rng.randint(1, 4))]
    if op in ("lt", "lte", "gt", "gte"):
        return rng.choice(NUMBERS)
    if op == "path_under":
        return one_or_many(rng, DIRECTORIES)
    if op == "path_glob":
        return one_or_many(rng, PATH_GLOBS)
    if op == "command":
        if rng.random() < 0.4:
            p = rng.choice(COMMAND_PATTERNS)
            return p if isinstance(p, str) else [p]
        return [rng.choice(COMMAND_PATTERNS) for _ in range(rng.randint(1, 4))]
    if op == "present":
        return rng.random() < 0.6
    raise AssertionError(op)


def rand_condition(rng: random.Random) -> dict:
    family = rng.choice(OPERATOR_FAMILIES)
    if family == "command":
        ops = ["command"]
    elif family == "present":
        ops = ["present"]
    elif family == "string":
        ops = rng.sample(["glob", "not_glob", "in", "not_in"], rng.randint(1, 2))
    elif family == "number":
        ops = rng.sample(["lt", "lte", "gt", "gte", "in", "not_in"], rng.randint(1, 3))
    elif family == "path":
        ops = rng.sample(["path_under", "path_glob", "glob", "not_glob"], rng.randint(1, 2))
    elif family == "in":
        ops = [rng.choice(["in", "not_in"])]
    else:
        ops = rng.sample(["glob", "not_glob", "in", "not_in", "lt", "lte", "gt", "gte",
                          "path_under", "path_glob"], rng.randint(1, 3))
    return {op: rand_operator_value(rng, op) for op in ops}


def rand_rule(rng: random.Random, used_ids: set) -> dict:
    rule = {}
    keys = ["id", "tool", "decision", "when", "reason", "mode"]
    if rng.random() < 0.3:
        rng.shuffle(keys)  # key order is not meaningful
    values = {
        "id": rand_id(rng, used_ids),
        "tool": one_or_many(rng, TOOL_PATTERNS, k_max=3, p_single=0.6),
        "decision": rng.choice(reference.DECISIONS),
    }
    r = rng.random()
    if r < 0.12:
        pass  # no `when`
    elif r < 0.17:
        values["when"] = {}
    else:
        paths = rng.sample(ARG_PATHS, rng.choice([1, 1, 1, 2, 2, 3]))
        values["when"] = {p: rand_condition(rng) for p in paths}
    if rng.random() < 0.2:
        values["reason"] = rng.choice(["custom reason", "secrets are off limits", " ", "é 😀", "x"])
    r = rng.random()
    if r < 0.2:
        values["mode"] = "shadow"
    elif r < 0.3:
        values["mode"] = "enforce"
    for k in keys:
        if k in values:
            rule[k] = values[k]
    return rule


def rand_policy(rng: random.Random) -> dict:
    policy = {}
    if rng.random() < 0.3:
        policy["name"] = rng.choice(["p", "", "coding-agent", None])
    for key in ("allow", "deny", "require_approval"):
        r = rng.random()
        if r < 0.6:
            continue
        if r < 0.65:
            policy[key] = None if rng.random() < 0.5 else []
        else:
            policy[key] = [rng.choice(TOOL_PATTERNS) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.7:
        policy["default"] = rng.choice(["allow", "deny"])
    if rng.random() < 0.2:
        policy["audit"] = rng.random() < 0.5
    r = rng.random()
    if r < 0.05:
        pass  # a plain tokenfence policy
    elif r < 0.08:
        policy["rules"] = []
    else:
        used: set = set()
        policy["rules"] = [rand_rule(rng, used) for _ in range(rng.randint(1, 7))]
    return policy


# ---------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------


def value_for(rng: random.Random, ops: dict):
    """A value aimed at one operator of `ops` (or anything)."""
    if not ops or rng.random() < 0.15:
        return rand_any(rng)
    op = rng.choice(list(ops))
    arg = ops[op]
    if op in ("glob", "not_glob"):
        pats = arg if isinstance(arg, list) else [arg]
        return instantiate_glob(rng, rng.choice(pats)) if rng.random() < 0.8 else rng.choice(GLOBS)
    if op in ("in", "not_in"):
        v = rng.choice(arg)
        r = rng.random()
        if r < 0.15 and type(v) in (int, float) and type(v) is not bool and abs(v) < 2 ** 53:
            return float(v) if type(v) is int else (int(v) if v == int(v) else v)
        if r < 0.25:
            return rng.choice(SCALARS)
        if r < 0.3:
            return str(v)
        return v
    if op in ("lt", "lte", "gt", "gte"):
        return number_near(rng, arg)
    if op in ("path_under", "path_glob"):
        if op == "path_under":
            dirs = arg if isinstance(arg, list) else [arg]
        else:
            dirs = [instantiate_glob(rng, p) for p in (arg if isinstance(arg, list) else [arg])]
        return path_string(rng, dirs)
    if op == "command":
        pats = arg if isinstance(arg, list) else [arg]
        return shell_string(rng, pats)
    if op == "present":
        return rand_any(rng)
    raise AssertionError(op)


def number_near(rng: random.Random, n):
    """A number at or next to `n`, in another type or form."""
    r = rng.random()
    if r < 0.25:
        return n
    if r < 0.4 and abs(n) <= 2 ** 53:
        return float(n) if type(n) is int else (int(n) if n == int(n) else n)
    if r < 0.7 and type(n) is int:
        m = n + rng.choice([-1, 1])
        if -(2 ** 63) <= m <= 2 ** 64 - 1:  # stay exact in serde_json
            return m
        return n
    if r < 0.75 and type(n) is float and abs(n) < 1e15:
        return n + rng.choice([-0.5, 0.5, 1])
    if r < 0.85:
        return rng.choice(NUMBERS)
    return rng.choice([True, False, str(n), None, [n], [], {"n": n}])


def rand_scalar_or_odd(rng: random.Random):
    r = rng.random()
    if r < 0.3:
        return rng.choice(SCALARS)
    if r < 0.5:
        return rng.choice(NUMBERS)
    if r < 0.65:
        return rng.choice(TYPE_ODDITIES)
    if r < 0.8:
        return path_string(rng, DIRECTORIES)
    return shell_string(rng, COMMAND_PATTERNS)


def rand_any(rng: random.Random):
    v = rand_scalar_or_odd(rng)
    if rng.random() < 0.15:
        return [rand_scalar_or_odd(rng) for _ in range(rng.randint(0, 3))]
    return v


def maybe_array(rng: random.Random, make):
    """One value, or an array of them (empty, with a nested array, a null or
    an object among the elements, now and then)."""
    r = rng.random()
    if r < 0.75:
        return make()
    items = [make() for _ in range(rng.choice([0, 1, 2, 2, 3]))]
    if rng.random() < 0.2:
        items.insert(rng.randint(0, len(items)), rng.choice([[make()], None, {"k": make()}, []]))
    return items


def put(args: dict, segments: list[str], value) -> None:
    """Set args[seg0][seg1]... = value, creating objects on the way but
    leaving an intermediate value that is not an object alone (the path is
    then missing)."""
    value = copy.deepcopy(value)  # never share (and later mutate) a pool's object
    node = args
    for seg in segments[:-1]:
        if seg not in node:
            node[seg] = {}
        node = node[seg]
        if not isinstance(node, dict):
            return
    node[segments[-1]] = value


def rand_tool(rng: random.Random, policy: dict) -> str:
    names = []
    for key in ("allow", "deny", "require_approval"):
        names += policy.get(key) or []
    for rule in policy.get("rules") or []:
        t = rule["tool"]
        names += (t if isinstance(t, list) else [t]) * 3  # reach the rules more often
    if names and rng.random() < 0.75:
        return instantiate_glob(rng, rng.choice(names))
    return rng.choice(TOOLS)


def rand_args(rng: random.Random, policy: dict) -> dict:
    # operators per path, across all rules
    ops_at: dict[str, dict] = {}
    for rule in policy.get("rules") or []:
        for path, cond in (rule.get("when") or {}).items():
            ops_at.setdefault(path, {}).update(cond)
    paths = list(ops_at)
    if rng.random() < 0.3:
        paths.append(rng.choice(ARG_PATHS))
    rng.shuffle(paths)
    args: dict = {}
    for path in paths:
        r = rng.random()
        if r < 0.1:
            continue  # missing
        if r < 0.16:
            value = None
        elif r < 0.2:
            value = rand_any(rng)
        else:
            value = maybe_array(rng, lambda: value_for(rng, ops_at.get(path, {})))
        segments = path.split(".")
        if len(segments) > 1 and rng.random() < 0.08:
            # an intermediate value that is not an object
            put(args, segments[:-1], rng.choice(["x", [], [{segments[-1]: value}], None, 1]))
        put(args, segments, value)
    if rng.random() < 0.1:
        args["unrelated"] = rand_any(rng)
    return args


# ---------------------------------------------------------------------------
# Invalid policies: one defect each
# ---------------------------------------------------------------------------


def _nonexclusive_conditions(policy):
    out = []
    for i, rule in enumerate(policy.get("rules") or []):
        for path, cond in (rule.get("when") or {}).items():
            if "command" not in cond and "present" not in cond:
                out.append((i, path, cond))
    return out


def _all_operators(policy):
    out = []
    for i, rule in enumerate(policy.get("rules") or []):
        for path, cond in (rule.get("when") or {}).items():
            for op in cond:
                out.append((i, path, cond, op))
    return out


BAD_VALUES = {
    "glob": [(5, ""), ([], ""), ([5], "[0]"), (None, ""), ({}, ""), (["a", True], "[1]"), ([[]], "[0]")],
    "not_glob": [(True, ""), ([], ""), (["a", None], "[1]")],
    "path_glob": [([], ""), (1.5, ""), ([{}], "[0]")],
    "in": [([], ""), ("EUR", ""), ([None], "[0]"), (["a", [1]], "[1]"), ([{}], "[0]"), (None, ""), (1, "")],
    "not_in": [([], ""), (True, ""), ([1, None], "[1]"), ([[]], "[0]")],
    "lt": [("100", ""), (True, ""), (None, ""), ([1], ""), ({}, "")],
    "lte": [("1", ""), (False, ""), ([], "")],
    "gt": [(None, ""), ("x", "")],
    "gte": [([0], ""), (True, "")],
    "path_under": [("workspace", ""), ("", ""), (["/a", "b"], "[1]"), ([], ""), (1, ""), ([None], "[0]"),
                   ("./x", ""), (["~/x"], "[0]"), (None, "")],
    "command": [("", ""), ([], ""), ([""], "[0]"), (["git  status"], "[0]"), (" ls", ""), ("ls ", ""),
                ([[]], "[0]"), ([["git", ""]], "[0][1]"), ([["git", 1]], "[0][1]"), (5, ""),
                (["ls", 5], "[1]"), ({}, ""), (None, ""), ([["a"], [None]], "[1][0]")],
    "present": [(1, ""), ("true", ""), (None, ""), ([], "")],
}


def make_error(rng: random.Random) -> tuple[dict, str]:
    """A policy with exactly one defect, and the path that names it."""
    while True:
        policy = rand_policy(rng)
        rules = policy.get("rules")
        kind = rng.choice([
            "top_unknown", "name", "list", "list_item", "default", "audit", "rules_type",
            "rule_type", "rule_unknown", "rule_missing", "bad_id", "dup_id", "tool", "decision",
            "when_type", "bad_path", "cond_type", "cond_empty", "unknown_op", "bad_value",
            "bad_value", "bad_value", "bad_value", "exclusive", "reason", "mode",
        ])
        rule_kinds = {"rule_type", "rule_unknown", "rule_missing", "bad_id", "dup_id", "tool",
                      "decision", "when_type", "bad_path", "cond_type", "cond_empty", "unknown_op",
                      "bad_value", "exclusive", "reason", "mode"}
        if kind in rule_kinds and not rules:
            continue
        if kind == "top_unknown":
            key = rng.choice(["denny", "rule", "Rules", "when", "allow_list", "ALLOW", "tools", " name"])
            policy[key] = rng.choice([[], ["x"], None, 1])
            return policy, key
        if kind == "name":
            policy["name"] = rng.choice([1, [], {}, True])
            return policy, "name"
        if kind == "list":
            key = rng.choice(["allow", "deny", "require_approval"])
            policy[key] = rng.choice(["x", 1, {}, True])
            return policy, key
        if kind == "list_item":
            key = rng.choice(["allow", "deny", "require_approval"])
            items = list(policy.get(key) or [])
            k = rng.randint(0, len(items))
            items.insert(k, rng.choice([1, None, [], {}, True]))
            policy[key] = items
            return policy, f"{key}[{k}]"
        if kind == "default":
            policy["default"] = rng.choice(["maybe", "Allow", "require_approval", None, True, ""])
            return policy, "default"
        if kind == "audit":
            policy["audit"] = rng.choice([1, "yes", None, 0])
            return policy, "audit"
        if kind == "rules_type":
            policy["rules"] = rng.choice([None, {}, "x", 1, True])
            return policy, "rules"

        i = rng.randrange(len(rules))
        rule = rules[i]
        at = f"rules[{i}]"
        if kind == "rule_type":
            rules[i] = rng.choice(["x", 1, None, [], True])
            return policy, at
        if kind == "rule_unknown":
            key = rng.choice(["tools", "Decision", "condition", "priority", "", "ID"])
            rule[key] = "x"
            return policy, f"{at}.{key}"
        if kind == "rule_missing":
            key = rng.choice(["id", "tool", "decision"])
            del rule[key]
            return policy, f"{at}.{key}"
        if kind == "bad_id":
            rule["id"] = rng.choice(["", "_x", "-x", ".x", "a b", "a/b", "a" * 65, "é", "x\n", 1, None,
                                     ["x"], "a,b", "a@b", "a+b"])
            return policy, f"{at}.id"
        if kind == "dup_id":
            if len(rules) < 2:
                continue
            j = rng.randrange(len(rules))
            if j == i:
                continue
            lo, hi = min(i, j), max(i, j)
            rules[hi]["id"] = rules[lo]["id"]
            return policy, f"rules[{hi}].id"
        if kind == "tool":
            bad, suffix = rng.choice([([], ""), (1, ""), (None, ""), ({}, ""), (["a", 1], "[1]"),
                                      ([None], "[0]"), (["a", "b", []], "[2]")])
            rule["tool"] = bad
            return policy, f"{at}.tool{suffix}"
        if kind == "decision":
            rule["decision"] = rng.choice(["approve", "Allow", "DENY", "", None, 1, "default"])
            return policy, f"{at}.decision"
        if kind == "when_type":
            rule["when"] = rng.choice([[], "x", None, 1, True, [{"x": {"present": True}}]])
            return policy, f"{at}.when"
        if kind == "bad_path":
            path = rng.choice(["", ".", "a..b", ".a", "a.", "..", "a.b."])
            rule.setdefault("when", {})[path] = {"present": True}
            return policy, f"{at}.when.{path}"
        if kind in ("cond_type", "cond_empty"):
            path = rng.choice(ARG_PATHS)
            rule.setdefault("when", {})[path] = {} if kind == "cond_empty" else rng.choice(
                ["x", 1, None, [], [{"glob": "x"}], True])
            return policy, f"{at}.when.{path}"
        if kind == "unknown_op":
            op = rng.choice(["eq", "regex", "Glob", "contains", "", "not", "in_", "path"])
            candidates = [c for c in _nonexclusive_conditions(policy) if c[0] == i]
            if candidates and rng.random() < 0.6:
                _, path, cond = rng.choice(candidates)
                cond[op] = rng.choice(["x", 1, None])
            else:
                path = rng.choice(ARG_PATHS)
                rule.setdefault("when", {})[path] = {op: "x"}
            return policy, f"{at}.when.{path}.{op}"
        if kind == "bad_value":
            candidates = [c for c in _all_operators(policy) if c[0] == i]
            if not candidates or rng.random() < 0.3:
                op = rng.choice(list(BAD_VALUES))
                path = rng.choice(ARG_PATHS)
                rule.setdefault("when", {})[path] = {op: None}
                cond = rule["when"][path]
            else:
                _, path, cond, op = rng.choice(candidates)
            bad, suffix = rng.choice(BAD_VALUES[op])
            cond[op] = copy.deepcopy(bad)
            return policy, f"{at}.when.{path}.{op}{suffix}"
        if kind == "exclusive":
            path = rng.choice(ARG_PATHS)
            excl = rng.choice(["command", "present"])
            other = rng.choice(["glob", "not_glob", "in", "not_in", "lt", "lte", "gt", "gte",
                                "path_under", "path_glob"])
            cond = {excl: rand_operator_value(rng, excl), other: rand_operator_value(rng, other)}
            if rng.random() < 0.5:
                cond = dict(reversed(list(cond.items())))
            rule.setdefault("when", {})[path] = cond
            return policy, f"{at}.when.{path}.{excl}"
        if kind == "reason":
            rule["reason"] = rng.choice(["", None, 1, ["x"], True])
            return policy, f"{at}.reason"
        if kind == "mode":
            rule["mode"] = rng.choice(["Shadow", "", None, True, "enforced", "dry-run"])
            return policy, f"{at}.mode"
        raise AssertionError(kind)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def roundtrip(value):
    """What a JSON file holds: serialised (no NaN allowed) and parsed back."""
    return json.loads(json.dumps(value, ensure_ascii=False, allow_nan=False))


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def generate(out: Path, seed: int, n_policies: int, n_calls: int, n_errors: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    counts = {"policies": 0, "calls": 0, "errors": 0, "allow": 0, "deny": 0, "require_approval": 0,
              "by_rule": 0, "by_list": 0, "by_default": 0, "with_shadow": 0}
    with open(out / "conditions.jsonl", "w", encoding="utf-8") as f:
        for p in range(n_policies):
            rng = random.Random(f"{seed}:policy:{p}")
            policy = roundtrip(rand_policy(rng))
            compiled = reference.load(policy)
            calls = []
            for _ in range(n_calls):
                tool = rand_tool(rng, policy)
                args = roundtrip(rand_args(rng, policy))
                expect = reference.decide(compiled, tool, args)
                needs = expect["decision"] == "require_approval"
                calls.append({
                    "tool": tool, "args": args, "expect": expect,
                    "approved": reference.approve(expect, True) if needs else None,
                    "refused": reference.approve(expect, False) if needs else None,
                })
                counts[expect["decision"]] += 1
                rule = expect["rule"]
                counts["by_default" if rule is None else "by_list" if "list" in rule else "by_rule"] += 1
                counts["with_shadow"] += bool(expect["shadow"])
            f.write(dumps({"policy": policy, "calls": calls}) + "\n")
            counts["policies"] += 1
            counts["calls"] += len(calls)
    with open(out / "condition_errors.jsonl", "w", encoding="utf-8") as f:
        for e in range(n_errors):
            rng = random.Random(f"{seed}:error:{e}")
            policy, path = make_error(rng)
            policy = roundtrip(policy)
            try:
                reference.load(policy)
            except reference.RefError as err:
                if err.path != path:
                    raise AssertionError(f"generator expects {path!r}, model says {err.path!r}: {policy!r}")
            else:
                raise AssertionError(f"the model accepts an invalid policy ({path!r}): {policy!r}")
            f.write(dumps({"policy": policy, "path": path}) + "\n")
            counts["errors"] += 1
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("CONDITIONS_SEED", "1")))
    ap.add_argument("--policies", type=int, default=3000)
    ap.add_argument("--calls", type=int, default=20)
    ap.add_argument("--errors", type=int, default=1000)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    counts = generate(a.out, a.seed, a.policies, a.calls, a.errors)
    dt = time.perf_counter() - t0
    print(f"seed {a.seed}: {counts['policies']} policies, {counts['calls']} calls "
          f"(allow {counts['allow']}, deny {counts['deny']}, require_approval {counts['require_approval']}; "
          f"by list {counts['by_list']}, by rule {counts['by_rule']}, by default {counts['by_default']}; "
          f"{counts['with_shadow']} with shadow rules), {counts['errors']} invalid policies "
          f"-> {a.out} in {dt:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
