#!/usr/bin/env python3
"""Write (or, with --check, verify) the shared conformance vectors.

The inputs below are chosen by hand; every expected output for fnmatch and
policy decisions is computed by the real references (CPython's
``fnmatch.fnmatchcase`` and tokenfence 0.3.1's ``Policy``), never typed in.
``spec_errors.json`` is ours alone (tokenfence has no strict loading), so its
expectations are written here and checked by every binding.

    make_vectors.py            rewrite tests/vectors/*.json
    make_vectors.py --check    fail if the committed files differ
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FNMATCH = [
    # (pattern, names)
    ("drop_*", ["drop_table", "drop_", "drop", "Drop_table", "xdrop_table"]),
    ("*", ["", "a", "a/b.c", "\n", "😀"]),
    ("**", ["", "anything/at.all"]),
    ("a*b*c", ["abc", "aXbYc", "ac", "a\nb\nc", "abcabc"]),
    ("?", ["a", "é", "😀", "\n", "", "ab"]),
    ("??", ["é😀", "a", "abc"]),
    ("read_?", ["read_1", "read_", "read_12", "read_ü"]),
    ("[abc]", ["a", "b", "d", "", "ab"]),
    ("[!abc]", ["a", "d", "é", "\n"]),
    ("[^a]", ["^", "a", "b"]),
    ("[]]", ["]", "a"]),
    ("[!]]", ["]", "a"]),
    ("[]-a]", ["]", "^", "a", "b"]),
    ("[!]", ["!", "a", "[!]"]),
    ("[]", ["[]", "]", "["]),
    ("[", ["[", "a"]),
    ("[abc", ["[abc", "a"]),
    ("[a-z]", ["m", "A", "-", "é"]),
    ("[z-a]", ["z", "a", "m", "-", ""]),
    ("[!z-a]", ["z", "a", "!", "é"]),
    ("[z-a!]", ["!", "a", "z"]),
    ("[z-a!x]", ["x", "y", "!"]),
    ("[a-]", ["a", "-", "b"]),
    ("[-a]", ["a", "-"]),
    ("[--]", ["-"]),
    ("[a-c-e]", ["b", "d", "-", "e"]),
    ("[é-ü]", ["é", "ö", "a", "ü"]),
    ("[😀-😂]", ["😁", "😃"]),
    ("\\", ["\\"]),
    ("a\\*", ["a\\*", "a\\bc", "a*"]),
    ("{a,b}", ["{a,b}", "a", "b"]),
    ("x,y", ["x,y"]),
    ("^start", ["^start", "start"]),
    ("*.", ["..", "a/..", "x.", "x"]),
    ("*..", ["..", "a/..", "..."]),
    ("*a*a*a*a*a*b", ["a" * 40, "a" * 40 + "b"]),
    ("*\n*", ["a\nb", "ab"]),
    ("delete_email_*", ["delete_email_all", "delete_email"]),
    ("git_force_*", ["git_force_push", "git_force"]),
    ("*_table", ["drop_table", "_table", "table"]),
    ("", ["", "a"]),
]

TEMPLATES = {
    "database-safety": {
        "name": "database-safety",
        "allow": ["read_database", "generate_report", "list_tables", "describe_schema"],
        "deny": ["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
        "require_approval": ["write_database", "create_table", "create_index"],
    },
    "email-agent": {
        "name": "email-agent",
        "allow": ["read_email", "search_email", "draft_email", "list_folders"],
        "deny": ["delete_email_*", "forward_to_external", "create_rule"],
        "require_approval": ["send_email"],
    },
    "code-reviewer": {
        "name": "code-reviewer",
        "allow": ["read_file", "list_files", "git_diff", "git_log", "run_tests"],
        "deny": ["git_push", "git_force_*", "rm_*", "deploy_*"],
        "require_approval": ["git_commit", "create_pr"],
    },
}

TOOLS = [
    "read_database", "drop_table", "write_database", "create_index", "list_tables",
    "delete_users", "send_email", "read_email", "delete_email_all", "git_push",
    "git_force_push", "git_commit", "run_tests", "deploy_prod", "rm_rf", "unknown_tool",
    "", "Drop_table", "read_database\n", "é", "😀",
]

POLICIES = [
    # (case name, spec kwargs, approval answer, tools with optional context)
    ("database-safety template", TEMPLATES["database-safety"], None, TOOLS),
    ("email-agent template", TEMPLATES["email-agent"], None, TOOLS),
    ("code-reviewer template", TEMPLATES["code-reviewer"], None, TOOLS),
    ("approval callback says yes", TEMPLATES["database-safety"], True,
     ["write_database", "drop_table", "read_database", "ls"]),
    ("approval callback says no", TEMPLATES["database-safety"], False,
     ["write_database", "create_table", "read_database"]),
    ("empty policy denies by default", {}, None, ["anything", ""]),
    ("empty policy with default allow", {"default": "allow"}, None, ["anything"]),
    ("allow list with default allow", {"allow": ["read_*"], "default": "allow"}, None,
     ["read_x", "write_x"]),
    ("deny beats approval beats allow",
     {"allow": ["*"], "deny": ["x*"], "require_approval": ["*y"]}, None,
     ["xy", "ay", "a", "x"]),
    ("first pattern in list order decides",
     {"deny": ["a*", "*", "ab*"], "allow": ["*"]}, None, ["abc", "b"]),
    ("empty pattern and empty tool", {"deny": [""], "allow": ["*"]}, None, ["", "a"]),
    ("audit off", {"allow": ["read_*"], "deny": ["drop_*"], "audit": False}, None,
     ["read_a", "drop_b", "zzz"]),
    ("unicode patterns", {"allow": ["lire_?", "写_*"], "deny": ["[é]*"]}, None,
     ["lire_é", "lire_😀", "写_文件", "élan", "lire_ab"]),
    ("empty name becomes default", {"name": "", "allow": ["a"]}, None, ["a"]),
]

CONTEXTS = [None, {"agent_id": "data-bot", "session": "abc123"}, {}]

SPEC_ERRORS = [
    ("unknown key", {"denny": ["drop_*"]}, "unknown_key", "denny", None,
     'unknown key "denny" in policy (known keys: name, allow, deny, require_approval, default, audit, rules)'),
    ("pattern is not a string", {"allow": ["read_*", 5]}, "wrong_type", "allow", 1,
     "allow[1]: expected a string pattern, got number 5"),
    ("list is a string", {"deny": "drop_*"}, "wrong_type", "deny", None,
     'deny: expected an array of string patterns, got string "drop_*"'),
    ("approval list holds null", {"require_approval": ["a", "b", None]}, "wrong_type",
     "require_approval", 2, "require_approval[2]: expected a string pattern, got null"),
    ("bad default", {"default": "maybe"}, "invalid_value", "default", None,
     'default: expected "allow" or "deny", got string "maybe"'),
    ("default null", {"default": None}, "invalid_value", "default", None,
     'default: expected "allow" or "deny", got null'),
    ("audit not a boolean", {"audit": "yes"}, "wrong_type", "audit", None,
     'audit: expected true or false, got string "yes"'),
    ("name not a string", {"name": 7}, "wrong_type", "name", None,
     "name: expected a string, got number 7"),
    ("not an object", ["drop_*"], "not_an_object", None, None,
     "a policy must be a JSON object, got an array"),
]


def build():
    from importlib.metadata import version

    from tokenfence import Policy

    assert version("tokenfence") == "0.3.1", version("tokenfence")
    fn_cases = [
        {"pattern": p, "name": n, "match": fnmatch.fnmatchcase(n, p)}
        for p, names in FNMATCH
        for n in names
    ]
    pol_cases = []
    for case_name, kwargs, answer, tools in POLICIES:
        on_approval = None if answer is None else (lambda _r, a=answer: a)
        policy = Policy(**kwargs, on_approval=on_approval)
        checks = []
        for i, tool in enumerate(tools):
            ctx = CONTEXTS[i % len(CONTEXTS)]
            r = policy.check(tool, context=ctx)
            checks.append({
                "tool": tool, "context": ctx, "decision": r.decision.value,
                "reason": r.reason, "matched_rule": r.matched_rule,
            })
        audit = []
        for e in policy.audit_log:
            d = e.to_dict()
            del d["timestamp"]
            audit.append(d)
        pol_cases.append({
            "name": case_name, "policy": policy.to_dict(), "approval": answer,
            "checks": checks, "audit": audit,
        })
    err_cases = [
        {"name": n, "spec": s, "kind": k, "field": f, "index": i, "message": m}
        for n, s, k, f, i, m in SPEC_ERRORS
    ]
    return {
        "fnmatch.json": {"cases": fn_cases},
        "policy.json": {"cases": pol_cases},
        "spec_errors.json": {"cases": err_cases},
    }


def dump(obj) -> str:
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    files = build()
    bad = []
    for name, obj in files.items():
        path = os.path.join(HERE, name)
        text = dump(obj)
        if args.check:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    bad.append(name)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if bad:
        print(f"vectors out of date with the references: {bad}; run make_vectors.py")
        return 1
    counts = {k: len(v["cases"]) for k, v in files.items()}
    print(f"vectors {'verified' if args.check else 'written'}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
