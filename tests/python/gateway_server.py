"""A real gateway (`agentguard serve`, the Rust binary) for the Python
suite: started on 127.0.0.1 with a fresh data directory and keys file,
stopped after its module (the `gateway` fixture of conftest.py); and a
person at it, granting or denying approvals through the API from another
thread. The Python twin of tests/gateway/helpers.mjs.

The binary: $AGENTGUARD_BIN, else target/cli/release/agentguard (make
build-cli). A missing binary fails the tests that need it, never skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("AGENTGUARD_BIN") or ROOT / "target" / "cli" / "release" / "agentguard")

ADMIN = "py-admin-key-0001"
APPROVER = "py-approver-key-0001"
#: Agents, one per test that needs its own tool policy and audit.
AGENTS = [f"py-agent-{i:02d}" for i in range(64)]


def readme_gateway_policy():
    """The tool policy that bindings/python/README.md's "Remote decisions"
    section shows an admin setting (its JSON block): what its example runs
    against."""
    import re

    readme = (ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Remote decisions", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))


def key_of(agent: str) -> str:
    return f"key-{agent}"


# Traffic goes to 127.0.0.1 only, never through a proxy of the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http(url, method, path, *, key=None, body=None, timeout=30):
    """One request; (status, parsed JSON body or text)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"} if data is not None else {}
    if key is not None:
        headers["x-api-key"] = key
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(req, timeout=timeout) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Gateway:
    """`agentguard serve --port 0` with its own data directory; `stop()`."""

    def __init__(self, extra_args=()):
        if not (BIN.is_file() and os.access(BIN, os.X_OK)):
            raise RuntimeError(
                f"the agentguard binary is missing at {BIN}: build it with `make build-cli` "
                "(or point AGENTGUARD_BIN at one)")
        self.dir = Path(tempfile.mkdtemp(prefix="agentguard-py-gateway-"))
        keys = {ADMIN: {"role": "admin", "name": "alice"}, APPROVER: {"role": "approver", "name": "bob"}}
        for a in AGENTS:
            keys[key_of(a)] = {"role": "agent", "agent": a}
        self.keys_file = self.dir / "keys.json"
        self.keys_file.write_text(json.dumps({"keys": keys}))
        self._out = open(self.dir / "stdout", "wb")
        self._err = open(self.dir / "stderr", "wb")
        env = {k: v for k, v in os.environ.items() if k not in ("AGENTGUARD_URL", "AGENTGUARD_API_KEY")}
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--port", "0", "--data-dir", str(self.dir / "data"),
             "--keys", str(self.keys_file), *extra_args],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err, env=env)
        self._next_agent = 0
        self._lock = threading.Lock()
        try:
            self.url = self._wait_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, seconds=10.0):
        deadline = time.monotonic() + seconds
        path = self.dir / "stdout"
        while time.monotonic() < deadline:
            text = path.read_text(errors="replace")
            if "\n" in text:
                first = text.split("\n", 1)[0]
                prefix = "listening on http://127.0.0.1:"
                if not first.startswith(prefix) or not first[len(prefix):].isdigit():
                    raise RuntimeError(f"the gateway's first line was not 'listening on ...': {first!r}")
                return first[len("listening on "):]
            if self.proc.poll() is not None:
                raise RuntimeError(f"the gateway exited with {self.proc.returncode} before listening; "
                                   f"stderr: {self.stderr()}")
            time.sleep(0.02)
        raise RuntimeError(f"the gateway did not listen within {seconds} s; stderr: {self.stderr()}")

    def stderr(self):
        return (self.dir / "stderr").read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._out.close()
        self._err.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- as the admin ------------------------------------------------------

    def new_agent(self, policy=None):
        """An agent of its own (name, key), with `policy` as its tool policy."""
        with self._lock:
            agent = AGENTS[self._next_agent]
            self._next_agent += 1
        if policy is not None:
            self.put_policy(agent, policy)
        return agent, key_of(agent)

    def client(self, policy, **options):
        """A new agent with `policy` as its tool policy, and a GatewayClient
        with its key (approval_timeout 30 s unless given)."""
        from agentguard import GatewayClient

        agent, key = self.new_agent(policy)
        options.setdefault("approval_timeout", 30)
        return agent, GatewayClient(self.url, key, **options)

    def decisions(self, agent):
        """The decisions of the agent's tool records, oldest first."""
        return [r["decision"] for r in self.audit(agent)]

    def put_policy(self, agent, policy):
        status, body = http(self.url, "PUT", f"/v1/agents/{agent}/policies/tools", key=ADMIN, body=policy)
        assert status == 200, f"PUT tool policy: {status} {body}"
        return body

    def audit(self, agent, kind="tool"):
        """The agent's audit records of `kind` (None: every kind), oldest first."""
        status, body = http(self.url, "GET", f"/v1/mesh/audit?limit=1000&agent={agent}", key=ADMIN)
        assert status == 200, f"audit: {status} {body}"
        assert body["next_before"] is None, "more than one page of audit"
        records = list(reversed(body["records"]))
        return [r for r in records if kind is None or r["kind"] == kind]

    def approvals(self, status="pending"):
        code, body = http(self.url, "GET", f"/v1/approvals?status={status}", key=APPROVER)
        assert code == 200, f"approvals: {code} {body}"
        return body["approvals"]

    def approval(self, approval_id):
        code, body = http(self.url, "GET", f"/v1/approvals/{approval_id}", key=APPROVER)
        assert code == 200, f"approval: {code} {body}"
        return body["approval"]

    # -- as a person ---------------------------------------------------------

    def answer_when_asked(self, agent, tool, grant, *, after=0.3, within=30.0, note=None):
        """A thread that waits for `agent`'s pending approval of `tool`, then
        (`after` seconds later, while the asker waits) grants or denies it
        through the API. `.join()` it; `.approval` is the decided approval,
        `.error` what went wrong; `.decided_at` when (time.monotonic())."""
        return Person(self, agent, tool, grant, after, within, note)


class Person(threading.Thread):
    def __init__(self, gw, agent, tool, grant, after, within, note):
        super().__init__(daemon=True)
        self.gw, self.agent, self.tool, self.grant = gw, agent, tool, grant
        self.after, self.within, self.note = after, within, note
        self.approval = self.error = self.decided_at = self.seen = None
        self.start()

    def run(self):
        try:
            deadline = time.monotonic() + self.within
            while time.monotonic() < deadline:
                mine = [a for a in self.gw.approvals() if a["agent"] == self.agent and a["tool"] == self.tool]
                if mine:
                    self.seen = mine[0]
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"no pending approval of {self.tool} by {self.agent} within {self.within} s")
            time.sleep(self.after)
            how = "grant" if self.grant else "deny"
            body = {} if self.note is None else {"note": self.note}
            status, answer = http(self.gw.url, "POST", f"/v1/approvals/{self.seen['id']}/{how}",
                                  key=APPROVER, body=body)
            self.decided_at = time.monotonic()
            assert status == 200, f"{how}: {status} {answer}"
            self.approval = answer["approval"]
        except BaseException as e:  # noqa: BLE001 - reported by the test through .error
            self.error = e

    def result(self, timeout=30):
        """Joins the thread; the decided approval (raises what went wrong)."""
        self.join(timeout)
        assert not self.is_alive(), "the person thread did not finish"
        if self.error is not None:
            raise self.error
        return self.approval
