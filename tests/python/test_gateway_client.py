"""agentguard.GatewayClient against a real `agentguard serve` (one per
module, tests/python/gateway_server.py): every answer equals the local
Policy's for the same policy file; evaluate records nothing; check is
audited once per call; a require_approval waits on the gateway's
approval queue while a person grants or denies it through the API from
another thread; not answered in time it stays require_approval; an approval
is used once; every failure is a GatewayError, never an allow. Sync and
async. Fake HTTP servers on 127.0.0.1 stand in for a gateway that answers
garbage."""

import asyncio
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from gateway_server import ADMIN, ROOT, Gateway, http, readme_gateway_policy

from agentguard import (
    AgentGuardError,
    ApprovalRequired,
    GatewayClient,
    GatewayDecision,
    GatewayError,
    Policy,
    PolicyResult,
    ToolDenied,
)

pytestmark = pytest.mark.timeout(60)

POLICY = {
    "name": "py-gateway",
    "allow": ["read_*"],
    "deny": ["drop_*"],
    "require_approval": ["git_push"],
    "default": "deny",
    "rules": [
        {"id": "no-secrets", "tool": "*_file", "when": {"path": {"path_glob": ["*.env"]}},
         "decision": "deny", "reason": "secrets are off limits"},
        {"id": "workspace-writes", "tool": "write_file", "when": {"path": {"path_under": "/workspace"}},
         "decision": "allow"},
        {"id": "big-refunds", "tool": "refund", "when": {"amount": {"gt": 100}}, "decision": "require_approval"},
        {"id": "small-refunds", "tool": "refund", "when": {"amount": {"lte": 100}}, "decision": "allow"},
    ],
}

#: Calls of every kind: allowed by a pattern and by a rule, denied by a
#: pattern, by a rule with its reason, by the default, by a broken
#: condition; approval-gated by a pattern and by a rule.
CALLS = [
    ("read_file", {"path": "/workspace/a"}),
    ("drop_table", {"name": "users"}),
    ("write_file", {"path": "/workspace/a"}),
    ("write_file", {"path": "/etc/passwd"}),
    ("write_file", {"path": "/workspace/../etc/passwd"}),
    ("read_file", {"path": "/workspace/.env"}),
    ("refund", {"amount": 20}),
    ("refund", {"amount": "20"}),
    ("send_email", None),
    ("refund", {"amount": 250}),
    ("git_push", {"branch": "main"}),
]


def local(tool, args=None, approved=None):
    """The same policy decided in this process: what the gateway must answer."""
    policy = Policy.from_dict(POLICY)
    if approved is None:
        return policy.evaluate(tool, args=args)
    return policy.check(tool, args=args, approved=approved)


def tool_records(gw, agent):
    return [(r["tool"], r["decision"], r["message"], r["matched_rule"]) for r in gw.audit(agent)]


def steps(gw, agent):
    return [(r["kind"], r["decision"]) for r in gw.audit(agent, kind=None) if r["kind"] != "tool_policy"]


# ------------------------------------------------------------------ decisions


def test_evaluate_is_the_gateways_decision_and_records_nothing(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key)
    for tool, args in CALLS:
        got = client.evaluate(tool, args=args, context={"run": "e1"})
        assert type(got) is PolicyResult
        assert got == local(tool, args), (tool, args)
        assert got.to_dict() == local(tool, args).to_dict()
    assert client.evaluate("git_push").needs_approval  # no approval opened, no wait
    assert gateway.audit(agent) == []
    assert [a for a in gateway.approvals("all") if a["agent"] == agent] == []


def test_check_allow_and_deny_with_rule_and_reason_audited_once_each(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key)
    decided = [(t, a) for t, a in CALLS if not local(t, a).needs_approval]
    results = [client.check(t, args=a, context={"run": "c1"}) for t, a in decided]
    assert results == [local(t, a) for t, a in decided]
    read, drop = results[0], results[1]
    assert read.allowed and read.reason == "allowed by pattern: read_*" and read.rule == {"list": "allow", "index": 0}
    assert drop.denied and (drop.reason, drop.matched_rule) == ("denied by pattern: drop_*", "drop_*")
    assert drop.rule == {"list": "deny", "index": 0}
    records = gateway.audit(agent)
    assert [(r["tool"], r["decision"], r["message"], r["matched_rule"]) for r in records] == [
        (t, r.decision.value, r.reason, r.matched_rule) for (t, _), r in zip(decided, results)]
    assert all(r["context"] == {"run": "c1"} for r in records)


