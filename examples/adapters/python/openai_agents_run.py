import asyncio

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call

from agentguard import Policy
from agentguard.integrations.openai_agents import AgentGuard

set_tracing_disabled(True)
ran = []


@function_tool
def read_file(path: str) -> str:
    ran.append(path)
    return f"contents of {path}"


@function_tool
def delete_file(path: str) -> str:
    ran.append(path)
    return f"deleted {path}"


policy = Policy(allow=["read_*"], deny=["delete_*"], require_approval=["git_push"],
                rules=[{"id": "no-etc", "tool": "read_file", "decision": "deny",
                        "when": {"path": {"path_under": "/etc"}}}])
guard = AgentGuard(policy, context=lambda run: {"user": run["user"]})

# A scripted model (the SDK's own test double) standing in for a real one.
model = ScriptedModel([
    [function_call("read_file", {"path": "/workspace/a"}, call_id="c1"),
     function_call("read_file", {"path": "/etc/shadow"}, call_id="c2"),
     function_call("delete_file", {"path": "/workspace/a"}, call_id="c3")],
    [assistant_message("done")],
])
agent = Agent(name="files", model=model, tools=guard.tools([read_file, delete_file]))


async def main():
    result = await Runner.run(agent, "tidy up", context={"user": "ana"})
    assert result.final_output == "done"
    assert ran == ["/workspace/a"]  # the denied calls never ran
    outputs = [i["output"] for i in model.calls[1].input if i.get("type") == "function_call_output"]
    assert outputs[1] == "Tool 'read_file' denied: denied by rule: no-etc"
    assert outputs[2] == "Tool 'delete_file' denied: denied by pattern: delete_*"
    assert [(e.decision, e.context) for e in policy.audit_log] == [
        ("allow", {"user": "ana"}), ("deny", {"user": "ana"}), ("deny", {"user": "ana"})]


asyncio.run(main())
