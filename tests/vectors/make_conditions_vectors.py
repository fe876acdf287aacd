"""Writes tests/vectors/conditions.json: named cases of CONDITIONS.md.

A readable table straight from the contract's examples and rules. Each call
below carries the decision (and sometimes the reason or the shadow list)
worked out by hand from the contract; the full `expect` written to the file
is computed by the reference model (tests/conditions/reference.py), and the
script fails if the model disagrees with the hand-written expectation.
Each error case is a policy with exactly one defect, the path that names
it (checked against the model) and the core's exact message (the model's
wording is its own, so the message is written here by hand).

Format:
  {"cases": [{"name", "policy", "calls": [{"tool", "args", "expect":
      {"decision", "reason", "matched_rule", "rule", "shadow"}}]}],
   "errors": [{"name", "policy", "path", "message"}]}

Run: python3 tests/vectors/make_conditions_vectors.py [--check]
(--check: exit 1 if conditions.json is not what the model says.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "conditions"))

import reference  # noqa: E402

OUT = HERE / "conditions.json"


def call(tool, args, decision, reason=None, shadow=None, rule=None):
    """A call with its hand-derived expectation (decision, and optionally
    the reason, the shadow ids, the structured rule)."""
    return {"tool": tool, "args": args, "want": {
        "decision": decision, "reason": reason, "shadow": shadow, "rule": rule}}


def case(name, policy, *calls):
    return {"name": name, "policy": policy, "calls": list(calls)}


def rule(id, tool, decision, when=None, **extra):
    r = {"id": id, "tool": tool, "decision": decision}
    if when is not None:
        r["when"] = when
    r.update(extra)
    return r


# ---------------------------------------------------------------------------
# The contract's example policy
# ---------------------------------------------------------------------------

EXAMPLE = {
    "name": "coding-agent",
    "allow": ["read_file", "list_files"],
    "deny": ["drop_*"],
    "require_approval": ["git_push"],
    "default": "deny",
    "rules": [
        {"id": "workspace-writes", "tool": ["write_file", "edit_file"],
         "when": {"path": {"path_under": "/workspace"}}, "decision": "allow"},
        {"id": "no-secrets", "tool": "*_file",
         "when": {"path": {"path_glob": ["*.env", "*/.ssh/*"]}}, "decision": "deny",
         "reason": "secrets are off limits"},
        {"id": "outside-mail", "tool": "send_email",
         "when": {"to": {"not_glob": "*@example.com"}}, "decision": "require_approval"},
        {"id": "small-refunds", "tool": "refund",
         "when": {"amount": {"lte": 100}, "currency": {"in": ["EUR", "USD"]}}, "decision": "allow"},
        {"id": "safe-shell", "tool": "run_shell",
         "when": {"command": {"command": ["git status", "git diff *", "ls *"]}}, "decision": "allow"},
        {"id": "try-no-curl", "tool": "run_shell", "mode": "shadow",
         "when": {"command": {"command": "curl *"}}, "decision": "deny"},
    ],
}

NOT_IN_ALLOW = "not in allow list (default: deny)"
SECRETS = "secrets are off limits"

CASES = [
    case(
        "contract example: lists and writes",
        EXAMPLE,
        call("drop_table", {}, "deny", "denied by pattern: drop_*", rule={"list": "deny", "index": 0}),
        call("git_push", {}, "require_approval", "requires approval per pattern: git_push",
             rule={"list": "require_approval", "index": 0}),
        call("read_file", {"path": "/workspace/a.txt"}, "allow", "allowed by pattern: read_file",
             rule={"list": "allow", "index": 0}),
        # no-secrets is restrictive: a missing path is unknown, so it fires.
        call("read_file", {}, "deny", SECRETS, rule={"id": "no-secrets"}),
        call("list_files", {}, "allow", "allowed by pattern: list_files"),
        call("write_file", {"path": "/workspace/a"}, "allow", "allowed by rule: workspace-writes",
             rule={"id": "workspace-writes"}),
        call("write_file", {"path": "/workspace"}, "allow", "allowed by rule: workspace-writes"),
        call("edit_file", {"path": "/workspace/./src//main.rs/"}, "allow", "allowed by rule: workspace-writes"),
        call("write_file", {"path": "/workspace2"}, "deny", NOT_IN_ALLOW),
        call("write_file", {"path": "/workspace2/a"}, "deny", NOT_IN_ALLOW),
        call("write_file", {"path": "/workspace/../etc/passwd"}, "deny", NOT_IN_ALLOW),
        call("write_file", {"path": "/../workspace/a"}, "allow", "allowed by rule: workspace-writes"),
        call("write_file", {"path": "/workspace/.env"}, "deny", SECRETS),
        call("edit_file", {"path": "/home/me/.ssh/id_rsa"}, "deny", SECRETS),
        # a relative path is unknown: the deny rule fires on doubt
        call("write_file", {"path": "workspace/a"}, "deny", SECRETS),
        call("write_file", {"path": None}, "deny", SECRETS),
        call("write_file", {"path": 7}, "deny", SECRETS),
        call("write_file", {"path": "/workspace/a\u0000b"}, "deny", SECRETS),
        call("write_file", {"path": ["/workspace/a", "/workspace/b"]}, "allow", "allowed by rule: workspace-writes"),
        call("write_file", {"path": ["/workspace/a", "/tmp/b"]}, "deny", NOT_IN_ALLOW),
        call("write_file", {"path": ["/workspace/a", "/workspace/.env"]}, "deny", SECRETS),
        # an empty array: the permissive rule holds, the restrictive one does not
        call("write_file", {"path": []}, "allow", "allowed by rule: workspace-writes"),
        call("delete_file", {"path": "/workspace/a"}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "contract example: mail",
        EXAMPLE,
        call("send_email", {"to": "a@example.com"}, "deny", NOT_IN_ALLOW),
        call("send_email", {"to": "b@evil.com"}, "require_approval",
             "requires approval per rule: outside-mail", rule={"id": "outside-mail"}),
        call("send_email", {"to": ["a@example.com", "b@evil.com"]}, "require_approval"),
        call("send_email", {"to": ["a@example.com", "c@example.com"]}, "deny", NOT_IN_ALLOW),
        call("send_email", {"to": []}, "deny", NOT_IN_ALLOW),
        call("send_email", {}, "require_approval"),
        call("send_email", {"to": None}, "require_approval"),
        call("send_email", {"to": ["a@example.com", 5]}, "require_approval"),
        call("send_email", {"to": ["a@example.com", ["b@evil.com"]]}, "require_approval"),
        call("send_email", {"to": "A@EXAMPLE.COM"}, "require_approval"),
    ),
    case(
        "contract example: refunds",
        EXAMPLE,
        call("refund", {"amount": 100, "currency": "EUR"}, "allow", "allowed by rule: small-refunds"),
        call("refund", {"amount": 100.0, "currency": "USD"}, "allow"),
        call("refund", {"amount": 0.5, "currency": "USD"}, "allow"),
        call("refund", {"amount": -3, "currency": "USD"}, "allow"),
        call("refund", {"amount": 100.01, "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": 101, "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": "50", "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": True, "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": None, "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": 50}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": 50, "currency": "GBP"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": 50, "currency": "eur"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": [10, 20], "currency": "EUR"}, "allow"),
        call("refund", {"amount": [10, 200], "currency": "EUR"}, "deny", NOT_IN_ALLOW),
        call("refund", {"amount": [], "currency": ["EUR", "USD"]}, "allow"),
        call("refund", {"amount": 10, "currency": ["EUR", "GBP"]}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "contract example: shell",
        EXAMPLE,
        call("run_shell", {"command": "git status"}, "allow", "allowed by rule: safe-shell"),
        call("run_shell", {"command": "git status && git diff HEAD"}, "allow", "allowed by rule: safe-shell"),
        call("run_shell", {"command": "git diff"}, "allow"),
        call("run_shell", {"command": "ls"}, "allow"),
        call("run_shell", {"command": "ls -la /tmp | ls"}, "allow"),
        call("run_shell", {"command": "git status; rm -rf /"}, "deny", NOT_IN_ALLOW, shadow=[]),
        call("run_shell", {"command": "git status --short"}, "deny", NOT_IN_ALLOW),
        call("run_shell", {"command": "git log $(rm -rf /)"}, "deny", NOT_IN_ALLOW,
             shadow=[{"id": "try-no-curl", "decision": "deny"}]),
        call("run_shell", {"command": "curl https://x.test"}, "deny", NOT_IN_ALLOW,
             shadow=[{"id": "try-no-curl", "decision": "deny"}]),
        call("run_shell", {"command": "ls && curl https://x.test"}, "deny", NOT_IN_ALLOW,
             shadow=[{"id": "try-no-curl", "decision": "deny"}]),
        call("run_shell", {}, "deny", NOT_IN_ALLOW, shadow=[{"id": "try-no-curl", "decision": "deny"}]),
    ),
    case(
        "shell: deny rm (restrictive: some simple command, or unknown)",
        {"rules": [rule("no-rm", "run_shell", "deny", {"cmd": {"command": "rm *"}})], "default": "allow"},
        call("run_shell", {"cmd": "ls; rm -rf /"}, "deny", "denied by rule: no-rm"),
        call("run_shell", {"cmd": "rm"}, "deny"),
        call("run_shell", {"cmd": "ls -la"}, "allow", "no matching rule (default: allow)"),
        call("run_shell", {"cmd": "git log $(rm -rf /)"}, "deny"),
        call("run_shell", {"cmd": "echo rm -rf /"}, "allow"),
        call("run_shell", {"cmd": "'rm' -rf /"}, "deny"),
        call("run_shell", {"cmd": "r\\m -rf /"}, "deny"),
        call("run_shell", {"cmd": "ls&rm x"}, "deny"),
        call("run_shell", {"cmd": "ls||rm x"}, "deny"),
        call("run_shell", {"cmd": "ls\nrm x"}, "deny"),
        call("run_shell", {"cmd": "ls;"}, "allow"),
        call("run_shell", {"cmd": "ls |"}, "deny"),
        call("run_shell", {"cmd": ""}, "deny"),
        call("run_shell", {"cmd": " \t "}, "deny"),
        call("run_shell", {"cmd": ["ls", "cat x"]}, "allow"),
        call("run_shell", {"cmd": ["ls", "rm x"]}, "deny"),
        call("run_shell", {"cmd": []}, "allow"),
    ),
    case(
        "shell: the accepted subset (allow echo/git/printf words)",
        {"rules": [rule("ok", "sh", "allow", {"c": {"command": [
            "echo *", "git status", "git diff *", ["git", "commit", "-m", "*"], "printf *"]}})]},
        # words and separators
        call("sh", {"c": "echo a b\tc"}, "allow", "allowed by rule: ok"),
        call("sh", {"c": "git status;git diff&echo x|echo y&&git status||echo z"}, "allow"),
        call("sh", {"c": "git status\n"}, "allow"),
        call("sh", {"c": "git status &"}, "allow"),
        call("sh", {"c": "git status ; "}, "allow"),
        call("sh", {"c": "git status;\n"}, "deny", NOT_IN_ALLOW),
        call("sh", {"c": "git status\n\n"}, "deny"),
        call("sh", {"c": "git status &&"}, "deny"),
        call("sh", {"c": "git status ||"}, "deny"),
        call("sh", {"c": "git status |"}, "deny"),
        call("sh", {"c": "git status;; echo"}, "deny"),
        call("sh", {"c": "; git status"}, "deny"),
        call("sh", {"c": "git status &&& echo"}, "deny"),
        call("sh", {"c": "git status |& echo"}, "deny"),
        # quotes and escapes
        call("sh", {"c": "git commit -m 'fix the bug'"}, "allow"),
        call("sh", {"c": "git commit -m \"fix \\\"it\\\" \\$5 \\` \\\\ \\n\""}, "allow"),
        call("sh", {"c": "echo a'b c'\"d\""}, "allow"),
        call("sh", {"c": "echo 'it''s'"}, "allow"),
        call("sh", {"c": "echo '$(rm -rf /) `x` *?[]~#!<>(){}= ;|&'"}, "allow"),
        call("sh", {"c": "echo \"*?[]~#!<>(){}=;|&'\""}, "allow"),
        call("sh", {"c": "echo \\$HOME \\* \\; \\# \\~ \\! \\= \\'"}, "allow"),
        call("sh", {"c": "echo 'unterminated"}, "deny"),
        call("sh", {"c": "echo \"unterminated"}, "deny"),
        call("sh", {"c": "echo \"a\\\"\""}, "allow"),
        call("sh", {"c": "echo \"$HOME\""}, "deny"),
        call("sh", {"c": "echo \"`id`\""}, "deny"),
        call("sh", {"c": "echo \"a\\\nb\""}, "deny"),
        call("sh", {"c": "echo \"a\nb\""}, "allow"),
        call("sh", {"c": "echo a\\\nb"}, "deny"),
        call("sh", {"c": "echo a\\"}, "deny"),
        call("sh", {"c": "echo a\\ b"}, "allow"),
        # the unknown characters, unquoted
        call("sh", {"c": "echo $HOME"}, "deny"),
        call("sh", {"c": "echo `id`"}, "deny"),
        call("sh", {"c": "echo a > /etc/passwd"}, "deny"),
        call("sh", {"c": "echo a<b"}, "deny"),
        call("sh", {"c": "(echo a)"}, "deny"),
        call("sh", {"c": "echo {a,b}"}, "deny"),
        call("sh", {"c": "echo *.txt"}, "deny"),
        call("sh", {"c": "echo a?"}, "deny"),
        call("sh", {"c": "echo [ab]"}, "deny"),
        call("sh", {"c": "echo ~"}, "deny"),
        call("sh", {"c": "echo a~b"}, "deny"),
        call("sh", {"c": "echo a # comment"}, "deny"),
        call("sh", {"c": "echo a#b"}, "deny"),
        call("sh", {"c": "echo !!"}, "deny"),
        # `=`: only in the first word
        call("sh", {"c": "echo a=b"}, "allow"),
        call("sh", {"c": "A=1 echo a"}, "deny"),
        call("sh", {"c": "git status; A=1 echo a"}, "deny"),
        call("sh", {"c": "'A=1' echo"}, "deny"),
        call("sh", {"c": "'echo=' x"}, "deny"),
        call("sh", {"c": "echo x; =x"}, "deny"),
        # reserved first words
        call("sh", {"c": "if echo; then echo; fi"}, "deny"),
        call("sh", {"c": "time echo x"}, "deny"),
        call("sh", {"c": "echo time if"}, "allow"),
        call("sh", {"c": "'if' echo"}, "deny"),
        # matching words
        call("sh", {"c": "git  status"}, "allow"),
        call("sh", {"c": "git status x"}, "deny"),
        call("sh", {"c": "git diff"}, "allow"),
        call("sh", {"c": "git diff a b c"}, "allow"),
        call("sh", {"c": "git commit -m"}, "allow"),
        call("sh", {"c": "git commit"}, "deny"),
        call("sh", {"c": "echo"}, "allow"),
        call("sh", {"c": "Echo x"}, "deny"),
        call("sh", {"c": "'git status'"}, "deny"),
        call("sh", {"c": "echo ''"}, "allow"),
    ),
    case(
        "shell: a deny rule and an allow rule judge unknown differently",
        {"allow": ["x"], "rules": [
            rule("shell-ok", "sh", "allow", {"c": {"command": "*"}}),
            rule("shell-no", "sh_strict", "deny", {"c": {"command": "sudo *"}}),
        ], "default": "allow"},
        call("sh", {"c": "anything at all"}, "allow", "allowed by rule: shell-ok"),
        call("sh", {"c": "''"}, "allow"),
        call("sh", {"c": "a $b"}, "allow", "no matching rule (default: allow)"),
        call("sh", {"c": 5}, "allow", "no matching rule (default: allow)"),
        call("sh_strict", {"c": "ls"}, "allow", "no matching rule (default: allow)"),
        call("sh_strict", {"c": "ls $b"}, "deny", "denied by rule: shell-no"),
        call("sh_strict", {"c": "sudo"}, "deny"),
        call("sh_strict", {"c": ["ls", 5]}, "deny"),
        call("sh_strict", {"c": ["ls", ["sudo"]]}, "deny"),
        call("sh_strict", {}, "deny"),
    ),
    case(
        "glob and not_glob",
        {"rules": [
            rule("no-evil", "send_*", "deny", {"to": {"glob": ["*@evil.com", "*@evil.org"]}}),
            rule("ours", "send_*", "allow", {"to": {"glob": "*@ok.com"}}),
            rule("not-ours", "mail", "require_approval", {"to": {"not_glob": ["*@ok.com", "*@ok.org"]}}),
        ]},
        call("send_email", {"to": ["a@ok.com", "b@evil.com"]}, "deny", "denied by rule: no-evil"),
        call("send_email", {"to": ["a@ok.com", "b@ok.com"]}, "allow", "allowed by rule: ours"),
        call("send_email", {"to": "a@ok.com"}, "allow"),
        call("send_email", {"to": "a@ok.org"}, "deny", NOT_IN_ALLOW),
        call("send_email", {"to": "x@evil.org"}, "deny", "denied by rule: no-evil"),
        call("send_email", {"to": 1}, "deny", "denied by rule: no-evil"),
        call("send_email", {"to": {"a": "x@ok.com"}}, "deny", "denied by rule: no-evil"),
        call("send_email", {"to": []}, "allow", "allowed by rule: ours"),
        call("mail", {"to": "a@ok.org"}, "deny", NOT_IN_ALLOW),
        call("mail", {"to": "a@other.org"}, "require_approval", "requires approval per rule: not-ours"),
        call("mail", {"to": True}, "require_approval"),
    ),
    case(
        "in and not_in: scalars by type and value",
        {"rules": [
            rule("one", "t_in", "allow", {"v": {"in": [1, "x", True]}}),
            rule("notone", "t_notin", "allow", {"v": {"not_in": [1, "x", False]}}),
            rule("big", "t_big", "allow", {"v": {"in": [9007199254740993]}}),
        ]},
        call("t_in", {"v": 1}, "allow", "allowed by rule: one"),
        call("t_in", {"v": 1.0}, "allow"),
        call("t_in", {"v": "x"}, "allow"),
        call("t_in", {"v": True}, "allow"),
        call("t_in", {"v": "1"}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": "X"}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": False}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": 1.5}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": None}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": {}}, "deny", NOT_IN_ALLOW),
        call("t_in", {"v": [1, "x"]}, "allow"),
        call("t_in", {"v": [1, [1]]}, "deny", NOT_IN_ALLOW),
        call("t_notin", {"v": 2}, "allow", "allowed by rule: notone"),
        call("t_notin", {"v": True}, "allow"),
        call("t_notin", {"v": 0}, "allow"),
        call("t_notin", {"v": "1"}, "allow"),
        call("t_notin", {"v": 1.0}, "deny", NOT_IN_ALLOW),
        call("t_notin", {"v": False}, "deny", NOT_IN_ALLOW),
        call("t_notin", {}, "deny", NOT_IN_ALLOW),
        call("t_big", {"v": 9007199254740993}, "allow"),
        call("t_big", {"v": 9007199254740992}, "deny", NOT_IN_ALLOW),
        call("t_big", {"v": 9007199254740992.0}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "comparisons: exact values, doubt towards the restriction",
        {"rules": [
            rule("cap", "pay", "deny", {"amount": {"gt": 1000}}),
            rule("range", "pay", "allow", {"amount": {"gte": 0, "lt": 9007199254740993}}),
            rule("ask", "pay", "require_approval", {"amount": {"gte": 500}}),
        ]},
        call("pay", {"amount": 10}, "allow", "allowed by rule: range"),
        call("pay", {"amount": 0}, "allow"),
        call("pay", {"amount": -0.0}, "allow"),
        call("pay", {"amount": -1}, "deny", NOT_IN_ALLOW),
        call("pay", {"amount": 499.99}, "allow"),
        call("pay", {"amount": 500}, "require_approval", "requires approval per rule: ask"),
        call("pay", {"amount": 1000}, "require_approval"),
        call("pay", {"amount": 1000.0000001}, "deny", "denied by rule: cap"),
        call("pay", {"amount": "10"}, "deny", "denied by rule: cap"),
        call("pay", {"amount": True}, "deny", "denied by rule: cap"),
        call("pay", {}, "deny", "denied by rule: cap"),
        call("pay", {"amount": [1, 2000]}, "deny", "denied by rule: cap"),
        call("pay", {"amount": [1, 600]}, "require_approval"),
        call("pay", {"amount": [1, 2]}, "allow"),
    ),
    case(
        "comparisons: ints beyond 2**53",
        {"rules": [
            rule("le", "n", "allow", {"v": {"lte": 9007199254740992}}),
        ]},
        call("n", {"v": 9007199254740992}, "allow"),
        call("n", {"v": 9007199254740993}, "deny", NOT_IN_ALLOW),
        call("n", {"v": 9007199254740992.0}, "allow"),
        call("n", {"v": 18446744073709551615}, "deny", NOT_IN_ALLOW),
        call("n", {"v": -9223372036854775808}, "allow"),
        call("n", {"v": 1e300}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "path_under: normalised, `/` holds everything absolute",
        {"rules": [
            rule("root", "any_path", "allow", {"p": {"path_under": "/"}}),
            rule("ws", "ws", "allow", {"p": {"path_under": ["/workspace/", "/tmp/./x/../y"]}}),
        ]},
        call("any_path", {"p": "/"}, "allow"),
        call("any_path", {"p": "/../.."}, "allow"),
        call("any_path", {"p": "//etc"}, "allow"),
        call("any_path", {"p": "etc"}, "deny", NOT_IN_ALLOW),
        call("any_path", {"p": ""}, "deny", NOT_IN_ALLOW),
        call("any_path", {"p": "/a\u0000"}, "deny", NOT_IN_ALLOW),
        call("ws", {"p": "/workspace"}, "allow"),
        call("ws", {"p": "/workspace/"}, "allow"),
        call("ws", {"p": "/workspace/a/../../workspace/b"}, "allow"),
        call("ws", {"p": "/workspace/.."}, "deny", NOT_IN_ALLOW),
        call("ws", {"p": "/workspace2"}, "deny", NOT_IN_ALLOW),
        call("ws", {"p": "/tmp/y/z"}, "allow"),
        call("ws", {"p": "/tmp/x"}, "deny", NOT_IN_ALLOW),
        call("ws", {"p": "/tmp/y/../x"}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "path_glob: fnmatch on the normalised path",
        {"rules": [
            rule("etc", "rd", "deny", {"p": {"path_glob": "/etc/*"}}),
            rule("top", "rd", "allow", {"p": {"path_glob": ["/?", "/data/*.csv"]}}),
        ]},
        call("rd", {"p": "/data/../etc/passwd"}, "deny", "denied by rule: etc"),
        call("rd", {"p": "/etc"}, "deny", NOT_IN_ALLOW),
        call("rd", {"p": "/etc/"}, "deny", NOT_IN_ALLOW),
        call("rd", {"p": "//etc//x"}, "deny", "denied by rule: etc"),
        call("rd", {"p": "/data/a/b.csv"}, "allow", "allowed by rule: top"),
        call("rd", {"p": "/data/./b.csv"}, "allow"),
        call("rd", {"p": "/a/"}, "allow"),
        call("rd", {"p": "data/b.csv"}, "deny", "denied by rule: etc"),
    ),
    case(
        "present: never unknown, not element-wise",
        {"rules": [
            rule("needs-ticket", "deploy", "allow", {"ticket": {"present": True}}),
            rule("no-force", "deploy", "deny", {"force": {"present": True}}),
            rule("quiet-ok", "log", "allow", {"level": {"present": False}}),
        ]},
        call("deploy", {"ticket": "T-1"}, "allow", "allowed by rule: needs-ticket"),
        call("deploy", {"ticket": ""}, "allow"),
        call("deploy", {"ticket": []}, "allow"),
        call("deploy", {"ticket": False}, "allow"),
        call("deploy", {"ticket": None}, "deny", NOT_IN_ALLOW),
        call("deploy", {}, "deny", NOT_IN_ALLOW),
        call("deploy", {"ticket": 1, "force": False}, "deny", "denied by rule: no-force"),
        call("deploy", {"ticket": 1, "force": None}, "allow"),
        call("log", {}, "allow", "allowed by rule: quiet-ok"),
        call("log", {"level": None}, "allow"),
        call("log", {"level": "debug"}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "argument paths: nested keys, missing vs null",
        {"rules": [
            rule("inner", "mail", "allow", {"recipient.email": {"glob": "*@ok.com"}}),
            rule("deep", "mail", "deny", {"a.b.c": {"in": ["bad"]}}),
        ]},
        call("mail", {"recipient": {"email": "x@ok.com"}, "a": {"b": {"c": "good"}}}, "allow",
             "allowed by rule: inner"),
        call("mail", {"recipient": {"email": "x@ok.com"}, "a": {"b": {"c": "bad"}}}, "deny",
             "denied by rule: deep"),
        call("mail", {"recipient": {"email": "x@ok.com"}}, "deny", "denied by rule: deep"),
        call("mail", {"recipient": {"email": "x@ok.com"}, "a": {"b": "c"}}, "deny", "denied by rule: deep"),
        call("mail", {"recipient": {"email": "x@ok.com"}, "a": {"b": [{"c": "good"}]}}, "deny",
             "denied by rule: deep"),
        call("mail", {"recipient.email": "x@ok.com", "a": {"b": {"c": 1}}}, "deny", NOT_IN_ALLOW),
        call("mail", {"recipient": [{"email": "x@ok.com"}], "a": {"b": {"c": 1}}}, "deny", NOT_IN_ALLOW),
        call("mail", {"recipient": {"email": ["x@ok.com", "y@ok.com"]}, "a": {"b": {"c": []}}}, "allow"),
    ),
    case(
        "three-valued AND inside one condition",
        {"rules": [
            rule("restrict", "r", "deny", {"v": {"glob": "a*", "lt": 5}}),
            rule("permit", "p", "allow", {"v": {"glob": "a*", "not_glob": "*z"}}),
        ], "default": "allow"},
        # glob true, lt unknown (a string): unknown -> the deny fires
        call("r", {"v": "abc"}, "deny", "denied by rule: restrict"),
        # glob false: false whatever lt says
        call("r", {"v": "xyz"}, "allow", "no matching rule (default: allow)"),
        # glob unknown, lt true: unknown -> fires
        call("r", {"v": 3}, "deny"),
        # glob unknown, lt false: false
        call("r", {"v": 7}, "allow", "no matching rule (default: allow)"),
        call("p", {"v": "abc"}, "allow", "allowed by rule: permit"),
        call("p", {"v": "abz"}, "allow", "no matching rule (default: allow)"),
        call("p", {"v": 1}, "allow", "no matching rule (default: allow)"),
    ),
    case(
        "precedence: deny list, deny rules, approval list, approval rules, allow list, allow rules",
        {"allow": ["t*"], "deny": ["tx"], "require_approval": ["ta"], "rules": [
            rule("a1", "t*", "allow"),
            rule("r1", "tb", "require_approval"),
            rule("d1", ["ta", "tc"], "deny", reason="no ta"),
            rule("d2", "t*", "deny"),
        ], "default": "allow"},
        call("tx", {}, "deny", "denied by pattern: tx"),
        call("ta", {}, "deny", "no ta", rule={"id": "d1"}),
        call("tb", {}, "deny", "denied by rule: d2"),
        call("zz", {}, "allow", "no matching rule (default: allow)"),
    ),
    case(
        "precedence: approval list over approval rules over allows",
        {"allow": ["t*"], "require_approval": ["ta"], "rules": [
            rule("r0", "t?", "require_approval", {"x": {"present": True}}),
            rule("r1", "t?", "require_approval", reason="second opinion"),
            rule("a0", "u", "allow"),
        ]},
        call("ta", {"x": 1}, "require_approval", "requires approval per pattern: ta"),
        call("tb", {"x": 1}, "require_approval", "requires approval per rule: r0"),
        call("tb", {}, "require_approval", "second opinion", rule={"id": "r1"}),
        call("tbb", {}, "allow", "allowed by pattern: t*"),
        call("u", {}, "allow", "allowed by rule: a0"),
        call("v", {}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "an enforced allow rule alone makes 'there is an allow'",
        {"rules": [rule("only", "never_called", "allow")], "default": "allow"},
        call("other", {}, "allow", "no matching rule (default: allow)"),
    ),
    case(
        "an enforced allow rule alone, default deny: tokenfence's allow-list reason",
        {"rules": [rule("only", "never_called", "allow")]},
        call("other", {}, "deny", NOT_IN_ALLOW),
        call("never_called", {}, "allow", "allowed by rule: only"),
    ),
    case(
        "a shadow allow rule is not an allow",
        {"rules": [rule("try", "t", "allow", mode="shadow")]},
        call("t", {}, "deny", "no matching rule (default: deny)", shadow=[{"id": "try", "decision": "allow"}]),
        call("u", {}, "deny", "no matching rule (default: deny)", shadow=[]),
    ),
    case(
        "shadow rules: every one that fires, in file order, whatever decides",
        {"deny": ["drop_*"], "default": "allow", "rules": [
            rule("s-allow", "*", "allow", {"n": {"lt": 10}}, mode="shadow"),
            rule("s-deny", "*", "deny", {"n": {"gte": 10}}, mode="shadow"),
            rule("s-ask", "drop_*", "require_approval", mode="shadow", reason="unused"),
            rule("enforced", "x", "deny", mode="enforce"),
        ]},
        call("drop_t", {"n": 1}, "deny", "denied by pattern: drop_*", shadow=[
            {"id": "s-allow", "decision": "allow"}, {"id": "s-ask", "decision": "require_approval"}]),
        call("y", {"n": 11}, "allow", "no matching rule (default: allow)", shadow=[
            {"id": "s-deny", "decision": "deny"}]),
        # n missing: the permissive shadow rule does not fire, the restrictive one does
        call("x", {}, "deny", "denied by rule: enforced", shadow=[{"id": "s-deny", "decision": "deny"}]),
        call("y", {"n": [1, 20]}, "allow", shadow=[{"id": "s-deny", "decision": "deny"}]),
        call("y", {"n": []}, "allow", shadow=[{"id": "s-allow", "decision": "allow"}]),
    ),
    case(
        "a policy without rules decides as tokenfence",
        {"name": "db", "allow": ["read_*", "list_*"], "deny": ["drop_*", "*_all"],
         "require_approval": ["write_*"], "default": "deny", "audit": True},
        call("drop_all", {}, "deny", "denied by pattern: drop_*"),
        call("read_all", {}, "deny", "denied by pattern: *_all", rule={"list": "deny", "index": 1}),
        call("write_x", {"anything": [1, {"x": None}]}, "require_approval", "requires approval per pattern: write_*"),
        call("read_x", {}, "allow", "allowed by pattern: read_*"),
        call("exec", {}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "no allow at all",
        {"deny": ["d"], "default": "allow"},
        call("x", {}, "allow", "no matching rule (default: allow)"),
        call("d", {}, "deny", "denied by pattern: d"),
    ),
    case(
        "readings the contract leaves open (see AMBIGUOUS in reference.py)",
        {"rules": [
            rule("sh", "sh", "allow", {"c": {"command": ["*"]}}),
            rule("two", "two", "allow", {"c": {"command": ["git", "status"]}}),
            rule("tab", "tab", "allow", {"c": {"command": "a\tb *"}}),
            rule("empty-glob", "", "allow", {"v": {"glob": ""}}),
        ]},
        # only ONE trailing `;`, `&` or newline
        call("sh", {"c": "ls;\n"}, "deny", NOT_IN_ALLOW),
        call("sh", {"c": "ls & ;"}, "deny", NOT_IN_ALLOW),
        # a leading separator is an empty simple command
        call("sh", {"c": "; ls"}, "deny", NOT_IN_ALLOW),
        call("sh", {"c": "\nls"}, "deny", NOT_IN_ALLOW),
        # `=` unquoted anywhere in the first word
        call("sh", {"c": "'a'=b ls"}, "deny", NOT_IN_ALLOW),
        call("sh", {"c": "--opt=x"}, "deny", NOT_IN_ALLOW),
        call("sh", {"c": "a\\=b"}, "allow", "allowed by rule: sh"),
        # reserved words compared after quote removal
        call("sh", {"c": "\"time\" ls"}, "deny", NOT_IN_ALLOW),
        # quotes make a word, even an empty one
        call("sh", {"c": "''"}, "allow", "allowed by rule: sh"),
        call("sh", {"c": "'' ; \"\""}, "allow", "allowed by rule: sh"),
        # CR, NBSP, NUL are word characters
        call("sh", {"c": "ls\r"}, "allow"),
        call("sh", {"c": "ls\u00a0-la\u0000"}, "allow"),
        # an array value of `command` is an array of patterns
        call("two", {"c": "git"}, "allow", "allowed by rule: two"),
        call("two", {"c": "status"}, "allow"),
        call("two", {"c": "git status"}, "deny", NOT_IN_ALLOW),
        # a tab is part of a word glob
        call("tab", {"c": "'a\tb' c d"}, "allow", "allowed by rule: tab"),
        call("tab", {"c": "a b"}, "deny", NOT_IN_ALLOW),
        # a directory containing NUL is accepted
        # "" is a valid pattern, for tools and globs
        call("", {"v": ""}, "allow", "allowed by rule: empty-glob"),
        call("", {"v": "x"}, "deny", NOT_IN_ALLOW),
    ),
    case(
        "tool patterns: fnmatch, arrays, overlapping",
        {"rules": [
            rule("files", ["*_file", "[rw]*"], "allow"),
            rule("set", "x[!0-9]", "deny"),
        ], "default": "deny"},
        call("read_file", None, "allow", "allowed by rule: files"),
        call("rm", None, "allow"),
        call("xa", None, "deny", "denied by rule: set"),
        call("x1", None, "deny", NOT_IN_ALLOW),
        call("READ_FILE", None, "deny", NOT_IN_ALLOW),
    ),
]

# ---------------------------------------------------------------------------
# Errors: one defect each, the path that names it, and the message
# ---------------------------------------------------------------------------
#
# The message is the core's, as every binding shows it (the Rust Display,
# the npm PolicyError's .message, the Python PolicyError's str()): the
# description below after `{path}: `, except for an unknown key or operator,
# whose description names its place itself and is the whole message. The
# descriptions are the core's (src/conditions.rs, src/policy.rs) as written
# there, not the reference model's (its wording is its own; only its path
# is compared here). Every message the rules parser can produce has a case.

OK_RULE = {"id": "r", "tool": "t", "decision": "allow"}


def with_rule(**fields):
    r = dict(OK_RULE)
    for k, v in fields.items():
        if v is DROP:
            del r[k]
        else:
            r[k] = v
    return {"rules": [OK_RULE | {"id": "first"}, r]}


DROP = object()


def when(cond, path="x"):
    return with_rule(when={path: cond})


POLICY_KEYS = "name, allow, deny, require_approval, default, audit, rules"
RULE_KEYS = "id, tool, decision, when, reason, mode"
OPERATORS = "glob, not_glob, in, not_in, lt, lte, gt, gte, path_under, path_glob, command, present"
NOT_AN_ID = ("is not a valid rule id (1 to 64 characters: an ASCII letter or digit, "
             "then letters, digits, '_', '.', ':', '-')")
NOT_A_PATH = "is not an argument path: keys joined by '.', none of them empty"
NOT_ABSOLUTE = "is not an absolute path (it must start with '/' and hold no NUL)"
NOT_A_COMMAND = "is not a command pattern: word globs separated by single spaces, none empty"
SCALARS = "expected a non-empty array of strings, numbers or booleans, got"
DECISIONS = 'expected "allow", "deny" or "require_approval", got'
WORD_GLOBS = "a command pattern's word globs must be non-empty strings, got"

ERRORS = [
    # the policy's own keys (src/policy.rs)
    ("unknown top-level key", {"denny": ["x"]}, "denny",
     f'unknown key "denny" in policy (known keys: {POLICY_KEYS})'),
    ("rules misspelt", {"rule": []}, "rule",
     f'unknown key "rule" in policy (known keys: {POLICY_KEYS})'),
    ("deny element not a string", {"deny": [5]}, "deny[0]", "expected a string pattern, got number 5"),
    ("allow not an array", {"allow": "x"}, "allow", 'expected an array of string patterns, got string "x"'),
    ("default invalid", {"default": "maybe"}, "default", 'expected "allow" or "deny", got string "maybe"'),
    ("audit not a boolean", {"audit": 1}, "audit", "expected true or false, got number 1"),
    ("name not a string", {"name": 1}, "name", "expected a string, got number 1"),
    # `rules` (src/conditions.rs from here on)
    ("rules not an array", {"rules": {"id": "x"}}, "rules", "expected an array of rules, got an object"),
    ("rules null", {"rules": None}, "rules", "expected an array of rules, got null"),
    ("path_under directory with NUL", when({"path_under": "/x/\u0000/.."}), "rules[1].when.x.path_under",
     f'"/x/\\u0000/.." {NOT_ABSOLUTE}'),
    ("path_under directory with NUL, in an array", when({"path_under": ["/a", "/x\u0000"]}),
     "rules[1].when.x.path_under[1]", f'"/x\\u0000" {NOT_ABSOLUTE}'),
    ("rule not an object", {"rules": [OK_RULE, "deny x"]}, "rules[1]",
     'a rule must be a JSON object, got string "deny x"'),
    ("unknown rule key", with_rule(tools="t"), "rules[1].tools",
     f'unknown key "tools" in rules[1] (known keys: {RULE_KEYS})'),
    ("missing id", with_rule(id=DROP), "rules[1].id", 'missing field "id"'),
    ("missing tool", with_rule(tool=DROP), "rules[1].tool", 'missing field "tool"'),
    ("missing decision", with_rule(decision=DROP), "rules[1].decision", 'missing field "decision"'),
    ("id empty", with_rule(id=""), "rules[1].id", f'"" {NOT_AN_ID}'),
    ("id starts with _", with_rule(id="_x"), "rules[1].id", f'"_x" {NOT_AN_ID}'),
    ("id with a space", with_rule(id="a b"), "rules[1].id", f'"a b" {NOT_AN_ID}'),
    ("id with a slash", with_rule(id="a/b"), "rules[1].id", f'"a/b" {NOT_AN_ID}'),
    # a quoted value is cut to its first 64 characters
    ("id of 65 characters", with_rule(id="a" * 65), "rules[1].id",
     f'"{"a" * 64}…" (65 characters) {NOT_AN_ID}'),
    ("id not a string", with_rule(id=1), "rules[1].id", "expected a string, got number 1"),
    ("id not ASCII", with_rule(id="é"), "rules[1].id", f'"é" {NOT_AN_ID}'),
    ("id with a trailing newline", with_rule(id="a\n"), "rules[1].id", f'"a\\n" {NOT_AN_ID}'),
    ("duplicate id", {"rules": [OK_RULE, rule("s", "t", "deny"), OK_RULE | {"tool": "u"}]}, "rules[2].id",
     'duplicate rule id "r" (rules[0] has it already): ids must be unique'),
    ("tool empty array", with_rule(tool=[]), "rules[1].tool",
     "expected a tool pattern or a non-empty array of them, got an empty array"),
    ("tool not a string", with_rule(tool=5), "rules[1].tool",
     "expected a tool pattern or a non-empty array of them, got number 5"),
    ("tool element not a string", with_rule(tool=["a", None]), "rules[1].tool[1]",
     "expected a tool pattern, got null"),
    ("decision invalid", with_rule(decision="approve"), "rules[1].decision", f'{DECISIONS} string "approve"'),
    ("decision is default-ish", with_rule(decision="Allow"), "rules[1].decision", f'{DECISIONS} string "Allow"'),
    ("decision not a string", with_rule(decision=True), "rules[1].decision", f"{DECISIONS} boolean true"),
    ("when not an object", with_rule(when=[]), "rules[1].when",
     "expected an object of argument conditions, got an array"),
    ("when null", with_rule(when=None), "rules[1].when", "expected an object of argument conditions, got null"),
    ("empty argument path", when({"present": True}, path=""), "rules[1].when.", f'"" {NOT_A_PATH}'),
    ("empty path segment", when({"present": True}, path="a..b"), "rules[1].when.a..b", f'"a..b" {NOT_A_PATH}'),
    ("trailing dot in path", when({"present": True}, path="a."), "rules[1].when.a.", f'"a." {NOT_A_PATH}'),
    ("condition not an object", when("x"), "rules[1].when.x",
     'expected a condition object such as {"glob": "*.txt"}, got string "x"'),
    ("condition empty", when({}), "rules[1].when.x", "a condition needs at least one operator"),
    ("unknown operator", when({"eq": 1}), "rules[1].when.x.eq",
     f'unknown operator "eq" in rules[1].when.x (known: {OPERATORS})'),
    ("unknown operator after a good one", when({"glob": "a", "regex": "a"}), "rules[1].when.x.regex",
     f'unknown operator "regex" in rules[1].when.x (known: {OPERATORS})'),
    ("lte a numeric string", {"rules": [OK_RULE, OK_RULE | {"id": "s"}, OK_RULE | {"id": "u"},
                                        rule("v", "refund", "allow", {"amount": {"lte": "100"}})]},
     "rules[3].when.amount.lte", 'expected a number, got string "100"'),
    ("lt a boolean", when({"lt": True}), "rules[1].when.x.lt", "expected a number, got boolean true"),
    ("gt null", when({"gt": None}), "rules[1].when.x.gt", "expected a number, got null"),
    ("gte an array", when({"gte": [1]}), "rules[1].when.x.gte", "expected a number, got an array"),
    ("glob a number", when({"glob": 1}), "rules[1].when.x.glob",
     "expected a pattern or a non-empty array of them, got number 1"),
    ("glob empty array", when({"glob": []}), "rules[1].when.x.glob",
     "expected a pattern or a non-empty array of them, got an empty array"),
    ("not_glob element not a string", when({"not_glob": ["a", 1]}), "rules[1].when.x.not_glob[1]",
     "expected a pattern, got number 1"),
    ("in not an array", when({"in": "EUR"}), "rules[1].when.x.in", f'{SCALARS} string "EUR"'),
    ("in empty", when({"in": []}), "rules[1].when.x.in", f"{SCALARS} an empty array"),
    ("in holds null", when({"in": ["a", None]}), "rules[1].when.x.in[1]",
     "expected a string, number or boolean, got null"),
    ("not_in holds an array", when({"not_in": [[1]]}), "rules[1].when.x.not_in[0]",
     "expected a string, number or boolean, got an array"),
    ("not_in holds an object", when({"not_in": [1, {}]}), "rules[1].when.x.not_in[1]",
     "expected a string, number or boolean, got an object"),
    ("path_under relative", when({"path_under": "workspace"}), "rules[1].when.x.path_under",
     f'"workspace" {NOT_ABSOLUTE}'),
    ("path_under empty string", when({"path_under": ""}), "rules[1].when.x.path_under", f'"" {NOT_ABSOLUTE}'),
    ("path_under relative element", when({"path_under": ["/a", "./b"]}), "rules[1].when.x.path_under[1]",
     f'"./b" {NOT_ABSOLUTE}'),
    ("path_under element not a string", when({"path_under": ["/a", 1]}), "rules[1].when.x.path_under[1]",
     "expected an absolute path, got number 1"),
    ("path_under empty array", when({"path_under": []}), "rules[1].when.x.path_under",
     "expected an absolute path or a non-empty array of them, got an empty array"),
    ("path_under a number", when({"path_under": 1}), "rules[1].when.x.path_under",
     "expected an absolute path or a non-empty array of them, got number 1"),
    ("path_glob empty array", when({"path_glob": []}), "rules[1].when.x.path_glob",
     "expected a pattern or a non-empty array of them, got an empty array"),
    ("command empty pattern", when({"command": ""}), "rules[1].when.x.command", f'"" {NOT_A_COMMAND}'),
    ("command empty array", when({"command": []}), "rules[1].when.x.command",
     "expected a command pattern or a non-empty array of them, got an empty array"),
    ("command an object", when({"command": {"git": "status"}}), "rules[1].when.x.command",
     "expected a command pattern or a non-empty array of them, got an object"),
    ("command empty word glob", when({"command": "git  status"}), "rules[1].when.x.command",
     f'"git  status" {NOT_A_COMMAND}'),
    ("command trailing space", when({"command": ["ls *", "git "]}), "rules[1].when.x.command[1]",
     f'"git " {NOT_A_COMMAND}'),
    ("command empty array-form pattern", when({"command": [[]]}), "rules[1].when.x.command[0]",
     "a command pattern must have at least one word glob"),
    ("command empty word glob in array form", when({"command": [["git", ""]]}), "rules[1].when.x.command[0][1]",
     f'{WORD_GLOBS} string ""'),
    ("command word glob not a string", when({"command": [["git", 1]]}), "rules[1].when.x.command[0][1]",
     f"{WORD_GLOBS} number 1"),
    ("command pattern a number", when({"command": ["ls", 5]}), "rules[1].when.x.command[1]",
     "expected a command pattern (a string, or an array of word globs), got number 5"),
    ("command with another operator", when({"glob": "*", "command": "ls"}), "rules[1].when.x.command",
     "`command` must be the only operator of its condition"),
    ("present with another operator", when({"present": True, "glob": "*"}), "rules[1].when.x.present",
     "`present` must be the only operator of its condition"),
    ("present not a boolean", when({"present": 1}), "rules[1].when.x.present", "expected true or false, got number 1"),
    ("reason empty", with_rule(reason=""), "rules[1].reason", 'expected a non-empty string, got string ""'),
    ("reason null", with_rule(reason=None), "rules[1].reason", "expected a non-empty string, got null"),
    ("reason not a string", with_rule(reason=["x"]), "rules[1].reason", "expected a non-empty string, got an array"),
    ("mode invalid", with_rule(mode="Shadow"), "rules[1].mode", 'expected "enforce" or "shadow", got string "Shadow"'),
    ("mode null", with_rule(mode=None), "rules[1].mode", 'expected "enforce" or "shadow", got null'),
]


def message(path: str, description: str) -> str:
    """The error as every binding shows it: `{path}: {description}`, except
    for an unknown key or operator, whose description names its place
    (`unknown operator "eq" in rules[1].when.x`)."""
    if description.startswith("unknown "):
        parent, _, key = path.rpartition(".")
        assert f"{json.dumps(key)} in {parent or 'policy'} " in description, (path, description)
        return description
    return f"{path}: {description}"


# ---------------------------------------------------------------------------


def build() -> dict:
    cases_out = []
    for c in CASES:
        policy = reference.load(c["policy"])
        calls_out = []
        for k, cl in enumerate(c["calls"]):
            got = reference.decide(policy, cl["tool"], cl["args"])
            want = cl["want"]
            where = f"{c['name']!r} call {k} ({cl['tool']} {cl['args']!r})"
            assert got["decision"] == want["decision"], f"{where}: model says {got}, table says {want}"
            if want["reason"] is not None:
                assert got["reason"] == want["reason"], f"{where}: model says {got}, table says {want}"
            if want["shadow"] is not None:
                assert got["shadow"] == want["shadow"], f"{where}: model says {got}, table says {want}"
            if want["rule"] is not None:
                assert got["rule"] == want["rule"], f"{where}: model says {got}, table says {want}"
            calls_out.append({"tool": cl["tool"], "args": cl["args"] if cl["args"] is not None else {},
                              "expect": got})
        cases_out.append({"name": c["name"], "policy": c["policy"], "calls": calls_out})

    errors_out = []
    names = set()
    for name, policy, path, description in ERRORS:
        assert name not in names, name
        names.add(name)
        try:
            reference.load(policy)
        except reference.RefError as e:
            assert e.path == path, f"{name!r}: model names {e.path!r}, table says {path!r}"
        else:
            raise AssertionError(f"{name!r}: the model accepts the policy")
        errors_out.append({"name": name, "policy": policy, "path": path,
                           "message": message(path, description)})
    return {"cases": cases_out, "errors": errors_out}


def render(data: dict) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    data = build()
    text = render(data)
    n_calls = sum(len(c["calls"]) for c in data["cases"])
    n_messages = len({e["message"] for e in data["errors"]})
    if "--check" in sys.argv[1:]:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is stale: run python3 {Path(__file__).relative_to(HERE.parent.parent)}")
            return 1
        print(f"{OUT.name}: up to date ({len(data['cases'])} cases, {n_calls} calls, {len(data['errors'])} errors, {n_messages} distinct messages)")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(data['cases'])} cases, {n_calls} calls, {len(data['errors'])} errors, {n_messages} distinct messages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