def test_an_argument_condition_broken_is_the_gateways_deny(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=0)
    assert client.check("write_file", args={"path": "/workspace/ok"}).reason == "allowed by rule: workspace-writes"
    outside = client.check("write_file", args={"path": "/workspace/../etc/passwd"})
    assert outside.denied and outside.reason == "not in allow list (default: deny)" and outside.matched_rule is None
    secret = client.check("read_file", args={"path": "/workspace/.env"})
    assert (secret.decision, secret.reason, secret.matched_rule, secret.rule) == (
        "deny", "secrets are off limits", "no-secrets", {"id": "no-secrets"})
    # A string is no number: no proof that it is small, so the restrictive
    # rule (big-refunds) applies.
    doubt = client.check("refund", args={"amount": "20"})
    assert not doubt.allowed and doubt.matched_rule == "big-refunds" and doubt == local("refund", {"amount": "20"})
    with pytest.raises(ToolDenied) as caught:
        client.enforce("read_file", args={"path": "/srv/.env"})
    assert type(caught.value) is ToolDenied
    assert str(caught.value) == "Tool 'read_file' denied: secrets are off limits"
    assert (caught.value.tool, caught.value.matched_rule) == ("read_file", "no-secrets")
    assert client.enforce("refund", args={"amount": 5}) == local("refund", {"amount": 5})
    assert [d for _, d, _, _ in tool_records(gateway, agent)] == [
        "allow", "deny", "deny", "require_approval", "deny", "allow"]


# ------------------------------------------------------------------ approvals


def test_require_approval_granted_through_the_api_while_the_client_waits(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=30)
    person = gateway.answer_when_asked(agent, "git_push", grant=True, after=0.7, note="release day")
    t0 = time.monotonic()
    answer = client.check_detailed("git_push", args={"branch": "main"}, context={"ticket": "OPS-1"})
    done = time.monotonic()
    granted = person.result()
    assert isinstance(answer, GatewayDecision)
    assert answer.result == local("git_push", {"branch": "main"}, approved=True)
    assert answer.result.allowed and answer.result.reason == "approved via callback (pattern: git_push)"
    assert answer.approval["id"] == granted["id"] == person.seen["id"]
    assert (answer.approval["status"], answer.approval["decided_by"]) == ("used", "bob")
    assert person.seen["context"] == {"ticket": "OPS-1"} and person.seen["args"] == {"branch": "main"}
    assert done - t0 >= 0.7, "the client waited for the person"
    assert done - person.decided_at < 1.5, "the long-poll answered when the approval was granted"
    assert gateway.approval(granted["id"])["status"] == "used"
    assert steps(gateway, agent) == [("tool", "require_approval"), ("approval", "approval_granted"),
                                     ("tool", "allow")]

    # Used once: the same call again needs a new approval, and the old id is spent.
    again = GatewayClient(gateway.url, key, approval_timeout=0).check_detailed("git_push", args={"branch": "main"})
    assert again.result.needs_approval and again.approval["status"] == "pending"
    assert again.approval["id"] != granted["id"]
    status, body = http(gateway.url, "POST", "/v1/tools/check", key=key,
                        body={"tool": "git_push", "args": {"branch": "main"}, "approval_id": granted["id"]})
    assert (status, body["error"]) == (409, "approval_used")


def test_require_approval_denied_through_the_api(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=30)
    person = gateway.answer_when_asked(agent, "refund", grant=False, after=0.3)
    with pytest.raises(ToolDenied) as caught:
        client.enforce("refund", args={"amount": 250, "currency": "EUR"})
    person.result()
    assert type(caught.value) is ToolDenied  # a refusal, not a pending approval
    assert caught.value.reason == "approval denied via callback (rule: big-refunds)"
    assert caught.value.matched_rule == "big-refunds"
    assert local("refund", {"amount": 250}, approved=False).reason == caught.value.reason
    assert steps(gateway, agent) == [("tool", "require_approval"), ("approval", "approval_denied"), ("tool", "deny")]


