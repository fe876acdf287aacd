"""agentguard.integrations.openai_agents against the real OpenAI Agents SDK,
driven by its own scripted model (agents.testing.ScriptedModel) through
Runner.run: allowed, denied, condition-breaking and approval-gated calls
(interrupted, then approved or rejected on the run state)."""

import asyncio
import subprocess
import sys

import pytest
from conftest import ROOT

from agentguard import Policy

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("agents")
from agents import (  # noqa: E402
    Agent,
    Runner,
    ToolInputGuardrailTripwireTriggered,
    function_tool,
    set_tracing_disabled,
)
from agents.testing import ScriptedModel, assistant_message, function_call  # noqa: E402

from agentguard.integrations.openai_agents import AgentGuard  # noqa: E402

set_tracing_disabled(True)

SPEC = dict(
    allow=["read_file"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[{"id": "workspace-writes", "tool": "write_file", "decision": "allow",
            "when": {"path": {"path_under": "/workspace"}}}],
)


def make_tools(ran):
    @function_tool
    def read_file(path: str) -> str:
        ran.append(("read_file", path))
        return f"read {path}"

    @function_tool
    def write_file(path: str) -> str:
        ran.append(("write_file", path))
        return f"wrote {path}"

    @function_tool
    def drop_table(name: str) -> str:
        ran.append(("drop_table", name))
        return "dropped"

    @function_tool
    def git_push(branch: str) -> str:
        ran.append(("git_push", branch))
        return f"pushed {branch}"

    return [read_file, write_file, drop_table, git_push]


def outputs(call):
    """The tool outputs the model was given in one of its calls."""
    return {i["call_id"]: i["output"] for i in call.input
            if isinstance(i, dict) and i.get("type") == "function_call_output"}


def test_allowed_denied_and_condition_breaking_calls_one_entry_each():
    ran = []
    policy = Policy(**SPEC)
    guard = AgentGuard(policy, context={"agent": "a1"})
    model = ScriptedModel([
        [function_call("read_file", {"path": "/x"}, call_id="c1"),
         function_call("drop_table", {"name": "users"}, call_id="c2"),
         function_call("write_file", {"path": "/etc/passwd"}, call_id="c3"),
         function_call("write_file", {"path": "/workspace/ok"}, call_id="c4")],
        [assistant_message("done")],
    ])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))
    result = asyncio.run(Runner.run(agent, "go"))
    assert result.final_output == "done"
    assert ran == [("read_file", "/x"), ("write_file", "/workspace/ok")]
    out = outputs(model.calls[1])
    assert out["c1"] == "read /x" and out["c4"] == "wrote /workspace/ok"
    assert out["c2"] == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert out["c3"] == ("Tool 'write_file' denied: not in allow list (default: deny)")
    assert [e.decision for e in policy.audit_log] == ["allow", "deny", "deny", "allow"]
    assert all(e.context == {"agent": "a1"} for e in policy.audit_log)


@pytest.mark.parametrize("approved", [True, False])
def test_approval_gated_call_is_an_interruption_then_runs_only_if_approved(approved):
    ran = []
    policy = Policy(**SPEC)
    guard = AgentGuard(policy, context=lambda run: {"session": run["session"]})
    model = ScriptedModel([
        [function_call("git_push", {"branch": "main"}, call_id="p1")],
        [assistant_message("pushed" if approved else "not pushed")],
    ])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))

    async def go():
        first = await Runner.run(agent, "push", context={"session": "s9"})
        [item] = first.interruptions
        assert item.tool_name == "git_push" and ran == []
        assert policy.audit_log == []  # asking whether it needs approval records nothing
        state = first.to_state()
        if approved:
            guard.approve(state, item)
        else:
            rejected = guard.reject(state, item)
            assert rejected.denied
        return await Runner.run(agent, state)

    result = asyncio.run(go())
    assert result.final_output == ("pushed" if approved else "not pushed")
    [entry] = policy.audit_log  # exactly one, with the approval's outcome
    assert entry.context == {"session": "s9"}
    out = outputs(model.calls[1])
    if approved:
        assert ran == [("git_push", "main")] and out["p1"] == "pushed main"
        assert (entry.decision, entry.reason) == ("allow", "approved via callback (pattern: git_push)")
    else:
        assert ran == []
        assert (entry.decision, entry.reason) == ("deny", "approval denied via callback (pattern: git_push)")
        assert out["p1"] == ("Tool 'git_push' denied: approval denied via callback (pattern: git_push)")


def test_allowed_calls_never_interrupt():
    ran = []
    guard = AgentGuard(Policy(**SPEC))
    model = ScriptedModel([[function_call("read_file", {"path": "/x"}, call_id="c1")],
                           [assistant_message("ok")]])
    result = asyncio.run(Runner.run(Agent(name="t", model=model, tools=guard.tools(make_tools(ran))), "go"))
    assert result.interruptions == [] and ran == [("read_file", "/x")]


