// The announcement's scenarios end to end over real HTTP on 127.0.0.1:
// a receive allowlist, multi-tenant isolation, gradual rollout, and the
// rule that an agent can never widen its own policy.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ADMIN, call, freshGateway, keyOf, policyPath } from "./helpers.mjs";

const ANALYTICS = "agent://myorg/production/analytics-agent";

test("announcement: a receive allowlist blocks a delete with 403 and audit, delivers a read", async (t) => {
  const gw = await freshGateway(t);
  const put = await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*", "intent.data.query.*"] },
  });
  assert.equal(put.status, 200);
  assert.match(put.body.policy_id, /^pol_[0-9a-f]{24}$/);
  assert.deepEqual(put.body, {
    ok: true,
    policy_id: put.body.policy_id,
    agent: "analytics-agent",
    direction: "receive",
    mode: "allowlist",
    patterns: ["intent.data.read.*", "intent.data.query.*"],
  });

  const blocked = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: ANALYTICS, payload: { table: "customers", filter: "all" } },
  });
  assert.equal(blocked.status, 403);
  // Exactly the announcement's body, key order included.
  assert.equal(
    JSON.stringify(blocked.body),
    JSON.stringify({
      error: "action_policy_violation",
      message: "Intent type 'intent.data.delete.v1' not in receive allowlist",
      direction: "receive",
      address_id: "analytics-agent",
    }),
  );

  const read = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.read.v1", to_agent: ANALYTICS, payload: { table: "customers" } },
  });
  assert.equal(read.status, 202);
  assert.equal(read.body.ok, true);
  assert.match(read.body.intent_id, /^int_[0-9a-f]{24}$/);

  const inbox = await call(gw.url, "GET", "/v1/mesh/inbox", { key: keyOf("analytics-agent") });
  assert.equal(inbox.status, 200);
  assert.equal(inbox.body.intents.length, 1, "the delete never reaches the agent");
  assert.deepEqual(
    { ...inbox.body.intents[0], created_at: 0 },
    {
      intent_id: read.body.intent_id,
      intent_type: "intent.data.read.v1",
      from_agent: "ops-agent",
      to_agent: "analytics-agent",
      payload: { table: "customers" },
      created_at: 0,
    },
  );
  const again = await call(gw.url, "GET", "/v1/mesh/inbox", { key: keyOf("analytics-agent") });
  assert.deepEqual(again.body.intents, [], "taken intents are gone");

  const audit = await call(gw.url, "GET", "/v1/mesh/audit?agent=analytics-agent&limit=10", { key: ADMIN });
  assert.equal(audit.status, 200);
  const intents = audit.body.records.filter((r) => r.kind === "intent");
  assert.equal(intents.length, 2);
  const [delivered, violation] = intents; // newest first
  assert.equal(violation.decision, "blocked");
  assert.equal(violation.caller, "ops-agent");
  assert.equal(violation.intent_type, "intent.data.delete.v1");
  assert.equal(violation.to_agent, "analytics-agent");
  assert.equal(violation.direction, "receive");
  assert.equal(violation.policy_id, put.body.policy_id);
  assert.equal(violation.message, "Intent type 'intent.data.delete.v1' not in receive allowlist");
  assert.equal(typeof violation.timestamp, "number");
  assert.ok(Math.abs(violation.timestamp - Date.now() / 1000) < 60);
  assert.equal(delivered.decision, "delivered");
  assert.equal(delivered.intent_id, read.body.intent_id);

  const blockedOnly = await call(gw.url, "GET", "/v1/mesh/audit?decision=blocked", { key: ADMIN });
  assert.deepEqual(
    blockedOnly.body.records.map((r) => r.intent_type),
    ["intent.data.delete.v1"],
  );

  const got = await call(gw.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  assert.deepEqual(got.body.policies.receive.patterns, ["intent.data.read.*", "intent.data.query.*"]);
  assert.equal(got.body.policies.send.mode, "open");

  const del = await call(gw.url, "DELETE", `${policyPath("analytics-agent")}?direction=receive`, { key: ADMIN });
  assert.equal(del.status, 200);
  assert.equal(del.body.removed_policy_id, put.body.policy_id);
  const after = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: ANALYTICS, payload: {} },
  });
  assert.equal(after.status, 202, "open again after DELETE");
});

