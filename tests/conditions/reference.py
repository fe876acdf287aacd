"""Independent reference model of the argument-conditions contract.

Written from /work/shared/CONDITIONS.md (the `rules` of a policy) and the
base semantics of DESIGN.md ("Semantics", "Decision"), which are those of
PyPI tokenfence 0.3.1's `Policy` with CPython's `fnmatch.fnmatchcase`. It
shares no code with the Rust core: it is the oracle the core and its
bindings are compared against (tests/conditions/generate.py,
tests/vectors/conditions.json). Clarity over speed, everywhere.

Public API:

    load(policy_dict) -> RefPolicy       raises RefError(path, message)
    decide(policy, tool, args) -> dict   {"decision", "reason", "matched_rule",
                                          "rule", "shadow"}
    approve(result, answer) -> dict      the approval-callback outcome

Helpers that the tests use directly: parse_shell, normalise_path,
command_pattern_matches, TRUE/FALSE/UNKNOWN.

Wherever the contract can be read more than one way, the choice made here is
marked with a comment starting with `AMBIGUOUS:`; the Rust core must make the
same choice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import Any

# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class RefError(Exception):
    """A policy error: `path` locates the problem (`rules[3].when.amount.lte`,
    `rules[0].id`, `rules[2].tool[1]`, `deny[0]`, an unknown key)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class RefArgsError(Exception):
    """Bad arguments at call time (a non-JSON value where a condition reads
    it, a string that is not well-formed Unicode). `path` names the value."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


# ---------------------------------------------------------------------------
# JSON value kinds
# ---------------------------------------------------------------------------

MISSING = object()  # the value at a path that leads nowhere


def kind(value: Any) -> str:
    """The JSON kind of a Python value. `bool` is tested before `int`,
    because in Python `True` is an `int` (and `True == 1`), while in the
    contract `true` is not a number."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if type(value) is bool:
        return "bool"
    if type(value) is int:
        return "number"
    if type(value) is float:
        # NaN and the infinities are not JSON numbers; as argument values
        # they are unknown ("Numbers: NaN or an infinity (JS) is unknown").
        return "number" if math.isfinite(value) else "nonfinite"
    if type(value) is str:
        return "string"
    if type(value) is list:
        return "array"
    if type(value) is dict:
        return "object"
    return "notjson"


def exact(number: int | float) -> Fraction:
    """The exact mathematical value of a JSON number (int or finite float):
    `1 == 1.0`, and ints beyond 2**53 are not rounded."""
    return Fraction(number)


def describe(value: Any) -> str:
    k = kind(value)
    if k in ("null", "missing"):
        return k
    return f"{k} {value!r}"


