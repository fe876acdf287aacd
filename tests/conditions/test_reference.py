"""Unit tests of the reference model (tests/conditions/reference.py), one
table per rule of CONDITIONS.md, plus:

* policies without `rules` decide exactly as tokenfence 0.3.1 (skipped only
  when tokenfence is not importable; CI installs it);
* tests/vectors/conditions.json is what the model says;
* the generator is deterministic and its files agree with the model.

Run: .venv/bin/python -m pytest -q tests/conditions
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "vectors"))

import generate  # noqa: E402
import reference as ref  # noqa: E402
from reference import FALSE, TRUE, UNKNOWN  # noqa: E402

T, F, U = TRUE, FALSE, UNKNOWN


def cond(c: dict):
    return ref._load_condition("when.x", "x", c)


def policy(**kw):
    return ref.load(kw)


# ---------------------------------------------------------------------------
# Shell subset
# ---------------------------------------------------------------------------

SHELL = [
    # words: unquoted spaces and tabs
    ("ls", [["ls"]]),
    ("ls -la /tmp", [["ls", "-la", "/tmp"]]),
    ("  ls \t -la\t", [["ls", "-la"]]),
    ("git\tstatus", [["git", "status"]]),
    # separators
    ("a;b", [["a"], ["b"]]),
    ("a & b", [["a"], ["b"]]),
    ("a|b", [["a"], ["b"]]),
    ("a&&b||c", [["a"], ["b"], ["c"]]),
    ("a\nb", [["a"], ["b"]]),
    ("git status && git diff HEAD", [["git", "status"], ["git", "diff", "HEAD"]]),
    # trailing separators: ; & newline allowed, once
    ("ls;", [["ls"]]),
    ("ls ;  ", [["ls"]]),
    ("ls &", [["ls"]]),
    ("ls\n", [["ls"]]),
    ("ls |", None),
    ("ls &&", None),
    ("ls ||", None),
    ("ls;\n", None),
    ("ls\n\n", None),
    ("ls & ;", None),
    # empty simple commands
    ("a;;b", None),
    ("a; ;b", None),
    ("a &&& b", None),
    ("a ||| b", None),
    ("a |& b", None),
    ("; a", None),
    ("&& a", None),
    ("\na", None),
    (";", None),
    # no simple command at all
    ("", None),
    ("   ", None),
    ("\t", None),
    ("\n", None),
    # single quotes
    ("echo 'a b'", [["echo", "a b"]]),
    ("echo '$x `y` \\ \" ; | * # ~ ='", [["echo", "$x `y` \\ \" ; | * # ~ ="]]),
    ("echo 'a\nb'", [["echo", "a\nb"]]),
    ("echo ''", [["echo", ""]]),
    ("''", [[""]]),
    ("'' ''", [["", ""]]),
    ("echo 'x", None),
    # double quotes
    ('echo "a b"', [["echo", "a b"]]),
    ('echo "\\"\\\\\\`\\$"', [["echo", '"\\`$']]),
    ('echo "\\a\\n\\\'"', [["echo", "\\a\\n\\'"]]),
    ('echo "a\nb"', [["echo", "a\nb"]]),
    ('echo "* ? [ ] ~ # ! < > ( ) { } = ; | &"', [["echo", "* ? [ ] ~ # ! < > ( ) { } = ; | &"]]),
    ('echo "$x"', None),
    ('echo "`x`"', None),
    ('echo "a\\\nb"', None),
    ('echo "x', None),
    ('echo "x\\"', None),
    ('echo "x\\', None),
    ('echo ""', [["echo", ""]]),
    # escapes outside quotes
    ("echo \\$x \\; \\' \\\" \\\\ \\  \\a", [["echo", "$x", ";", "'", '"', "\\", " ", "a"]]),
    ("echo a\\ b", [["echo", "a b"]]),
    ("echo a\\\nb", None),
    ("echo a\\", None),
    ("\\ls", [["ls"]]),
    # joining
    ("a'b c'\"d\"", [["ab cd"]]),
    ("x'a'\\ \"b\"y", [["xa by"]]),
    # unknown characters, unquoted and unescaped
    *[(f"echo a{c}b", None) for c in "$`<>(){}*?[]~#!"],
    *[(f"echo {c}", None) for c in "$`<>(){}*?[]~#!"],
    *[(f"echo '{c}'", [["echo", c]]) for c in "$`<>(){}*?[]~#!="],
    *[(f"echo \\{c}", [["echo", c]]) for c in "$`<>(){}*?[]~#!="],
    ("git log $(rm -rf /)", None),
    # `=`: only in the first word
    ("a=b", None),
    ("a=b ls", None),
    ("=", None),
    ("ls a=b", [["ls", "a=b"]]),
    ("ls; a=b", None),
    ("ls; x a=b", [["ls"], ["x", "a=b"]]),
    ("'a=b' ls", [["a=b", "ls"]]),
    ("a\\=b ls", [["a=b", "ls"]]),
    ("'a'=b ls", None),
    ("\"a\"= ls", None),
    # reserved first words (after quote removal)
    *[(f"{w} x", None) for w in ["if", "then", "else", "elif", "fi", "for", "while", "until", "do",
                                  "done", "case", "esac", "function", "select", "time", "coproc"]],
    ("'[[' x", None),
    ("\\]\\] x", None),
    ("'if' x", None),
    ("ls; done", None),
    ("x if then", [["x", "if", "then"]]),
    ("If x", [["If", "x"]]),
    ("iff x", [["iff", "x"]]),
    # everything else is a word character
    ("a\rb", [["a\rb"]]),
    ("a\u00a0b", [["a\u00a0b"]]),
    ("a\x00b", [["a\x00b"]]),
    ("é%^,@+:", [["é%^,@+:"]]),
    ("a\x0bb\x0cc", [["a\x0bb\x0cc"]]),
]


@pytest.mark.parametrize("text,want", SHELL, ids=[repr(s) for s, _ in SHELL])
def test_shell_parse(text, want):
    assert ref.parse_shell(text) == want


WORDS = ["a", "", "a b", "it's", 'say "hi"', "$HOME", "`x`", "\\", "*", "a;b", "x|y&z", "#!", "~",
         "a=b", "=", "\n", "tab\there", "é", "'", '"', "\\\n", "[[", "if"]


def test_quoting_roundtrip():
    """The generator's quoting is read back as the same word by the parser
    (a second word: `=` and reserved words only matter in the first)."""
    rng = random.Random(7)
    for _ in range(3000):
        w = rng.choice(WORDS + generate.SHELL_WORDS)
        text = "echo " + generate.quote_word(rng, w)
        assert ref.parse_shell(text) == [["echo", w]], (text, w)


# ---------------------------------------------------------------------------
# Command patterns
# ---------------------------------------------------------------------------

COMMAND_PATTERNS = [
    (["git", "status"], ["git", "status"], True),
    (["git", "status"], ["git", "status", "-s"], False),
    (["git", "status", "-s"], ["git", "status"], False),
    (["git", "diff", "HEAD"], ["git", "diff", "*"], True),
    (["git", "diff"], ["git", "diff", "*"], True),
    (["git", "diff", "a", "b"], ["git", "diff", "*"], True),
    (["git"], ["git", "diff", "*"], False),
    (["ls"], ["*"], True),
    (["a", "b"], ["*"], True),
    (["a", "b"], ["**"], False),
    (["a"], ["**"], True),
    (["a", "b"], ["*", "*"], True),
    (["a"], ["*", "*"], True),
    (["git", "x", "HEAD"], ["git", "*", "HEAD"], True),
    (["git", "HEAD"], ["git", "*", "HEAD"], False),
    (["git", "commit", "-m", "fix bug"], ["git", "commit", "-m", "*"], True),
    (["git", "commit"], ["git", "commit", "-m", "*"], False),
    (["echo", "a b"], ["echo", "a b"], True),
    (["echo", "a"], ["echo", "a*"], True),
    (["echo", "a/b"], ["echo", "a*"], True),
    (["Echo"], ["echo"], False),
    (["cat", "x.txt"], ["cat", "*.txt"], True),
    (["cat", "x.txt", "y.txt"], ["cat", "*.txt"], False),
    (["x", ""], ["x", "*"], True),
    ([""], ["*"], True),
]


@pytest.mark.parametrize("words,pattern,want", COMMAND_PATTERNS)
def test_command_pattern(words, pattern, want):
    assert ref.command_pattern_matches(words, pattern) is want


def test_command_pattern_forms():
    c = cond({"command": ["git status", ["git", "commit", "-m", "*"], "ls"]})
    assert c.operators[0][1] == [["git", "status"], ["git", "commit", "-m", "*"], ["ls"]]
    # an array value is an array of patterns, not one array-form pattern
    c = cond({"command": ["git", "status"]})
    assert c.operators[0][1] == [["git"], ["status"]]
    # a tab is part of a word glob
    c = cond({"command": "a\tb c"})
    assert c.operators[0][1] == [["a\tb", "c"]]


# ---------------------------------------------------------------------------
# Path normalisation
# ---------------------------------------------------------------------------

NORMALISE = [
    ("/", "/"), ("//", "/"), ("/.", "/"), ("/..", "/"), ("/../..", "/"),
    ("/workspace", "/workspace"), ("/workspace/", "/workspace"), ("//workspace//a//", "/workspace/a"),
    ("/workspace/./a", "/workspace/a"), ("/workspace/../etc/passwd", "/etc/passwd"),
    ("/a/b/../../c", "/c"), ("/a/../../b", "/b"), ("/a/.../b", "/a/.../b"), ("/a/..b", "/a/..b"),
    ("/é/😀", "/é/😀"), ("/a\\..\\b", "/a\\..\\b"),
]


@pytest.mark.parametrize("path,want", NORMALISE)
def test_normalise(path, want):
    assert ref.normalise_path(path) == want


# ---------------------------------------------------------------------------
# Operators on one value: true / false / unknown
# ---------------------------------------------------------------------------

M = ref.MISSING
BIG = 2 ** 53

OPERATORS = [
    # glob / not_glob
    ({"glob": "*@ok.com"}, "a@ok.com", T),
    ({"glob": "*@ok.com"}, "a@OK.com", F),
    ({"glob": ["a*", "b*"]}, "bx", T),
    ({"glob": "a*"}, 1, U), ({"glob": "a*"}, True, U), ({"glob": "a*"}, {}, U),
    ({"glob": "a*"}, None, U), ({"glob": "a*"}, M, U), ({"glob": "a*"}, ["a"], U),
    ({"glob": ""}, "", T), ({"glob": "*"}, "", T), ({"glob": "[]]"}, "]", T),
    ({"glob": "a\\*"}, "a\\b", T), ({"glob": "*"}, "a\nb", T), ({"glob": "?"}, "😀", T),
    ({"not_glob": "*@ok.com"}, "a@ok.com", F),
    ({"not_glob": ["*@ok.com", "*@ok.org"]}, "a@evil.com", T),
    ({"not_glob": "x"}, 5, U), ({"not_glob": "x"}, None, U), ({"not_glob": "x"}, M, U),
    # in / not_in
    ({"in": ["EUR", "USD"]}, "EUR", T), ({"in": ["EUR", "USD"]}, "eur", F),
    ({"in": [1]}, 1, T), ({"in": [1]}, 1.0, T), ({"in": [1.0]}, 1, T),
    ({"in": [1]}, True, F), ({"in": [True]}, 1, F), ({"in": [True]}, 1.0, F),
    ({"in": [True]}, True, T), ({"in": [False]}, 0, F), ({"in": [0]}, False, F),
    ({"in": [0]}, -0.0, T), ({"in": [-0.0]}, 0, T),
    ({"in": ["1"]}, 1, F), ({"in": [1]}, "1", F),
    ({"in": [BIG + 1]}, BIG + 1, T), ({"in": [BIG + 1]}, BIG, F), ({"in": [BIG + 1]}, float(BIG), F),
    ({"in": [float(BIG)]}, BIG, T), ({"in": [2 ** 64 - 1]}, 2 ** 64 - 1, T),
    ({"in": [2 ** 64 - 1]}, float(2 ** 64), F), ({"in": [0.1]}, 0.1, T),
    ({"in": ["a"]}, {}, U), ({"in": ["a"]}, {"a": 1}, U), ({"in": ["a"]}, None, U),
    ({"in": ["a"]}, M, U), ({"in": ["a"]}, ["a"], U), ({"in": ["é"]}, "e\u0301", F),
    ({"in": [1]}, float("nan"), U), ({"in": [1]}, float("inf"), U),
    ({"not_in": ["a", 1]}, "b", T), ({"not_in": ["a", 1]}, 1.0, F), ({"not_in": [1]}, True, T),
    ({"not_in": ["a"]}, {}, U), ({"not_in": ["a"]}, None, U), ({"not_in": ["a"]}, [], U),
    # comparisons
    ({"lt": 100}, 99, T), ({"lt": 100}, 100, F), ({"lt": 100}, 100.0, F), ({"lt": 100}, 99.999, T),
    ({"lte": 100}, 100, T), ({"lte": 100}, 100.0, T), ({"lte": 100.5}, 100.5, T), ({"lte": 100}, 100.01, F),
    ({"gt": 0}, 0, F), ({"gt": 0}, -0.0, F), ({"gt": 0}, 1e-300, T), ({"gte": 0}, -0.0, T),
    ({"gt": BIG}, BIG + 1, T), ({"gt": float(BIG)}, BIG + 1, T), ({"lte": BIG}, BIG + 1, F),
    ({"lt": BIG + 1}, float(BIG), T), ({"gte": BIG + 1}, float(BIG), F),
    ({"lt": 2 ** 64 - 1}, 1.8446744073709552e19, F), ({"gt": -(2 ** 63)}, -9.223372036854776e18, F),
    ({"lt": 1}, True, U), ({"lt": 1}, False, U), ({"lt": 100}, "50", U), ({"lt": 1}, None, U),
    ({"lt": 1}, M, U), ({"lt": 1}, {}, U), ({"lt": 1}, [0], U),
    ({"lt": 1}, float("nan"), U), ({"gt": 1}, float("inf"), U), ({"lt": 1}, float("-inf"), U),
    # path_under
    ({"path_under": "/workspace"}, "/workspace", T),
    ({"path_under": "/workspace"}, "/workspace/", T),
    ({"path_under": "/workspace"}, "/workspace/a", T),
    ({"path_under": "/workspace"}, "/workspace2", F),
    ({"path_under": "/workspace"}, "/workspace/../etc/passwd", F),
    ({"path_under": "/workspace"}, "/etc/../workspace/x", T),
    ({"path_under": "/workspace/"}, "/workspace", T),
    ({"path_under": "/workspace/./a/.."}, "/workspace/b", T),
    ({"path_under": "/"}, "/", T), ({"path_under": "/"}, "/../x", T),
    ({"path_under": ["/a", "/b"]}, "/b/c", T),
    ({"path_under": "/workspace"}, "workspace/a", U),
    ({"path_under": "/workspace"}, "./workspace", U),
    ({"path_under": "/workspace"}, "", U),
    ({"path_under": "/workspace"}, "/workspace/a\x00", U),
    ({"path_under": "/workspace"}, 1, U), ({"path_under": "/workspace"}, None, U),
    # path_glob
    ({"path_glob": "*.env"}, "/a/.env", T),
    ({"path_glob": "*/.ssh/*"}, "/home/u/.ssh/id", T),
    ({"path_glob": "/etc/*"}, "/workspace/../etc/passwd", T),
    ({"path_glob": "/etc/*"}, "/etc", F),
    ({"path_glob": "/etc/*"}, "/etc/", F),
    ({"path_glob": "/a/"}, "/a/", F),
    ({"path_glob": "/"}, "/..", T),
    ({"path_glob": "*"}, "rel", U), ({"path_glob": "*"}, "/\x00", U), ({"path_glob": "*"}, [], U),
    # command (a single string: the polarity is the caller's, see COMMAND_POLARITY)
    ({"command": "*"}, 1, U), ({"command": "*"}, None, U), ({"command": "*"}, M, U),
    ({"command": "*"}, "$x", U), ({"command": "*"}, "", U), ({"command": "*"}, {}, U),
    # several operators: three-valued AND
    ({"glob": "a*", "lt": 5}, "abc", U),
    ({"glob": "a*", "lt": 5}, "xyz", F),
    ({"glob": "a*", "lt": 5}, 3, U),
    ({"glob": "a*", "lt": 5}, 7, F),
    ({"glob": "a*", "not_glob": "*z"}, "abc", T),
    ({"glob": "a*", "not_glob": "*z"}, "abz", F),
    ({"gte": 0, "lte": 10}, 5, T), ({"gte": 0, "lte": 10}, 11, F), ({"gte": 0, "lte": 10}, "5", U),
    ({"in": ["a"], "glob": "*"}, "a", T), ({"in": ["a"], "glob": "*"}, 1, F),
    ({"in": [1], "glob": "*"}, 1, U), ({"lt": 1, "glob": "*"}, {}, U),
    ({"in": [1], "glob": "*"}, 2, F),
]


@pytest.mark.parametrize("c,value,want", OPERATORS, ids=[f"{c}-{v!r}" for c, v, _ in OPERATORS])
def test_operator(c, value, want):
    compiled = cond(c)
    for restrictive in (True, False):
        assert ref.element_value(compiled, value, restrictive) == want


def test_and3():
    assert ref.and3([]) == T
    assert ref.and3([T, T]) == T
    assert ref.and3([T, U]) == U
    assert ref.and3([U, F]) == F
    assert ref.and3([F, U, T]) == F


# command on one string: simple commands are elements; the polarity decides
COMMAND_POLARITY = [
    # (patterns, string, restrictive value, permissive value)
    (["git status", "git diff *"], "git status && git diff HEAD", T, T),
    (["git status", "git diff *"], "git status; rm -rf /", T, F),
    (["rm *"], "ls; rm -rf /", T, F),
    (["rm *"], "ls; cat x", F, F),
    (["rm *"], "git log $(rm -rf /)", U, U),
    (["*"], "anything at all; really", T, T),
]


@pytest.mark.parametrize("patterns,text,restrictive,permissive", COMMAND_POLARITY)
def test_command_polarity(patterns, text, restrictive, permissive):
    c = cond({"command": patterns})
    assert ref.element_value(c, text, True) == restrictive
    assert ref.element_value(c, text, False) == permissive


# ---------------------------------------------------------------------------
# Conditions by polarity, arrays, present
# ---------------------------------------------------------------------------

HOLDS = [
    # (condition, value, holds for a restrictive rule, holds for a permissive rule)
    ({"glob": "*@evil.com"}, "b@evil.com", True, True),
    ({"glob": "*@evil.com"}, "a@ok.com", False, False),
    ({"glob": "*@evil.com"}, 5, True, False),
    ({"glob": "*@evil.com"}, None, True, False),
    ({"glob": "*@evil.com"}, M, True, False),
    # arrays: some (restrictive) / every (permissive)
    ({"glob": "*@evil.com"}, ["a@ok.com", "b@evil.com"], True, False),
    ({"glob": "*@ok.com"}, ["a@ok.com", "b@evil.com"], True, False),
    ({"glob": "*@ok.com"}, ["c@x.com", "b@evil.com"], False, False),
    ({"glob": "*@ok.com"}, ["a@ok.com", "b@ok.com"], True, True),
    ({"glob": "*@ok.com"}, ["a@ok.com", 5], True, False),
    ({"glob": "*@ok.com"}, ["x", None], True, False),
    ({"glob": "*@ok.com"}, ["a@ok.com", ["a@ok.com"]], True, False),
    ({"glob": "*@ok.com"}, ["x", {"a": 1}], True, False),
    ({"glob": "*@ok.com"}, [], False, True),
    ({"lt": 10}, [1, 2], True, True),
    ({"lt": 10}, [1, 20], True, False),
    ({"lt": 10}, [20, 30], False, False),
    ({"lt": 10}, [20, "1"], True, False),
    ({"in": [1]}, [1, [1]], True, False),
    ({"gte": 0, "lte": 10}, [-5, 200], False, False),
    ({"gte": 0, "lte": 10}, [5, 200], True, False),
    ({"path_under": "/w"}, ["/w/a", "/w/b"], True, True),
    ({"path_under": "/w"}, ["/w/a", "/x"], True, False),
    ({"path_under": "/w"}, ["/x", "rel"], True, False),
    # command on an array of strings
    ({"command": "ls *"}, ["ls", "ls -la"], True, True),
    ({"command": "ls *"}, ["ls", "cat x"], True, False),
    ({"command": "ls *"}, ["cat", "cat x; rm y"], False, False),
    ({"command": "ls *"}, ["cat", "$x"], True, False),
    ({"command": "ls *"}, [], False, True),
    ({"command": "ls *"}, ["ls", ["ls"]], True, False),
    # present: never unknown, not element-wise
    ({"present": True}, "x", True, True),
    ({"present": True}, "", True, True),
    ({"present": True}, False, True, True),
    ({"present": True}, [], True, True),
    ({"present": True}, [None], True, True),
    ({"present": True}, {}, True, True),
    ({"present": True}, None, False, False),
    ({"present": True}, M, False, False),
    ({"present": False}, None, True, True),
    ({"present": False}, M, True, True),
    ({"present": False}, 0, False, False),
    ({"present": False}, [], False, False),
]


@pytest.mark.parametrize("c,value,restrictive,permissive", HOLDS, ids=[f"{c}-{v!r}" for c, v, _, _ in HOLDS])
def test_condition_holds(c, value, restrictive, permissive):
    compiled = cond(c)
    assert ref.condition_holds(compiled, value, True) is restrictive
    assert ref.condition_holds(compiled, value, False) is permissive


LOOKUP = [
    ({"a": 1}, "a", 1),
    ({"a": None}, "a", None),
    ({}, "a", M),
    ({"a": {"b": {"c": 2}}}, "a.b.c", 2),
    ({"a": {"b": None}}, "a.b.c", M),
    ({"a": {"b": "x"}}, "a.b.c", M),
    ({"a": {"b": [{"c": 1}]}}, "a.b.c", M),
    ({"a": [{"b": 1}]}, "a.b", M),
    ({"a.b": 1}, "a.b", M),
    ({"a": {"b": [1, 2]}}, "a.b", [1, 2]),
    ({"é": {"😀": 1}}, "é.😀", 1),
]


@pytest.mark.parametrize("args,path,want", LOOKUP)
def test_lookup(args, path, want):
    assert ref.lookup(args, path.split(".")) is want if want is M else ref.lookup(args, path.split(".")) == want


# ---------------------------------------------------------------------------
# Decision
# ---------------------------------------------------------------------------


def rule(id, tool, decision, when=None, **extra):
    r = {"id": id, "tool": tool, "decision": decision}
    if when is not None:
        r["when"] = when
    r.update(extra)
    return r


DECIDE = [
    # (policy, tool, args, decision, reason, matched_rule, rule, shadow ids)
    ({"deny": ["d*"], "rules": [rule("x", "d1", "allow")]}, "d1", {}, "deny", "denied by pattern: d*", "d*",
     {"list": "deny", "index": 0}, []),
    ({"deny": ["a", "d*", "d1"]}, "d1", None, "deny", "denied by pattern: d*", "d*", {"list": "deny", "index": 1}, []),
    ({"require_approval": ["a*"], "rules": [rule("d", "a1", "deny")]}, "a1", {}, "deny", "denied by rule: d", "d",
     {"id": "d"}, []),
    ({"require_approval": ["a*"], "rules": [rule("r", "a1", "require_approval")]}, "a1", {}, "require_approval",
     "requires approval per pattern: a*", "a*", {"list": "require_approval", "index": 0}, []),
    ({"allow": ["a*"], "rules": [rule("r", "a1", "require_approval", reason="why")]}, "a1", {}, "require_approval",
     "why", "r", {"id": "r"}, []),
    ({"allow": ["a*"], "rules": [rule("r", "a1", "allow")]}, "a1", {}, "allow", "allowed by pattern: a*", "a*",
     {"list": "allow", "index": 0}, []),
    ({"allow": ["b"], "rules": [rule("r", "a1", "allow", reason="ok")]}, "a1", {}, "allow", "ok", "r", {"id": "r"}, []),
    ({"allow": ["b"], "default": "allow"}, "a1", {}, "allow", "no matching rule (default: allow)", None, None, []),
    ({"allow": ["b"]}, "a1", {}, "deny", "not in allow list (default: deny)", None, None, []),
    ({"rules": [rule("r", "b", "allow")]}, "a1", {}, "deny", "not in allow list (default: deny)", None, None, []),
    ({"rules": [rule("r", "b", "allow", mode="shadow")]}, "a1", {}, "deny", "no matching rule (default: deny)",
     None, None, []),
    ({"rules": [rule("r", "b", "deny")], "default": "allow"}, "a1", {}, "allow", "no matching rule (default: allow)",
     None, None, []),
    ({}, "a", {}, "deny", "no matching rule (default: deny)", None, None, []),
    # first rule in file order wins within a decision
    ({"rules": [rule("d1", "t", "deny", {"x": {"lt": 0}}), rule("d2", "t", "deny"), rule("d3", "t", "deny")]},
     "t", {"x": 5}, "deny", "denied by rule: d2", "d2", {"id": "d2"}, []),
    ({"rules": [rule("d1", "t", "deny", {"x": {"lt": 0}}), rule("d2", "t", "deny")]},
     "t", {}, "deny", "denied by rule: d1", "d1", {"id": "d1"}, []),
    # shadow rules, every one that fires, in file order
    ({"deny": ["t"], "rules": [
        rule("s1", "t", "allow", {"x": {"lt": 0}}, mode="shadow"),
        rule("s2", "t", "deny", {"x": {"lt": 0}}, mode="shadow"),
        rule("s3", "*", "require_approval", mode="shadow"),
        rule("s4", "u", "deny", mode="shadow"),
        rule("e1", "t", "allow", mode="enforce"),
    ]}, "t", {"x": "str"}, "deny", "denied by pattern: t", "t", {"list": "deny", "index": 0}, ["s2", "s3"]),
    ({"rules": [
        rule("s1", "t", "allow", {"x": {"lt": 0}}, mode="shadow"),
        rule("s2", "t", "deny", {"x": {"lt": 0}}, mode="shadow"),
    ]}, "t", {"x": -1}, "deny", "no matching rule (default: deny)", None, None, ["s1", "s2"]),
]


@pytest.mark.parametrize("spec,tool,args,decision,reason,matched,rule_,shadow", DECIDE)
def test_decide(spec, tool, args, decision, reason, matched, rule_, shadow):
    got = ref.decide(ref.load(spec), tool, args)
    assert got == {"decision": decision, "reason": reason, "matched_rule": matched, "rule": rule_,
                   "shadow": [{"id": s, "decision": next(r["decision"] for r in spec["rules"] if r["id"] == s)}
                              for s in shadow]}


def test_approve():
    p = ref.load({"require_approval": ["push"], "rules": [
        rule("ask", "mail", "require_approval", reason="custom"),
        rule("sh", "*", "deny", mode="shadow")]})
    r = ref.decide(p, "push", {})
    assert ref.approve(r, True) == {"decision": "allow", "reason": "approved via callback (pattern: push)",
                                    "matched_rule": "push", "rule": {"list": "require_approval", "index": 0},
                                    "shadow": [{"id": "sh", "decision": "deny"}]}
    assert ref.approve(r, False)["reason"] == "approval denied via callback (pattern: push)"
    assert ref.approve(r, False)["decision"] == "deny"
    r = ref.decide(p, "mail", {})
    assert r["reason"] == "custom"
    assert ref.approve(r, True) == {"decision": "allow", "reason": "approved via callback (rule: ask)",
                                    "matched_rule": "ask", "rule": {"id": "ask"},
                                    "shadow": [{"id": "sh", "decision": "deny"}]}
    assert ref.approve(r, False)["reason"] == "approval denied via callback (rule: ask)"
    other = ref.decide(p, "x", {})
    assert ref.approve(other, True) == other
    with pytest.raises(TypeError):
        ref.approve(r, 1)


def test_bad_call_input():
    p = ref.load({"rules": [rule("r", "t", "allow", {"x": {"glob": "*"}})]})
    for bad in ([], "x", 1, ("a",)):
        with pytest.raises(TypeError):
            ref.decide(p, "t", bad)
    with pytest.raises(TypeError):
        ref.decide(p, 1, {})
    with pytest.raises(ref.RefArgsError):
        ref.decide(p, "t", {"other": "\ud800"})
    with pytest.raises(ref.RefArgsError):
        ref.decide(p, "\udfff", {})
    with pytest.raises(ref.RefArgsError) as e:
        ref.decide(p, "t", {"x": {1, 2}})
    assert e.value.path == "x"
    # a non-JSON value where no condition reads it is ignored
    assert ref.decide(p, "t", {"y": {1, 2}, "x": "a"})["decision"] == "allow"
    assert ref.decide(p, "t", None) == ref.decide(p, "t", {})


# ---------------------------------------------------------------------------
# Policy errors
# ---------------------------------------------------------------------------

OK = {"id": "r", "tool": "t", "decision": "allow"}


def one_rule(**kw):
    r = dict(OK)
    r.update(kw)
    return {"rules": [r]}


ERRORS = [
    ([1], ""),
    ({"x": 1}, "x"),
    ({"allow": "a"}, "allow"),
    ({"require_approval": ["a", 1]}, "require_approval[1]"),
    ({"default": "require_approval"}, "default"),
    ({"audit": None}, "audit"),
    ({"rules": "x"}, "rules"),
    ({"rules": None}, "rules"),
    ({"rules": [OK, None]}, "rules[1]"),
    ({"rules": [{"tool": "t", "decision": "allow"}]}, "rules[0].id"),
    ({"rules": [{"id": "a", "decision": "allow"}]}, "rules[0].tool"),
    ({"rules": [{"id": "a", "tool": "t"}]}, "rules[0].decision"),
    ({"rules": [OK | {"extra": 1}]}, "rules[0].extra"),
    ({"rules": [OK, OK]}, "rules[1].id"),
    (one_rule(id="a" * 65), "rules[0].id"),
    (one_rule(id="a\n"), "rules[0].id"),
    (one_rule(id=":a"), "rules[0].id"),
    (one_rule(tool=[]), "rules[0].tool"),
    (one_rule(tool=["a", 1]), "rules[0].tool[1]"),
    (one_rule(decision="approve"), "rules[0].decision"),
    (one_rule(when=None), "rules[0].when"),
    (one_rule(when={"a..b": {"present": True}}), "rules[0].when.a..b"),
    (one_rule(when={"amount": {}}), "rules[0].when.amount"),
    (one_rule(when={"amount": 5}), "rules[0].when.amount"),
    (one_rule(when={"amount": {"lte": "100"}}), "rules[0].when.amount.lte"),
    (one_rule(when={"amount": {"lte": float("nan")}}), "rules[0].when.amount.lte"),
    (one_rule(when={"amount": {"lte": True}}), "rules[0].when.amount.lte"),
    (one_rule(when={"amount": {"between": [1, 2]}}), "rules[0].when.amount.between"),
    (one_rule(when={"x": {"in": [1, None]}}), "rules[0].when.x.in[1]"),
    (one_rule(when={"x": {"in": [float("inf")]}}), "rules[0].when.x.in[0]"),
    (one_rule(when={"x": {"glob": []}}), "rules[0].when.x.glob"),
    (one_rule(when={"x": {"path_under": "rel"}}), "rules[0].when.x.path_under"),
    (one_rule(when={"x": {"path_under": ["/a", "rel"]}}), "rules[0].when.x.path_under[1]"),
    (one_rule(when={"x": {"command": "a  b"}}), "rules[0].when.x.command"),
    (one_rule(when={"x": {"command": ["ls", ["a", ""]]}}), "rules[0].when.x.command[1][1]"),
    (one_rule(when={"x": {"command": "ls", "glob": "*"}}), "rules[0].when.x.command"),
    (one_rule(when={"x": {"glob": "*", "present": True}}), "rules[0].when.x.present"),
    (one_rule(when={"x": {"present": "yes"}}), "rules[0].when.x.present"),
    (one_rule(reason=""), "rules[0].reason"),
    (one_rule(mode="off"), "rules[0].mode"),
]


@pytest.mark.parametrize("spec,path", ERRORS, ids=[p or "not-an-object" for _, p in ERRORS])
def test_errors(spec, path):
    with pytest.raises(ref.RefError) as e:
        ref.load(spec)
    assert e.value.path == path


VALID = [
    {},
    {"name": None, "allow": None, "deny": None, "require_approval": None},
    {"name": "", "rules": []},
    one_rule(id="a" * 64),
    one_rule(id="0.a:b-c_d"),
    one_rule(tool=""),
    one_rule(when={}),
    one_rule(when={"x": {"glob": ""}}),
    one_rule(when={"x": {"command": [["a b", "*"]]}}),
    one_rule(when={"é.😀": {"in": [True, 1, 1.5, "", 2 ** 64]}}),
    one_rule(reason=" ", mode="enforce"),
]


@pytest.mark.parametrize("spec", VALID)
def test_valid(spec):
    ref.load(spec)


# ---------------------------------------------------------------------------
# Policies without rules decide exactly as tokenfence 0.3.1
# ---------------------------------------------------------------------------

TF_PATTERNS = ["*", "read_*", "drop_*", "*_all", "?", "[rw]*", "[!a-m]*", "[]]", "[^a]*", "a[z-a]b",
               "\\*", "{a,b}", "", "x", "*[", "write_file", "é*", "*😀", "[a-]", "*\n*", "[!]]*"]
TF_TOOLS = ["read_file", "write_file", "drop_table", "drop_all", "x", "", "a", "]", "^", "é", "😀",
            "\\x", "{a,b}", "*", "a\nb", "-", "b", "zz", "[", "write_all", "azb"]


def test_tokenfence_parity():
    tokenfence = pytest.importorskip("tokenfence")
    rng = random.Random(11)
    n = 0
    for _ in range(400):
        spec = {}
        for key in ("allow", "deny", "require_approval"):
            if rng.random() < 0.6:
                spec[key] = [rng.choice(TF_PATTERNS) for _ in range(rng.randint(0, 4))]
        if rng.random() < 0.7:
            spec["default"] = rng.choice(["allow", "deny"])
        if rng.random() < 0.3:
            spec["rules"] = []
        tf_spec = {k: v for k, v in spec.items() if k != "rules"}
        ours = ref.load(spec)
        approve_with = rng.choice([None, True, False])
        tf = tokenfence.Policy.from_dict(tf_spec)
        if approve_with is not None:
            tf = tokenfence.Policy(allow=tf_spec.get("allow"), deny=tf_spec.get("deny"),
                                   require_approval=tf_spec.get("require_approval"),
                                   default=tf_spec.get("default", "deny"),
                                   on_approval=lambda result, a=approve_with: a)
        for tool in TF_TOOLS:
            want = tf.check(tool)
            got = ref.decide(ours, tool, None)
            if approve_with is not None:
                got = ref.approve(got, approve_with)
            assert (got["decision"], got["reason"], got["matched_rule"]) == \
                (want.decision.value, want.reason, want.matched_rule), (spec, tool)
            assert got["shadow"] == []
            if got["rule"] is None:
                assert got["matched_rule"] is None
            else:
                lst = spec[got["rule"]["list"]]
                i = got["rule"]["index"]
                assert lst[i] == got["matched_rule"]
                assert not any(ref.fnmatchcase(tool, p) for p in lst[:i])
            n += 1
    assert n == 400 * len(TF_TOOLS)


# ---------------------------------------------------------------------------
# The shared vectors and the generator
# ---------------------------------------------------------------------------


def test_vectors_file_is_what_the_model_says():
    import make_conditions_vectors as mv

    path = ROOT / "tests" / "vectors" / "conditions.json"
    text = path.read_text(encoding="utf-8")
    assert text == mv.render(mv.build()), "run python3 tests/vectors/make_conditions_vectors.py"
    data = json.loads(text)
    calls = 0
    for c in data["cases"]:
        p = ref.load(c["policy"])
        for cl in c["calls"]:
            assert ref.decide(p, cl["tool"], cl["args"]) == cl["expect"], (c["name"], cl)
            calls += 1
    assert calls >= 80
    assert len(data["errors"]) >= 20
    for e in data["errors"]:
        with pytest.raises(ref.RefError) as err:
            ref.load(e["policy"])
        assert err.value.path == e["path"], e["name"]


def test_generator(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate.generate(a, seed=5, n_policies=60, n_calls=10, n_errors=60)
    generate.generate(b, seed=5, n_policies=60, n_calls=10, n_errors=60)
    for name in ("conditions.jsonl", "condition_errors.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    lines = (a / "conditions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 60
    for line in lines:
        d = json.loads(line)
        p = ref.load(d["policy"])
        assert len(d["calls"]) == 10
        for c in d["calls"]:
            assert ref.decide(p, c["tool"], c["args"]) == c["expect"]
            if c["expect"]["decision"] == "require_approval":
                assert c["approved"] == ref.approve(c["expect"], True)
                assert c["refused"] == ref.approve(c["expect"], False)
            else:
                assert c["approved"] is None and c["refused"] is None
    errors = (a / "condition_errors.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(errors) == 60
    for line in errors:
        d = json.loads(line)
        with pytest.raises(ref.RefError) as err:
            ref.load(d["policy"])
        assert err.value.path == d["path"]
