"""MCP over HTTP through the gateway, with the Python SDK (PyPI `mcp`) as the client.

`agentguard serve --mcp-config FILE` serves each upstream MCP server of FILE
at /mcp/NAME as a Streamable HTTP endpoint, the calling agent's tool policy
(PUT /v1/agents/{agent}/policies/tools) in front of it. Here the SDK's
Streamable HTTP client (`mcp.client.streamable_http.streamable_http_client`,
the legacy `initialize` handshake: one MCP session per client) talks to a
real gateway on 127.0.0.1 that runs @modelcontextprotocol/server-everything;
the approvals queue is driven over the gateway's HTTP API (urllib). The
same ground as tests/gateway/mcp_http.test.mjs, from the other SDK.

    AGENTGUARD_BIN=target/cli/release/agentguard .venv/bin/python -m pytest \
        -p no:cacheprovider -q --timeout=120 tests/mcp/test_gateway_http.py
"""

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import ElicitResult

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("AGENTGUARD_BIN", str(ROOT / "target/cli/release/agentguard"))
EVERYTHING = str(ROOT / "node_modules/@modelcontextprotocol/server-everything/dist/index.js")
NODE = shutil.which("node") or "node"

ADMIN = "mcp-py-admin-key-0001"
APPROVER = "mcp-py-approver-key-0001"
DESK = "mcp-py-key-desk-agent"
OPS = "mcp-py-key-ops-agent"

DESK_POLICY = {
    "default": "allow",
    "deny": ["get-env", "gzip-*"],
    "require_approval": ["get-sum"],
    "rules": [
        {
            "id": "no-secret-echoes",
            "tool": "echo",
            "when": {"message": {"glob": "*secret*"}},
            "decision": "deny",
            "reason": "echoing secrets is not allowed",
        }
    ],
}
OPS_POLICY = {"allow": ["echo"], "default": "deny"}

# Hard limits: the gateway's start, one HTTP call of the API, one MCP session's work.
START_S = 15
HTTP_S = 10
SESSION_S = 60

APPROVAL = re.compile(r"approval (apr_[0-9a-f]+)")


