// GatewayClient against a real gateway (`agentguard serve`, started once
// for this file on 127.0.0.1 with a temporary data directory, stopped
// after): the gateway's decisions with a Policy's shape, evaluate never
// audited, approvals waited for on the gateway's queue (granted, denied,
// nobody in time, expired, used once), and every failure a GatewayError or
// a TypeError, never an allow.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { inspect } from "node:util";
import { pathToFileURL } from "node:url";

import { ApprovalRequired, GatewayClient, GatewayError, Policy, ToolDenied } from "agentguard";

const { startGateway, keyOf, ADMIN } = await import(
  process.env.AGENTGUARD_JS_GATEWAY ? pathToFileURL(process.env.AGENTGUARD_JS_GATEWAY).href : new URL("../gateway.mjs", import.meta.url).href
);

const POLICY = {
  name: "remote",
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["send_email"],
  rules: [
    { id: "workspace-writes", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" },
    { id: "big-refunds", tool: "refund", when: { amount: { gt: 100 } }, decision: "require_approval" },
    { id: "small-refunds", tool: "refund", when: { amount: { lte: 100 } }, decision: "allow" },
    { id: "try-no-curl", tool: "run_shell", mode: "shadow", when: { command: { command: "curl *" } }, decision: "deny" },
  ],
};
const local = new Policy(POLICY);
const AGENTS = ["eval-agent", "check-agent", "grant-agent", "deny-agent", "timeout-agent", "once-agent", "input-agent", "signal-agent", "no-policy-agent"];
/** The local policy with a person's answer: what the gateway's core must give once answered. */
const answered = (answer, tool, args) => new Policy(POLICY, { onApproval: () => answer }).check(tool, { args });

let gw;
before(async () => {
  gw = await startGateway(AGENTS);
  for (const a of AGENTS) if (a !== "no-policy-agent") await gw.putPolicy(a, POLICY);
});
after(async () => {
  await gw?.stop();
});

const client = (agent, options) => new GatewayClient(gw.url, keyOf(agent), options);

test("the constructor checks its arguments; the client has a Policy's shape", () => {
  for (const url of [undefined, 5, null, {}]) assert.throws(() => new GatewayClient(url, "k-12345678"), TypeError);
  assert.throws(() => new GatewayClient("not a url", "k-12345678"), /url is not a URL/);
  assert.throws(() => new GatewayClient("ftp://127.0.0.1/", "k-12345678"), /http:\/\/ or https:\/\//);
  assert.throws(() => new GatewayClient("http://u:p@127.0.0.1/", "k-12345678"), /credentials/);
  assert.throws(() => new GatewayClient("http://127.0.0.1/?a=1", "k-12345678"), /no query/);
  for (const key of [undefined, "", 5, "a\nb", " lead", "kéy-12345"]) assert.throws(() => new GatewayClient(gw.url, key), /key must be/);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { approvaltimeout: 1 }), /unknown GatewayClient option "approvaltimeout"/);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", "fast"), TypeError);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { approvalTimeout: "5" }), TypeError);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { approvalTimeout: -1 }), RangeError);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { approvalTimeout: Infinity }), RangeError);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { requestTimeout: 0 }), RangeError);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { fetch: "fetch" }), /fetch must be a function/);
  assert.throws(() => new GatewayClient(gw.url, "k-12345678", { signal: {} }), /signal must be an AbortSignal/);

  const c = new GatewayClient(new URL(`${gw.url}/`), keyOf("eval-agent"), { approvalTimeout: 2 });
  assert.equal(c.url, gw.url);
  assert.equal(c.approvalTimeout, 2);
  assert.equal(c.hasOnApproval, true);
  assert.equal("alwaysDenied" in c, false);
  assert.equal(c.check, c.checkAsync);
  assert.equal(c.enforce, c.enforceAsync);
  assert.equal(new GatewayClient(gw.url, "k-12345678").approvalTimeout, 300);
  assert.doesNotMatch(inspect(c), /js-key/);
});

