from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from agentguard import Policy
from agentguard.integrations.langchain import guard_tools

ran = []


@tool
def read_file(path: str) -> str:
    """Read a file."""
    ran.append(path)
    return f"contents of {path}"


@tool
def git_push(branch: str) -> str:
    """Push a branch."""
    ran.append(branch)
    return f"pushed {branch}"


policy = Policy(allow=["read_*"], require_approval=["git_push"],
                rules=[{"id": "no-etc", "tool": "read_file", "decision": "deny",
                        "when": {"path": {"path_under": "/etc"}}}])
tools = guard_tools([read_file, git_push], policy, interrupt=True,
                    context=lambda config: {"user": config["configurable"]["user"]})

# A fake chat model that emits tool calls, standing in for a real one.
model = GenericFakeChatModel(messages=iter([
    AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "/workspace/a"}, "id": "c1"},
                              {"name": "read_file", "args": {"path": "/etc/shadow"}, "id": "c2"}]),
    AIMessage("", tool_calls=[{"name": "git_push", "args": {"branch": "main"}, "id": "c3"}]),
    AIMessage("done"),
]))

graph = StateGraph(MessagesState)
graph.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
graph.add_node("tools", ToolNode(tools))
graph.add_edge(START, "agent")
graph.add_conditional_edges("agent", tools_condition)
graph.add_edge("tools", "agent")
app = graph.compile(checkpointer=InMemorySaver())

config = {"configurable": {"thread_id": "t1", "user": "ana"}}
paused = app.invoke({"messages": [HumanMessage("tidy up and push")]}, config)
[pending] = paused["__interrupt__"]  # git_push waits for a person
assert pending.value["tool"] == "git_push" and pending.value["rule"] == "git_push"

final = app.invoke(Command(resume=True), config)  # approved: it runs
assert ran == ["/workspace/a", "main"]
denied = [m for m in final["messages"] if getattr(m, "status", None) == "error"]
assert [m.content for m in denied] == ["Tool 'read_file' denied: denied by rule: no-etc"]
assert final["messages"][-1].content == "done"
assert sorted((e.decision, e.reason) for e in policy.audit_log) == [  # one entry per call
    ("allow", "allowed by pattern: read_*"), ("allow", "approved via callback (pattern: git_push)"),
    ("deny", "denied by rule: no-etc")]
assert all(e.context == {"user": "ana"} for e in policy.audit_log)