class Gateway:
    """`agentguard serve --port 0 --mcp-config FILE` in a temp dir; `stop()` ends it."""

    def __init__(self, tmp: Path):
        keys = tmp / "keys.json"
        keys.write_text(
            json.dumps(
                {
                    "keys": {
                        ADMIN: {"role": "admin", "name": "alice"},
                        APPROVER: {"role": "approver", "name": "carol"},
                        DESK: {"role": "agent", "agent": "desk-agent"},
                        OPS: {"role": "agent", "agent": "ops-agent"},
                    }
                }
            )
        )
        config = tmp / "mcp.json"
        config.write_text(json.dumps({"servers": {"everything": {"command": NODE, "args": [EVERYTHING]}}}))
        self.stderr = open(tmp / "gateway.stderr", "w+b")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--port", "0", "--data-dir", str(tmp / "data"), "--keys", str(keys), "--mcp-config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
        )
        try:
            self.url = self._listening()
        except BaseException:
            self.stop()
            raise

    def _listening(self) -> str:
        deadline = time.monotonic() + START_S
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"the gateway did not say where it listens in {START_S} s: {line!r}; {self.errors()}")
            chunk = os.read(fd, 1)
            if not chunk:
                raise AssertionError(f"the gateway exited ({self.proc.wait(5)}): {line!r}; {self.errors()}")
            line += chunk
        m = re.fullmatch(rb"listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert m, f"first line: {line!r}"
        return m.group(1).decode()

    def errors(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self.stderr.close()

    def api(self, method: str, path: str, key: str, body=None):
        """One call of the gateway's HTTP API: (status, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("x-api-key", key)
        if data is not None:
            req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=HTTP_S) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None


@pytest.fixture
def gateway():
    with tempfile.TemporaryDirectory(prefix="agentguard-mcp-http-py-") as tmp:
        gw = Gateway(Path(tmp))
        try:
            for agent, policy in [("desk-agent", DESK_POLICY), ("ops-agent", OPS_POLICY)]:
                status, body = gw.api("PUT", f"/v1/agents/{agent}/policies/tools", ADMIN, policy)
                assert status == 200, body
            yield gw
        finally:
            gw.stop()


def session_of(gw: Gateway, headers: dict, fn, **client_kwargs):
    """Runs `fn(session)` in one MCP session of /mcp/everything with `headers`
    (the agent's key); returns its value and the Mcp-Session-Id the gateway gave."""
    seen = []

    async def on_response(response: httpx2.Response):
        if sid := response.headers.get("mcp-session-id"):
            seen.append(sid)

    async def main():
        with anyio.fail_after(SESSION_S):
            http = create_mcp_http_client(headers=headers)
            http.event_hooks["response"].append(on_response)
            async with http:
                async with streamable_http_client(f"{gw.url}/mcp/everything", http_client=http) as (r, w):
                    async with ClientSession(r, w, **client_kwargs) as s:
                        await s.initialize()
                        return await fn(s)

    out = anyio.run(main)
    assert seen, "the gateway named no MCP session"
    assert len(set(seen)) == 1, seen
    return out, seen[0]


def text(result) -> str:
    return "\n".join(c.text for c in result.content)


def test_two_agents_on_one_upstream_each_with_its_own_policy(gateway):
    async def desk(s):
        names = [t.name for t in (await s.list_tools()).tools]
        ok = await s.call_tool("echo", {"message": "hi"})
        secret = await s.call_tool("echo", {"message": "my secret"})
        with pytest.raises(MCPError) as hidden:
            await s.call_tool("get-env", {})
        return names, ok, secret, hidden.value

    async def ops(s):
        names = [t.name for t in (await s.list_tools()).tools]
        with pytest.raises(MCPError) as hidden:
            await s.call_tool("get-sum", {"a": 1, "b": 2})
        secret = await s.call_tool("echo", {"message": "my secret"})
        return names, hidden.value, secret

    (names, ok, secret, hidden), desk_sid = session_of(gateway, {"x-api-key": DESK}, desk)
    assert "echo" in names and "get-sum" in names, names
    assert "get-env" not in names, "denied whatever its arguments: hidden"
    assert not any(n.startswith("gzip-") for n in names), names
    assert not ok.is_error and text(ok) == "Echo: hi"
    assert secret.is_error
    assert text(secret).startswith(
        "Blocked by policy: the call to tool 'echo' was not run. "
        "Rule: no-secret-echoes. Reason: echoing secrets is not allowed."
    ), text(secret)
    assert hidden.error.message == "Unknown tool: get-env"

    # The other agent, its key as a bearer token, on the same upstream.
    (names, hidden, secret), ops_sid = session_of(gateway, {"authorization": f"Bearer {OPS}"}, ops)
    assert names == ["echo"]
    assert hidden.error.message == "Unknown tool: get-sum"
    assert not secret.is_error and text(secret) == "Echo: my secret", "the other agent's rule is not this one's"
    assert re.fullmatch(r"mcp_\S+", desk_sid) and desk_sid != ops_sid

    # Every decision is in the gateway's audit, by agent.
    status, audit = gateway.api("GET", "/v1/mesh/audit?agent=desk-agent&limit=100", ADMIN)
    assert status == 200, audit
    mcp = [r for r in audit["records"] if r["kind"] == "mcp"][::-1]
    assert [(r["tool"], r["decision"], r["mcp"]["action"], r["mcp"]["server"]) for r in mcp] == [
        ("echo", "allow", "forwarded", "everything"),
        ("echo", "deny", "blocked", "everything"),
        ("get-env", "deny", "hidden", "everything"),
    ]
    assert mcp[1]["matched_rule"] == "no-secret-echoes"
    assert re.fullmatch(r"[0-9a-f]{64}", mcp[1]["mcp"]["arguments_sha256"])


def test_closing_the_client_ends_its_session(gateway):
    async def one(s):
        return (await s.call_tool("echo", {"message": "x"})).content[0].text

    out, sid = session_of(gateway, {"x-api-key": DESK}, one)
    assert out == "Echo: x"
    # The SDK sent DELETE on the way out: the session is gone.
    req = urllib.request.Request(
        gateway.url + "/mcp/everything",
        data=json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}).encode(),
        method="POST",
        headers={
            "x-api-key": DESK,
            "mcp-session-id": sid,
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(req, timeout=HTTP_S)
    assert gone.value.code == 404
    assert sid in json.loads(gone.value.read())["message"]


def test_delete_answers_as_the_sdk_expects(gateway, caplog):
    async def one(s):
        return await s.call_tool("echo", {"message": "x"})

    with caplog.at_level("WARNING", logger="mcp.client.streamable_http"):
        session_of(gateway, {"x-api-key": DESK}, one)
    assert not [r.getMessage() for r in caplog.records if "termination failed" in r.getMessage()]


def test_approval_through_the_gateways_queue(gateway):
    """Refused naming an approval of the queue; granted, the same call runs once."""
    api = gateway.api
    seen = {}

    async def session(s):
        async def grant_api(*args):
            return await anyio.to_thread.run_sync(api, *args)

        first = await s.call_tool("get-sum", {"a": 2, "b": 3})
        assert first.is_error, text(first)
        assert "A person must approve it first: the request waits on the agentguard gateway as approval apr_" in text(
            first
        ), text(first)
        apr = APPROVAL.search(text(first)).group(1)
        seen["apr"] = apr

        # Asked again before anyone answers: the same approval, no second one.
        again = await s.call_tool("get-sum", {"b": 3, "a": 2})
        assert again.is_error and apr in text(again), text(again)
        status, listed = await grant_api("GET", "/v1/approvals", APPROVER)
        assert status == 200, listed
        assert [(a["id"], a["agent"], a["tool"], a["args"], a["context"]) for a in listed["approvals"]] == [
            (apr, "desk-agent", "get-sum", {"a": 2, "b": 3}, {"mcp_server": "everything"})
        ]
        assert listed["approvals"][0]["result"]["reason"] == "requires approval per pattern: get-sum"

        # An agent key cannot grant it; the approver's can.
        status, body = await grant_api("POST", f"/v1/approvals/{apr}/grant", DESK, {})
        assert status == 403, body
        status, body = await grant_api("POST", f"/v1/approvals/{apr}/grant", APPROVER, {})
        assert status == 200, body

        # Other arguments are another call: not covered by the grant.
        other = await s.call_tool("get-sum", {"a": 2, "b": 4})
        assert other.is_error and apr not in text(other), text(other)
        other_apr = APPROVAL.search(text(other)).group(1)

        ran = await s.call_tool("get-sum", {"a": 2, "b": 3})
        assert not ran.is_error and text(ran) == "The sum of 2 and 3 is 5.", text(ran)
        third = await s.call_tool("get-sum", {"a": 2, "b": 3})
        assert third.is_error, "used once: " + text(third)
        new = APPROVAL.search(text(third))
        assert new and new.group(1) not in (apr, other_apr), text(third)

        status, listed = await grant_api("GET", "/v1/approvals?status=all", APPROVER)
        assert {a["id"]: a["status"] for a in listed["approvals"]} == {
            apr: "used",
            other_apr: "pending",
            new.group(1): "pending",
        }

        # Denied: refused saying who denied it, and not run.
        status, body = await grant_api("POST", f"/v1/approvals/{other_apr}/deny", APPROVER, {"note": "no"})
        assert status == 200, body
        denied = await s.call_tool("get-sum", {"a": 2, "b": 4})
        assert denied.is_error
        assert f"A person denied it on the agentguard gateway (approval {other_apr}, by carol: no)" in text(denied), text(
            denied
        )

    session_of(gateway, {"x-api-key": DESK}, session)

    # The audit: the grant spent once, by carol.
    status, audit = api("GET", "/v1/mesh/audit?agent=desk-agent&limit=100", ADMIN)
    assert status == 200, audit
    used = [r for r in audit["records"] if r["kind"] == "approval" and r["decision"] == "approval_used"]
    assert [(r["approval_id"], r["decided_by"]) for r in used] == [(seen["apr"], "carol")], used


def test_a_grant_is_the_agents_not_only_its_sessions(gateway):
    """The usual script: call, be refused, a person grants, run the script again (a new session)."""

    async def call(s):
        return await s.call_tool("get-sum", {"a": 2, "b": 3})

    first, _ = session_of(gateway, {"x-api-key": DESK}, call)
    apr = APPROVAL.search(text(first)).group(1)
    status, body = gateway.api("POST", f"/v1/approvals/{apr}/grant", APPROVER, {})
    assert status == 200, body
    ran, _ = session_of(gateway, {"x-api-key": DESK}, call)
    assert not ran.is_error and text(ran) == "The sum of 2 and 3 is 5.", text(ran)


@pytest.mark.parametrize(
    "answer, expected, runs",
    [
        (ElicitResult(action="accept", content={"approve": True}), "The sum of 1 and 2 is 3.", True),
        (ElicitResult(action="decline"), "The user declined to approve it.", False),
        (ElicitResult(action="cancel"), "The user cancelled the approval request.", False),
    ],
    ids=["accept", "decline", "cancel"],
)
def test_approval_by_elicitation(gateway, answer, expected, runs):
    asked = []

    async def on_elicit(context, params):
        asked.append(params)
        return answer

    async def session(s):
        sum_ = await s.call_tool("get-sum", {"a": 1, "b": 2})
        # Calls that need no approval are not asked about.
        echo = await s.call_tool("echo", {"message": "after"})
        return sum_, echo

    (r, echo), _ = session_of(gateway, {"x-api-key": DESK}, session, elicitation_callback=on_elicit)
    assert r.is_error is (not runs), text(r)
    assert expected in text(r), text(r)
    assert text(echo) == "Echo: after"
    assert len(asked) == 1
    assert "Tool: get-sum" in asked[0].message, asked[0].message
    status, listed = gateway.api("GET", "/v1/approvals?status=all", APPROVER)
    assert status == 200 and listed["approvals"] == [], "elicitation asked; the queue was not used"
    status, audit = gateway.api("GET", "/v1/mesh/audit?agent=desk-agent&limit=100", ADMIN)
    decided = [r for r in audit["records"] if r["kind"] == "mcp" and r["tool"] == "get-sum"]
    assert [r["decision"] for r in decided] == ["require_approval"], decided
    assert decided[0]["mcp"]["approval"] == {"accept": "approved", "decline": "declined", "cancel": "cancelled"}[answer.action]
