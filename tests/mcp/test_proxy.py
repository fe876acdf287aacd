"""`agentguard mcp` with the Python SDK (PyPI `mcp`) as the client.

The same proxy as tests/mcp/proxy.test.mjs, spawned by the Python SDK's
stdio client in front of @modelcontextprotocol/server-filesystem and
server-everything. AGENTGUARD_BIN: the binary (default
target/cli/release/agentguard).
"""

import json
import os
import tempfile
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitResult

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGENTGUARD_BIN", str(ROOT / "target/cli/release/agentguard"))
MODULES = ROOT / "node_modules/@modelcontextprotocol"
FS_SERVER = str(MODULES / "server-filesystem/dist/index.js")
EVERYTHING = str(MODULES / "server-everything/dist/index.js")


def run(session_fn, policy, server_args, flags=(), **client_kwargs):
    """Starts the proxy in a temp dir, runs `session_fn(session)`; returns
    its value and the audit lines."""
    with tempfile.TemporaryDirectory() as tmp:
        policy_path = Path(tmp) / "policy.json"
        policy_path.write_text(policy if isinstance(policy, str) else json.dumps(policy))
        audit = Path(tmp) / "audit.jsonl"
        params = StdioServerParameters(
            command=BIN,
            args=["mcp", "--policy", str(policy_path), "--audit", str(audit), *flags, "--", "node", *server_args],
            cwd=tmp,
        )

        async def main():
            async with stdio_client(params) as (r, w):
                async with ClientSession(r, w, **client_kwargs) as s:
                    await s.initialize()
                    return await session_fn(s)

        out = anyio.run(main)
        lines = [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []
        return out, lines


def text(result):
    return "\n".join(c.text for c in result.content)


def test_filesystem_through_the_proxy():
    ws = Path(tempfile.mkdtemp(prefix="agentguard-mcp-py-"))
    policy = (ROOT / "examples/mcp/fs-policy.json").read_text().replace('"/workspace"', json.dumps(str(ws)))

    async def session(s):
        names = [t.name for t in (await s.list_tools()).tools]
        ok = await s.call_tool("write_file", {"path": str(ws / "py.txt"), "content": "from python"})
        escape = await s.call_tool("write_file", {"path": f"{ws}/../py-escape.txt", "content": "x"})
        with pytest.raises(MCPError) as hidden:
            await s.call_tool("read_multiple_files", {"paths": [str(ws / "py.txt")]})
        return names, ok, escape, hidden.value

    (names, ok, escape, hidden), audit = run(session, policy, [FS_SERVER, str(ws)])
    assert "read_multiple_files" not in names and "write_file" in names
    assert not ok.is_error and (ws / "py.txt").read_text() == "from python"
    assert escape.is_error
    assert text(escape).startswith("Blocked by policy: the call to tool 'write_file' was not run.")
    assert not (ws.parent / "py-escape.txt").exists()
    assert hidden.error.code == -32602 and hidden.error.message == "Unknown tool: read_multiple_files"
    assert [(a["tool"], a["action"]) for a in audit] == [
        ("write_file", "forwarded"),
        ("write_file", "blocked"),
        ("read_multiple_files", "hidden"),
    ]
    assert all(a["client"]["name"] and a["server"]["name"] == "secure-filesystem-server" for a in audit)
    assert all(len(a["arguments_sha256"]) == 64 for a in audit)


POLICY = {"default": "allow", "deny": ["get-env"], "require_approval": ["get-sum"]}


@pytest.mark.parametrize(
    "answer, expected, outcome",
    [
        (ElicitResult(action="accept", content={"approve": True}), "The sum of 2 and 3 is 5.", "approved"),
        (ElicitResult(action="decline"), "The user declined to approve it.", "declined"),
    ],
)
def test_approval_by_elicitation(answer, expected, outcome):
    asked = []

    async def on_elicit(context, params):
        asked.append(params.message)
        return answer

    async def session(s):
        return await s.call_tool("get-sum", {"a": 2, "b": 3})

    result, audit = run(session, POLICY, [EVERYTHING], flags=["--approval", "elicit"], elicitation_callback=on_elicit)
    assert expected in text(result)
    assert len(asked) == 1 and "Tool: get-sum" in asked[0]
    assert [(a["decision"], a["approval"]) for a in audit] == [("require_approval", outcome)]
