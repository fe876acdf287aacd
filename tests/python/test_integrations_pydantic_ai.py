"""agentguard.integrations.pydantic_ai against the real Pydantic AI, driven
by its FunctionModel with scripted tool calls: tool preparation, allowed,
denied and condition-breaking calls, and approval-gated calls deferred,
then approved or refused."""

import asyncio
import subprocess
import sys

import pytest
from conftest import ROOT

from agentguard import Policy

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("pydantic_ai")
from pydantic_ai import Agent, DeferredToolRequests, FunctionToolset  # noqa: E402
from pydantic_ai.messages import (  # noqa: E402
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import FunctionModel  # noqa: E402

from agentguard.integrations.pydantic_ai import PolicyToolset, guard_toolset  # noqa: E402

SPEC = dict(
    allow=["read_file"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[{"id": "workspace-writes", "tool": "write_file", "decision": "allow",
            "when": {"path": {"path_under": "/workspace"}}}],
)


def make_toolset(ran):
    ts = FunctionToolset()

    @ts.tool_plain
    def read_file(path: str) -> str:
        ran.append(("read_file", path))
        return f"read {path}"

    @ts.tool_plain
    def write_file(path: str) -> str:
        ran.append(("write_file", path))
        return f"wrote {path}"

    @ts.tool_plain
    def drop_table(name: str) -> str:
        ran.append(("drop_table", name))
        return "dropped"

    @ts.tool_plain
    async def git_push(branch: str) -> str:
        ran.append(("git_push", branch))
        return f"pushed {branch}"

    return ts


def scripted(*turns):
    script = iter(turns)
    offered = []

    def model(messages, info):
        offered.append(sorted(t.name for t in info.function_tools))
        return ModelResponse(parts=next(script))

    return FunctionModel(model), offered


def returns(result):
    return {p.tool_call_id: p for m in result.all_messages() for p in m.parts if isinstance(p, ToolReturnPart)}


def test_denied_and_condition_breaking_calls_never_run_and_the_model_reads_why():
    ran = []
    policy = Policy(**SPEC)
    guard = guard_toolset(make_toolset(ran), policy, context={"agent": "a1"})
    model, offered = scripted(
        [ToolCallPart("read_file", {"path": "/x"}, tool_call_id="c1"),
         ToolCallPart("drop_table", {"name": "users"}, tool_call_id="c2"),
         ToolCallPart("write_file", {"path": "/etc/passwd"}, tool_call_id="c3"),
         ToolCallPart("write_file", {"path": "/workspace/ok"}, tool_call_id="c4")],
        [TextPart("done")],
    )
    result = Agent(model, toolsets=[guard]).run_sync("go")
    assert result.output == "done"
    assert offered[0] == ["git_push", "read_file", "write_file"]  # drop_table is always denied
    assert ran == [("read_file", "/x"), ("write_file", "/workspace/ok")]
    r = returns(result)
    assert r["c1"].content == "read /x" and r["c4"].content == "wrote /workspace/ok"
    assert r["c3"].outcome == "failed"
    assert r["c3"].content == ("Tool 'write_file' denied: not in allow list (default: deny)")
    # A tool that was never offered is unknown to Pydantic AI: it refuses the
    # call itself (a retry prompt), before any toolset sees it.
    assert r["c2"].content.startswith("Unknown tool name: 'drop_table'")
    assert sorted(e.decision for e in policy.audit_log) == ["allow", "allow", "deny"]
    assert all(e.context == {"agent": "a1"} for e in policy.audit_log)


@pytest.mark.parametrize("approved", [True, False])
def test_approval_gated_call_is_deferred_then_approved_or_refused(approved):
    ran = []
    policy = Policy(**SPEC)
    guard = guard_toolset(make_toolset(ran), policy, context=lambda deps: {"session": deps})
    model, _ = scripted([ToolCallPart("git_push", {"branch": "main"}, tool_call_id="p1")],
                        [TextPart("ok")])
    agent = Agent(model, toolsets=[guard], output_type=[str, DeferredToolRequests], deps_type=str)

    async def go():
        first = await agent.run("push", deps="s1")
        assert isinstance(first.output, DeferredToolRequests) and ran == []
        assert policy.audit_log == []  # deferring records nothing
        meta = first.output.metadata["p1"]["agentguard"]
        assert (meta["decision"], meta["matched_rule"]) == ("require_approval", "git_push")
        answers = guard.results(first.output, {"p1": approved}, deps="s1")
        return await agent.run(message_history=first.all_messages(), deferred_tool_results=answers, deps="s1")

    final = asyncio.run(go())
    assert final.output == "ok"
    [entry] = policy.audit_log  # exactly one, with the approval's outcome
    assert entry.context == {"session": "s1"}
    r = returns(final)
    if approved:
        assert ran == [("git_push", "main")] and r["p1"].content == "pushed main"
        assert (entry.decision, entry.reason) == ("allow", "approved via callback (pattern: git_push)")
    else:
        assert ran == []
        assert (entry.decision, entry.reason) == ("deny", "approval denied via callback (pattern: git_push)")
        assert r["p1"].content == ("Tool 'git_push' denied: approval denied via callback (pattern: git_push)")


def test_results_validates_answers_and_the_toolset_its_policy():
    guard = guard_toolset(make_toolset([]), Policy(**SPEC))
    requests = DeferredToolRequests(approvals=[ToolCallPart("git_push", {"branch": "m"}, tool_call_id="x")])
    with pytest.raises(TypeError):
        guard.results(requests, {"x": "yes"})
    assert guard.results(requests, {}).approvals == {}
    with pytest.raises(TypeError):
        PolicyToolset(make_toolset([]), policy={"deny": ["x"]})


def test_the_example_runs_and_is_the_readme_section():
    example = ROOT / "examples" / "adapters" / "python" / "pydantic_ai_agent.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in readme


# --- remote mode: the policy on a gateway (agentguard serve), a GatewayClient
# where a Policy goes. Nothing is hidden (the gateway decides each call), and
# an approval-gated call is not deferred: it waits on the gateway's queue
# while a person grants or denies it there.


def test_remote_every_tool_is_offered_and_the_gateway_decides_each_call(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC)
    guard = guard_toolset(make_toolset(ran), client, context={"agent": "a1"})
    model, offered = scripted(
        [ToolCallPart("read_file", {"path": "/x"}, tool_call_id="c1"),
         ToolCallPart("drop_table", {"name": "users"}, tool_call_id="c2"),
         ToolCallPart("write_file", {"path": "/etc/passwd"}, tool_call_id="c3"),
         ToolCallPart("write_file", {"path": "/workspace/ok"}, tool_call_id="c4")],
        [TextPart("done")],
    )
    result = Agent(model, toolsets=[guard]).run_sync("go")
    assert result.output == "done"
    assert offered[0] == ["drop_table", "git_push", "read_file", "write_file"]
    # Pydantic AI runs a turn's tool calls concurrently: their order is not kept.
    assert sorted(ran) == [("read_file", "/x"), ("write_file", "/workspace/ok")]
    r = returns(result)
    assert r["c1"].content == "read /x" and r["c4"].content == "wrote /workspace/ok"
    assert r["c2"].outcome == "failed" and r["c2"].content == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert r["c3"].outcome == "failed"
    assert r["c3"].content == "Tool 'write_file' denied: not in allow list (default: deny)"
    records = gateway.audit(agent_id)
    assert sorted(r["decision"] for r in records) == ["allow", "allow", "deny", "deny"]
    assert all(r["context"] == {"agent": "a1"} for r in records)


@pytest.mark.parametrize("approved", [True, False])
def test_remote_approval_waits_on_the_gateway_instead_of_deferring(gateway, approved):
    ran = []
    agent_id, client = gateway.client(SPEC)
    guard = guard_toolset(make_toolset(ran), client, context=lambda deps: {"session": deps})
    model, _ = scripted([ToolCallPart("git_push", {"branch": "main"}, tool_call_id="p1")], [TextPart("ok")])
    agent = Agent(model, toolsets=[guard], output_type=[str, DeferredToolRequests], deps_type=str)
    person = gateway.answer_when_asked(agent_id, "git_push", grant=approved, after=0.5)
    result = asyncio.run(agent.run("push", deps="s1"))
    person.result()
    assert result.output == "ok"  # not DeferredToolRequests: the gateway answered
    assert person.seen["context"] == {"session": "s1"}
    r = returns(result)
    if approved:
        assert ran == [("git_push", "main")] and r["p1"].content == "pushed main"
        assert gateway.decisions(agent_id) == ["require_approval", "allow"]
    else:
        assert ran == [] and r["p1"].outcome == "failed"
        assert r["p1"].content == "Tool 'git_push' denied: approval denied via callback (pattern: git_push)"
        assert gateway.decisions(agent_id) == ["require_approval", "deny"]


def test_remote_not_granted_in_time_never_runs_and_results_is_not_used(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC, approval_timeout=1)
    guard = guard_toolset(make_toolset(ran), client)
    model, _ = scripted([ToolCallPart("git_push", {"branch": "main"}, tool_call_id="p1")], [TextPart("ok")])
    result = Agent(model, toolsets=[guard], output_type=[str, DeferredToolRequests]).run_sync("push")
    assert ran == [] and result.output == "ok"
    assert returns(result)["p1"].content == ("Tool 'git_push' was not run: requires approval per pattern: "
                                             "git_push; it needs a person's approval.")
    assert gateway.decisions(agent_id) == ["require_approval"]
    with pytest.raises(TypeError, match="given on the gateway"):
        guard.results(DeferredToolRequests(), {})