test("evaluate: the gateway's core decides as the local one does; nothing is audited, no approval asked", async () => {
  const c = client("eval-agent");
  const calls = [
    ["read_file", undefined],
    ["drop_table", undefined],
    ["send_email", { to: "a@b.c" }],
    ["write_file", { path: "/workspace/../etc/passwd" }],
    ["refund", { amount: 500 }],
    ["run_shell", { command: "curl http://x" }],
  ];
  for (const [tool, args] of calls) {
    const r = await c.evaluate(tool, args === undefined ? undefined : { args, context: { run: "e1" } });
    const want = local.evaluate(tool, { args });
    assert.deepEqual(r.toJSON(), want.toJSON(), tool);
    assert.equal(JSON.stringify(r), JSON.stringify(want), tool);
    assert.equal(Object.getPrototypeOf(r), Object.getPrototypeOf(want), "the same PolicyResult class");
    assert.deepEqual([r.decision, r.reason, r.matchedRule, r.rule, r.shadow], [want.decision, want.reason, want.matchedRule, want.rule, want.shadow]);
    assert.deepEqual([r.allowed, r.denied, r.needsApproval], [want.allowed, want.denied, want.needsApproval]);
    assert.equal(r.approval, null);
    assert.ok(Object.isFrozen(r) && (r.rule === null || Object.isFrozen(r.rule)) && Object.isFrozen(r.shadow));
  }
  assert.deepEqual(await gw.audit("eval-agent"), [], "evaluate is never audited");
  assert.deepEqual(await gw.approvals("eval-agent"), [], "nor asks for an approval");
});

test("check: allow and deny with the rule and the reason, argument conditions, one audit record each", async () => {
  const c = client("check-agent");
  const cases = [
    ["read_file", { path: "/a" }, "allow", "allowed by pattern: read_*", "read_*"],
    ["drop_table", { table: "users" }, "deny", "denied by pattern: drop_*", "drop_*"],
    ["write_file", { path: "/workspace/a.txt" }, "allow", "allowed by rule: workspace-writes", "workspace-writes"],
    ["write_file", { path: "/workspace/../etc/passwd" }, "deny", "not in allow list (default: deny)", null],
    ["refund", { amount: 20 }, "allow", "allowed by rule: small-refunds", "small-refunds"],
    ["delete_repo", null, "deny", "not in allow list (default: deny)", null],
  ];
  for (const [tool, args, decision, reason, matched] of cases) {
    const r = await c.check(tool, { args, context: { user: "u1" } });
    assert.deepEqual([r.tool, r.decision, r.reason, r.matchedRule], [tool, decision, reason, matched], tool);
    assert.deepEqual(r.toJSON(), local.evaluate(tool, { args }).toJSON());
    assert.equal(r.approval, null);
  }
  const shadowed = await c.checkAsync("run_shell", { args: { command: "curl http://x" } });
  assert.deepEqual(shadowed.shadow, [{ id: "try-no-curl", decision: "deny" }]);
  assert.equal((await c.enforce("read_file")).decision, "allow");
  await assert.rejects(c.enforceAsync("drop_table"), (e) => e instanceof ToolDenied && !(e instanceof ApprovalRequired) && e.message === "Tool 'drop_table' denied: denied by pattern: drop_*" && e.result.matchedRule === "drop_*");
  const records = await gw.audit("check-agent");
  assert.deepEqual(
    records.map((x) => [x.tool, x.decision, x.message, x.matched_rule]),
    [
      ...cases.map(([tool, , decision, reason, matched]) => [tool, decision, reason, matched]),
      ["run_shell", "deny", "not in allow list (default: deny)", null],
      ["read_file", "allow", "allowed by pattern: read_*", "read_*"],
      ["drop_table", "deny", "denied by pattern: drop_*", "drop_*"],
    ],
  );
  assert.deepEqual(records[0].context, { user: "u1" });
});