def test_not_answered_in_time_it_stays_require_approval(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=1.5)
    t0 = time.monotonic()
    answer = client.check_detailed("git_push", args={"branch": "late"})
    waited = time.monotonic() - t0
    assert answer.result == local("git_push", {"branch": "late"})
    assert answer.result.needs_approval and not answer.result.allowed
    assert answer.approval["status"] == "pending"
    assert 1.5 <= waited < 3.5, f"waited {waited:.2f} s for an approval_timeout of 1.5 s"
    with pytest.raises(ApprovalRequired) as caught:
        GatewayClient(gateway.url, key, approval_timeout=0).enforce("git_push", args={"branch": "late"})
    assert caught.value.reason == "requires approval per pattern: git_push"
    # One record per call: the repeated check of a pending approval records nothing.
    assert [d for _, d, _, _ in tool_records(gateway, agent)] == ["require_approval", "require_approval"]
    # Granted after the client gave up: nothing ran, nothing was used.
    status, _ = http(gateway.url, "POST", f"/v1/approvals/{answer.approval['id']}/grant", key=ADMIN, body={})
    assert status == 200 and gateway.approval(answer.approval["id"])["status"] == "granted"


def test_an_approval_that_expires_while_the_client_waits_stays_require_approval():
    gw = _own_gateway(["--approval-seconds", "1"])
    try:
        agent, key = gw.new_agent(POLICY)
        t0 = time.monotonic()
        answer = GatewayClient(gw.url, key, approval_timeout=20).check_detailed("git_push", args={"branch": "x"})
        waited = time.monotonic() - t0
        assert answer.result.needs_approval and answer.approval["status"] == "expired"
        assert waited < 4, f"the wait ended at the expiry, not after {waited:.1f} s"
    finally:
        gw.stop()


def _own_gateway(extra_args):
    try:
        return Gateway(extra_args)
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


# ------------------------------------------------------------------ async


def test_async_evaluate_check_enforce(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=30)

    async def main():
        assert await client.evaluate_async("drop_table") == local("drop_table")
        assert (await client.check_async("read_file", args={"path": "/a"})).allowed
        with pytest.raises(ToolDenied):
            await client.enforce_async("drop_table", args={"name": "x"})
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(ticker())
        person = gateway.answer_when_asked(agent, "git_push", grant=True, after=0.6)
        granted = await client.check_detailed_async("git_push", args={"branch": "main"})
        stop.set()
        await beat
        person.result()
        denier = gateway.answer_when_asked(agent, "refund", grant=False, after=0.2)
        with pytest.raises(ToolDenied) as caught:
            await client.enforce_async("refund", args={"amount": 500})
        denier.result()
        return granted, ticks, caught.value

    granted, ticks, refused = asyncio.run(main())
    assert granted.result == local("git_push", {"branch": "main"}, approved=True)
    assert granted.approval["status"] == "used"
    assert ticks >= 20, f"the event loop ran only {ticks} times while the client waited"
    assert refused.reason == "approval denied via callback (rule: big-refunds)"
    assert [d for _, d, _, _ in tool_records(gateway, agent)] == [
        "allow", "deny", "require_approval", "allow", "require_approval", "deny"]


def test_async_check_cancelled_while_waiting_asks_nothing_more(gateway):
    agent, key = gateway.new_agent(POLICY)
    client = GatewayClient(gateway.url, key, approval_timeout=30)

    async def main():
        task = asyncio.create_task(client.check_async("git_push", args={"branch": "c"}))
        for _ in range(200):
            mine = [a for a in await asyncio.to_thread(gateway.approvals) if a["agent"] == agent]
            if mine:
                break
            await asyncio.sleep(0.05)
        assert mine, "no approval was asked"
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return mine[0]["id"], time.monotonic()

    approval_id, cancelled_at = asyncio.run(main())
    # asyncio.run waits for its worker threads: the long-poll (wait=30) was
    # ended at the cancellation, not left running.
    assert time.monotonic() - cancelled_at < 5
    status, _ = http(gateway.url, "POST", f"/v1/approvals/{approval_id}/grant", key=ADMIN, body={})
    assert status == 200
    time.sleep(1.0)  # the abandoned long-poll returns now; nothing may follow it
    assert gateway.approval(approval_id)["status"] == "granted"
    assert [d for _, d, _, _ in tool_records(gateway, agent)] == ["require_approval"]


# ------------------------------------------------------------------ failures


