// MCP over HTTP: `agentguard serve --mcp-config FILE` serves each upstream
// MCP server at /mcp/NAME as a Streamable HTTP endpoint, the calling agent's
// tool policy in front of it (the decisions of `agentguard mcp`). Driven by
// the official TypeScript SDK's StreamableHTTPClientTransport against
// @modelcontextprotocol/server-everything, started by the gateway.
//
//   AGENTGUARD_BIN=target/cli/release/agentguard node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/mcp_http.test.mjs
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { test } from "node:test";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

import { launch, watchedPage } from "../browser/chromium.mjs";
import { ROOT, call, startServer, tempDir } from "./helpers.mjs";

const EVERYTHING = join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
const STATELESS_SERVER = join(ROOT, "tests/mcp/stateless-server.mjs");
const ADMIN = "mcp-http-admin-key-0001";
const APPROVER = "mcp-http-approver-key-0001";
const DESK = "mcp-http-key-desk-agent";
const OPS = "mcp-http-key-ops-agent";

const DESK_POLICY = {
  default: "allow",
  deny: ["get-env", "gzip-*", "delete_*"],
  require_approval: ["get-sum", "move_file"],
  rules: [
    { id: "no-secret-echoes", tool: "echo", when: { message: { glob: "*secret*" } }, decision: "deny", reason: "echoing secrets is not allowed" },
  ],
};
const OPS_POLICY = { allow: ["echo"], default: "deny" };

