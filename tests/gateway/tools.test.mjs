// Tool policies, tool-call decisions and approvals on the gateway, over
// HTTP and through `agentguard approvals`: the whole approval flow (an agent
// asks, waits on a long-poll, a person grants or refuses, the repeated call
// is allowed once), expiry, approvals bound to their agent, tool and
// arguments, the audit of every step with who did it, versioned policies,
// dry runs (the core's lint and diff), argument conditions decided exactly
// as `agentguard check` decides them, and every bad input.
//
// Runs on SQLite, and on PostgreSQL under scripts/with-postgres.sh:
//
//   AGENTGUARD_BIN=target/cli/release/agentguard node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/tools.test.mjs
//   bash scripts/with-postgres.sh node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/tools.test.mjs

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

import { BIN, call, startServer, tempDir } from "./helpers.mjs";

const run = promisify(execFile);

// Keys: a named admin, a named approver, an unnamed approver, two agents.
const ADMIN = "tools-admin-key-0001";
const APPROVER = "tools-approver-key-0001";
const APPROVER_UNNAMED = "tools-approver-key-0002";
const OPS = "tools-key-ops-agent";
const ANALYTICS = "tools-key-analytics-agent";

function writeToolKeys(dir) {
  const path = join(dir, "keys.json");
  writeFileSync(
    path,
    JSON.stringify({
      keys: {
        [ADMIN]: { role: "admin", name: "alice" },
        [APPROVER]: { role: "approver", name: "bob" },
        [APPROVER_UNNAMED]: { role: "approver" },
        [OPS]: { role: "agent", agent: "ops-agent" },
        [ANALYTICS]: { role: "agent", agent: "analytics-agent" },
      },
    }),
  );
  return path;
}

/** A fresh gateway with the keys above, stopped after the test. */
async function gateway(t, extraArgs = []) {
  const dir = tempDir(t);
  const keysFile = writeToolKeys(dir);
  const server = await startServer({ dataDir: join(dir, "data"), keysFile, extraArgs });
  t.after(() => server.stop());
  return { ...server, dir };
}

const policyUrl = (agent) => `/v1/agents/${encodeURIComponent(agent)}/policies/tools`;

/** The policy the tests use: lists, and rules on arguments of every kind. */
const POLICY = {
  name: "ops-tools",
  allow: ["read_*", "list_*"],
  deny: ["drop_*"],
  require_approval: ["git_push"],
  default: "deny",
  rules: [
    { id: "no-secrets", tool: "*_file", when: { path: { path_glob: ["*.env", "*/.ssh/*"] } }, decision: "deny", reason: "secrets are off limits" },
    { id: "workspace-writes", tool: ["write_file", "edit_file"], when: { path: { path_under: "/workspace" } }, decision: "allow" },
    { id: "big-refunds", tool: "refund", when: { amount: { gt: 100 } }, decision: "require_approval" },
    { id: "small-refunds", tool: "refund", when: { amount: { lte: 100 }, currency: { in: ["EUR", "USD"] } }, decision: "allow" },
    { id: "outside-mail", tool: "send_email", when: { to: { not_glob: "*@example.com" } }, decision: "require_approval" },
    { id: "safe-shell", tool: "run_shell", when: { command: { command: ["git status", "git diff *", "ls *"] } }, decision: "allow" },
    { id: "try-no-curl", tool: "run_shell", mode: "shadow", when: { command: { command: "curl *" } }, decision: "deny" },
  ],
};