def has_lone_surrogate(s: str) -> bool:
    """Whether `s` holds a surrogate code point (U+D800..U+DFFF), which a
    well-formed Unicode string never does (UTF-8 cannot encode it)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# ---------------------------------------------------------------------------
# Three-valued logic
# ---------------------------------------------------------------------------

TRUE = "true"
FALSE = "false"
UNKNOWN = "unknown"


def and3(values: list[str]) -> str:
    """Three-valued AND: false if any is false, else unknown if any is
    unknown, else true (true for no values at all)."""
    if FALSE in values:
        return FALSE
    if UNKNOWN in values:
        return UNKNOWN
    return TRUE


# ---------------------------------------------------------------------------
# Path normalisation (lexical, POSIX)
# ---------------------------------------------------------------------------


def normalise_path(path: str) -> str:
    """`path` must start with `/` (the caller checks). Split on `/`; drop
    empty segments and `.`; `..` removes the previous segment (dropped at the
    root); join with `/` after a leading `/`."""
    assert path.startswith("/")
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "" or segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    return "/" + "/".join(kept)


def is_under(normalised: str, directory: str) -> bool:
    """Both normalised. A path is under a directory when it equals it or lies
    below it; everything is under `/`."""
    if normalised == directory:
        return True
    if directory == "/":
        return True
    return normalised.startswith(directory + "/")


# ---------------------------------------------------------------------------
# The shell subset
# ---------------------------------------------------------------------------

# Unknown when unquoted and unescaped, anywhere in a word.
UNKNOWN_CHARS = set("$`<>(){}*?[]~#!")

RESERVED_FIRST_WORDS = {
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done",
    "case", "esac", "function", "select", "time", "coproc", "[[", "]]",
}

# A separator after which nothing (but blanks) may follow.
TRAILING_ALLOWED = {";", "&", "\n"}


class _Unknown(Exception):
    """Internal: the string is outside the accepted shell subset."""


def parse_shell(text: str) -> list[list[str]] | None:
    """The simple commands (each a list of words, quotes removed) of a shell
    command list in the accepted subset, or None when the string is outside
    it (the value is then unknown)."""
    try:
        return _parse_shell(text)
    except _Unknown:
        return None


def _parse_shell(text: str) -> list[list[str]]:
    commands: list[list[str]] = []  # the simple commands finished so far
    words: list[str] = []  # the words of the current simple command
    word: list[str] | None = None  # the current word's characters; None: no word started
    word_has_unquoted_equals = False
    last_separator: str | None = None
    n = len(text)
    i = 0

    def end_word() -> None:
        nonlocal word, word_has_unquoted_equals
        if word is None:
            return
        # `=` unquoted and unescaped in the first word of a simple command
        # (an assignment, `a=b`) is unknown; in any later word it is a plain
        # character.
        # AMBIGUOUS: any unquoted `=` anywhere in the first word makes it
        # unknown, whatever surrounds it (`=x`, `a==b`, `'a'=b`, `a=`), not
        # only a well-formed `NAME=value` assignment.
        if not words and word_has_unquoted_equals:
            raise _Unknown("assignment")
        words.append("".join(word))
        word = None
        word_has_unquoted_equals = False

    def end_command(separator: str) -> None:
        nonlocal words, last_separator
        end_word()
        if not words:
            # AMBIGUOUS: an empty simple command before ANY separator is
            # unknown, not only "between two separators": a leading
            # separator (`; ls`, `&& ls`, a leading newline), two separators
            # in a row (`a;;b`, `a &&& b`, `a |& b`), and also two trailing
            # separators (`ls;\n`, `ls\n\n`, `ls & ;`): only ONE trailing
            # `;`, `&` or newline is allowed.
            raise _Unknown("empty simple command")
        check_first_word()
        commands.append(words)
        words = []
        last_separator = separator

    def check_first_word() -> None:
        # AMBIGUOUS: the first word is compared after quote removal, so a
        # quoted or escaped reserved word (`'if'`, `\time`, `"[["`) is
        # unknown too, although a real shell would not treat it as reserved.
        if words[0] in RESERVED_FIRST_WORDS:
            raise _Unknown("reserved word")

    def add(chars: str) -> None:
        nonlocal word
        if word is None:
            word = []
        word.append(chars)

    while i < n:
        c = text[i]
        if c == " " or c == "\t":
            end_word()
            i += 1
        elif c == "\n" or c == ";":
            end_command(c)
            i += 1
        elif c == "&" or c == "|":
            if i + 1 < n and text[i + 1] == c:
                end_command(c + c)  # `&&` or `||`
                i += 2
            else:
                end_command(c)  # `&` or `|`
                i += 1
        elif c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise _Unknown("unterminated single quote")
            # AMBIGUOUS: quotes always make a word, even an empty one: `''`
            # and `""` are the word "" (`ls ''` is ["ls", ""], and `''` alone
            # is one simple command whose only word is "").
            add(text[i + 1:close])
            i = close + 1
        elif c == '"':
            i += 1
            add("")  # the word has started, even if the quotes are empty
            while True:
                if i >= n:
                    raise _Unknown("unterminated double quote")
                d = text[i]
                if d == '"':
                    i += 1
                    break
                if d == "\\":
                    if i + 1 >= n:
                        raise _Unknown("unterminated double quote")
                    e = text[i + 1]
                    if e in '"\\`$':
                        add(e)
                    elif e == "\n":
                        raise _Unknown("backslash-newline inside double quotes")
                    else:
                        # `\` before anything else is itself; the next
                        # character is an ordinary one (not `"`, `\`, `` ` ``,
                        # `$` or newline), so it is simply kept as well.
                        add("\\" + e)
                    i += 2
                    continue
                if d == "$" or d == "`":
                    raise _Unknown("expansion inside double quotes")
                add(d)  # anything else, a newline included, is literal
                i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise _Unknown("backslash at the end")
            e = text[i + 1]
            if e == "\n":
                raise _Unknown("backslash-newline")
            add(e)  # `\x` stands for `x`, whatever `x` is
            i += 2
        elif c in UNKNOWN_CHARS:
            raise _Unknown(f"unquoted {c!r}")
        elif c == "=":
            word_has_unquoted_equals = True
            add(c)
            i += 1
        else:
            # Every other character is an ordinary word character: letters,
            # digits, `-`, `/`, `.`, `%`, `^`, `,`, `@`, `+`, `:`, CR,
            # vertical tab, form feed, NUL, any non-ASCII code point.
            # AMBIGUOUS: only space and tab separate words and only the
            # listed characters are special; CR, VT, FF, NBSP and the like are
            # word characters.
            add(c)
            i += 1

    end_word()
    if words:
        check_first_word()
        commands.append(words)
    else:
        if not commands:
            raise _Unknown("no simple command at all")
        if last_separator not in TRAILING_ALLOWED:
            raise _Unknown(f"trailing {last_separator!r}")
    return commands


# ---------------------------------------------------------------------------
# Command patterns
# ---------------------------------------------------------------------------


def command_pattern_matches(words: list[str], pattern: list[str]) -> bool:
    """A simple command matches when its words match the pattern's word globs
    one for one (fnmatch on each word), except that a last word glob that is
    exactly `*` matches zero or more remaining words."""
    if pattern[-1] == "*":
        fixed = pattern[:-1]
        if len(words) < len(fixed):
            return False
        return all(fnmatchcase(w, g) for w, g in zip(words, fixed))
    if len(words) != len(pattern):
        return False
    return all(fnmatchcase(w, g) for w, g in zip(words, pattern))


# ---------------------------------------------------------------------------
# The compiled policy
# ---------------------------------------------------------------------------

OPERATORS = (
    "glob", "not_glob", "in", "not_in", "lt", "lte", "gt", "gte",
    "path_under", "path_glob", "command", "present",
)
RULE_KEYS = ("id", "tool", "decision", "when", "reason", "mode")
POLICY_KEYS = ("name", "allow", "deny", "require_approval", "default", "audit", "rules")
DECISIONS = ("allow", "deny", "require_approval")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


@dataclass
class Condition:
    path: str  # the key of `when`, as written
    segments: list[str]
    operators: list[tuple[str, Any]]  # (operator, compiled value), in file order


@dataclass
class Rule:
    index: int
    id: str
    tools: list[str]
    decision: str
    conditions: list[Condition]
    reason: str | None
    mode: str  # "enforce" | "shadow"

    @property
    def restrictive(self) -> bool:
        return self.decision in ("deny", "require_approval")


@dataclass
class RefPolicy:
    name: str = "default"
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    require_approval: list[str] = field(default_factory=list)
    default: str = "deny"
    audit: bool = True
    rules: list[Rule] = field(default_factory=list)


# ---------------------------------------------------------------------------
# load(): strict validation
# ---------------------------------------------------------------------------
#
# The corpora only hold policies with exactly one defect, so the order in
# which several defects would be found is NOT part of the contract. (Here:
# top-level keys in file order; within a rule: unknown keys in file order,
# then id, tool, decision, when, reason, mode; within `when`: paths in file
# order; within a condition: each operator's name and value in file order,
# then the "only operator" checks. A duplicate id is reported when the later
# rule is reached.)


def load(policy: Any) -> RefPolicy:
    if kind(policy) != "object":
        raise RefError("", f"a policy must be a JSON object, got {describe(policy)}")
    out = RefPolicy()
    for key, value in policy.items():
        if key == "name":
            # As tokenfence's from_dict (`name or "default"`): null and ""
            # give "default".
            if value is None or value == "":
                out.name = "default"
            elif kind(value) == "string":
                out.name = value
            else:
                raise RefError("name", f"expected a string, got {describe(value)}")
        elif key in ("allow", "deny", "require_approval"):
            setattr(out, key, _load_pattern_list(key, value))
        elif key == "default":
            if kind(value) != "string" or value not in ("allow", "deny"):
                raise RefError("default", f'expected "allow" or "deny", got {describe(value)}')
            out.default = value
        elif key == "audit":
            if kind(value) != "bool":
                raise RefError("audit", f"expected true or false, got {describe(value)}")
            out.audit = value
        elif key == "rules":
            out.rules = _load_rules(value)
        else:
            raise RefError(key, f"unknown key {key!r} in policy (known keys: {', '.join(POLICY_KEYS)})")
    return out


def _load_pattern_list(key: str, value: Any) -> list[str]:
    # As tokenfence's from_dict (`list(x) if x else []`) and the Rust core: a
    # null list is an empty one.
    if value is None:
        return []
    if kind(value) != "array":
        raise RefError(key, f"expected an array of string patterns, got {describe(value)}")
    for k, item in enumerate(value):
        if kind(item) != "string":
            raise RefError(f"{key}[{k}]", f"expected a string pattern, got {describe(item)}")
    return list(value)


def _load_rules(value: Any) -> list[Rule]:
    # AMBIGUOUS: `rules: null` is an error (the key is not tokenfence's, so
    # tokenfence's null-list leniency does not extend to it); `rules: []` is
    # an empty list of rules.
    if kind(value) != "array":
        raise RefError("rules", f"expected an array of rules, got {describe(value)}")
    rules: list[Rule] = []
    seen_ids: set[str] = set()
    for index, raw in enumerate(value):
        rule = _load_rule(index, raw)
        if rule.id in seen_ids:
            # AMBIGUOUS: a duplicate id is reported at the LATER rule's id
            # (`rules[j].id`, j the larger index).
            raise RefError(f"rules[{index}].id", f"duplicate rule id {rule.id!r}")
        seen_ids.add(rule.id)
        rules.append(rule)
    return rules


def _load_rule(index: int, raw: Any) -> Rule:
    at = f"rules[{index}]"
    if kind(raw) != "object":
        raise RefError(at, f"expected a rule object, got {describe(raw)}")
    for key in raw:
        if key not in RULE_KEYS:
            # AMBIGUOUS: an unknown key of a rule is named with the rule's
            # path: `rules[i].KEY`.
            raise RefError(f"{at}.{key}", f"unknown key {key!r} in rule (known keys: {', '.join(RULE_KEYS)})")
    for key in ("id", "tool", "decision"):
        if key not in raw:
            # AMBIGUOUS: a missing required key is named `rules[i].KEY`.
            raise RefError(f"{at}.{key}", f"missing required key {key!r}")

    rule_id = raw["id"]
    if kind(rule_id) != "string" or ID_RE.fullmatch(rule_id) is None:
        raise RefError(f"{at}.id", f"expected an id matching [A-Za-z0-9][A-Za-z0-9_.:-]{{0,63}}, got {describe(rule_id)}")

    tools = _load_patterns(f"{at}.tool", raw["tool"], what="tool pattern")

    decision = raw["decision"]
    if kind(decision) != "string" or decision not in DECISIONS:
        raise RefError(f"{at}.decision", f'expected "allow", "deny" or "require_approval", got {describe(decision)}')

    conditions: list[Condition] = []
    if "when" in raw:
        when = raw["when"]
        # AMBIGUOUS: `when: null` is an error (only an absent `when` or `{}`
        # means "on the name alone").
        if kind(when) != "object":
            raise RefError(f"{at}.when", f"expected an object of conditions, got {describe(when)}")
        for path, cond in when.items():
            conditions.append(_load_condition(f"{at}.when.{path}", path, cond))

    reason = None
    if "reason" in raw:
        reason = raw["reason"]
        # AMBIGUOUS: `reason: null` is an error, as is "". A reason of only
        # blanks is a non-empty string and is accepted as written.
        if kind(reason) != "string" or reason == "":
            raise RefError(f"{at}.reason", f"expected a non-empty string, got {describe(reason)}")

    mode = "enforce"
    if "mode" in raw:
        mode = raw["mode"]
        # AMBIGUOUS: `mode: null` is an error.
        if kind(mode) != "string" or mode not in ("enforce", "shadow"):
            raise RefError(f"{at}.mode", f'expected "enforce" or "shadow", got {describe(mode)}')

    return Rule(index=index, id=rule_id, tools=tools, decision=decision,
                conditions=conditions, reason=reason, mode=mode)


def _load_patterns(at: str, value: Any, what: str) -> list[str]:
    """A pattern or a non-empty array of patterns (strings). The empty string
    is a valid pattern (it matches only the empty string)."""
    # AMBIGUOUS: "" is accepted as a pattern (in `tool`, `glob`, `not_glob`,
    # `path_glob`), as in the lists; it matches only "".
    if kind(value) == "string":
        return [value]
    if kind(value) != "array":
        raise RefError(at, f"expected a {what} or an array of them, got {describe(value)}")
    if not value:
        raise RefError(at, "expected a non-empty array")
    for k, item in enumerate(value):
        # AMBIGUOUS: an element of the wrong type is named with its index
        # (`rules[2].tool[1]`, `rules[0].when.to.glob[1]`), for every
        # array-valued operator.
        if kind(item) != "string":
            raise RefError(f"{at}[{k}]", f"expected a {what}, got {describe(item)}")
    return list(value)


def _load_condition(at: str, path: str, cond: Any) -> Condition:
    segments = path.split(".")
    if any(s == "" for s in segments):
        raise RefError(at, f"argument path {path!r} has an empty segment")
    if kind(cond) != "object":
        raise RefError(at, f"expected a condition object, got {describe(cond)}")
    # AMBIGUOUS: a condition with no operator (`{}`) is an error named by the
    # argument path (`rules[i].when.PATH`).
    if not cond:
        raise RefError(at, "a condition needs one or more operators")
    operators: list[tuple[str, Any]] = []
    for op, value in cond.items():
        op_at = f"{at}.{op}"
        if op not in OPERATORS:
            raise RefError(op_at, f"unknown operator {op!r} (known: {', '.join(OPERATORS)})")
        operators.append((op, _load_operator(op_at, op, value)))
    # AMBIGUOUS: `command` / `present` alongside another operator is named
    # by the `command` (if the condition has one) or else the `present`
    # operator: `rules[i].when.PATH.command`.
    if len(cond) > 1:
        if "command" in cond:
            raise RefError(f"{at}.command", "`command` must be the only operator of its condition")
        if "present" in cond:
            raise RefError(f"{at}.present", "`present` must be the only operator of its condition")
    return Condition(path=path, segments=segments, operators=operators)


def _load_operator(at: str, op: str, value: Any) -> Any:
    if op in ("glob", "not_glob", "path_glob"):
        return _load_patterns(at, value, what="pattern")

    if op in ("in", "not_in"):
        if kind(value) != "array":
            raise RefError(at, f"expected a non-empty array of scalars, got {describe(value)}")
        if not value:
            raise RefError(at, "expected a non-empty array")
        for k, item in enumerate(value):
            # Scalars: string, number, true, false. Not null, not an array,
            # not an object.
            # AMBIGUOUS: a non-finite float (NaN, infinities; not JSON, but
            # Python's json accepts them) in a policy is an error, here and
            # for the comparison operators.
            if kind(item) not in ("string", "number", "bool"):
                raise RefError(f"{at}[{k}]", f"expected a scalar (string, number, true, false), got {describe(item)}")
        return list(value)

    if op in ("lt", "lte", "gt", "gte"):
        if kind(value) != "number":
            raise RefError(at, f"expected a number, got {describe(value)}")
        return exact(value)

    if op == "path_under":
        if kind(value) == "string":
            items, indexed = [value], False
        elif kind(value) == "array":
            if not value:
                raise RefError(at, "expected a non-empty array")
            items, indexed = list(value), True
        else:
            raise RefError(at, f"expected an absolute path or an array of them, got {describe(value)}")
        directories = []
        for k, item in enumerate(items):
            item_at = f"{at}[{k}]" if indexed else at
            if kind(item) != "string":
                raise RefError(item_at, f"expected an absolute path, got {describe(item)}")
            if not item.startswith("/"):
                raise RefError(item_at, f"expected an absolute path, got relative {item!r}")
            # AMBIGUOUS (decided with the core): a directory containing NUL
            # is a policy error, like a relative one. No value containing
            # NUL is ever a path (it is unknown), so such a directory could
            # only ever mislead a reader.
            if "\x00" in item:
                raise RefError(item_at, f"expected an absolute path without NUL, got {item!r}")
            directories.append(normalise_path(item))
        return directories

    if op == "command":
        if kind(value) == "string":
            return [_load_command_pattern(at, value)]
        if kind(value) != "array":
            raise RefError(at, f"expected a command pattern or an array of them, got {describe(value)}")
        if not value:
            raise RefError(at, "expected a non-empty array")
        # AMBIGUOUS: an array value is ALWAYS an array of command patterns
        # (the example `["git status", "git diff *", "ls *"]`), so
        # `command: ["git", "status"]` is two one-word patterns; the
        # array-of-word-globs form of ONE pattern must be nested:
        # `command: [["git", "commit", "-m", "*"]]`.
        return [_load_command_pattern(f"{at}[{k}]", item) for k, item in enumerate(value)]

    if op == "present":
        if kind(value) != "bool":
            raise RefError(at, f"expected true or false, got {describe(value)}")
        return value

    raise AssertionError(op)


def _load_command_pattern(at: str, value: Any) -> list[str]:
    """A command pattern: a string of word globs separated by single spaces,
    or an array of word globs. Empty pattern / empty word glob: error."""
    if kind(value) == "string":
        if value == "":
            raise RefError(at, "empty command pattern")
        # AMBIGUOUS: split on the space character only. Two spaces in a row,
        # or a leading or trailing space, make an empty word glob (an error);
        # a tab is an ordinary character inside a word glob.
        globs = value.split(" ")
        if any(g == "" for g in globs):
            raise RefError(at, f"empty word glob in command pattern {value!r}")
        return globs
    if kind(value) == "array":
        if not value:
            raise RefError(at, "empty command pattern")
        for j, glob in enumerate(value):
            # AMBIGUOUS: a bad word glob of an array-form pattern is named
            # down to its index: `rules[i].when.PATH.command[k][j]`.
            if kind(glob) != "string":
                raise RefError(f"{at}[{j}]", f"expected a word glob, got {describe(glob)}")
            if glob == "":
                raise RefError(f"{at}[{j}]", "empty word glob")
        return list(value)
    raise RefError(at, f"expected a command pattern (a string or an array of word globs), got {describe(value)}")


# ---------------------------------------------------------------------------
# Evaluating conditions
# ---------------------------------------------------------------------------


def lookup(args: dict, segments: list[str]) -> Any:
    """The value at a path, or MISSING when it is absent or an intermediate
    value is not an object (an array included: no indexing)."""
    value: Any = args
    for segment in segments:
        if kind(value) != "object" or segment not in value:
            return MISSING
        value = value[segment]
    return value


def in_equal(value: Any, item: Any) -> bool:
    """Scalar equality for `in`/`not_in`: strings by code points, numbers by
    mathematical value (`1 == 1.0`), booleans only with booleans (`true` is
    not `1`, which Python's `True == 1` would say)."""
    kv, ki = kind(value), kind(item)
    if kv != ki:
        return False
    if kv == "number":
        return exact(value) == exact(item)
    return value == item  # two strings or two booleans


def operator_value(op: str, arg: Any, v: Any, restrictive: bool) -> str:
    """One operator (not `present`) on one value `v` that is not a top-level
    array (an array here is an array inside an array). TRUE/FALSE/UNKNOWN.
    `restrictive` matters only for `command`, whose value is itself an array
    (of simple commands)."""
    k = kind(v)
    # Every operator except `present` is unknown on a missing or null value,
    # and on an array inside an array. NaN and infinities are unknown.
    if k in ("missing", "null", "array", "nonfinite"):
        return UNKNOWN

    if op == "glob":
        if k != "string":
            return UNKNOWN
        return TRUE if any(fnmatchcase(v, p) for p in arg) else FALSE
    if op == "not_glob":
        if k != "string":
            return UNKNOWN
        return FALSE if any(fnmatchcase(v, p) for p in arg) else TRUE

    if op in ("in", "not_in"):
        if k == "object":
            return UNKNOWN
        found = any(in_equal(v, item) for item in arg)
        if op == "in":
            return TRUE if found else FALSE
        return FALSE if found else TRUE

    if op in ("lt", "lte", "gt", "gte"):
        if k != "number":  # a numeric string, a boolean, an object
            return UNKNOWN
        x = exact(v)
        holds = {"lt": x < arg, "lte": x <= arg, "gt": x > arg, "gte": x >= arg}[op]
        return TRUE if holds else FALSE

    if op in ("path_under", "path_glob"):
        if k != "string" or not v.startswith("/") or "\x00" in v:
            return UNKNOWN
        normalised = normalise_path(v)
        if op == "path_under":
            holds = any(is_under(normalised, d) for d in arg)
        else:
            holds = any(fnmatchcase(normalised, p) for p in arg)
        return TRUE if holds else FALSE

    if op == "command":
        if k != "string":
            return UNKNOWN
        commands = parse_shell(v)
        if commands is None:
            return UNKNOWN
        # The simple commands are the elements of an array: a restrictive
        # rule holds when SOME simple command matches, a permissive one when
        # EVERY simple command matches (never empty: a string without a
        # simple command is unknown above).
        matches = [any(command_pattern_matches(words, p) for p in arg) for words in commands]
        if restrictive:
            return TRUE if any(matches) else FALSE
        return TRUE if all(matches) else FALSE

    raise AssertionError(op)


def element_value(cond: Condition, v: Any, restrictive: bool) -> str:
    """The three-valued AND of a condition's operators on one value."""
    return and3([operator_value(op, arg, v, restrictive) for op, arg in cond.operators])


def condition_holds(cond: Condition, value: Any, restrictive: bool) -> bool:
    """Whether a condition holds for a rule of the given polarity, doubt
    falling towards the restriction."""
    if cond.operators[0][0] == "present":  # `present` is then the only operator
        is_present = kind(value) not in ("missing", "null")
        return is_present == cond.operators[0][1]

    if kind(value) == "array":
        # Each element as a separate call; the most restrictive outcome
        # stands. Empty: a permissive condition holds, a restrictive one
        # does not.
        results = [element_value(cond, e, restrictive) for e in value]
        if restrictive:
            return any(r in (TRUE, UNKNOWN) for r in results)
        return all(r == TRUE for r in results)

    result = element_value(cond, value, restrictive)
    if restrictive:
        return result in (TRUE, UNKNOWN)
    return result == TRUE


def _check_read(path: str, value: Any) -> None:
    """A value that is not JSON where a condition reads it is an error that
    names its path (the value itself, or an element of an array value)."""
    if kind(value) == "notjson":
        raise RefArgsError(path, f"not a JSON value: {type(value).__name__}")
    if kind(value) == "array":
        for k, e in enumerate(value):
            if kind(e) == "notjson":
                raise RefArgsError(f"{path}[{k}]", f"not a JSON value: {type(e).__name__}")


def rule_applies(rule: Rule, tool: str) -> bool:
    return any(fnmatchcase(tool, p) for p in rule.tools)


def rule_fires(rule: Rule, tool: str, args: dict) -> bool:
    """The rule's name matches and every condition holds by the rule's own
    polarity (a rule without conditions fires on the name alone)."""
    if not rule_applies(rule, tool):
        return False
    for cond in rule.conditions:
        value = lookup(args, cond.segments)
        _check_read(cond.path, value)
        if not condition_holds(cond, value, rule.restrictive):
            return False
    return True


# ---------------------------------------------------------------------------
# Decision
# ---------------------------------------------------------------------------


def _check_strings(value: Any, path: str) -> None:
    """A string anywhere in args (keys included) that is not well-formed
    Unicode is an error."""
    # AMBIGUOUS: "anywhere" is taken literally: every string of args is
    # checked, not only those on the paths the policy names.
    if kind(value) == "string":
        if has_lone_surrogate(value):
            raise RefArgsError(path, "string is not well-formed Unicode")
    elif kind(value) == "array":
        for k, e in enumerate(value):
            _check_strings(e, f"{path}[{k}]")
    elif kind(value) == "object":
        for key, e in value.items():
            if has_lone_surrogate(key):
                raise RefArgsError(path, "key is not well-formed Unicode")
            _check_strings(e, f"{path}.{key}" if path else key)


def _result(decision: str, reason: str, matched_rule: str | None, rule: dict | None, shadow: list) -> dict:
    return {"decision": decision, "reason": reason, "matched_rule": matched_rule,
            "rule": rule, "shadow": shadow}


def decide(policy: RefPolicy, tool: str, args: dict | None = None) -> dict:
    if type(tool) is not str:
        raise TypeError(f"tool name must be a string, got {type(tool).__name__}")
    if has_lone_surrogate(tool):
        raise RefArgsError("tool", "tool name is not well-formed Unicode")
    if args is None:
        args = {}
    if kind(args) != "object":
        raise TypeError(f"args must be an object, got {type(args).__name__}")
    _check_strings(args, "")

    enforced = [r for r in policy.rules if r.mode == "enforce"]

    # Shadow rules: every one that fires by its own polarity, in file order,
    # for every call, whatever decides.
    shadow = [{"id": r.id, "decision": r.decision}
              for r in policy.rules if r.mode == "shadow" and rule_fires(r, tool, args)]

    def by_rule(rule: Rule, default_reason: str) -> dict:
        reason = rule.reason if rule.reason is not None else default_reason
        return _result(rule.decision, reason, rule.id, {"id": rule.id}, shadow)

    # 1. Deny: the list first (exactly as tokenfence), then the rules.
    for index, pattern in enumerate(policy.deny):
        if fnmatchcase(tool, pattern):
            return _result("deny", f"denied by pattern: {pattern}", pattern,
                           {"list": "deny", "index": index}, shadow)
    for rule in enforced:
        if rule.decision == "deny" and rule_fires(rule, tool, args):
            return by_rule(rule, f"denied by rule: {rule.id}")

    # 2. Approval.
    for index, pattern in enumerate(policy.require_approval):
        if fnmatchcase(tool, pattern):
            return _result("require_approval", f"requires approval per pattern: {pattern}", pattern,
                           {"list": "require_approval", "index": index}, shadow)
    for rule in enforced:
        if rule.decision == "require_approval" and rule_fires(rule, tool, args):
            return by_rule(rule, f"requires approval per rule: {rule.id}")

    # 3. Allow: "there is an allow" when the list is non-empty or an enforced
    # allow rule exists (whether or not its tool patterns match this name).
    has_allow = bool(policy.allow) or any(r.decision == "allow" for r in enforced)
    if has_allow:
        for index, pattern in enumerate(policy.allow):
            if fnmatchcase(tool, pattern):
                return _result("allow", f"allowed by pattern: {pattern}", pattern,
                               {"list": "allow", "index": index}, shadow)
        for rule in enforced:
            if rule.decision == "allow" and rule_fires(rule, tool, args):
                return by_rule(rule, f"allowed by rule: {rule.id}")
        # AMBIGUOUS: when the only allows are rules (the `allow` list is
        # empty), the default-deny reason is still tokenfence's
        # "not in allow list (default: deny)", as the contract's step 3 says.
        if policy.default == "deny":
            return _result("deny", "not in allow list (default: deny)", None, None, shadow)
        return _result("allow", "no matching rule (default: allow)", None, None, shadow)

    # 4. No allow at all.
    return _result(policy.default, f"no matching rule (default: {policy.default})", None, None, shadow)


def approve(result: dict, answer: bool) -> dict:
    """What an approval callback's answer makes of a `require_approval`
    result. Any other result is returned unchanged (no callback is asked)."""
    if type(answer) is not bool:
        raise TypeError("an approval answer must be a bool")
    if result["decision"] != "require_approval":
        return dict(result)
    rule = result["rule"]
    if "list" in rule:
        label = f"pattern: {result['matched_rule']}"
    else:
        label = f"rule: {rule['id']}"
    # AMBIGUOUS: the approval outcome keeps `matched_rule`, the structured
    # `rule` and `shadow` of the require_approval result; a rule's own
    # `reason` is not used for the callback outcome.
    if answer:
        return _result("allow", f"approved via callback ({label})", result["matched_rule"], rule, result["shadow"])
    return _result("deny", f"approval denied via callback ({label})", result["matched_rule"], rule, result["shadow"])