async function gateway(t, extraServers = {}) {
  const dir = tempDir(t);
  const keysFile = join(dir, "keys.json");
  writeFileSync(keysFile, JSON.stringify({
    keys: {
      [ADMIN]: { role: "admin", name: "alice" },
      [APPROVER]: { role: "approver", name: "carol" },
      [DESK]: { role: "agent", agent: "desk-agent" },
      [OPS]: { role: "agent", agent: "ops-agent" },
    },
  }));
  const config = join(dir, "mcp.json");
  writeFileSync(config, JSON.stringify({ servers: {
    everything: { command: process.execPath, args: [EVERYTHING] },
    stateless: { command: process.execPath, args: [STATELESS_SERVER, join(dir, "record.jsonl")] },
    ...extraServers,
  } }));
  const server = await startServer({ dataDir: join(dir, "data"), keysFile, extraArgs: ["--mcp-config", config] });
  t.after(() => server.stop());
  for (const [agent, policy] of [["desk-agent", DESK_POLICY], ["ops-agent", OPS_POLICY]]) {
    const r = await call(server.url, "PUT", `/v1/agents/${agent}/policies/tools`, { key: ADMIN, body: policy });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  return server;
}

/** An SDK client of /mcp/SERVER with `key`; `elicit` answers elicitations. */
async function connect(t, url, key, { elicit, headers = {}, server = "everything" } = {}) {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp/${server}`), {
    requestInit: { headers: { "x-api-key": key, ...headers } },
  });
  const client = new Client(
    { name: "mcp-http-test", version: "1.0.0" },
    { capabilities: elicit ? { elicitation: { form: {} } } : {} },
  );
  if (elicit) client.setRequestHandler(ElicitRequestSchema, elicit);
  await client.connect(transport);
  t.after(() => client.close());
  return { client, transport };
}

const text = (r) => r.content.map((c) => c.text).join("\n");

test("two agents on one upstream: each sees and may call what its own policy allows", async (t) => {
  const gw = await gateway(t);
  const desk = await connect(t, gw.url, DESK);
  const ops = await connect(t, gw.url, OPS);
  const deskTools = (await desk.client.listTools()).tools.map((x) => x.name);
  const opsTools = (await ops.client.listTools()).tools.map((x) => x.name);
  assert.ok(deskTools.includes("echo") && deskTools.includes("get-sum"), deskTools.join());
  assert.ok(!deskTools.includes("get-env"), "denied whatever its arguments: hidden");
  assert.deepEqual(opsTools, ["echo"]);

  assert.equal(text(await desk.client.callTool({ name: "echo", arguments: { message: "hi" } })), "Echo: hi");
  const secret = await desk.client.callTool({ name: "echo", arguments: { message: "my secret" } });
  assert.equal(secret.isError, true);
  assert.match(text(secret), /^Blocked by policy: the call to tool 'echo' was not run\. Rule: no-secret-echoes\. Reason: echoing secrets is not allowed\./);
  await assert.rejects(desk.client.callTool({ name: "get-env", arguments: {} }), /Unknown tool: get-env/);
  await assert.rejects(ops.client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } }), /Unknown tool: get-sum/);
  assert.equal(text(await ops.client.callTool({ name: "echo", arguments: { message: "my secret" } })), "Echo: my secret",
    "the other agent's rule is not this one's");

  // Every decision is in the gateway's audit, by agent.
  const audit = await call(gw.url, "GET", "/v1/mesh/audit?agent=desk-agent&limit=100", { key: ADMIN });
  const mcp = audit.body.records.filter((r) => r.kind === "mcp").reverse();
  assert.deepEqual(mcp.map((r) => [r.tool, r.decision, r.mcp.action, r.mcp.server]), [
    ["echo", "allow", "forwarded", "everything"],
    ["echo", "deny", "blocked", "everything"],
    ["get-env", "deny", "hidden", "everything"],
  ]);
  assert.equal(mcp[1].matched_rule, "no-secret-echoes");
  assert.match(mcp[1].mcp.arguments_sha256, /^[0-9a-f]{64}$/);
});

test("approval through the gateway's queue: refused naming the approval; granted, the same call runs once", async (t) => {
  const gw = await gateway(t);
  const { client } = await connect(t, gw.url, DESK);
  const first = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
  assert.equal(first.isError, true);
  const id = /approval (apr_[0-9a-f]+)/.exec(text(first))?.[1];
  assert.ok(id, text(first));
  assert.match(text(first), /A person must approve it first: the request waits on the agentguard gateway as approval apr_/);
  const listed = await call(gw.url, "GET", "/v1/approvals", { key: APPROVER });
  assert.deepEqual(listed.body.approvals.map((a) => [a.id, a.agent, a.tool, a.args, a.context]),
    [[id, "desk-agent", "get-sum", { a: 2, b: 3 }, { mcp_server: "everything" }]]);
  assert.equal(listed.body.approvals[0].result.reason, "requires approval per pattern: get-sum");

  // Asked again before anyone answers: the same approval, no second one.
  const again = await client.callTool({ name: "get-sum", arguments: { b: 3, a: 2 } });
  assert.ok(text(again).includes(id), text(again));
  assert.equal((await call(gw.url, "GET", "/v1/approvals", { key: APPROVER })).body.approvals.length, 1);

  assert.equal((await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: {} })).status, 200);
  assert.equal(text(await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } })), "The sum of 2 and 3 is 5.");
  const third = await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } });
  assert.equal(third.isError, true, "used once");
  assert.ok(!text(third).includes(id), "a new approval is asked");

  // Denied: refused saying who denied it.
  const other = await client.callTool({ name: "get-sum", arguments: { a: 7, b: 1 } });
  const otherId = /approval (apr_[0-9a-f]+)/.exec(text(other))[1];
  await call(gw.url, "POST", `/v1/approvals/${otherId}/deny`, { key: APPROVER, body: { note: "no" } });
  const denied = await client.callTool({ name: "get-sum", arguments: { a: 7, b: 1 } });
  assert.match(text(denied), new RegExp(`A person denied it on the agentguard gateway \\(approval ${otherId}, by carol: no\\)`));
});

test("approval through elicitation when the client supports it: accepted runs, declined does not", async (t) => {
  const gw = await gateway(t);
  const asked = [];
  const yes = await connect(t, gw.url, DESK, {
    elicit: async (req) => {
      asked.push(req.params);
      return { action: "accept", content: { approve: true } };
    },
  });
  assert.equal(text(await yes.client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } })), "The sum of 1 and 2 is 3.");
  assert.equal(asked.length, 1);
  assert.match(asked[0].message, /Tool: get-sum/);
  const no = await connect(t, gw.url, DESK, { elicit: async () => ({ action: "decline" }) });
  const r = await no.client.callTool({ name: "get-sum", arguments: { a: 1, b: 2 } });
  assert.equal(r.isError, true);
  assert.match(text(r), /The user declined to approve it\./);
  const pending = await call(gw.url, "GET", "/v1/approvals?status=all", { key: APPROVER });
  assert.equal(pending.body.approvals.length, 0, "elicitation asked; the queue was not used");
});

test("a new version of the agent's policy applies to its open sessions", async (t) => {
  const gw = await gateway(t);
  const { client } = await connect(t, gw.url, DESK);
  assert.equal(text(await client.callTool({ name: "echo", arguments: { message: "a" } })), "Echo: a");
  await call(gw.url, "PUT", "/v1/agents/desk-agent/policies/tools", { key: ADMIN, body: { deny: ["echo"], default: "allow" } });
  await assert.rejects(client.callTool({ name: "echo", arguments: { message: "a" } }), /Unknown tool: echo/);
  await call(gw.url, "DELETE", "/v1/agents/desk-agent/policies/tools", { key: ADMIN });
  const tools = (await client.listTools()).tools;
  assert.deepEqual(tools, [], "no policy: nothing is allowed");
});

test("keys, origins, sessions and servers: clear refusals", async (t) => {
  const gw = await gateway(t);
  const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
  const post = (key, body, headers = {}, path = "/mcp/everything") =>
    call(gw.url, "POST", path, { key, body, headers: { accept: "application/json, text/event-stream", "content-type": "application/json", ...headers } });
  const cases = [
    ["no key", await post(undefined, init), 401, /missing API key/],
    ["an admin key", await post(ADMIN, init), 403, /only agent keys use MCP servers/],
    ["a foreign origin", await post(DESK, init, { origin: "http://evil.example" }), 403, /Origin "http:\/\/evil\.example" is not allowed/],
    ["an unknown server", await post(DESK, init, {}, "/mcp/nothing"), 404, /no MCP server "nothing" \(servers: everything, stateless\)/],
    ["no session", await post(DESK, { jsonrpc: "2.0", id: 2, method: "tools/list" }), 400, /start a session with initialize first/],
    ["an unknown session", await post(DESK, { jsonrpc: "2.0", id: 2, method: "tools/list" }, { "mcp-session-id": "mcp_nope" }), 404, /no MCP session "mcp_nope"/],
    ["a batch", await post(DESK, [init]), 400, /batches are not accepted/],
  ];
  for (const [what, r, status, message] of cases) {
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, message, what);
  }
  // A loopback origin is fine; the session is its agent's only.
  const desk = await connect(t, gw.url, DESK, { headers: { origin: "http://localhost:5173" } });
  const sid = desk.transport.sessionId;
  assert.match(sid, /^mcp_/);
  const list = { jsonrpc: "2.0", id: 3, method: "tools/list" };
  const stolen = await post(OPS, list, { "mcp-session-id": sid });
  assert.equal(stolen.status, 404, "another agent's session is unknown to it");
  // JSON when the client does not take SSE.
  const json = await call(gw.url, "POST", "/mcp/everything", { key: DESK, body: list, headers: { accept: "application/json", "content-type": "application/json", "mcp-session-id": sid } });
  assert.equal(json.status, 200);
  assert.equal(json.headers.get("content-type"), "application/json");
  assert.ok(json.body.result.tools.some((x) => x.name === "echo"));
  // DELETE ends it.
  await desk.transport.terminateSession();
  const after = await post(DESK, list, { "mcp-session-id": sid });
  assert.equal(after.status, 404);
});

// ---- the stateless protocol (2026-07-28): no sessions, _meta and headers ----

const META = (elicits) => ({
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "scripted-client", version: "1.0.0" },
  "io.modelcontextprotocol/clientCapabilities": elicits ? { elicitation: { form: {} } } : {},
});

/** One stateless request; `headers` replace the standard ones. */
function stateless(url, key, id, method, params, { elicits = false, headers } = {}) {
  const std = { "mcp-method": method, ...(params.name ? { "mcp-name": params.name } : {}), "mcp-protocol-version": "2026-07-28" };
  return call(url, "POST", "/mcp/stateless", {
    key,
    body: { jsonrpc: "2.0", id, method, params: { ...params, _meta: META(elicits) } },
    headers: { accept: "application/json", "content-type": "application/json", ...(headers ?? std) },
  });
}

test("stateless protocol: no session; decided as in a session; the client's ids come back, concurrent ones apart", async (t) => {
  const gw = await gateway(t);
  const [a, b] = await Promise.all([
    stateless(gw.url, DESK, 1, "tools/list", {}),
    stateless(gw.url, OPS, 1, "tools/list", {}),
  ]);
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.equal(a.body.id, 1);
  assert.deepEqual(a.body.result.tools.map((x) => x.name), ["move_file", "ask_reason"], "delete_all: hidden");
  assert.deepEqual(b.body.result.tools.map((x) => x.name), [], "the other agent's policy allows only echo");
  const same = await Promise.all([1, 2, 3].map(() => stateless(gw.url, DESK, "x", "tools/call", { name: "ask_reason", arguments: {} })));
  for (const r of same) assert.equal(r.body.id, "x");

  // Approval through the queue (no elicitation declared), then granted.
  const first = await stateless(gw.url, DESK, 2, "tools/call", { name: "move_file", arguments: { to: "/b" } });
  assert.equal(first.body.result.isError, true);
  const id = /approval (apr_[0-9a-f]+)/.exec(first.body.result.content[0].text)[1];
  await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: {} });
  const ran = await stateless(gw.url, DESK, 3, "tools/call", { name: "move_file", arguments: { to: "/b" } });
  assert.equal(ran.body.id, 3);
  assert.equal(ran.body.result.content[0].text, 'move_file {"to":"/b"}');

  // A client that declares elicitation is asked through input_required.
  const asked = await stateless(gw.url, DESK, 4, "tools/call", { name: "move_file", arguments: { to: "/c" } }, { elicits: true });
  assert.equal(asked.body.result.resultType, "input_required");
  assert.match(asked.body.result.requestState, /^agentguard1\./);
  assert.equal(asked.body.result.inputRequests.agentguard_approval.method, "elicitation/create");
  const denied = await stateless(gw.url, DESK, 5, "tools/call", { name: "delete_all", arguments: {} });
  assert.equal(denied.body.id, 5);
  assert.equal(denied.body.error.code, -32602, "hidden: an unknown tool");
  assert.equal(denied.body.error.message, "Unknown tool: delete_all");
});

test("Mcp-Method and Mcp-Name must say what the body says (required in 2026-07-28): 400 HeaderMismatch", async (t) => {
  const gw = await gateway(t);
  const cases = [
    ["a wrong method", { "mcp-method": "tools/list", "mcp-name": "move_file" }, /the Mcp-Method header says "tools\/list" but the body says "tools\/call"/],
    ["a wrong name", { "mcp-method": "tools/call", "mcp-name": "ask_reason" }, /the Mcp-Name header says "ask_reason" but the body says "move_file"/],
    ["no method header", { "mcp-name": "move_file" }, /the Mcp-Method header is required \(protocol 2026-07-28\)/],
    ["no name header", { "mcp-method": "tools/call" }, /the Mcp-Name header is required/],
    ["another protocol version", { "mcp-method": "tools/call", "mcp-name": "move_file", "mcp-protocol-version": "2025-06-18" }, /MCP-Protocol-Version header says "2025-06-18" but the body says "2026-07-28"/],
  ];
  for (const [what, headers, message] of cases) {
    const r = await stateless(gw.url, DESK, 9, "tools/call", { name: "move_file", arguments: {} }, { headers });
    assert.equal(r.status, 400, what);
    assert.equal(r.body.error.code, -32001, what);
    assert.equal(r.body.id, 9);
    assert.match(r.body.error.message, message, what);
  }
  const record = (await call(gw.url, "GET", "/v1/approvals?status=all", { key: APPROVER })).body.approvals;
  assert.equal(record.length, 0, "nothing was decided");
  // In a session too, a header that disagrees with the body is refused.
  const desk = await connect(t, gw.url, DESK);
  const r = await call(gw.url, "POST", "/mcp/everything", {
    key: DESK,
    body: { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "echo", arguments: { message: "a" } } },
    headers: { accept: "application/json", "content-type": "application/json", "mcp-session-id": desk.transport.sessionId, "mcp-name": "get-env" },
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error.message, /the Mcp-Name header says "get-env" but the body says "echo"/);
});

// ---- an upstream reached over Streamable HTTP ----

/** A free port on loopback. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** server-everything in its own Streamable HTTP mode, stopped after the test. */
async function everythingOverHttp(t) {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, "streamableHttp"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  let err = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server-everything did not listen: ${err}`)), 15_000);
    child.stderr.on("data", (d) => {
      err += d;
      if (err.includes(`listening on port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`server-everything exited ${code}: ${err}`)));
  });
  return `http://127.0.0.1:${port}/mcp`;
}

test("an upstream over Streamable HTTP: filtered, decided, approved through the queue, as a stdio one", async (t) => {
  const upstream = await everythingOverHttp(t);
  const gw = await gateway(t, { remote: { url: upstream } });
  const desk = await connect(t, gw.url, DESK, { server: "remote" });
  const ops = await connect(t, gw.url, OPS, { server: "remote" });
  const names = (await desk.client.listTools()).tools.map((x) => x.name);
  assert.ok(names.includes("echo") && names.includes("get-sum") && !names.includes("get-env"), names.join());
  assert.deepEqual((await ops.client.listTools()).tools.map((x) => x.name), ["echo"]);
  assert.equal(text(await desk.client.callTool({ name: "echo", arguments: { message: "over http" } })), "Echo: over http");
  const secret = await desk.client.callTool({ name: "echo", arguments: { message: "a secret" } });
  assert.match(text(secret), /Rule: no-secret-echoes\./);
  const asked = await desk.client.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } });
  const id = /approval (apr_[0-9a-f]+)/.exec(text(asked))[1];
  await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: {} });
  assert.equal(text(await desk.client.callTool({ name: "get-sum", arguments: { a: 20, b: 22 } })), "The sum of 20 and 22 is 42.");
  // Two sessions of the gateway, two sessions upstream; each ends with its client.
  assert.notEqual(desk.transport.sessionId, ops.transport.sessionId);
  await desk.transport.terminateSession();
  assert.equal(text(await ops.client.callTool({ name: "echo", arguments: { message: "still here" } })), "Echo: still here");
});