test("multi-tenant isolation: send denylists of cross-tenant intent types", async (t) => {
  const gw = await freshGateway(t);
  for (const [bot, other] of [
    ["tenant-a-bot", "tenant-b"],
    ["tenant-b-bot", "tenant-a"],
  ]) {
    const r = await call(gw.url, "PUT", policyPath(bot), {
      key: ADMIN,
      body: { direction: "send", mode: "denylist", patterns: [`intent.${other}.*`] },
    });
    assert.equal(r.status, 200);
  }
  const send = (from, to, type) =>
    call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf(from), body: { intent_type: type, to_agent: to, payload: null } });

  const cross = await send("tenant-a-bot", "agent://b/prod/tenant-b-db", "intent.tenant-b.records.read.v1");
  assert.equal(cross.status, 403);
  assert.deepEqual(cross.body, {
    error: "action_policy_violation",
    message: "Intent type 'intent.tenant-b.records.read.v1' in send denylist (pattern: intent.tenant-b.*)",
    direction: "send",
    address_id: "tenant-a-bot",
    pattern: "intent.tenant-b.*",
  });
  assert.equal((await send("tenant-a-bot", "tenant-a-db", "intent.tenant-a.records.read.v1")).status, 202);
  assert.equal((await send("tenant-b-bot", "tenant-a-db", "intent.tenant-a.records.read.v1")).status, 403);
  assert.equal((await send("tenant-b-bot", "tenant-b-db", "intent.tenant-b.records.read.v1")).status, 202);

  const a = await call(gw.url, "GET", "/v1/mesh/inbox", { key: keyOf("tenant-a-db") });
  assert.deepEqual(a.body.intents.map((i) => i.from_agent), ["tenant-a-bot"]);
  const b = await call(gw.url, "GET", "/v1/mesh/inbox", { key: keyOf("tenant-b-db") });
  assert.deepEqual(b.body.intents.map((i) => i.from_agent), ["tenant-b-bot"]);
});

test("gradual rollout: a new intent type is blocked until one PUT allows it", async (t) => {
  const gw = await freshGateway(t);
  const put = (patterns) =>
    call(gw.url, "PUT", policyPath("agent://acme/production/reporting-agent"), {
      key: ADMIN,
      body: { direction: "receive", mode: "allowlist", patterns },
    });
  const first = await put(["intent.report.generate.*"]);
  const send = () =>
    call(gw.url, "POST", "/v1/mesh/intents", {
      key: keyOf("ops-agent"),
      body: { intent_type: "intent.report.export.v1", to_agent: "reporting-agent", payload: { format: "csv" } },
    });
  const before = await send();
  assert.equal(before.status, 403);
  assert.equal(before.body.message, "Intent type 'intent.report.export.v1' not in receive allowlist");

  const second = await put(["intent.report.generate.*", "intent.report.export.*"]);
  assert.equal(second.status, 200);
  assert.notEqual(second.body.policy_id, first.body.policy_id, "a new policy id per change");
  assert.equal((await send()).status, 202);
});

test("an agent key can neither manage policies nor read the audit; an admin key sends no intents", async (t) => {
  const gw = await freshGateway(t);
  const own = keyOf("analytics-agent");
  for (const [method, path, body] of [
    ["PUT", policyPath("analytics-agent"), { direction: "receive", mode: "open", patterns: [] }],
    ["GET", policyPath("analytics-agent")],
    ["DELETE", `${policyPath("analytics-agent")}?direction=receive`],
    ["GET", "/v1/mesh/audit"],
    ["GET", "/v1/mesh/agents"],
  ]) {
    const r = await call(gw.url, method, path, { key: own, body });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.body.error, "forbidden");
  }
  const r = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: ADMIN,
    body: { intent_type: "intent.x.v1", to_agent: "ops-agent", payload: null },
  });
  assert.equal(r.status, 403);
  assert.match(r.body.message, /only agent keys can send intents/);
  const inbox = await call(gw.url, "GET", "/v1/mesh/inbox", { key: ADMIN });
  assert.equal(inbox.status, 403);
});

test("the sender's send policy is checked before the receiver's receive policy", async (t) => {
  const gw = await freshGateway(t);
  await call(gw.url, "PUT", policyPath("ops-agent"), {
    key: ADMIN,
    body: { direction: "send", mode: "allowlist", patterns: ["intent.data.read.*"] },
  });
  await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "denylist", patterns: ["intent.data.delete.*"] },
  });
  const r = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: "analytics-agent" },
  });
  assert.equal(r.status, 403);
  assert.equal(r.body.direction, "send");
  assert.equal(r.body.address_id, "ops-agent");
  const r2 = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("reporting-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: "analytics-agent" },
  });
  assert.equal(r2.body.direction, "receive");
  assert.equal(r2.body.pattern, "intent.data.delete.*");
  const agents = await call(gw.url, "GET", "/v1/mesh/agents", { key: ADMIN });
  const ops = agents.body.agents.find((a) => a.agent === "ops-agent");
  assert.equal(ops.policies.send.mode, "allowlist");
  assert.equal(ops.policies.receive.mode, "open");
});
