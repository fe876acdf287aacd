"""agentguard.integrations.langchain against the real langchain-core and
langgraph: tools called directly with tool calls, and a LangGraph agent
(StateGraph + ToolNode) driven by langchain-core's fake chat model that
emits tool calls, with the human-in-the-loop interrupt approved and
rejected."""

import asyncio
import subprocess
import sys

import pytest
from conftest import ROOT

from agentguard import Policy

pytestmark = pytest.mark.timeout(60)

pytest.importorskip("langchain_core")
pytest.importorskip("langgraph")
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel  # noqa: E402
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode, tools_condition  # noqa: E402
from langgraph.types import Command  # noqa: E402

from agentguard.integrations.langchain import GuardedTool, guard_tool, guard_tools  # noqa: E402

SPEC = dict(
    allow=["read_file"],
    deny=["drop_*"],
    require_approval=["git_push"],
    rules=[{"id": "workspace-writes", "tool": "write_file", "decision": "allow",
            "when": {"path": {"path_under": "/workspace"}}}],
)


def make_tools(ran):
    @tool
    def read_file(path: str) -> str:
        """Read."""
        ran.append(("read_file", path))
        return f"read {path}"

    @tool
    def write_file(path: str) -> str:
        """Write."""
        ran.append(("write_file", path))
        return f"wrote {path}"

    @tool
    def drop_table(name: str) -> str:
        """Drop."""
        ran.append(("drop_table", name))
        return "dropped"

    @tool
    def git_push(branch: str) -> str:
        """Push."""
        ran.append(("git_push", branch))
        return f"pushed {branch}"

    return {t.name: t for t in (read_file, write_file, drop_table, git_push)}


def call(name, args, id="c1"):
    return {"name": name, "args": args, "id": id, "type": "tool_call"}


def test_a_denied_call_is_a_tool_message_with_the_reason_and_never_runs():
    ran = []
    policy = Policy(**SPEC)
    t = make_tools(ran)
    guarded = guard_tools([t["read_file"], t["write_file"], t["drop_table"]], policy, context={"agent": "a"})
    read, write, drop = guarded
    assert isinstance(read, GuardedTool) and read.name == "read_file" and read.args == t["read_file"].args
    ok = read.invoke(call("read_file", {"path": "/x"}))
    assert isinstance(ok, ToolMessage) and ok.content == "read /x" and ok.status == "success"
    no = drop.invoke(call("drop_table", {"name": "users"}, "c2"))
    assert no.status == "error" and no.tool_call_id == "c2"
    assert no.content == "Tool 'drop_table' denied: denied by pattern: drop_*"
    outside = write.invoke(call("write_file", {"path": "/etc/passwd"}))
    assert outside.status == "error" and "not in allow list" in outside.content
    inside = write.invoke(call("write_file", {"path": "/workspace/a"}))
    assert inside.content == "wrote /workspace/a"
    assert ran == [("read_file", "/x"), ("write_file", "/workspace/a")]
    assert [e.decision for e in policy.audit_log] == ["allow", "deny", "deny", "allow"]
    assert all(e.context == {"agent": "a"} for e in policy.audit_log)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_an_approver_answers_approval_gated_calls(kind):
    ran = []
    policy = Policy(**SPEC)

    def sync_approver(req):
        return req.args["branch"] == "main"

    async def async_approver(req):
        return sync_approver(req)

    push = guard_tool(make_tools(ran)["git_push"], policy,
                      approver=sync_approver if kind == "sync" else async_approver)

    async def go():
        return (await push.ainvoke(call("git_push", {"branch": "main"})),
                await push.ainvoke(call("git_push", {"branch": "prod"})))

    yes, no = asyncio.run(go())
    assert yes.content == "pushed main" and no.status == "error"
    assert no.content == ("Tool 'git_push' denied: approval denied via callback (pattern: git_push)")
    assert ran == [("git_push", "main")]
    assert [e.reason for e in policy.audit_log] == ["approved via callback (pattern: git_push)",
                                                     "approval denied via callback (pattern: git_push)"]