test("an upstream over HTTP that is down: the request gets an error, never a decision it did not make", async (t) => {
  const port = await freePort();
  const gw = await gateway(t, { gone: { url: `http://127.0.0.1:${port}/mcp` } });
  await assert.rejects(connect(t, gw.url, DESK, { server: "gone" }), /could not be reached/);
  const bad = [
    [{ url: "https://127.0.0.1:1/mcp" }, /must be http:\/\/HOST\[:PORT\]\/PATH/],
    [{ url: "http://127.0.0.1:1/mcp", args: ["x"] }, /args, env and cwd go with command, not url/],
    [{ command: "node", url: "http://127.0.0.1:1/mcp" }, /give command or url, not both/],
  ];
  for (const [server, message] of bad) {
    const dir = tempDir(t);
    writeFileSync(join(dir, "keys.json"), JSON.stringify({ keys: { [ADMIN]: { role: "admin" } } }));
    writeFileSync(join(dir, "mcp.json"), JSON.stringify({ servers: { x: server } }));
    await assert.rejects(
      startServer({ dataDir: join(dir, "data"), keysFile: join(dir, "keys.json"), extraArgs: ["--mcp-config", join(dir, "mcp.json")] }),
      message,
    );
  }
});

test("the dashboard shows MCP decisions with the tool decisions, naming the server", { timeout: 120_000 }, async (t) => {
  const gw = await gateway(t);
  const browser = await launch({ viewport: { width: 1280, height: 900 } });
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);
  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#key", ADMIN);
  await page.click("#connect");
  await page.waitForFunction(() => /^connected/.test(document.querySelector("#status")?.textContent ?? ""), null, { timeout: 10_000 });
  const { client } = await connect(t, gw.url, DESK);
  await client.callTool({ name: "echo", arguments: { message: "<img src=x onerror=alert(1)> secret" } });
  const row = page.locator('#tool-decisions tbody tr[data-decision="deny"]');
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await row.locator("td.tool").textContent(), "echo via MCP everything");
  assert.equal(await row.locator("td.agent").textContent(), "desk-agent");
  assert.match(await row.locator("td.reason").textContent(), /echoing secrets is not allowed/);
  assert.equal(await page.locator("#tool-decisions img").count(), 0, "arguments never become markup");
  assert.deepEqual(problems, []);
});