test("require_approval: the client waits on the gateway's queue; a person grants it; allowed once", async () => {
  const c = client("grant-agent", { approvalTimeout: 30 });
  const started = Date.now();
  const waiting = c.check("send_email", { args: { to: "ann@example.com" }, context: { user: "u1" } });
  let settled = false;
  waiting.then(() => (settled = true), () => (settled = true));
  const pending = await gw.pending("grant-agent", "send_email");
  assert.deepEqual(pending.args, { to: "ann@example.com" });
  await sleep(300);
  assert.equal(settled, false, "still waiting for the person");
  await gw.decide(pending.id, true, "ok by me");
  const r = await waiting;
  assert.ok(Date.now() - started < 20_000);
  assert.deepEqual([r.decision, r.reason, r.matchedRule], ["allow", "approved via callback (pattern: send_email)", "send_email"]);
  assert.deepEqual(r.toJSON(), answered(true, "send_email", { to: "ann@example.com" }).toJSON());
  assert.deepEqual([r.approval.id, r.approval.status, r.approval.decided_by], [pending.id, "used", "pat"]);
  assert.ok(Object.isFrozen(r.approval));
  assert.equal("approval" in r.toJSON(), false);
  assert.deepEqual(Object.keys(r.toJSON()), ["tool", "decision", "reason", "matched_rule", "rule", "shadow"]);
  // The gateway's audit: the ask and its outcome, with the approval.
  const records = await gw.audit("grant-agent");
  assert.deepEqual(records.map((x) => [x.decision, x.approval_id]), [["require_approval", pending.id], ["allow", pending.id]]);
  assert.equal(records[1].decided_by, "pat");
  // An argument condition that needs approval, granted the same way.
  const refund = c.enforce("refund", { args: { amount: 500 } });
  const p2 = await gw.pending("grant-agent", "refund");
  await gw.decide(p2.id, true);
  const ok = await refund;
  assert.equal(ok.decision, "allow");
  assert.deepEqual(ok.toJSON(), answered(true, "refund", { amount: 500 }).toJSON());
  assert.equal(ok.matchedRule, "big-refunds");
});

test("require_approval: a person denies it; the gateway's deny comes back", async () => {
  const c = client("deny-agent", { approvalTimeout: 30 });
  const waiting = c.enforce("send_email", { args: { to: "x@evil.test" } });
  waiting.catch(() => {});
  const pending = await gw.pending("deny-agent", "send_email");
  await gw.decide(pending.id, false, "no");
  await assert.rejects(waiting, (e) => {
    assert.ok(e instanceof ToolDenied && !(e instanceof ApprovalRequired));
    assert.equal(e.result.reason, "approval denied via callback (pattern: send_email)");
    assert.deepEqual(e.result.toJSON(), answered(false, "send_email", { to: "x@evil.test" }).toJSON());
    assert.deepEqual([e.result.approval.id, e.result.approval.status], [pending.id, "denied"]);
    return true;
  });
  const records = await gw.audit("deny-agent");
  assert.deepEqual(records.map((x) => x.decision), ["require_approval", "deny"]);
});

test("nobody answers in time: the gateway's pending require_approval (fail closed); the call never runs", async () => {
  const c = client("timeout-agent", { approvalTimeout: 1 });
  const started = Date.now();
  const r = await c.check("send_email", { args: { to: "a@b.c" } });
  const took = Date.now() - started;
  assert.ok(took >= 1000 && took < 8000, `waited ${took} ms`);
  assert.deepEqual([r.decision, r.reason, r.matchedRule], ["require_approval", "requires approval per pattern: send_email", "send_email"]);
  assert.deepEqual(r.toJSON(), local.evaluate("send_email").toJSON());
  assert.equal(r.approval.status, "pending");
  assert.deepEqual((await gw.audit("timeout-agent")).map((x) => x.decision), ["require_approval"], "asked once; nothing allowed");
  await assert.rejects(client("timeout-agent", { approvalTimeout: 0 }).enforce("send_email", { args: { to: "a@b.c" } }), ApprovalRequired);
  // approvalTimeout 0: the first answer, at once.
  const now = await client("timeout-agent", { approvalTimeout: 0 }).check("send_email", { args: { to: "z@b.c" } });
  assert.deepEqual([now.decision, now.approval.status], ["require_approval", "pending"]);
  assert.notEqual(now.approval.id, r.approval.id);
  // Granted after the client gave up: that call is over; the grant is for
  // the agent's next call with the same arguments, which asks anew.
  await gw.decide(r.approval.id, true);
  const again = await client("timeout-agent", { approvalTimeout: 0 }).check("send_email", { args: { to: "a@b.c" } });
  assert.equal(again.decision, "require_approval");
  assert.notEqual(again.approval.id, r.approval.id);
});