def test_without_approver_or_interrupt_an_approval_gated_call_never_runs():
    ran = []
    policy = Policy(**SPEC)
    push = guard_tool(make_tools(ran)["git_push"], policy)
    msg = asyncio.run(push.ainvoke(call("git_push", {"branch": "main"})))
    assert msg.status == "error" and "needs a person's approval" in msg.content and ran == []
    assert [e.decision for e in policy.audit_log] == ["require_approval"]


def agent_graph(tools, script):
    model = GenericFakeChatModel(messages=iter(script))
    graph = StateGraph(MessagesState)
    graph.add_node("agent", lambda state: {"messages": [model.invoke(state["messages"])]})
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("approved", [True, False])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langgraph_interrupt_then_approved_or_rejected(approved, mode):
    ran = []
    policy = Policy(**SPEC)
    t = make_tools(ran)
    tools = guard_tools([t["read_file"], t["drop_table"], t["git_push"]], policy, interrupt=True,
                        context=lambda config: {"thread": config["configurable"]["thread_id"]})
    app = agent_graph(tools, [
        AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "/a"}, "id": "c1"},
                                  {"name": "drop_table", "args": {"name": "users"}, "id": "c2"}]),
        AIMessage("", tool_calls=[{"name": "git_push", "args": {"branch": "main"}, "id": "c3"}]),
        AIMessage("done"),
    ])
    config = {"configurable": {"thread_id": f"t-{mode}-{approved}"}}

    async def run_async():
        paused = await app.ainvoke({"messages": [HumanMessage("go")]}, config)
        return paused, await app.ainvoke(Command(resume=approved), config)

    if mode == "sync":
        paused = app.invoke({"messages": [HumanMessage("go")]}, config)
        n_before = len(policy.audit_log)
        final = app.invoke(Command(resume=approved), config)
    else:
        paused, final = asyncio.run(run_async())
        n_before = 2
    [pending] = paused["__interrupt__"]
    assert pending.value == {"type": "agentguard_approval", "tool": "git_push", "args": {"branch": "main"},
                             "reason": "requires approval per pattern: git_push", "rule": "git_push"}
    assert n_before == 2  # the interrupt itself records nothing
    tool_msgs = {m.tool_call_id: m for m in final["messages"] if isinstance(m, ToolMessage)}
    assert tool_msgs["c1"].content == "read /a"
    assert tool_msgs["c2"].content == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert final["messages"][-1].content == "done"
    entries = policy.audit_log
    assert len(entries) == 3  # exactly one per attempted call
    assert all(e.context == {"thread": config["configurable"]["thread_id"]} for e in entries)
    last = entries[-1]
    if approved:
        assert ran == [("read_file", "/a"), ("git_push", "main")]
        assert tool_msgs["c3"].content == "pushed main"
        assert (last.decision, last.reason) == ("allow", "approved via callback (pattern: git_push)")
    else:
        assert ran == [("read_file", "/a")]
        assert tool_msgs["c3"].status == "error"
        assert tool_msgs["c3"].content == ("Tool 'git_push' denied: approval denied via callback "
                                           "(pattern: git_push)")
        assert (last.decision, last.reason) == ("deny", "approval denied via callback (pattern: git_push)")


def test_bad_arguments():
    t = make_tools([])["read_file"]
    with pytest.raises(TypeError):
        guard_tool(t, {"allow": ["x"]})
    with pytest.raises(TypeError):
        guard_tool(lambda: 1, Policy())
    with pytest.raises(ValueError):
        guard_tool(t, Policy(), approver=lambda r: True, interrupt=True)


def test_the_example_runs_and_is_the_readme_section():
    example = ROOT / "examples" / "adapters" / "python" / "langgraph_agent.py"
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in readme


# --- remote mode: the policy on a gateway (agentguard serve), a GatewayClient
# where a Policy goes. An approval-gated call waits on the gateway's queue
# (no interrupt, no approver) while a person grants or denies it there.