async function putPolicy(url, agent, policy, query = "") {
  const r = await call(url, "PUT", `${policyUrl(agent)}${query}`, { key: ADMIN, body: policy });
  assert.equal(r.status, 200, `PUT tool policy: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function check(url, key, body) {
  return call(url, "POST", "/v1/tools/check", { key, body });
}

/** A check that must answer 200; its body. */
async function decide(url, key, body) {
  const r = await check(url, key, body);
  assert.equal(r.status, 200, `check ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Asks for a call that needs approval; the new approval's id. */
async function ask(url, key, body) {
  const r = await decide(url, key, body);
  assert.equal(r.decision, "require_approval", JSON.stringify(r));
  assert.match(r.approval.id, /^apr_/);
  assert.equal(r.approval.status, "pending");
  return r.approval.id;
}

/** Every audit record, oldest first (optionally of one agent). */
async function audit(url, agent) {
  const records = [];
  let before = null;
  for (;;) {
    const q = `limit=1000${agent ? `&agent=${agent}` : ""}${before === null ? "" : `&before=${before}`}`;
    const r = await call(url, "GET", `/v1/mesh/audit?${q}`, { key: ADMIN });
    assert.equal(r.status, 200, `audit: ${r.status} ${JSON.stringify(r.body)}`);
    records.push(...r.body.records);
    if (r.body.next_before === null) return records.reverse();
    before = r.body.next_before;
  }
}

/** The first 8 hex digits of a key's SHA-256: how the audit names an unnamed key. */
async function keyTag(key) {
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(key).digest("hex").slice(0, 8);
}

/** Runs the agentguard binary; {code, stdout, stderr} whatever the exit code. */
async function agentguard(args, env = {}) {
  try {
    const base = { ...process.env };
    delete base.AGENTGUARD_URL;
    delete base.AGENTGUARD_API_KEY;
    const { stdout, stderr } = await run(BIN, args, { env: { ...base, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// ------------------------------------------------------------------ flow

test("the approval flow: ask, long-poll, grant, allowed once, refused the second time; audited with who did what", async (t) => {
  const gw = await gateway(t);
  const put = await putPolicy(gw.url, "ops-agent", POLICY);
  assert.equal(put.version, 1);

  // The agent asks; the call needs a person.
  const asked = await decide(gw.url, OPS, { tool: "git_push", args: { branch: "main", force: false }, context: { ticket: "OPS-42" } });
  assert.equal(asked.decision, "require_approval");
  assert.equal(asked.reason, "requires approval per pattern: git_push");
  assert.equal(asked.matched_rule, "git_push");
  assert.deepEqual(asked.rule, { list: "require_approval", index: 0 });
  assert.deepEqual(asked.shadow, []);
  const id = asked.approval.id;
  assert.match(id, /^apr_[0-9a-f]+$/);
  assert.equal(asked.approval.status, "pending");
  const t0 = Date.now() / 1000;
  assert.ok(Math.abs(asked.approval.expires_at - (t0 + 900)) < 5, `expires in 900 s by default: ${asked.approval.expires_at - t0}`);

  // The approver sees it, with the arguments and context to decide on.
  const list = await call(gw.url, "GET", "/v1/approvals", { key: APPROVER });
  assert.equal(list.status, 200);
  assert.equal(list.body.approvals.length, 1);
  const shown = list.body.approvals[0];
  assert.equal(shown.id, id);
  assert.equal(shown.agent, "ops-agent");
  assert.equal(shown.tool, "git_push");
  assert.deepEqual(shown.args, { branch: "main", force: false });
  assert.deepEqual(shown.context, { ticket: "OPS-42" });
  assert.equal(shown.status, "pending");
  assert.equal(shown.decided_by, null);

  // Repeating the check while pending: the same approval, no new one.
  const again = await decide(gw.url, OPS, { tool: "git_push", args: { branch: "main", force: false }, approval_id: id });
  assert.equal(again.decision, "require_approval");
  assert.equal(again.approval.id, id);
  assert.equal(again.approval.status, "pending");
  assert.equal((await call(gw.url, "GET", "/v1/approvals?status=all", { key: ADMIN })).body.approvals.length, 1);

  // The agent's long-poll waits...
  let polledAt = null;
  const poll = call(gw.url, "GET", `/v1/approvals/${id}?wait=20`, { key: OPS }).then((r) => {
    polledAt = performance.now();
    return r;
  });
  await sleep(700);
  assert.equal(polledAt, null, "the long-poll waits while the approval is pending");

  // ...until the approver grants.
  const grantedAt = performance.now();
  const grant = await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: { note: "release day" } });
  assert.equal(grant.status, 200, JSON.stringify(grant.body));
  assert.equal(grant.body.approval.status, "granted");
  assert.equal(grant.body.approval.decided_by, "bob");
  assert.equal(grant.body.approval.note, "release day");
  const polled = await poll;
  const ms = polledAt - grantedAt;
  t.diagnostic(`long-poll answered ${Math.round(ms)} ms after the grant was sent`);
  assert.ok(ms < 1000, `the long-poll returned ${Math.round(ms)} ms after the grant (at most ~1 s)`);
  assert.equal(polled.status, 200);
  assert.equal(polled.body.approval.status, "granted");
  assert.equal(polled.body.approval.decided_by, "bob");

  // The repeated call is allowed, once.
  const used = await decide(gw.url, OPS, { tool: "git_push", args: { branch: "main", force: false }, approval_id: id });
  assert.equal(used.decision, "allow");
  assert.equal(used.reason, "approved via callback (pattern: git_push)");
  assert.equal(used.matched_rule, "git_push");
  assert.deepEqual(used.rule, { list: "require_approval", index: 0 });
  assert.equal(used.approval.id, id);
  assert.equal(used.approval.status, "used");
  const twice = await check(gw.url, OPS, { tool: "git_push", args: { branch: "main", force: false }, approval_id: id });
  assert.equal(twice.status, 409);
  assert.equal(twice.body.error, "approval_used");
  const after = await call(gw.url, "GET", `/v1/approvals/${id}`, { key: OPS });
  assert.equal(after.body.approval.status, "used");
  assert.equal(typeof after.body.approval.used_at, "number");
  assert.equal((await call(gw.url, "GET", "/v1/approvals?status=used", { key: APPROVER })).body.approvals[0].id, id);
  assert.deepEqual((await call(gw.url, "GET", "/v1/approvals", { key: APPROVER })).body.approvals, [], "nothing pending");

  // The audit: each step, with who did it.
  const records = await audit(gw.url, "ops-agent");
  const steps = records.map((r) => [r.kind, r.decision, r.caller]);
  assert.deepEqual(steps, [
    ["tool_policy", "tool_policy_set", "alice"],
    ["tool", "require_approval", "ops-agent"],
    ["approval", "approval_granted", "bob"],
    ["tool", "allow", "ops-agent"],
  ]);
  const [set, ask1, granted, allowed] = records;
  assert.equal(set.version, 1);
  assert.equal(ask1.tool, "git_push");
  assert.equal(ask1.approval_id, id);
  assert.equal(ask1.policy_version, 1);
  assert.deepEqual(ask1.context, { ticket: "OPS-42" });
  assert.equal(ask1.args, undefined, "arguments are not recorded (they may hold secrets)");
  assert.match(ask1.args_hash, /^[0-9a-f]{64}$/);
  assert.equal(granted.approval_id, id);
  assert.equal(granted.tool, "git_push");
  assert.equal(granted.note, "release day");
  assert.match(granted.message, /bob granted ops-agent's call of git_push/);
  assert.equal(allowed.approval_id, id);
  assert.equal(allowed.decided_by, "bob");
  assert.equal(allowed.message, "approved via callback (pattern: git_push)");
  assert.equal(allowed.args_hash, ask1.args_hash);
  // The pending repeat and the refused second use leave no decision record.
  assert.equal(records.filter((r) => r.kind === "tool").length, 2);
});

test("deny: the long-poll returns denied, the repeated call is denied (by an unnamed approver, audited by key digest)", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const id = await ask(gw.url, OPS, { tool: "refund", args: { amount: 250, currency: "EUR" } });
  const asked = (await call(gw.url, "GET", `/v1/approvals/${id}`, { key: APPROVER })).body.approval;
  assert.equal(asked.result.reason, "requires approval per rule: big-refunds");
  assert.deepEqual(asked.result.rule, { id: "big-refunds" });

  let polledAt = null;
  const poll = call(gw.url, "GET", `/v1/approvals/${id}?wait=20`, { key: OPS }).then((r) => {
    polledAt = performance.now();
    return r;
  });
  await sleep(300);
  const deniedAt = performance.now();
  const denied = await call(gw.url, "POST", `/v1/approvals/${id}/deny`, { key: APPROVER_UNNAMED, body: { note: "too much" } });
  assert.equal(denied.status, 200, JSON.stringify(denied.body));
  const who = `approver (key ${await keyTag(APPROVER_UNNAMED)})`;
  assert.equal(denied.body.approval.status, "denied");
  assert.equal(denied.body.approval.decided_by, who);
  const polled = await poll;
  assert.ok(polledAt - deniedAt < 1000, `long-poll answered ${Math.round(polledAt - deniedAt)} ms after the deny`);
  assert.equal(polled.body.approval.status, "denied");

  for (let i = 0; i < 2; i++) {
    const r = await decide(gw.url, OPS, { tool: "refund", args: { currency: "EUR", amount: 250 }, approval_id: id });
    assert.equal(r.decision, "deny");
    assert.equal(r.reason, "approval denied via callback (rule: big-refunds)");
    assert.equal(r.matched_rule, "big-refunds");
    assert.equal(r.approval.status, "denied");
  }
  // Deciding again: 409, whichever way.
  for (const how of ["grant", "deny"]) {
    const r = await call(gw.url, "POST", `/v1/approvals/${id}/${how}`, { key: APPROVER });
    assert.equal(r.status, 409);
    assert.equal(r.body.error, "approval_decided");
    assert.equal(r.body.status, "denied");
  }
  assert.equal((await call(gw.url, "GET", "/v1/approvals?status=denied", { key: ADMIN })).body.approvals[0].id, id);

  const records = await audit(gw.url, "ops-agent");
  assert.deepEqual(
    records.map((r) => [r.kind, r.decision, r.caller]),
    [
      ["tool_policy", "tool_policy_set", "alice"],
      ["tool", "require_approval", "ops-agent"],
      ["approval", "approval_denied", who],
      ["tool", "deny", "ops-agent"],
      ["tool", "deny", "ops-agent"],
    ],
  );
  assert.equal(records[2].note, "too much");
  assert.equal(records[3].decided_by, who);
  assert.equal(records[3].message, "approval denied via callback (rule: big-refunds)");
});

test("expiry (--approval-seconds 1): pending and granted approvals expire; grant and use after expiry are refused", async (t) => {
  const gw = await gateway(t, ["--approval-seconds", "1"]);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const t0 = Date.now() / 1000;
  const never = await ask(gw.url, OPS, { tool: "git_push", args: { branch: "a" } });
  const late = await ask(gw.url, OPS, { tool: "git_push", args: { branch: "b" } });
  const shown = (await call(gw.url, "GET", `/v1/approvals/${never}`, { key: ADMIN })).body.approval;
  assert.ok(shown.expires_at - shown.created_at > 0.99 && shown.expires_at - shown.created_at < 1.01, JSON.stringify(shown));
  assert.ok(Math.abs(shown.created_at - t0) < 5);

  // One granted in time but used too late.
  const g = await call(gw.url, "POST", `/v1/approvals/${late}/grant`, { key: APPROVER });
  assert.equal(g.status, 200);

  // A long-poll on the pending one ends at its expiry, not at its wait.
  const p0 = performance.now();
  const polled = await call(gw.url, "GET", `/v1/approvals/${never}?wait=30`, { key: OPS });
  const waited = performance.now() - p0;
  assert.equal(polled.body.approval.status, "expired");
  assert.ok(waited < 3000, `the long-poll ended ${Math.round(waited)} ms later, at the expiry`);
  await sleep(200);

  const grant = await call(gw.url, "POST", `/v1/approvals/${never}/grant`, { key: APPROVER });
  assert.equal(grant.status, 409);
  assert.equal(grant.body.error, "approval_expired");
  const deny = await call(gw.url, "POST", `/v1/approvals/${never}/deny`, { key: ADMIN });
  assert.equal(deny.status, 409);
  assert.equal(deny.body.error, "approval_expired");

  const use = await check(gw.url, OPS, { tool: "git_push", args: { branch: "b" }, approval_id: late });
  assert.equal(use.status, 409, JSON.stringify(use.body));
  assert.equal(use.body.error, "approval_expired");
  // The never-decided one: still needs approval (never an allow), shown expired.
  const pending = await decide(gw.url, OPS, { tool: "git_push", args: { branch: "a" }, approval_id: never });
  assert.equal(pending.decision, "require_approval");
  assert.equal(pending.approval.status, "expired");

  const expired = await call(gw.url, "GET", "/v1/approvals?status=expired", { key: APPROVER });
  assert.deepEqual(expired.body.approvals.map((a) => a.id).sort(), [never, late].sort());
  assert.deepEqual((await call(gw.url, "GET", "/v1/approvals?status=pending", { key: APPROVER })).body.approvals, []);
  assert.deepEqual((await call(gw.url, "GET", "/v1/approvals?status=granted", { key: APPROVER })).body.approvals, []);
  const decisions = (await audit(gw.url, "ops-agent")).map((r) => r.decision);
  assert.ok(!decisions.includes("allow"), `no allow after expiry: ${decisions}`);
});

test("an approval is for its call: other arguments or tool 409 approval_mismatch; the same arguments in another key order are allowed", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const args = { to: "eve@elsewhere.org", subject: "hi", meta: { b: [1, { y: 2, x: 1 }], a: null } };
  const id = await ask(gw.url, OPS, { tool: "send_email", args });
  assert.equal((await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER })).status, 200);

  const mismatches = [
    ["another recipient", { tool: "send_email", args: { ...args, to: "mallory@elsewhere.org" } }],
    ["an extra argument", { tool: "send_email", args: { ...args, bcc: "x@elsewhere.org" } }],
    ["array order", { tool: "send_email", args: { ...args, meta: { b: [{ y: 2, x: 1 }, 1], a: null } } }],
    ["a space more in the subject", { tool: "send_email", args: { ...args, subject: "hi ", meta: args.meta } }],
    ["another tool", { tool: "git_push", args }],
  ];
  for (const [what, body] of mismatches) {
    const r = await check(gw.url, OPS, { ...body, approval_id: id });
    assert.equal(r.status, 409, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, "approval_mismatch", what);
  }
  // Not spent by the mismatches: the same call, keys in another order at
  // every depth, is allowed once.
  const reordered = JSON.parse('{"meta": {"a": null, "b": [1, {"x": 1, "y": 2}]}, "subject": "hi", "to": "eve@elsewhere.org"}');
  const ok = await decide(gw.url, OPS, { tool: "send_email", args: reordered, approval_id: id });
  assert.equal(ok.decision, "allow");
  assert.equal(ok.reason, "approved via callback (rule: outside-mail)");
  assert.equal(ok.approval.status, "used");
  const records = (await audit(gw.url, "ops-agent")).filter((r) => r.kind === "tool");
  assert.equal(records.length, 2);
  assert.equal(records[0].args_hash, records[1].args_hash, "one canonical hash for both key orders");

  // A call that needs no approval ignores the approval id (the policy decides).
  const read = await decide(gw.url, OPS, { tool: "read_file", args: { path: "/workspace/a" }, approval_id: id });
  assert.equal(read.decision, "allow");
  assert.equal(read.approval, undefined);
});

test("another agent's approval: 403 to read it, to wait on it and to use it", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  await putPolicy(gw.url, "analytics-agent", POLICY);
  const id = await ask(gw.url, OPS, { tool: "git_push", args: {} });
  for (const path of [`/v1/approvals/${id}`, `/v1/approvals/${id}?wait=5`]) {
    const t0 = performance.now();
    const r = await call(gw.url, "GET", path, { key: ANALYTICS });
    assert.equal(r.status, 403, `${path}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, "forbidden");
    assert.ok(performance.now() - t0 < 2000, "refused at once, not after the wait");
  }
  assert.equal((await call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER })).status, 200);
  const use = await check(gw.url, ANALYTICS, { tool: "git_push", args: {}, approval_id: id });
  assert.equal(use.status, 403);
  assert.equal(use.body.error, "forbidden");
  assert.match(use.body.message, /belongs to another agent/);
  // Still there for its own agent.
  const own = await decide(gw.url, OPS, { tool: "git_push", args: {}, approval_id: id });
  assert.equal(own.decision, "allow");
  // The owner, approvers and admins read it.
  for (const key of [OPS, APPROVER, ADMIN]) assert.equal((await call(gw.url, "GET", `/v1/approvals/${id}`, { key })).status, 200);
});

test("the audit records the context and the fired shadow rules of a decision", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const r = await decide(gw.url, OPS, { tool: "run_shell", args: { command: "curl http://x" }, context: { run: 7 } });
  assert.equal(r.decision, "deny");
  assert.deepEqual(r.shadow, [{ id: "try-no-curl", decision: "deny" }]);
  const rec = (await audit(gw.url, "ops-agent")).find((x) => x.kind === "tool");
  assert.deepEqual(rec.context, { run: 7 });
  assert.equal(rec.message, r.reason);
  // CONDITIONS.md: fired shadow rules are "recorded in the audit entry when
  // non-empty: a new rule is tried on real traffic before it is enforced".
  assert.deepEqual(rec.shadow, [{ id: "try-no-curl", decision: "deny" }], `the audit record has no shadow rules: ${JSON.stringify(rec)}`);
});

// -------------------------------------------------------------- policies

test("versions: each PUT and DELETE a new version; GET ?version=N; after DELETE every check is 404 no_tool_policy", async (t) => {
  const gw = await gateway(t);
  const none = await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN });
  assert.equal(none.status, 404);
  assert.equal(none.body.error, "no_tool_policy");
  const noCheck = await check(gw.url, OPS, { tool: "read_file" });
  assert.equal(noCheck.status, 404);
  assert.equal(noCheck.body.error, "no_tool_policy");

  const v1 = { name: "v1", allow: ["read_*"], default: "deny" };
  const v2 = { ...POLICY, name: "v2" };
  const p1 = await putPolicy(gw.url, "ops-agent", v1);
  assert.deepEqual([p1.ok, p1.agent, p1.version], [true, "ops-agent", 1]);
  assert.deepEqual(p1.policy, v1);
  assert.equal((await decide(gw.url, OPS, { tool: "git_push" })).decision, "deny");
  const p2 = await putPolicy(gw.url, "ops-agent", v2);
  assert.equal(p2.version, 2);
  assert.equal((await decide(gw.url, OPS, { tool: "git_push" })).decision, "require_approval", "the new version is in force at once");

  const cur = await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN });
  assert.equal(cur.status, 200);
  assert.deepEqual([cur.body.ok, cur.body.agent, cur.body.version, cur.body.deleted, cur.body.versions], [true, "ops-agent", 2, false, [1, 2]]);
  assert.deepEqual(cur.body.policy, v2);
  assert.equal(typeof cur.body.created_at, "number");
  const g1 = await call(gw.url, "GET", `${policyUrl("ops-agent")}?version=1`, { key: ADMIN });
  assert.equal(g1.status, 200);
  assert.equal(g1.body.version, 1);
  assert.deepEqual(g1.body.policy, v1);
  assert.deepEqual(g1.body.versions, [1, 2]);
  const g2 = await call(gw.url, "GET", `${policyUrl("ops-agent")}?version=2`, { key: ADMIN });
  assert.deepEqual(g2.body.policy, v2);
  assert.ok(g2.body.created_at >= g1.body.created_at);

  const del = await call(gw.url, "DELETE", policyUrl("ops-agent"), { key: ADMIN });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { ok: true, agent: "ops-agent", deleted: true, version: 3 });
  const gone = await check(gw.url, OPS, { tool: "read_file" });
  assert.equal(gone.status, 404);
  assert.equal(gone.body.error, "no_tool_policy");
  const afterDel = await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN });
  assert.equal(afterDel.status, 200);
  assert.deepEqual([afterDel.body.version, afterDel.body.deleted, afterDel.body.policy, afterDel.body.versions], [3, true, null, [1, 2, 3]]);
  assert.deepEqual((await call(gw.url, "GET", `${policyUrl("ops-agent")}?version=2`, { key: ADMIN })).body.policy, v2, "old versions stay readable");
  const again = await call(gw.url, "DELETE", policyUrl("ops-agent"), { key: ADMIN });
  assert.equal(again.status, 200);
  assert.deepEqual(again.body, { ok: true, agent: "ops-agent", deleted: false, version: null }, "deleting nothing makes no version");
  const missing = await call(gw.url, "GET", `${policyUrl("ops-agent")}?version=9`, { key: ADMIN });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error, "no_tool_policy");

  const p4 = await putPolicy(gw.url, "ops-agent", v1);
  assert.equal(p4.version, 4);
  assert.equal((await decide(gw.url, OPS, { tool: "read_file" })).decision, "allow");

  const records = (await audit(gw.url, "ops-agent")).filter((r) => r.kind === "tool_policy");
  assert.deepEqual(
    records.map((r) => [r.decision, r.version, r.caller]),
    [
      ["tool_policy_set", 1, "alice"],
      ["tool_policy_set", 2, "alice"],
      ["tool_policy_deleted", 3, "alice"],
      ["tool_policy_set", 4, "alice"],
    ],
  );
  assert.equal(records[1].previous_version, 1);
  // The decisions name the version they were made with.
  const tools = (await audit(gw.url, "ops-agent")).filter((r) => r.kind === "tool");
  assert.deepEqual(tools.map((r) => [r.tool, r.decision, r.policy_version]), [
    ["git_push", "deny", 1],
    ["git_push", "require_approval", 2],
    ["read_file", "allow", 4],
  ]);

  // ?create=true for an agent the gateway does not know yet.
  const unknown = await call(gw.url, "PUT", policyUrl("new-agent"), { key: ADMIN, body: v1 });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, "unknown_agent");
  assert.ok(unknown.body.known_agents.includes("ops-agent"));
  const created = await call(gw.url, "PUT", `${policyUrl("new-agent")}?create=true`, { key: ADMIN, body: v1 });
  assert.equal(created.status, 200);
  assert.equal(created.body.version, 1);
  assert.equal((await call(gw.url, "PUT", policyUrl("new-agent"), { key: ADMIN, body: v2 })).status, 200, "known once created");
});

test("dry run: the core's lint findings and diff (with a witness call) against the version in force; nothing saved", async (t) => {
  const gw = await gateway(t);
  const current = {
    name: "v1",
    allow: ["read_*"],
    deny: ["drop_*"],
    require_approval: ["git_push"],
    default: "deny",
    rules: [{ id: "small-refunds", tool: "refund", when: { amount: { lte: 100 } }, decision: "allow" }],
  };
  const next = {
    name: "v2",
    allow: ["read_*", "{read,list}_*"],
    deny: ["drop_*"],
    require_approval: ["git_push"],
    default: "deny",
    rules: [
      { id: "dead-allow", tool: "drop_table", decision: "allow" },
      { id: "small-refunds", tool: "refund", when: { amount: { lte: 500 } }, decision: "allow" },
    ],
  };
  // No version yet: lint only.
  const first = await call(gw.url, "PUT", `${policyUrl("ops-agent")}?dry_run=true`, { key: ADMIN, body: next });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual([first.body.ok, first.body.dry_run, first.body.agent, first.body.current_version, first.body.diff], [true, true, "ops-agent", null, null]);
  assert.equal((await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN })).status, 404, "a dry run saves nothing");

  await putPolicy(gw.url, "ops-agent", current);
  const auditBefore = await audit(gw.url);
  const dry = await call(gw.url, "PUT", `${policyUrl("ops-agent")}?dry_run=true`, { key: ADMIN, body: next });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.equal(dry.body.current_version, 1);
  const codes = dry.body.lint.map((f) => [f.code, f.location.field, f.location.index, f.location.rule]);
  assert.deepEqual(codes, [
    ["shadowed", "rules[0]", null, "dead-allow"],
    ["brace-is-literal", "allow", 1, null],
  ]);
  assert.deepEqual(dry.body.lint[0].related, [{ field: "deny", index: 0, rule: null }]);

  // The same as the CLI's lint and diff of the same files.
  writeFileSync(join(gw.dir, "current.json"), JSON.stringify(current));
  writeFileSync(join(gw.dir, "next.json"), JSON.stringify(next));
  const lint = await agentguard(["lint", join(gw.dir, "next.json"), "--format", "json"]);
  assert.deepEqual(dry.body.lint, JSON.parse(lint.stdout), "lint: the gateway and `agentguard lint` agree");
  const diff = await agentguard(["diff", join(gw.dir, "current.json"), join(gw.dir, "next.json"), "--format", "json"]);
  assert.deepEqual(dry.body.diff, JSON.parse(diff.stdout), "diff: the gateway and `agentguard diff` agree");

  // The witness of the widening: denied by the version in force, allowed by the new one.
  const wider = dry.body.diff.changes.find((c) => c.tool === "refund");
  assert.deepEqual([wider.from, wider.to, wider.wider, wider.new_rule], ["deny", "allow", true, "small-refunds"]);
  assert.ok(wider.args.amount > 100 && wider.args.amount <= 500, JSON.stringify(wider.args));
  const brace = dry.body.diff.changes.find((c) => c.new_rule === "{read,list}_*");
  assert.ok(brace, JSON.stringify(dry.body.diff.changes));
  assert.equal(dry.body.diff.exact, true);
  for (const c of dry.body.diff.changes) {
    const r = await decide(gw.url, OPS, { tool: c.tool, args: c.args });
    assert.equal(r.decision, c.from, `witness ${c.tool} ${JSON.stringify(c.args)} under the version in force`);
    assert.equal(r.reason, c.old_reason);
  }

  // Nothing saved: same version, same audit (but for the witnesses' checks).
  const get = await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN });
  assert.deepEqual([get.body.version, get.body.versions], [1, [1]]);
  assert.deepEqual(get.body.policy, current);
  const auditAfter = (await audit(gw.url)).filter((r) => r.kind !== "tool");
  assert.deepEqual(auditAfter, auditBefore);

  // Once saved, the witnesses get the new decision.
  await putPolicy(gw.url, "ops-agent", next);
  for (const c of dry.body.diff.changes) {
    const r = await decide(gw.url, OPS, { tool: c.tool, args: c.args });
    assert.equal(r.decision, c.to, `witness ${c.tool} ${JSON.stringify(c.args)} under the new version`);
    assert.equal(r.reason, c.new_reason);
  }

  // A dry run validates like a PUT, and does not create agents.
  const bad = await call(gw.url, "PUT", `${policyUrl("ops-agent")}?dry_run=true`, { key: ADMIN, body: { allow: "read_*" } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, "invalid_policy");
  const newAgent = await call(gw.url, "PUT", `${policyUrl("brand-new")}?dry_run=true&create=true`, { key: ADMIN, body: next });
  assert.equal(newAgent.status, 200);
  assert.equal(newAgent.body.current_version, null);
  assert.equal((await call(gw.url, "PUT", policyUrl("brand-new"), { key: ADMIN, body: next })).status, 404, "a dry run with create=true creates no agent");
});

test("argument conditions are decided exactly as `agentguard check` decides them", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const file = join(gw.dir, "policy.json");
  writeFileSync(file, JSON.stringify(POLICY));
  const calls = [
    ["read_file", { path: "/home/u/.ssh/id_rsa" }],
    ["read_file", { path: "/workspace/notes.txt" }],
    ["write_file", { path: "/workspace/../etc/passwd" }],
    ["write_file", { path: "/workspace/src/main.rs" }],
    ["write_file", { path: "/workspace2/x" }],
    ["edit_file", { path: "/workspace/.env" }],
    ["edit_file", {}],
    ["refund", { amount: 100, currency: "USD" }],
    ["refund", { amount: 100.0000001, currency: "USD" }],
    ["refund", { amount: 50, currency: "GBP" }],
    ["refund", { amount: "50", currency: "EUR" }],
    ["refund", {}],
    ["send_email", { to: "ann@example.com" }],
    ["send_email", { to: ["ann@example.com", "eve@evil.com"] }],
    ["send_email", { to: 5 }],
    ["run_shell", { command: "git status && git diff HEAD" }],
    ["run_shell", { command: "git status; rm -rf /" }],
    ["run_shell", { command: "git log $(rm -rf /)" }],
    ["run_shell", { command: "curl http://example.com" }],
    ["drop_table", { name: "users" }],
    ["git_push", {}],
    ["unlisted_tool", {}],
  ];
  const seen = new Set();
  const EXIT = { allow: 0, deny: 1, require_approval: 3 };
  for (const [tool, args] of calls) {
    const viaGateway = await decide(gw.url, OPS, { tool, args });
    const cli = await agentguard(["check", file, tool, "--args", JSON.stringify(args), "--format", "json"]);
    const expected = JSON.parse(cli.stdout);
    const { approval, ...result } = viaGateway;
    assert.deepEqual(result, expected, `${tool} ${JSON.stringify(args)}: gateway vs agentguard check`);
    assert.equal(cli.code, EXIT[expected.decision], cli.stderr);
    assert.equal(approval !== undefined, expected.decision === "require_approval");
    seen.add(expected.decision);
  }
  assert.deepEqual([...seen].sort(), ["allow", "deny", "require_approval"], "the calls cover every decision");
});

// ------------------------------------------------------------ bad input

test("bad input: unknown agent, bad policies, bad approval ids, double grant, bad bodies, wrong keys", async (t) => {
  const gw = await gateway(t);
  const expect = async (what, r, status, error, more = {}) => {
    const res = await r;
    assert.equal(res.status, status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error, error, `${what}: ${JSON.stringify(res.body)}`);
    for (const [k, v] of Object.entries(more)) assert.deepEqual(res.body[k], v, `${what}: ${k} in ${JSON.stringify(res.body)}`);
    assert.equal(typeof res.body.message, "string");
    return res.body;
  };
  const put = (body, q = "", key = ADMIN, agent = "ops-agent") => call(gw.url, "PUT", `${policyUrl(agent)}${q}`, { key, body });

  // Policies.
  await expect("unknown agent", put(POLICY, "", ADMIN, "ghost"), 404, "unknown_agent", { agent: "ghost" });
  await expect("unknown key in a policy", put({ denny: ["drop_*"] }), 400, "invalid_policy", { kind: "unknown_key", field: "denny", index: null });
  await expect("wrong type in a list", put({ allow: ["ok", 5] }), 400, "invalid_policy", { kind: "wrong_type", field: "allow", index: 1 });
  const badRule = await expect(
    "a condition of the wrong type",
    put({ rules: [{ id: "r", tool: "refund", when: { amount: { lte: "100" } }, decision: "allow" }] }),
    400,
    "invalid_policy",
  );
  assert.equal(badRule.message, 'rules[0].when.amount.lte: expected a number, got string "100"');
  assert.deepEqual([badRule.kind, badRule.field], ["wrong_type", "rules[0].when.amount.lte"]);
  await expect("unknown operator", put({ rules: [{ id: "r", tool: "x", when: { a: { regex: "." } }, decision: "allow" }] }), 400, "invalid_policy");
  await expect("a bad default", put({ default: "maybe" }), 400, "invalid_policy", { field: "default" });
  await expect("a policy that is not an object", call(gw.url, "PUT", policyUrl("ops-agent"), { key: ADMIN, body: ["allow"] }), 400, "invalid_json");
  await expect("not JSON", call(gw.url, "PUT", policyUrl("ops-agent"), { key: ADMIN, raw: "{allow:" }), 400, "invalid_json");
  await expect("dry_run=yes", put(POLICY, "?dry_run=yes"), 400, "bad_request");
  await expect("version=0", call(gw.url, "GET", `${policyUrl("ops-agent")}?version=0`, { key: ADMIN }), 400, "bad_request");
  await expect("version=abc", call(gw.url, "GET", `${policyUrl("ops-agent")}?version=abc`, { key: ADMIN }), 400, "bad_request");
  for (const key of [APPROVER, OPS]) {
    await expect("a non-admin PUT", put(POLICY, "", key), 403, "forbidden");
    await expect("a non-admin GET", call(gw.url, "GET", policyUrl("ops-agent"), { key }), 403, "forbidden");
    await expect("a non-admin DELETE", call(gw.url, "DELETE", policyUrl("ops-agent"), { key }), 403, "forbidden");
  }
  await expect("no key", call(gw.url, "PUT", policyUrl("ops-agent"), { body: POLICY }), 401, "unauthorized");
  assert.equal((await call(gw.url, "GET", policyUrl("ops-agent"), { key: ADMIN })).status, 404, "no bad PUT was saved");
  await putPolicy(gw.url, "ops-agent", POLICY);

  // Checks.
  await expect("admin key on check", check(gw.url, ADMIN, { tool: "read_file" }), 403, "forbidden");
  await expect("approver key on check", check(gw.url, APPROVER, { tool: "read_file" }), 403, "forbidden");
  await expect("no key on check", check(gw.url, undefined, { tool: "read_file" }), 401, "unauthorized");
  await expect("args an array", check(gw.url, OPS, { tool: "read_file", args: ["/etc/passwd"] }), 400, "bad_request", { field: "args" });
  await expect("args a string", check(gw.url, OPS, { tool: "read_file", args: "/etc/passwd" }), 400, "bad_request", { field: "args" });
  await expect("context an array", check(gw.url, OPS, { tool: "read_file", context: [1] }), 400, "bad_request", { field: "context" });
  await expect("unknown key", check(gw.url, OPS, { tool: "read_file", argz: {} }), 400, "bad_request", { field: "argz" });
  await expect("no tool", check(gw.url, OPS, { args: {} }), 400, "bad_request", { field: "tool" });
  await expect("tool a number", check(gw.url, OPS, { tool: 5 }), 400, "bad_request", { field: "tool" });
  await expect("approval_id a number", check(gw.url, OPS, { tool: "git_push", approval_id: 5 }), 400, "bad_request", { field: "approval_id" });
  await expect("body an array", call(gw.url, "POST", "/v1/tools/check", { key: OPS, body: [] }), 400, "invalid_json");
  await expect("body not JSON", call(gw.url, "POST", "/v1/tools/check", { key: OPS, raw: "tool=x" }), 400, "invalid_json");
  await expect("no tool policy", check(gw.url, ANALYTICS, { tool: "read_file" }), 404, "no_tool_policy");
  await expect("unknown approval id", check(gw.url, OPS, { tool: "git_push", approval_id: "apr_000000000000000000000000" }), 404, "unknown_approval");
  await expect("garbage approval id", check(gw.url, OPS, { tool: "git_push", approval_id: "'; DROP TABLE approvals; --" }), 404, "unknown_approval");
  const audited = await audit(gw.url);
  assert.deepEqual(audited.filter((r) => r.kind === "tool"), [], "no refused check is audited as a decision");

  // Approvals.
  const id = await ask(gw.url, OPS, { tool: "git_push", args: {} });
  await expect("unknown approval", call(gw.url, "GET", "/v1/approvals/apr_nope", { key: ADMIN }), 404, "unknown_approval");
  await expect("grant an unknown approval", call(gw.url, "POST", "/v1/approvals/apr_nope/grant", { key: APPROVER }), 404, "unknown_approval");
  await expect("deny an unknown approval", call(gw.url, "POST", "/v1/approvals/apr_nope/deny", { key: APPROVER }), 404, "unknown_approval");
  await expect("wait=abc", call(gw.url, "GET", `/v1/approvals/${id}?wait=abc`, { key: OPS }), 400, "bad_request");
  await expect("wait=61", call(gw.url, "GET", `/v1/approvals/${id}?wait=61`, { key: OPS }), 400, "bad_request");
  await expect("wait=-1", call(gw.url, "GET", `/v1/approvals/${id}?wait=-1`, { key: OPS }), 400, "bad_request");
  await expect("status=bogus", call(gw.url, "GET", "/v1/approvals?status=bogus", { key: APPROVER }), 400, "bad_request");
  await expect("agent key lists approvals", call(gw.url, "GET", "/v1/approvals", { key: OPS }), 403, "forbidden");
  await expect("agent key grants", call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: OPS }), 403, "forbidden");
  await expect("agent key denies", call(gw.url, "POST", `/v1/approvals/${id}/deny`, { key: OPS }), 403, "forbidden");
  await expect("no key grants", call(gw.url, "POST", `/v1/approvals/${id}/grant`, {}), 401, "unauthorized");
  await expect("a note that is a number", call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: { note: 5 } }), 400, "bad_request", { field: "note" });
  await expect("a note too long", call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: { note: "x".repeat(1001) } }), 400, "bad_request", { field: "note" });
  await expect("an unknown key in a grant", call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, body: { why: "x" } }), 400, "bad_request", { field: "why" });
  await expect("a grant body that is not JSON", call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER, raw: "yes" }), 400, "invalid_json");
  assert.equal((await call(gw.url, "GET", `/v1/approvals/${id}`, { key: OPS })).body.approval.status, "pending", "no refused request decided it");
  // Double grant: the first wins; the second, and a deny after it, 409.
  const grants = await Promise.all([APPROVER, ADMIN].map((key) => call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key })));
  assert.deepEqual(grants.map((g) => g.status).sort(), [200, 409], JSON.stringify(grants.map((g) => g.body)));
  const loser = grants.find((g) => g.status === 409).body;
  assert.deepEqual([loser.error, loser.status], ["approval_decided", "granted"]);
  await expect("deny after grant", call(gw.url, "POST", `/v1/approvals/${id}/deny`, { key: APPROVER }), 409, "approval_decided", { status: "granted" });
  await expect("grant after use", (async () => {
    await decide(gw.url, OPS, { tool: "git_push", args: {}, approval_id: id });
    return call(gw.url, "POST", `/v1/approvals/${id}/grant`, { key: APPROVER });
  })(), 409, "approval_decided", { status: "used" });
  const decided = (await audit(gw.url)).filter((r) => r.kind === "approval");
  assert.equal(decided.length, 1, "one decision recorded");
  const gateKeeper = grants.find((g) => g.status === 200).body.approval.decided_by;
  assert.equal(decided[0].caller, gateKeeper);

  // Grant after expiry, on a gateway with 1 s approvals.
  const short = await gateway(t, ["--approval-seconds", "1"]);
  await putPolicy(short.url, "ops-agent", POLICY);
  const old = await ask(short.url, OPS, { tool: "git_push", args: {} });
  await sleep(1300);
  await expect("grant after expiry", call(short.url, "POST", `/v1/approvals/${old}/grant`, { key: APPROVER }), 409, "approval_expired");
});

// ------------------------------------------------------------------- CLI

test("an approval id percent-encoded in the path is the same approval (apr%5F... is apr_...)", async (t) => {
  // A path segment means the same percent-decoded (RFC 3986: %5F and "_"
  // are equivalent), as /v1/agents/{id}/... reads it; clients that encode
  // more than they must (an earlier `agentguard approvals` sent %5F) still
  // find the approval.
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const id = await ask(gw.url, OPS, { tool: "git_push", args: {} });
  const encoded = id.replace("_", "%5F");
  const got = await call(gw.url, "GET", `/v1/approvals/${encoded}`, { key: APPROVER });
  assert.equal(got.status, 200, `GET /v1/approvals/${encoded}: ${got.status} ${JSON.stringify(got.body)}`);
  assert.equal(got.body.approval.id, id);
  const grant = await call(gw.url, "POST", `/v1/approvals/${encoded}/grant`, { key: APPROVER });
  assert.equal(grant.status, 200, `POST /v1/approvals/${encoded}/grant: ${grant.status} ${JSON.stringify(grant.body)}`);
  assert.equal(grant.body.approval.status, "granted");
});

test("agentguard approvals list / show --wait / grant / deny against a live gateway", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const approver = { AGENTGUARD_API_KEY: APPROVER, AGENTGUARD_URL: gw.url };
  const a1 = await ask(gw.url, OPS, { tool: "git_push", args: { branch: "main" } });
  const a2 = await ask(gw.url, OPS, { tool: "refund", args: { amount: 1000 } });

  const list = await agentguard(["approvals", "list"], approver);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).approvals.map((a) => a.id), [a2, a1], "pending, newest first");
  const limited = await agentguard(["approvals", "list", "--limit", "1", "--url", gw.url], { AGENTGUARD_API_KEY: APPROVER });
  assert.equal(limited.code, 0, limited.stderr);
  assert.deepEqual(JSON.parse(limited.stdout).approvals.map((a) => a.id), [a2], "--url instead of $AGENTGUARD_URL");

  const show = await agentguard(["approvals", "show", a1], approver);
  assert.equal(show.code, 0, show.stderr);
  assert.equal(JSON.parse(show.stdout).approval.status, "pending");

  // show --wait as the agent, granted meanwhile through the CLI.
  const t0 = performance.now();
  const waiting = agentguard(["approvals", "show", a1, "--wait", "20"], { AGENTGUARD_API_KEY: OPS, AGENTGUARD_URL: gw.url });
  await sleep(500);
  const grant = await agentguard(["approvals", "grant", a1, "--note", "looks fine"], approver);
  assert.equal(grant.code, 0, grant.stderr);
  const granted = JSON.parse(grant.stdout).approval;
  assert.deepEqual([granted.status, granted.decided_by, granted.note], ["granted", "bob", "looks fine"]);
  const waited = await waiting;
  assert.equal(waited.code, 0, waited.stderr);
  assert.equal(JSON.parse(waited.stdout).approval.status, "granted");
  assert.ok(performance.now() - t0 < 10_000, "show --wait returned at the grant");
  assert.equal((await decide(gw.url, OPS, { tool: "git_push", args: { branch: "main" }, approval_id: a1 })).decision, "allow");

  const deny = await agentguard(["approvals", "deny", a2], approver);
  assert.equal(deny.code, 0, deny.stderr);
  assert.deepEqual([JSON.parse(deny.stdout).approval.status, JSON.parse(deny.stdout).approval.note], ["denied", null]);
  assert.equal((await decide(gw.url, OPS, { tool: "refund", args: { amount: 1000 }, approval_id: a2 })).decision, "deny");

  for (const [status, ids] of [["used", [a1]], ["denied", [a2]], ["all", [a2, a1]], ["pending", []]]) {
    const r = await agentguard(["approvals", "list", "--status", status], approver);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).approvals.map((a) => a.id), ids, `--status ${status}`);
  }

  // Refusals: exit 1, the gateway's error on stderr.
  const again = await agentguard(["approvals", "grant", a1], approver);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^409 approval_decided: /);
  const asAgent = await agentguard(["approvals", "list"], { AGENTGUARD_API_KEY: OPS, AGENTGUARD_URL: gw.url });
  assert.equal(asAgent.code, 1);
  assert.match(asAgent.stderr, /^403 forbidden: /);
  const unknown = await agentguard(["approvals", "show", "apr_nope"], approver);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^404 unknown_approval: /);
  const badStatus = await agentguard(["approvals", "list", "--status", "bogus"], approver);
  assert.equal(badStatus.code, 1);
  assert.match(badStatus.stderr, /^400 /);
  const usage = await agentguard(["approvals", "grant"], approver);
  assert.equal(usage.code, 2, "a usage error");

  // Audited with the CLI user's name.
  const decisions = (await audit(gw.url, "ops-agent")).filter((r) => r.kind === "approval");
  assert.deepEqual(decisions.map((r) => [r.decision, r.caller, r.note]), [
    ["approval_granted", "bob", "looks fine"],
    ["approval_denied", "bob", undefined],
  ]);
});

// ------------------------------------------- evaluate, approvals asked by agents

test("POST /v1/tools/evaluate: the decision, pure (nothing audited, no approval asked); Bearer keys work as x-api-key", async (t) => {
  const gw = await gateway(t);
  await putPolicy(gw.url, "ops-agent", POLICY);
  const before = (await audit(gw.url)).length;
  const bearer = (key) => ({ authorization: `Bearer ${key}` });
  const evaluate = (body, headers = bearer(OPS)) => call(gw.url, "POST", "/v1/tools/evaluate", { body, headers });

  const cases = [
    [{ tool: "read_file", args: { path: "/workspace/a" } }, "allow", "read_*"],
    [{ tool: "drop_table" }, "deny", "drop_*"],
    [{ tool: "read_file", args: { path: "/workspace/.env" } }, "deny", "no-secrets"],
    [{ tool: "refund", args: { amount: 500, currency: "EUR" }, context: { user: "u1" } }, "require_approval", "big-refunds"],
    [{ tool: "refund", args: { amount: 5, currency: "EUR" } }, "allow", "small-refunds"],
  ];
  for (const [body, decision, rule] of cases) {
    const r = await evaluate(body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.decision, decision, JSON.stringify(body));
    assert.equal(r.body.matched_rule, rule);
    assert.equal(r.body.tool, body.tool);
    assert.equal(r.body.approval, undefined, "no approval is asked by an evaluation");
    // The same answer as a check, less the approval.
    const c = await decide(gw.url, OPS, body);
    delete c.approval;
    assert.deepEqual(r.body, c);
  }
  const records = await audit(gw.url);
  assert.equal(records.length - before, cases.length, "only the checks were audited");
  const pending = await call(gw.url, "GET", "/v1/approvals", { key: ADMIN });
  assert.equal(pending.body.approvals.length, 1, "only the check asked for an approval");

  const bad = [
    [{ tool: "read_file", approval_id: "apr_x" }, bearer(OPS), 400, /unknown key "approval_id" in a tool evaluation \(known keys: tool, args, context\)/],
    [{ args: {} }, bearer(OPS), 400, /tool: expected a string, got nothing/],
    [{ tool: "read_file", args: [] }, bearer(OPS), 400, /args: expected an object, got an array/],
    [{ tool: "read_file" }, bearer(ADMIN), 403, /only agent keys ask for tool decisions/],
    [{ tool: "read_file" }, bearer(ANALYTICS), 404, /agent "analytics-agent" has no tool policy/],
    [{ tool: "read_file" }, { authorization: `Token ${OPS}` }, 401, /the Authorization header must be "Bearer KEY"/],
    [{ tool: "read_file" }, { ...bearer(OPS), "x-api-key": ANALYTICS }, 401, /two different keys/],
  ];
  for (const [body, headers, status, message] of bad) {
    const r = await evaluate(body, headers);
    assert.equal(r.status, status, JSON.stringify([body, r.body]));
    assert.match(r.body.message, message);
  }
  const wrong = await call(gw.url, "GET", "/v1/tools/evaluate", { key: OPS });
  assert.equal(wrong.status, 405);
});

test("POST /v1/approvals: an agent's own policy asks the gateway's queue; grant, use once with exactly its call; deny; audited", async (t) => {
  const gw = await gateway(t);
  const askBody = { tool: "move_file", args: { source: "/a", destination: "/b" }, reason: "requires approval per pattern: move_file", matched_rule: "move_file" };
  const created = await call(gw.url, "POST", "/v1/approvals", { key: OPS, body: askBody });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const a = created.body.approval;
  assert.match(a.id, /^apr_/);
  assert.equal(a.status, "pending");
  assert.equal(a.agent, "ops-agent");
  assert.deepEqual(a.args, askBody.args);
  assert.deepEqual(a.result, { tool: "move_file", decision: "require_approval", reason: askBody.reason, matched_rule: "move_file", asked_by: "agent" });

  // A person sees it with the others, and grants it.
  const listed = await call(gw.url, "GET", "/v1/approvals", { key: APPROVER });
  assert.deepEqual(listed.body.approvals.map((x) => x.id), [a.id]);
  assert.equal((await call(gw.url, "GET", `/v1/approvals/${a.id}`, { key: ANALYTICS })).status, 403);
  const use = (key, body) => call(gw.url, "POST", `/v1/approvals/${a.id}/use`, { key, body });
  const early = await use(OPS, { tool: "move_file", args: askBody.args });
  assert.equal(early.status, 200);
  assert.equal(early.body.approval.status, "pending", "not granted yet: answered as it is, not spent");
  assert.equal((await call(gw.url, "POST", `/v1/approvals/${a.id}/grant`, { key: APPROVER, body: { note: "fine" } })).status, 200);

  // Spent only on exactly its call, by its agent, once.
  const other = await use(OPS, { tool: "move_file", args: { source: "/a", destination: "/etc" } });
  assert.equal(other.status, 409);
  assert.equal(other.body.error, "approval_mismatch");
  assert.equal((await use(ANALYTICS, { tool: "move_file", args: askBody.args })).status, 403);
  assert.equal((await use(ADMIN, { tool: "move_file", args: askBody.args })).status, 403);
  const spent = await use(OPS, { tool: "move_file", args: { destination: "/b", source: "/a" } });
  assert.equal(spent.status, 200, JSON.stringify(spent.body));
  assert.equal(spent.body.approval.status, "used");
  assert.equal(spent.body.approval.decided_by, "bob");
  const again = await use(OPS, { tool: "move_file", args: askBody.args });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, "approval_used");

  // Denied: the use answers the denial (nothing to run).
  const d = (await call(gw.url, "POST", "/v1/approvals", { key: OPS, body: { tool: "git_push", args: {} } })).body.approval;
  assert.equal(d.result.reason, "approval required by the agent's policy", "a reason by default");
  await call(gw.url, "POST", `/v1/approvals/${d.id}/deny`, { key: APPROVER, body: { note: "no" } });
  const denied = await call(gw.url, "POST", `/v1/approvals/${d.id}/use`, { key: OPS, body: { tool: "git_push" } });
  assert.equal(denied.status, 200);
  assert.equal(denied.body.approval.status, "denied");
  assert.equal(denied.body.approval.note, "no");

  // The audit: asked (by the agent), granted, used; asked, denied.
  const steps = (await audit(gw.url, "ops-agent"))
    .filter((r) => r.kind === "tool" || r.kind === "approval")
    .map((r) => [r.kind, r.decision, r.caller, r.approval_id === a.id ? "a" : "d"]);
  assert.deepEqual(steps, [
    ["tool", "require_approval", "ops-agent", "a"],
    ["approval", "approval_granted", "bob", "a"],
    ["approval", "approval_used", "ops-agent", "a"],
    ["tool", "require_approval", "ops-agent", "d"],
    ["approval", "approval_denied", "bob", "d"],
  ]);

  const bad = [
    [ADMIN, { tool: "x" }, 403, /only agent keys ask for approvals/],
    [OPS, { tool: "x", reason: 5 }, 400, /reason: expected a string of at most 1000 characters, got number 5/],
    [OPS, { tool: "x", reason: "r".repeat(1001) }, 400, /reason: expected a string of at most 1000 characters/],
    [OPS, { tool: "x", decision: "allow" }, 400, /unknown key "decision" in an approval request/],
    [OPS, { args: {} }, 400, /tool: expected a string/],
  ];
  for (const [key, body, status, message] of bad) {
    const r = await call(gw.url, "POST", "/v1/approvals", { key, body });
    assert.equal(r.status, status, JSON.stringify([body, r.body]));
    assert.match(r.body.message, message);
  }
  const unknown = await call(gw.url, "POST", "/v1/approvals/apr_nope/use", { key: OPS, body: { tool: "x" } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error, "unknown_approval");
});