test("an approval that expires while the client waits: still require_approval, never an allow", async (t) => {
  const short = await startGateway(["exp-agent"], { extraArgs: ["--approval-seconds", "1"] });
  t.after(() => short.stop());
  await short.putPolicy("exp-agent", POLICY);
  const c = new GatewayClient(short.url, keyOf("exp-agent"), { approvalTimeout: 10 });
  const started = Date.now();
  const r = await c.check("send_email", { args: { to: "a@b.c" } });
  assert.ok(Date.now() - started < 8000, "the expiry ends the wait");
  assert.deepEqual([r.decision, r.approval.status], ["require_approval", "expired"]);
});

test("an approval is used once: its id cannot allow a second call, which asks anew", async () => {
  const c = client("once-agent", { approvalTimeout: 30 });
  const waiting = c.check("send_email", { args: { to: "a@b.c" } });
  const pending = await gw.pending("once-agent", "send_email");
  await gw.decide(pending.id, true);
  assert.equal((await waiting).decision, "allow");
  const replay = await gw.request("once-agent", "POST", "/v1/tools/check", { tool: "send_email", args: { to: "a@b.c" }, approval_id: pending.id });
  assert.deepEqual([replay.status, replay.body.error], [409, "approval_used"]);
  const second = await client("once-agent", { approvalTimeout: 1 }).check("send_email", { args: { to: "a@b.c" } });
  assert.equal(second.decision, "require_approval");
  assert.notEqual(second.approval.id, pending.id);
});

test("bad input is a TypeError before anything is sent", async () => {
  let sent = 0;
  const c = new GatewayClient(gw.url, keyOf("input-agent"), { fetch: (...a) => (sent++, fetch(...a)) });
  await assert.rejects(c.check(5), TypeError);
  await assert.rejects(c.check("a\ud800"), /not well-formed Unicode/);
  await assert.rejects(c.check("x", { args: [1] }), /args must be a plain object/);
  await assert.rejects(c.check("x", { args: { n: 1n } }), (e) => e instanceof TypeError && e.field === "args.n");
  await assert.rejects(c.check("x", { args: { when: new Date() } }), TypeError);
  await assert.rejects(c.check("x", { context: new Map() }), /context must be a plain object/);
  await assert.rejects(c.check("x", { args: { s: "\udc00" } }), TypeError);
  await assert.rejects(c.check("x", { approved: true }), /approvals are given on the gateway/);
  await assert.rejects(c.check("x", { approved: false }), TypeError);
  await assert.rejects(c.check("x", { arg: {} }), /unknown check option "arg"/);
  await assert.rejects(c.evaluate("x", { approved: true }), /unknown evaluate option "approved"/);
  await assert.rejects(c.check("x", "args"), TypeError);
  assert.equal(sent, 0);
  // Not given: null and undefined.
  assert.equal((await c.check("read_x", { args: null, context: undefined, approved: undefined })).decision, "allow");
  assert.equal(sent, 1);
});