def test_on_deny_raise_stops_the_run():
    ran = []
    policy = Policy(**SPEC)
    guard = AgentGuard(policy, on_deny="raise")
    model = ScriptedModel([[function_call("drop_table", {"name": "users"}, call_id="c1")],
                           [assistant_message("never")]])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))
    with pytest.raises(ToolInputGuardrailTripwireTriggered) as caught:
        asyncio.run(Runner.run(agent, "go"))
    assert ran == []
    assert caught.value.output.output_info["matched_rule"] == "drop_*"
    assert len(policy.audit_log) == 1


def test_guarding_keeps_the_tools_own_guardrails_and_is_idempotent():
    guard = AgentGuard(Policy(**SPEC))
    [t] = guard.tools(make_tools([])[:1])
    again = guard.tool(t)
    assert again.tool_input_guardrails == [guard.guardrail]
    with pytest.raises(TypeError):
        AgentGuard({"deny": ["x"]})
    with pytest.raises(ValueError):
        AgentGuard(Policy(), on_deny="ignore")


def test_the_example_runs_and_is_the_readme_section():
    example = ROOT / "examples" / "adapters" / "python" / "openai_agents_run.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in readme


# --- remote mode: the policy on a gateway (agentguard serve), a GatewayClient
# where a Policy goes. An approval-gated call is no interruption: the
# guardrail waits while a person grants or denies it on the gateway's API.


def test_remote_allowed_denied_and_condition_breaking_calls(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC)
    guard = AgentGuard(client, context={"agent": "a1"})
    model = ScriptedModel([
        [function_call("read_file", {"path": "/x"}, call_id="c1"),
         function_call("drop_table", {"name": "users"}, call_id="c2"),
         function_call("write_file", {"path": "/etc/passwd"}, call_id="c3"),
         function_call("write_file", {"path": "/workspace/ok"}, call_id="c4")],
        [assistant_message("done")],
    ])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))
    result = asyncio.run(Runner.run(agent, "go"))
    assert result.final_output == "done" and result.interruptions == []
    # The SDK runs a turn's tool calls concurrently: their order is not kept.
    assert sorted(ran) == [("read_file", "/x"), ("write_file", "/workspace/ok")]
    out = outputs(model.calls[1])
    assert out["c1"] == "read /x" and out["c4"] == "wrote /workspace/ok"
    assert out["c2"] == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert out["c3"] == "Tool 'write_file' denied: not in allow list (default: deny)"
    records = gateway.audit(agent_id)
    assert sorted((r["tool"], r["decision"], r["message"]) for r in records) == [
        ("drop_table", "deny", "denied by pattern: drop_*"), ("read_file", "allow", "allowed by pattern: read_file"),
        ("write_file", "allow", "allowed by rule: workspace-writes"),
        ("write_file", "deny", "not in allow list (default: deny)")]
    assert all(r["context"] == {"agent": "a1"} for r in records)


@pytest.mark.parametrize("approved", [True, False])
def test_remote_approval_waits_on_the_gateway_while_the_run_goes_on(gateway, approved):
    ran = []
    agent_id, client = gateway.client(SPEC)
    guard = AgentGuard(client, context=lambda run: {"session": run["session"]})
    model = ScriptedModel([
        [function_call("git_push", {"branch": "main"}, call_id="p1")],
        [assistant_message("pushed" if approved else "not pushed")],
    ])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))
    person = gateway.answer_when_asked(agent_id, "git_push", grant=approved, after=0.5)
    result = asyncio.run(Runner.run(agent, "push", context={"session": "s9"}))
    person.result()
    assert result.interruptions == []  # the gateway's queue, not the SDK's interruption
    assert result.final_output == ("pushed" if approved else "not pushed")
    assert person.seen["context"] == {"session": "s9"}
    out = outputs(model.calls[1])
    if approved:
        assert ran == [("git_push", "main")] and out["p1"] == "pushed main"
        assert gateway.decisions(agent_id) == ["require_approval", "allow"]
    else:
        assert ran == []
        assert out["p1"] == "Tool 'git_push' denied: approval denied via callback (pattern: git_push)"
        assert gateway.decisions(agent_id) == ["require_approval", "deny"]


def test_remote_not_granted_in_time_never_runs_and_reject_is_not_used(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC, approval_timeout=1)
    guard = AgentGuard(client)
    model = ScriptedModel([[function_call("git_push", {"branch": "main"}, call_id="p1")],
                           [assistant_message("waiting")]])
    agent = Agent(name="t", model=model, tools=guard.tools(make_tools(ran)))
    result = asyncio.run(Runner.run(agent, "push"))
    assert ran == [] and result.interruptions == []
    assert outputs(model.calls[1])["p1"] == ("Tool 'git_push' was not run: requires approval per pattern: "
                                             "git_push; it needs a person's approval.")
    assert gateway.decisions(agent_id) == ["require_approval"]
    with pytest.raises(TypeError, match="denied on the gateway"):
        guard.reject(object(), object())
