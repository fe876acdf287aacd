// Nothing acknowledged is lost: policies, queued intents and audit records
// survive a restart and a kill -9 in the middle of a write load; leased
// intents come back when they are not acknowledged; a damaged database stops
// startup with a clear message.

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ADMIN, DATABASE_URL, call, keyOf, policyPath, startServer, tempDir, writeKeys } from "./helpers.mjs";

async function setup(t) {
  const dir = tempDir(t);
  const keysFile = writeKeys(dir);
  const dataDir = join(dir, "data");
  return { dir, keysFile, dataDir };
}

/** Takes every queued intent of `agent`. */
async function drainInbox(url, agent) {
  const all = [];
  for (;;) {
    const r = await call(url, "GET", "/v1/mesh/inbox?limit=1000", { key: keyOf(agent) });
    assert.equal(r.status, 200);
    all.push(...r.body.intents);
    if (r.body.remaining === 0) return all;
  }
}

test("policies, queued intents and audit records survive a restart", async (t) => {
  const { keysFile, dataDir } = await setup(t);
  let gw = await startServer({ dataDir, keysFile });
  const put = await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] },
  });
  await call(gw.url, "PUT", policyPath("ops-agent"), {
    key: ADMIN,
    body: { direction: "send", mode: "denylist", patterns: ["intent.admin.*"] },
  });
  const sent = [];
  for (let i = 0; i < 5; i++) {
    const r = await call(gw.url, "POST", "/v1/mesh/intents", {
      key: keyOf("ops-agent"),
      body: { intent_type: `intent.data.read.v${i}`, to_agent: "analytics-agent", payload: { i } },
    });
    assert.equal(r.status, 202);
    sent.push(r.body.intent_id);
  }
  // Take and acknowledge two before the restart: they must not come back.
  const early = await call(gw.url, "GET", "/v1/mesh/inbox?limit=2", { key: keyOf("analytics-agent") });
  assert.deepEqual(early.body.intents.map((i) => i.intent_id), sent.slice(0, 2));
  const ack = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body: { intent_ids: sent.slice(0, 2) } });
  assert.deepEqual(ack.body, { ok: true, acked: 2, unknown: [] });
  const blocked = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: "analytics-agent" },
  });
  assert.equal(blocked.status, 403);
  const auditBefore = await call(gw.url, "GET", "/v1/mesh/audit?limit=1000", { key: ADMIN });
  const stopped = await gw.stop();
  assert.equal(stopped.code, 0);

  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  assert.equal(gw.output().stderr, "", "a clean restart warns about nothing");
  const got = await call(gw.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  assert.equal(got.body.policies.receive.policy_id, put.body.policy_id);
  assert.deepEqual(got.body.policies.receive.patterns, ["intent.data.read.*"]);
  const ops = await call(gw.url, "GET", policyPath("ops-agent"), { key: ADMIN });
  assert.deepEqual(ops.body.policies.send.patterns, ["intent.admin.*"]);

  const again = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.delete.v1", to_agent: "analytics-agent" },
  });
  assert.equal(again.status, 403, "the restored policy is enforced");
  assert.equal((await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.admin.reset.v1", to_agent: "reporting-agent" },
  })).status, 403);

  const rest = await drainInbox(gw.url, "analytics-agent");
  assert.deepEqual(rest.map((i) => i.intent_id), sent.slice(2));
  const auditAfter = await call(gw.url, "GET", "/v1/mesh/audit?limit=1000", { key: ADMIN });
  const ids = (r) => r.body.records.map((x) => x.audit_id);
  assert.deepEqual(ids(auditAfter).slice(-ids(auditBefore).length), ids(auditBefore));
  assert.equal(auditAfter.body.records.length, auditBefore.body.records.length + 2);
});