test("every failure is a GatewayError, never a decision", async (t) => {
  // A key the gateway does not know; a key that is not an agent's.
  await assert.rejects(new GatewayClient(gw.url, "js-key-nobody-0001").check("read_x"), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.name, e.status, e.code, e.message], ["GatewayError", 401, "unauthorized", "unknown API key"]);
    return true;
  });
  await assert.rejects(new GatewayClient(gw.url, ADMIN).check("read_x"), { name: "GatewayError", status: 403, code: "forbidden" });
  // An agent without a tool policy: nothing of it is allowed.
  await assert.rejects(client("no-policy-agent").check("read_x"), (e) => e instanceof GatewayError && e.status === 404 && e.code === "no_tool_policy" && e.body.error === "no_tool_policy");
  await assert.rejects(client("no-policy-agent").evaluate("read_x"), { code: "no_tool_policy" });
  // The wrong URL: no such route.
  await assert.rejects(new GatewayClient(`${gw.url}/nope`, keyOf("check-agent")).check("read_x"), (e) => e instanceof GatewayError && e.status === 404);
  // The gateway's own refusal of a call (a name over the core's 1 MiB).
  await assert.rejects(client("check-agent").check("a".repeat(1024 * 1024 + 1)), (e) => e instanceof GatewayError && e.status >= 400 && e.status < 500 && typeof e.code === "string");

  // Something else answers: not JSON, JSON of another shape, a redirect, silence.
  const answers = {
    "/html/v1/tools/check": [200, "text/html", "<h1>hello</h1>"],
    "/json/v1/tools/check": [200, "application/json", JSON.stringify({ tool: "read_x", decision: "allow" })],
    "/other/v1/tools/check": [200, "application/json", JSON.stringify({ tool: "other", decision: "allow", reason: "", matched_rule: null, rule: null, shadow: [] })],
    "/error/v1/tools/check": [500, "text/plain", "oops"],
  };
  const seen = [];
  const server = createServer((req, res) => {
    seen.push([req.url, req.headers["x-api-key"]]);
    if (req.url.startsWith("/slow/")) return; // never answers
    if (req.url.startsWith("/redirect/")) {
      res.writeHead(307, { location: `${gw.url}/v1/tools/check` });
      res.end();
      return;
    }
    const [status, type, body] = answers[req.url] ?? [404, "text/plain", "no"];
    res.writeHead(status, { "content-type": type });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const other = `http://127.0.0.1:${server.address().port}`;
  const at = (path, options) => new GatewayClient(`${other}${path}`, keyOf("check-agent"), options);
  for (const path of ["/html", "/json", "/other", "/error", "/redirect"]) {
    await assert.rejects(at(path).check("read_x"), (e) => e instanceof GatewayError && e.code === "bad_response", path);
  }
  assert.ok(seen.every(([, key]) => key === keyOf("check-agent")));
  assert.equal(seen.filter(([u]) => u === "/v1/tools/check").length, 0, "a redirect is not followed");
  const started = Date.now();
  await assert.rejects(at("/slow", { requestTimeout: 0.3 }).check("read_x"), (e) => e instanceof GatewayError && e.code === "timeout" && e.status === null);
  assert.ok(Date.now() - started < 5000);
  // The caller's signal: the reason, not a decision.
  const controller = new AbortController();
  const aborted = at("/slow", { signal: controller.signal }).check("read_x");
  setTimeout(() => controller.abort(new Error("stop")), 100);
  await assert.rejects(aborted, /stop/);

  // The gateway is down.
  const down = await startGateway(["down-agent"]);
  const url = down.url;
  await down.stop();
  await assert.rejects(new GatewayClient(url, keyOf("down-agent")).check("read_x"), (e) => {
    assert.ok(e instanceof GatewayError);
    assert.deepEqual([e.status, e.code], [null, "unreachable"]);
    assert.match(e.message, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+/);
    return true;
  });
  await assert.rejects(new GatewayClient(url, keyOf("down-agent")).evaluate("read_x"), { code: "unreachable" });
});

test("a waiting check stops with its signal", async () => {
  const controller = new AbortController();
  const c = client("signal-agent", { approvalTimeout: 60, signal: controller.signal });
  const waiting = c.check("send_email", { args: { to: "signal@b.c" } });
  await gw.pending("signal-agent", "send_email");
  controller.abort(new Error("the user left"));
  await assert.rejects(waiting, /the user left/);
});
