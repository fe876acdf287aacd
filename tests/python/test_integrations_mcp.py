"""agentguard.integrations.mcp against the real MCP SDK: an in-process
MCPServer reached through mcp.Client's memory streams; a tool that must
not run records that it ran."""

import asyncio
import runpy
import subprocess
import sys

import pytest
from conftest import ROOT

from agentguard import Policy
from agentguard.integrations.mcp import GuardedSession, denied_result, guard_session

pytestmark = pytest.mark.timeout(60)

mcp = pytest.importorskip("mcp")
from mcp import Client  # noqa: E402
from mcp.server.mcpserver import MCPServer  # noqa: E402

SPEC = dict(
    allow=["read_file", "list_files"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[
        {"id": "workspace-writes", "tool": "write_file", "decision": "allow",
         "when": {"path": {"path_under": "/workspace"}}},
        {"id": "no-secrets", "tool": "*_file", "decision": "deny",
         "when": {"path": {"path_glob": ["*.env"]}}, "reason": "secrets are off limits"},
        {"id": "never-shell", "tool": "run_shell", "decision": "deny"},
    ],
)


def server_and_log():
    ran = []
    server = MCPServer("t")

    @server.tool()
    def read_file(path: str) -> str:
        ran.append(("read_file", path))
        return f"read {path}"

    @server.tool()
    def write_file(path: str) -> str:
        ran.append(("write_file", path))
        return f"wrote {path}"

    @server.tool()
    def drop_table(name: str) -> str:
        ran.append(("drop_table", name))
        return "dropped"

    @server.tool()
    def run_shell(command: str) -> str:
        ran.append(("run_shell", command))
        return "ran"

    @server.tool()
    def git_push(branch: str) -> str:
        ran.append(("git_push", branch))
        return f"pushed {branch}"

    @server.tool()
    def delete_user(id: int) -> str:
        ran.append(("delete_user", id))
        return "deleted"

    return server, ran


def run(coro_fn, **kw):
    server, ran = server_and_log()

    async def main():
        async with Client(server) as client:
            return await coro_fn(client, **kw)

    return asyncio.run(main()), ran


def text(result):
    return result.content[0].text


def test_list_tools_hides_exactly_the_always_denied_tools():
    policy = Policy(**SPEC)

    async def go(client):
        return [t.name for t in (await guard_session(client.session, policy).list_tools()).tools]

    names, _ = run(go)
    # drop_table: a deny pattern; run_shell: a deny rule without conditions;
    # delete_user: not allowed and no rule applies (default deny).
    # write_file stays: allowed under /workspace. git_push: approval.
    assert names == ["read_file", "write_file", "git_push"]
    assert policy.audit_log == []  # listing decides nothing about calls


def test_always_denied_is_never_claimed_when_arguments_can_allow():
    from agentguard.integrations import always_denied

    p = Policy(**SPEC)
    assert always_denied(p, "drop_x") and always_denied(p, "run_shell") and always_denied(p, "other")
    assert not always_denied(p, "write_file")  # evaluate() without args denies, a path allows
    assert p.evaluate("write_file").denied
    assert not always_denied(p, "read_file") and not always_denied(p, "git_push")
    # A shadow rule decides nothing: the tool is still always denied.
    shadow = Policy(rules=[{"id": "s", "tool": "x", "decision": "allow", "mode": "shadow"},
                           {"id": "a", "tool": "y", "decision": "allow"}])
    assert always_denied(shadow, "x") and not always_denied(shadow, "y")
    assert not always_denied(Policy(default="allow"), "anything")


def test_allowed_denied_and_condition_breaking_calls():
    policy = Policy(**SPEC)

    async def go(client):
        s = guard_session(client.session, policy, context={"agent": "a1"})
        return [
            await s.call_tool("read_file", {"path": "/workspace/x"}),
            await s.call_tool("drop_table", {"name": "users"}),
            await s.call_tool("write_file", {"path": "/etc/passwd"}),
            await s.call_tool("write_file", {"path": "/workspace/.env"}),
            await s.call_tool("write_file", {"path": "/workspace/ok"}),
            await s.call_tool("no_such_tool", {}),
        ]

    results, ran = run(go)
    assert ran == [("read_file", "/workspace/x"), ("write_file", "/workspace/ok")]
    ok, drop, outside, secret, inside, unknown = results
    assert not ok.is_error and text(ok) == "read /workspace/x"
    assert drop.is_error and text(drop) == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert drop.structured_content["agentguard"]["rule"] == {"list": "deny", "index": 0}
    assert text(outside) == ("Tool 'write_file' denied: not in allow list (default: deny)")
    assert text(secret) == "Tool 'write_file' denied: secrets are off limits (rule: no-secrets)"
    assert text(inside) == "wrote /workspace/ok"
    assert unknown.is_error
    log = policy.audit_log
    assert len(log) == 6  # exactly one entry per attempted call
    assert [e.decision for e in log] == ["allow", "deny", "deny", "deny", "allow", "deny"]
    assert all(e.context == {"agent": "a1"} for e in log)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_approval_gated_call_runs_only_when_approved(kind):
    asked = []

    def sync_approver(req):
        asked.append((req.tool, dict(req.args), req.result.reason, req.context))
        return req.args["branch"] == "main"

    async def async_approver(req):
        await asyncio.sleep(0)
        return sync_approver(req)

    policy = Policy(**SPEC)

    async def go(client):
        s = guard_session(client.session, policy, context={"run": "r1"},
                          approver=sync_approver if kind == "sync" else async_approver)
        return (await s.call_tool("git_push", {"branch": "main"}),
                await s.call_tool("git_push", {"branch": "prod"}),
                await s.call_tool("read_file", {"path": "/a"}))

    (yes, no, _), ran = run(go)
    assert ran == [("git_push", "main"), ("read_file", "/a")]
    assert text(yes) == "pushed main"
    assert no.is_error
    assert text(no) == ("Tool 'git_push' denied: approval denied via callback (pattern: git_push)")
    # The approver is asked only for the approval-gated calls, with the rule and the run's context.
    assert asked == [("git_push", {"branch": "main"}, "requires approval per pattern: git_push", {"run": "r1"}),
                     ("git_push", {"branch": "prod"}, "requires approval per pattern: git_push", {"run": "r1"})]
    assert [(e.decision, e.reason) for e in policy.audit_log] == [
        ("allow", "approved via callback (pattern: git_push)"),
        ("deny", "approval denied via callback (pattern: git_push)"),
        ("allow", "allowed by pattern: read_file"),
    ]


def test_without_an_approver_an_approval_gated_call_never_runs():
    policy = Policy(**SPEC)

    async def go(client):
        return await guard_session(client.session, policy).call_tool("git_push", {"branch": "main"})

    result, ran = run(go)
    assert ran == [] and result.is_error
    assert text(result) == "Tool 'git_push' was not run: requires approval per pattern: git_push; it needs a person's approval."
    [entry] = policy.audit_log
    assert entry.decision == "require_approval"


def leaf(fn):
    """The exception fn raises, out of the task groups' ExceptionGroups."""
    try:
        fn()
    except BaseException as e:  # noqa: BLE001
        while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
            e = e.exceptions[0]
        return e
    raise AssertionError("did not raise")


def test_an_approver_that_fails_or_answers_a_non_bool_fails_closed():
    policy = Policy(**SPEC)

    def boom(req):
        raise RuntimeError("approver down")

    async def go(client, approver):
        return await guard_session(client.session, policy, approver=approver).call_tool("git_push", {"branch": "m"})

    assert isinstance(leaf(lambda: run(go, approver=boom)), RuntimeError)
    e = leaf(lambda: run(go, approver=lambda req: "yes"))
    assert isinstance(e, TypeError) and "must return True or False" in str(e)
    assert policy.audit_log == []  # nothing recorded, nothing ran


def test_a_policy_with_its_own_async_on_approval_is_awaited():
    async def on_approval(result):
        return True

    policy = Policy(**SPEC, on_approval=on_approval)

    async def go(client):
        return await guard_session(client.session, policy).call_tool("git_push", {"branch": "x"})

    result, ran = run(go)
    assert text(result) == "pushed x" and ran == [("git_push", "x")]
    assert [e.reason for e in policy.audit_log] == ["approved via callback (pattern: git_push)"]


def test_context_per_run_and_the_wrapper_delegates():
    policy = Policy(**SPEC)

    async def go(client):
        base = guard_session(client, policy)  # an mcp.Client works too
        assert isinstance(base, GuardedSession) and base.session is client and base.policy is policy
        await base.with_context({"user": "u1"}).call_tool("read_file", {"path": "/1"})
        await base.with_context({"user": "u2"}).call_tool("read_file", {"path": "/2"})
        assert base.server_info.name == "t"  # everything else is the client's
        return [t.name for t in (await base.list_tools()).tools]

    names, ran = run(go)
    assert "drop_table" not in names and len(ran) == 2
    assert [e.context for e in policy.audit_log] == [{"user": "u1"}, {"user": "u2"}]


def test_denied_result_and_bad_policy():
    r = denied_result(Policy(deny=["x"]).evaluate("x"))
    assert r.is_error and r.structured_content["agentguard"]["decision"] == "deny"
    with pytest.raises(TypeError, match="agentguard.Policy"):
        guard_session(object(), {"deny": ["x"]})


def test_the_example_runs_and_is_the_readme_section():
    example = ROOT / "examples" / "adapters" / "python" / "mcp_client.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in readme


def test_the_call_sent_is_the_call_decided_even_if_the_caller_changes_its_arguments():
    policy = Policy(**SPEC)
    args = {"branch": "main"}

    async def approver(req):
        ok = req.args["branch"] == "main"
        await asyncio.sleep(0)
        args["branch"] = "prod"  # the caller's dict, changed while the call waits
        return ok

    async def go(client):
        s = guard_session(client.session, policy, approver=approver)
        return await s.call_tool("git_push", args)

    r, ran = run(go)
    assert ran == [("git_push", "main")]
    assert text(r) == "pushed main"
    assert [e.decision for e in policy.audit_log] == ["allow"]


# --- remote mode: the policy on a gateway (agentguard serve), a GatewayClient
# where a Policy goes; approvals granted or denied on the gateway's API by a
# person (another thread) while the call waits.


def down_client():
    import socket

    from agentguard import GatewayClient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return GatewayClient(f"http://127.0.0.1:{s.getsockname()[1]}", "key")


def test_remote_nothing_is_hidden_and_the_gateway_decides_each_call(gateway):
    agent, client = gateway.client(SPEC)

    async def go(c):
        s = guard_session(c.session, client, context={"agent": "a1"})
        names = [t.name for t in (await s.list_tools()).tools]
        return names, [
            await s.call_tool("read_file", {"path": "/workspace/x"}),
            await s.call_tool("drop_table", {"name": "users"}),
            await s.call_tool("write_file", {"path": "/etc/passwd"}),
            await s.call_tool("write_file", {"path": "/workspace/.env"}),
            await s.call_tool("write_file", {"path": "/workspace/ok"}),
            await s.call_tool("run_shell", {"command": "ls"}),
        ]

    (names, results), ran = run(go)
    # The gateway decides each call: nothing is left out of the listing.
    assert names == ["read_file", "write_file", "drop_table", "run_shell", "git_push", "delete_user"]
    assert ran == [("read_file", "/workspace/x"), ("write_file", "/workspace/ok")]
    ok, drop, outside, secret, inside, shell = results
    assert text(ok) == "read /workspace/x" and text(inside) == "wrote /workspace/ok"
    assert drop.is_error and text(drop) == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert drop.structured_content["agentguard"]["rule"] == {"list": "deny", "index": 0}
    assert text(outside) == "Tool 'write_file' denied: not in allow list (default: deny)"
    assert text(secret) == "Tool 'write_file' denied: secrets are off limits (rule: no-secrets)"
    assert text(shell) == "Tool 'run_shell' denied: denied by rule: never-shell"
    records = gateway.audit(agent)  # one record per call, on the gateway
    assert [r["decision"] for r in records] == ["allow", "deny", "deny", "deny", "allow", "deny"]
    assert all(r["context"] == {"agent": "a1"} for r in records)


@pytest.mark.parametrize("grant", [True, False])
def test_remote_approval_granted_or_denied_on_the_gateway_while_the_call_waits(gateway, grant):
    agent, client = gateway.client(SPEC)
    person = gateway.answer_when_asked(agent, "git_push", grant=grant, after=0.5)

    async def go(c):
        return await guard_session(c.session, client, context={"run": "r1"}).call_tool("git_push", {"branch": "main"})

    result, ran = run(go)
    person.result()
    assert person.seen["args"] == {"branch": "main"} and person.seen["context"] == {"run": "r1"}
    if grant:
        assert ran == [("git_push", "main")] and text(result) == "pushed main"
        assert gateway.decisions(agent) == ["require_approval", "allow"]
    else:
        assert ran == [] and result.is_error
        assert text(result) == "Tool 'git_push' denied: approval denied via callback (pattern: git_push)"
        assert gateway.decisions(agent) == ["require_approval", "deny"]


def test_remote_not_granted_in_time_never_runs(gateway):
    agent, client = gateway.client(SPEC, approval_timeout=1)

    async def go(c):
        return await guard_session(c.session, client).call_tool("git_push", {"branch": "main"})

    result, ran = run(go)
    assert ran == [] and result.is_error
    assert text(result) == ("Tool 'git_push' was not run: requires approval per pattern: git_push; "
                            "it needs a person's approval.")
    assert gateway.decisions(agent) == ["require_approval"]
    assert [a["status"] for a in gateway.approvals() if a["agent"] == agent] == ["pending"]


def test_remote_takes_no_local_approver_and_a_gateway_failure_never_runs():
    from agentguard import GatewayError

    client = down_client()
    with pytest.raises(ValueError, match="granted or denied on the gateway"):
        guard_session(object(), client, approver=lambda req: True)

    server, ran = server_and_log()

    async def main():
        async with Client(server) as c:
            return await guard_session(c.session, client).call_tool("read_file", {"path": "/a"})

    e = leaf(lambda: asyncio.run(main()))
    assert isinstance(e, GatewayError) and e.code == "unreachable"
    assert ran == []