test("kill -9 during a write load loses no acknowledged intent, policy or audit record", async (t) => {
  const { keysFile, dataDir } = await setup(t);
  let gw = await startServer({ dataDir, keysFile });
  const put = await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "denylist", patterns: ["intent.data.delete.*"] },
  });
  assert.equal(put.status, 200);

  const delivered = new Map(); // intent_id -> intent_type
  let blockedAcks = 0;
  let policyAcks = 0;
  let failed = 0;
  let started = 0;
  let killed = false;
  const KILL_AFTER = 300;
  const LIMIT = 3000; // bounded: the loop stops by itself even if the kill came late
  const worker = async (w) => {
    while (started < LIMIT && !killed) {
      const n = started++;
      try {
        if (n % 50 === 7) {
          // A policy write in the middle of the intents.
          const r = await call(gw.url, "PUT", policyPath("reporting-agent"), {
            key: ADMIN,
            body: { direction: "receive", mode: "allowlist", patterns: [`intent.report.v${n}.*`] },
          });
          if (r.status === 200) policyAcks += 1;
          continue;
        }
        const type = n % 5 === 0 ? `intent.data.delete.v${n}` : `intent.data.read.v${n}`;
        const r = await fetch(`${gw.url}/v1/mesh/intents`, {
          method: "POST",
          headers: { "x-api-key": keyOf(w % 2 ? "ops-agent" : "reporting-agent") },
          body: JSON.stringify({ intent_type: type, to_agent: "analytics-agent", payload: { n } }),
        });
        const body = await r.json();
        if (r.status === 202) delivered.set(body.intent_id, type);
        else if (r.status === 403) blockedAcks += 1;
        else failed += 1;
      } catch {
        failed += 1; // in flight when the process died: never acknowledged
      }
      if (!killed && delivered.size >= KILL_AFTER) {
        killed = true;
        await gw.kill9();
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
  assert.ok(killed, "the load reached the kill");
  const exit = await gw.exited;
  assert.equal(exit.signal, "SIGKILL");

  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  const inbox = await drainInbox(gw.url, "analytics-agent");
  const inboxIds = new Set(inbox.map((i) => i.intent_id));
  const missing = [...delivered.keys()].filter((id) => !inboxIds.has(id));
  assert.deepEqual(missing, [], `${missing.length} acknowledged intents lost`);
  for (const i of inbox) {
    if (delivered.has(i.intent_id)) assert.equal(i.intent_type, delivered.get(i.intent_id));
  }

  const audit = await call(gw.url, "GET", "/v1/mesh/audit?limit=1000", { key: ADMIN });
  const records = audit.body.records;
  const deliveredAudit = new Set(records.filter((r) => r.decision === "delivered").map((r) => r.intent_id));
  assert.deepEqual([...delivered.keys()].filter((id) => !deliveredAudit.has(id)), []);
  assert.ok(records.filter((r) => r.decision === "blocked").length >= blockedAcks);
  assert.ok(records.filter((r) => r.decision === "policy_set").length >= policyAcks + 1);
  // The last acknowledged reporting-agent policy is the one in force.
  const rep = await call(gw.url, "GET", policyPath("reporting-agent"), { key: ADMIN });
  if (policyAcks > 0) assert.equal(rep.body.policies.receive.mode, "allowlist");
  const analytics = await call(gw.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  assert.equal(analytics.body.policies.receive.policy_id, put.body.policy_id);
  t.diagnostic(
    `acknowledged before kill -9: ${delivered.size} delivered, ${blockedAcks} blocked, ${policyAcks} policy writes; ${failed} in flight; all present after restart`,
  );
});

test("taken and not acknowledged: the intents come back after the lease, in order, and an ack after that still removes them", async (t) => {
  const { keysFile, dataDir } = await setup(t);
  const gw = await startServer({ dataDir, keysFile, extraArgs: ["--lease-seconds", "1"] });
  t.after(() => gw.stop());
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const r = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), body: { intent_type: `intent.x.v${i}`, to_agent: "analytics-agent" } });
    ids.push(r.body.intent_id);
  }
  const take = () => call(gw.url, "GET", "/v1/mesh/inbox?limit=2", { key: keyOf("analytics-agent") });
  const first = await take();
  assert.deepEqual(first.body.intents.map((i) => i.intent_id), ids.slice(0, 2));
  assert.equal(first.body.remaining, 1);
  assert.ok(first.body.lease_expires_at > Date.now() / 1000, "the lease ends in the future");
  // Leased: the next take gets only the third.
  const second = await take();
  assert.deepEqual(second.body.intents.map((i) => i.intent_id), [ids[2]]);
  assert.equal(second.body.remaining, 0);
  // After the lease, the first two are handed out again (the client crashed
  // before acknowledging them).
  await new Promise((r) => setTimeout(r, 1200));
  const again = await take();
  assert.deepEqual(again.body.intents.map((i) => i.intent_id), ids.slice(0, 2));
  const ack = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body: { intent_ids: ids } });
  assert.deepEqual(ack.body, { ok: true, acked: 3, unknown: [] });
  await new Promise((r) => setTimeout(r, 1200));
  assert.deepEqual((await take()).body.intents, [], "acknowledged intents never come back");
  // Another agent cannot acknowledge (remove) someone else's intents.
  const r = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), body: { intent_type: "intent.y", to_agent: "analytics-agent" } });
  const foreign = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("ops-agent"), body: { intent_ids: [r.body.intent_id] } });
  assert.deepEqual(foreign.body, { ok: true, acked: 0, unknown: [r.body.intent_id] });
  assert.equal((await take()).body.intents.length, 1);
  // Bad acknowledgements are 400s that name the problem.
  for (const [body, message] of [
    [{}, /intent_ids: expected an array of intent ids, got nothing/],
    [{ intent_ids: "int_x" }, /intent_ids: expected an array of intent ids, got string/],
    [{ intent_ids: [5] }, /intent_ids\[0\]: expected an intent id \(a string\), got number 5/],
    [{ intent_ids: [], extra: 1 }, /unknown key "extra" in acknowledgement/],
    [{ intent_ids: Array.from({ length: 1001 }, (_, i) => `int_${i}`) }, /at most 1000 ids at once, got 1001/],
  ]) {
    const bad = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body });
    assert.equal(bad.status, 400, JSON.stringify(body));
    assert.match(bad.body.message, message);
  }
  const admin = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: ADMIN, body: { intent_ids: [] } });
  assert.equal(admin.status, 403);
});

