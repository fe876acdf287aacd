import asyncio

from mcp import Client
from mcp.server.mcpserver import MCPServer

from agentguard import Policy
from agentguard.integrations.mcp import guard_session

server = MCPServer("files")  # any MCP server; this one runs in-process


@server.tool()
def read_file(path: str) -> str:
    return f"contents of {path}"


@server.tool()
def write_file(path: str, text: str) -> str:
    return f"wrote {path}"


@server.tool()
def drop_table(name: str) -> str:
    raise AssertionError("never runs")


policy = Policy(allow=["read_*"], deny=["drop_*"], require_approval=["write_*"])


def approve(request):  # a person's answer; may be `async def`
    return request.args["path"].startswith("/workspace/")


async def main():
    async with Client(server) as client:
        tools = guard_session(client.session, policy, approver=approve,
                              context={"agent": "reporter", "run": "42"})
        listed = await tools.list_tools()
        assert [t.name for t in listed.tools] == ["read_file", "write_file"]

        ok = await tools.call_tool("read_file", {"path": "/workspace/a.txt"})
        assert ok.content[0].text == "contents of /workspace/a.txt"

        no = await tools.call_tool("drop_table", {"name": "users"})  # never sent
        assert no.is_error
        assert no.content[0].text == "Tool 'drop_table' denied: denied by pattern: drop_*"

        yes = await tools.call_tool("write_file", {"path": "/workspace/b.txt", "text": "hi"})
        assert yes.content[0].text == "wrote /workspace/b.txt"
        refused = await tools.call_tool("write_file", {"path": "/etc/passwd", "text": "x"})
        assert refused.content[0].text.endswith("approval denied via callback (pattern: write_*)")

    assert [e.decision for e in policy.audit_log] == ["allow", "deny", "allow", "deny"]
    assert policy.audit_log[0].context == {"agent": "reporter", "run": "42"}


asyncio.run(main())