def test_a_bad_key_no_policy_or_a_wrong_role_is_a_gateway_error(gateway):
    with pytest.raises(GatewayError) as caught:
        GatewayClient(gateway.url, "no-such-key").check("read_file")
    e = caught.value
    assert isinstance(e, AgentGuardError) and (e.status, e.code) == (401, "unauthorized")
    assert e.message == "unknown API key" and e.body["error"] == "unauthorized"
    assert str(e) == "gateway: 401 unauthorized: unknown API key"

    agent, key = gateway.new_agent()  # no tool policy
    for call in (lambda c: c.check("read_file"), lambda c: c.enforce("read_file"),
                 lambda c: asyncio.run(c.check_async("read_file"))):
        with pytest.raises(GatewayError) as caught:
            call(GatewayClient(gateway.url, key))
        assert (caught.value.status, caught.value.code) == (404, "no_tool_policy")
        assert agent in caught.value.message
    with pytest.raises(GatewayError) as caught:
        GatewayClient(gateway.url, ADMIN).check("read_file")
    assert (caught.value.status, caught.value.code) == (403, "forbidden")


def test_a_gateway_that_is_down_is_a_gateway_error_never_an_allow():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = GatewayClient(f"http://127.0.0.1:{port}", "key")
    for call in (lambda: client.check("read_file"), lambda: client.enforce("read_file"),
                 lambda: client.evaluate("read_file"), lambda: asyncio.run(client.enforce_async("read_file"))):
        with pytest.raises(GatewayError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (None, "unreachable")
        assert "cannot reach the gateway" in caught.value.message


@contextmanager
def fake_gateway(answer):
    """An HTTP server on 127.0.0.1 answering every request with
    ``answer(method, path, body) -> (status, headers, bytes)``; yields its
    URL and the list of requests it got."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path, body, {k.lower(): v for k, v in self.headers.items()}))
            status, headers, raw = answer(self.command, self.path, body)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _any

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def json_answer(data, status=200):
    return lambda method, path, body: (status, {"content-type": "application/json"}, json.dumps(data).encode())


DECISION = {"tool": "read_file", "decision": "allow", "reason": "allowed by pattern: read_*",
            "matched_rule": "read_*", "rule": {"list": "allow", "index": 0}, "shadow": []}


@pytest.mark.parametrize("name,answer", [
    ("not JSON", lambda m, p, b: (200, {"content-type": "text/plain"}, b"hello")),
    ("not an object", json_answer([DECISION])),
    ("not a decision", json_answer({"ok": True})),
    ("another tool", json_answer({**DECISION, "tool": "drop_table"})),
    ("an unknown decision", json_answer({**DECISION, "decision": "maybe"})),
    ("a reason that is no string", json_answer({**DECISION, "reason": 5})),
    ("a bad rule", json_answer({**DECISION, "rule": {"list": "nope"}})),
    ("a bad approval", json_answer({**DECISION, "decision": "require_approval", "approval": "apr_1"})),
    ("an HTML error", lambda m, p, b: (502, {"content-type": "text/html"}, b"<h1>Bad Gateway</h1>")),
    ("another status", json_answer(DECISION, status=201)),
    ("a redirect", lambda m, p, b: (307, {"location": "http://127.0.0.1:9/steal"}, b"")),
])
def test_an_answer_that_is_not_a_decision_is_a_gateway_error(name, answer):
    with fake_gateway(answer) as (url, seen):
        client = GatewayClient(url, "secret-key")
        with pytest.raises(GatewayError) as caught:
            client.check("read_file", args={"path": "/a"})
        assert caught.value.code == "bad_answer", caught.value
        with pytest.raises(GatewayError):
            asyncio.run(client.enforce_async("read_file"))
    method, path, body, headers = seen[0]
    assert (method, path) == ("POST", "/v1/tools/check")
    assert json.loads(body) == {"tool": "read_file", "args": {"path": "/a"}}
    assert headers["x-api-key"] == "secret-key"
    assert len(seen) == 2  # a redirect is not followed


def test_a_fake_decision_is_taken_as_the_gateways_and_the_approval_wait_checks_its_answers():
    # The client converts, it does not decide: a well-formed answer is
    # returned as given (here, by a fake gateway).
    with fake_gateway(json_answer(DECISION)) as (url, seen):
        client = GatewayClient(url, "k")
        assert client.check("read_file") == PolicyResult(
            "allow", "read_file", "allowed by pattern: read_*", "read_*", {"list": "allow", "index": 0}, [])
        assert client.evaluate("read_file", args={"a": 1}, context={"run": "r"}) == client.check("read_file")
        assert [(m, p, json.loads(b)) for m, p, b, _ in seen[:2]] == [
            ("POST", "/v1/tools/check", {"tool": "read_file"}),
            ("POST", "/v1/tools/evaluate", {"tool": "read_file", "args": {"a": 1}, "context": {"run": "r"}})]

    pending = {**DECISION, "tool": "git_push", "decision": "require_approval",
               "approval": {"id": "apr_1", "status": "pending", "expires_at": 0}}

    def answer(method, path, body):
        if method == "POST":
            return json_answer(pending)(method, path, body)
        return json_answer({"ok": True, "approval": {"id": "apr_other", "status": "granted"}})(method, path, body)

    with fake_gateway(answer) as (url, seen):
        with pytest.raises(GatewayError) as caught:
            GatewayClient(url, "k", approval_timeout=5).check("git_push")
        assert caught.value.code == "bad_answer" and "apr_other" in caught.value.message
        # The wait: the whole seconds left of approval_timeout.
        assert [(m, p) for m, p, _, _ in seen] == [("POST", "/v1/tools/check"), ("GET", "/v1/approvals/apr_1?wait=4")]


def test_no_answer_in_time_is_a_gateway_error():
    def slow(method, path, body):
        time.sleep(2)
        return json_answer(DECISION)(method, path, body)

    with fake_gateway(slow) as (url, _):
        t0 = time.monotonic()
        with pytest.raises(GatewayError) as caught:
            GatewayClient(url, "k", timeout=0.3).check("read_file")
        assert (caught.value.status, caught.value.code) == (None, "timeout")
        assert time.monotonic() - t0 < 1.5


# ------------------------------------------------------------------ the API


def test_bad_arguments_and_approved_are_refused_before_anything_is_sent():
    client = GatewayClient("http://127.0.0.1:9", "k")
    for bad in (lambda: client.check("git_push", approved=True), lambda: client.enforce("x", approved=False),
                lambda: asyncio.run(client.check_async("x", approved=True)),
                lambda: asyncio.run(client.enforce_async("x", approved=True))):
        with pytest.raises(TypeError, match="approvals are granted or denied on the gateway"):
            bad()
    with pytest.raises(TypeError):
        client.check(5)
    with pytest.raises(TypeError):
        client.check("x", args=["a"])
    with pytest.raises(TypeError):
        client.evaluate("x", context="run-1")
    with pytest.raises(ValueError):
        client.check("x", args={"n": float("nan")})
    with pytest.raises(ValueError):
        client.check("\ud800")
    for url in ("127.0.0.1:8787", "ftp://h", "http://", "http://h/?q=1"):
        with pytest.raises(ValueError):
            GatewayClient(url, "k")
    for key in ("", " k", "k\n", "clé"):
        with pytest.raises(ValueError, match="API key"):
            GatewayClient("http://h", key)
    with pytest.raises(TypeError):
        GatewayClient("http://h", b"k")
    with pytest.raises(ValueError):
        GatewayClient("http://h", "k", approval_timeout=-1)
    with pytest.raises(ValueError):
        GatewayClient("http://h", "k", timeout=0)
    with pytest.raises(TypeError):
        GatewayClient("http://h", "k", timeout=True)


def test_client_properties_repr_and_error_pickling():
    c = GatewayClient("http://127.0.0.1:8787/", "very-secret", approval_timeout=5, timeout=2)
    assert (c.url, c.approval_timeout, c.timeout) == ("http://127.0.0.1:8787", 5.0, 2.0)
    assert "very-secret" not in repr(c) and "127.0.0.1:8787" in repr(c)
    e = GatewayError("gone", status=409, code="approval_used", body={"error": "approval_used"})
    again = pickle.loads(pickle.dumps(e))
    assert (again.status, again.code, again.message, again.body, str(again)) == (
        409, "approval_used", "gone", {"error": "approval_used"}, "gateway: 409 approval_used: gone")


# ------------------------------------------------------------------ the example


def test_the_example_runs_against_the_readme_policy_and_is_the_readme_section(gateway):
    example = ROOT / "examples" / "adapters" / "python" / "gateway_client.py"
    agent, key = gateway.new_agent(readme_gateway_policy())
    person = gateway.answer_when_asked(agent, "git_push", grant=True, after=0.3)
    env = {**os.environ, "AGENTGUARD_URL": gateway.url, "AGENTGUARD_API_KEY": key}
    done = subprocess.run([sys.executable, str(example)], capture_output=True, text=True, timeout=60, env=env)
    person.result()
    assert done.returncode == 0, done.stderr
    assert done.stdout == "granted: pushing main\n"
    assert gateway.decisions(agent) == ["allow", "deny", "require_approval", "allow"]
    assert all(r["context"] == {"run": "42"} for r in gateway.audit(agent))
    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    assert example.read_text(encoding="utf-8") in readme