def test_remote_tool_calls_are_decided_by_the_gateway(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC)
    t = make_tools(ran)
    read, write, drop = guard_tools([t["read_file"], t["write_file"], t["drop_table"]], client,
                                    context={"agent": "a"})
    assert read.invoke(call("read_file", {"path": "/x"})).content == "read /x"
    no = drop.invoke(call("drop_table", {"name": "users"}, "c2"))
    assert no.status == "error" and no.content == "Tool 'drop_table' denied: denied by pattern: drop_*"
    outside = asyncio.run(write.ainvoke(call("write_file", {"path": "/etc/passwd"})))
    assert outside.status == "error"
    assert outside.content == "Tool 'write_file' denied: not in allow list (default: deny)"
    assert write.invoke(call("write_file", {"path": "/workspace/a"})).content == "wrote /workspace/a"
    assert ran == [("read_file", "/x"), ("write_file", "/workspace/a")]
    records = gateway.audit(agent_id)
    assert [r["decision"] for r in records] == ["allow", "deny", "deny", "allow"]
    assert all(r["context"] == {"agent": "a"} for r in records)


@pytest.mark.parametrize("approved", [True, False])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_remote_langgraph_agent_waits_on_the_gateway(gateway, approved, mode):
    ran = []
    agent_id, client = gateway.client(SPEC)
    t = make_tools(ran)
    tools = guard_tools([t["read_file"], t["drop_table"], t["git_push"]], client,
                        context=lambda config: {"thread": config["configurable"]["thread_id"]})
    app = agent_graph(tools, [
        AIMessage("", tool_calls=[{"name": "read_file", "args": {"path": "/a"}, "id": "c1"},
                                  {"name": "drop_table", "args": {"name": "users"}, "id": "c2"}]),
        AIMessage("", tool_calls=[{"name": "git_push", "args": {"branch": "main"}, "id": "c3"}]),
        AIMessage("done"),
    ])
    config = {"configurable": {"thread_id": f"remote-{mode}-{approved}"}}
    person = gateway.answer_when_asked(agent_id, "git_push", grant=approved, after=0.5)
    if mode == "sync":
        final = app.invoke({"messages": [HumanMessage("go")]}, config)
    else:
        final = asyncio.run(app.ainvoke({"messages": [HumanMessage("go")]}, config))
    person.result()
    assert "__interrupt__" not in final  # the gateway's queue, not LangGraph's interrupt
    assert person.seen["context"] == {"thread": config["configurable"]["thread_id"]}
    tool_msgs = {m.tool_call_id: m for m in final["messages"] if isinstance(m, ToolMessage)}
    assert tool_msgs["c1"].content == "read /a"
    assert tool_msgs["c2"].content == "Tool 'drop_table' denied: denied by pattern: drop_*"
    assert final["messages"][-1].content == "done"
    # The first turn's two calls run concurrently: their records in either order.
    decisions = gateway.decisions(agent_id)
    assert sorted(decisions[:2]) == ["allow", "deny"]
    if approved:
        assert ran == [("read_file", "/a"), ("git_push", "main")]
        assert tool_msgs["c3"].content == "pushed main"
        assert decisions[2:] == ["require_approval", "allow"]
    else:
        assert ran == [("read_file", "/a")]
        assert tool_msgs["c3"].status == "error"
        assert tool_msgs["c3"].content == "Tool 'git_push' denied: approval denied via callback (pattern: git_push)"
        assert decisions[2:] == ["require_approval", "deny"]


def test_remote_not_granted_in_time_never_runs_and_no_local_approval(gateway):
    ran = []
    agent_id, client = gateway.client(SPEC, approval_timeout=1)
    push = guard_tool(make_tools(ran)["git_push"], client)
    msg = push.invoke(call("git_push", {"branch": "main"}))
    assert msg.status == "error" and ran == []
    assert msg.content == ("Tool 'git_push' was not run: requires approval per pattern: git_push; "
                           "it needs a person's approval.")
    assert gateway.decisions(agent_id) == ["require_approval"]
    tool_ = make_tools([])["git_push"]
    with pytest.raises(ValueError, match="granted or denied on the gateway"):
        guard_tool(tool_, client, interrupt=True)
    with pytest.raises(ValueError, match="granted or denied on the gateway"):
        guard_tool(tool_, client, approver=lambda r: True)
