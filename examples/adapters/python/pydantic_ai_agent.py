from pydantic_ai import Agent, DeferredToolRequests, FunctionToolset
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import FunctionModel

from agentguard import Policy
from agentguard.integrations.pydantic_ai import guard_toolset

ran = []
tools = FunctionToolset()


@tools.tool_plain
def read_file(path: str) -> str:
    ran.append(path)
    return f"contents of {path}"


@tools.tool_plain
def git_push(branch: str) -> str:
    ran.append(branch)
    return f"pushed {branch}"


@tools.tool_plain
def drop_table(name: str) -> str:
    raise AssertionError("never offered, never runs")


policy = Policy(allow=["read_*"], deny=["drop_*"], require_approval=["git_push"],
                rules=[{"id": "no-etc", "tool": "read_file", "decision": "deny",
                        "when": {"path": {"path_under": "/etc"}}}])
guard = guard_toolset(tools, policy, context=lambda deps: {"user": deps})

# A scripted model (Pydantic AI's FunctionModel) standing in for a real one.
script = iter([
    [ToolCallPart("read_file", {"path": "/workspace/a"}, tool_call_id="c1"),
     ToolCallPart("read_file", {"path": "/etc/shadow"}, tool_call_id="c2"),
     ToolCallPart("git_push", {"branch": "main"}, tool_call_id="c3")],
    [TextPart("done")],
])
offered = []


def model(messages, info):
    offered.append(sorted(t.name for t in info.function_tools))
    return ModelResponse(parts=next(script))


agent = Agent(FunctionModel(model), toolsets=[guard], output_type=[str, DeferredToolRequests])

first = agent.run_sync("tidy up and push", deps="ana")
assert offered == [["git_push", "read_file"]]  # drop_table is never offered
assert isinstance(first.output, DeferredToolRequests)  # git_push waits for a person
[pending] = first.output.approvals
assert first.output.metadata["c3"]["agentguard"]["matched_rule"] == "git_push"

answers = guard.results(first.output, {"c3": True}, deps="ana")
final = agent.run_sync(message_history=first.all_messages(), deferred_tool_results=answers, deps="ana")
assert final.output == "done" and ran == ["/workspace/a", "main"]
returns = {p.tool_call_id: p for m in final.all_messages() for p in m.parts if isinstance(p, ToolReturnPart)}
assert returns["c2"].outcome == "failed"
assert returns["c2"].content == "Tool 'read_file' denied: denied by rule: no-etc"
assert sorted((e.decision, e.reason) for e in policy.audit_log) == [  # one entry per call
    ("allow", "allowed by pattern: read_*"), ("allow", "approved via callback (pattern: git_push)"),
    ("deny", "denied by rule: no-etc")]
assert all(e.context == {"user": "ana"} for e in policy.audit_log)