test("a damaged database stops startup with a clear message (SQLite)", { skip: DATABASE_URL !== null && "a SQLite file only" }, async (t) => {
  const { keysFile, dataDir } = await setup(t);
  const gw = await startServer({ dataDir, keysFile });
  await gw.stop();
  writeFileSync(join(dataDir, "agentguard.db"), "this is not a database, it is a text file of more than a few bytes".repeat(100));
  await assert.rejects(startServer({ dataDir, keysFile }), /gateway: database: .*(not a database|malformed)/);
});

test("concurrent sends and takes: every intent is delivered exactly once, across a restart", async (t) => {
  const { keysFile, dataDir } = await setup(t);
  let gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  const send = (i) =>
    call(gw.url, "POST", "/v1/mesh/intents", {
      key: keyOf(i % 2 ? "ops-agent" : "reporting-agent"),
      body: { intent_type: `intent.data.read.v${i}`, to_agent: "analytics-agent", payload: { i } },
    });
  const take = (limit) => call(gw.url, "GET", `/v1/mesh/inbox?limit=${limit}`, { key: keyOf("analytics-agent") });
  const sentIds = [];
  const taken = [];
  // Sends and takes interleaved, 20 at a time.
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, k) => send(round * 20 + k)),
      ...Array.from({ length: 5 }, () => take(3)),
    ]);
    for (const r of results) {
      if (r.body.intent_id) sentIds.push(r.body.intent_id);
      else {
        const ids = r.body.intents.map((i) => i.intent_id);
        taken.push(...ids);
        const a = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body: { intent_ids: ids } });
        assert.equal(a.body.acked, ids.length);
      }
    }
  }
  assert.equal(sentIds.length, 200);
  assert.equal(new Set(taken).size, taken.length, "no intent handed out twice");
  await gw.stop();
  gw = await startServer({ dataDir, keysFile });
  const rest = await drainInbox(gw.url, "analytics-agent");
  const all = [...taken, ...rest.map((i) => i.intent_id)];
  assert.equal(new Set(all).size, all.length, "nothing handed out again after the restart");
  assert.deepEqual([...all].sort(), [...sentIds].sort(), "every acknowledged intent, exactly once");
});
