// Several gateways on one PostgreSQL database: a policy changed through one
// is enforced by the others within a second; the inbox hands every intent
// to exactly one taker however many take at once on whichever instance; one
// audit, the same through every instance; a kill -9 of one instance under
// load loses nothing that was acknowledged; and when the database goes away
// the gateway answers 503 (never an allow), stays up, and recovers by itself.
//
// Only meaningful with PostgreSQL: run under scripts/with-postgres.sh,
//
//   bash scripts/with-postgres.sh node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/postgres.test.mjs
//
// Without AGENTGUARD_TEST_DATABASE_URL every test here fails and says so.
// (The SQLite counterpart of the kill -9 test is in persistence.test.mjs.)

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import {
  ADMIN,
  DATABASE_URL,
  call,
  freshDatabase,
  keyOf,
  policyPath,
  sendIntent,
  startServer,
  tempDir,
  writeKeys,
} from "./helpers.mjs";

const HOW =
  "bash scripts/with-postgres.sh node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/postgres.test.mjs";
const NO_POSTGRES =
  "these tests need PostgreSQL and AGENTGUARD_TEST_DATABASE_URL is not set: " +
  `run them under scripts/with-postgres.sh (${HOW}), which finds or starts a server`;

function requirePostgres() {
  if (DATABASE_URL === null) assert.fail(NO_POSTGRES);
}

test("PostgreSQL is configured (AGENTGUARD_TEST_DATABASE_URL; run this file under scripts/with-postgres.sh)", () => {
  assert.notEqual(DATABASE_URL, null, NO_POSTGRES);
});

const running = (s) => s.child.exitCode === null && s.child.signalCode === null;

/**
 * `n` gateways on one fresh database (the same data directory maps to the
 * same database in helpers.storageArgs), started one after another; each
 * stopped after the test. `start()` adds one more on the same database.
 */
async function cluster(t, n, { extraArgs = [] } = {}) {
  requirePostgres();
  const dir = tempDir(t);
  const keysFile = writeKeys(dir);
  const dataDir = join(dir, "data");
  const start = async (options = {}) => {
    const s = await startServer({ dataDir, keysFile, extraArgs, ...options });
    t.after(() => (running(s) ? s.stop() : undefined));
    return s;
  };
  const servers = [];
  for (let i = 0; i < n; i++) servers.push(await start());
  return { dir, keysFile, dataDir, servers, start };
}

/** Runs `fn(i)` for i in [0, n) with `concurrency` at a time. */
async function pool(n, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Calls `attempt()` every `everyMs` until `done(result)`; `{result, ms, tries}` or throws after `withinMs`. */
async function pollUntil(attempt, done, { withinMs, everyMs = 10, what }) {
  const t0 = performance.now();
  for (let tries = 1; ; tries++) {
    const result = await attempt();
    const ms = performance.now() - t0;
    if (done(result)) return { result, ms, tries };
    if (ms > withinMs) throw new Error(`${what}: not after ${Math.round(ms)} ms (${tries} tries); last: ${JSON.stringify(result.body ?? result)}`);
    await sleep(everyMs);
  }
}

/**
 * Every taker loops on GET inbox?limit=`limit` and acknowledges what it got,
 * round-robin over `urls`, until the inbox is empty. Returns the ids taken,
 * each with how many times it was handed out, and the acknowledgements.
 */
async function takeAll(urls, agent, { takers = 20, limit = 50, withinMs = 60_000 } = {}) {
  const times = new Map();
  const types = new Map();
  let acked = 0;
  const unknown = [];
  let pages = 0;
  const deadline = performance.now() + withinMs;
  const taker = async (k) => {
    const url = urls[k % urls.length];
    for (;;) {
      assert.ok(performance.now() < deadline, `the inbox of ${agent} did not drain in ${withinMs} ms`);
      const r = await call(url, "GET", `/v1/mesh/inbox?limit=${limit}`, { key: keyOf(agent) });
      assert.equal(r.status, 200, `GET inbox: ${r.status} ${JSON.stringify(r.body)}`);
      const ids = r.body.intents.map((i) => i.intent_id);
      for (const i of r.body.intents) {
        times.set(i.intent_id, (times.get(i.intent_id) ?? 0) + 1);
        types.set(i.intent_id, i.intent_type);
      }
      if (ids.length > 0) {
        pages += 1;
        const a = await call(url, "POST", "/v1/mesh/inbox/ack", { key: keyOf(agent), body: { intent_ids: ids } });
        assert.equal(a.status, 200, `ack: ${a.status} ${JSON.stringify(a.body)}`);
        acked += a.body.acked;
        unknown.push(...a.body.unknown);
      } else if (r.body.remaining === 0) {
        return;
      } else {
        await sleep(5); // the rest are being taken by others right now
      }
    }
  };
  await Promise.all(Array.from({ length: takers }, (_, k) => taker(k)));
  return { times, types, acked, unknown, pages };
}

/** The whole audit through one instance, newest first (paged with `before`). */
async function fullAudit(url) {
  const records = [];
  let before = null;
  for (let page = 0; page < 1000; page++) {
    const r = await call(url, "GET", `/v1/mesh/audit?limit=1000${before === null ? "" : `&before=${before}`}`, { key: ADMIN });
    assert.equal(r.status, 200, `audit: ${r.status} ${JSON.stringify(r.body)}`);
    records.push(...r.body.records);
    if (r.body.next_before === null) return records;
    before = r.body.next_before;
  }
  throw new Error("the audit did not end");
}

const denyDeletes = { direction: "receive", mode: "denylist", patterns: ["intent.data.delete.*"] };

test("a policy PUT or DELETE through one instance is enforced by the other within 1 s", async (t) => {
  const {
    servers: [a, b],
  } = await cluster(t, 2);
  const times = [];
  for (let round = 0; round < 3; round++) {
    for (const [writer, enforcer, name] of [
      [a, b, "A→B"],
      [b, a, "B→A"],
    ]) {
      const type = `intent.data.delete.r${round}`;
      const send = () => sendIntent(enforcer.url, "ops-agent", "analytics-agent", type, { round });
      assert.equal((await send()).status, 202, "open before the PUT");

      const put = await call(writer.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: denyDeletes });
      assert.equal(put.status, 200);
      const blocked = await pollUntil(send, (r) => r.status === 403 || (r.status !== 202 && r.status !== 403), {
        withinMs: 5000,
        what: `${name}: the PUT enforced by the other instance`,
      });
      assert.equal(blocked.result.status, 403, JSON.stringify(blocked.result.body));
      assert.equal(blocked.result.body.error, "action_policy_violation");
      assert.equal(blocked.result.body.direction, "receive");
      assert.ok(blocked.ms < 1000, `${name}: the PUT took ${Math.round(blocked.ms)} ms to be enforced by the other instance`);
      const seen = await call(enforcer.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
      assert.equal(seen.body.policies.receive.policy_id, put.body.policy_id, "the other instance shows the same policy");

      const del = await call(writer.url, "DELETE", `${policyPath("analytics-agent")}?direction=receive`, { key: ADMIN });
      assert.equal(del.status, 200);
      assert.equal(del.body.removed_policy_id, put.body.policy_id);
      const open = await pollUntil(send, (r) => r.status !== 403, {
        withinMs: 5000,
        what: `${name}: the DELETE seen by the other instance`,
      });
      assert.equal(open.result.status, 202, JSON.stringify(open.result.body));
      assert.ok(open.ms < 1000, `${name}: the DELETE took ${Math.round(open.ms)} ms to reach the other instance`);
      times.push({ name, put: Math.round(blocked.ms), del: Math.round(open.ms) });
    }
  }
  t.diagnostic(`ms from the writer's answer to enforcement on the other instance: ${JSON.stringify(times)}`);
});

test("the inbox under concurrent takers on both instances: every intent taken exactly once", async (t) => {
  const { servers } = await cluster(t, 2);
  const N = 2000;
  const sent = new Map(); // intent_id -> intent_type
  const t0 = performance.now();
  await pool(N, 20, async (i) => {
    const type = `intent.data.read.v${i}`;
    const r = await sendIntent(servers[i % 2].url, i % 3 ? "ops-agent" : "reporting-agent", "analytics-agent", type, { i });
    assert.equal(r.status, 202, `send ${i}: ${r.status} ${JSON.stringify(r.body)}`);
    sent.set(r.body.intent_id, type);
  });
  const sendMs = performance.now() - t0;
  assert.equal(sent.size, N, "every intent got its own id");

  const t1 = performance.now();
  const got = await takeAll(
    servers.map((s) => s.url),
    "analytics-agent",
    { takers: 20, limit: 50 },
  );
  const takeMs = performance.now() - t1;
  const twice = [...got.times].filter(([, n]) => n > 1);
  assert.deepEqual(twice, [], `${twice.length} intents handed out more than once`);
  const missing = [...sent.keys()].filter((id) => !got.times.has(id));
  assert.deepEqual(missing, [], `${missing.length} intents never handed out`);
  const extra = [...got.times.keys()].filter((id) => !sent.has(id));
  assert.deepEqual(extra, [], "nothing handed out that was not sent");
  for (const [id, type] of sent) assert.equal(got.types.get(id), type);
  assert.equal(got.acked, N, "every acknowledgement removed one intent");
  assert.deepEqual(got.unknown, []);
  for (const s of servers) {
    const r = await call(s.url, "GET", "/v1/mesh/inbox?limit=1000", { key: keyOf("analytics-agent") });
    assert.deepEqual([r.status, r.body.intents, r.body.remaining], [200, [], 0], "empty through every instance");
  }
  t.diagnostic(
    `${N} sends at concurrency 20 over 2 instances: ${Math.round(sendMs)} ms; taken by 20 takers (limit 50) in ${got.pages} pages, ${Math.round(takeMs)} ms`,
  );
});

test("one audit: both instances return the same records, seq decreasing, one per change and intent", async (t) => {
  const { servers } = await cluster(t, 2);
  const delivered = new Set();
  const policyIds = new Set();
  let blocked = 0;
  let deletes = 0;
  let emptyDeletes = 0;
  const N = 400;
  await pool(N, 20, async (i) => {
    const url = servers[i % 2].url;
    if (i % 25 === 3) {
      const r = await call(url, "PUT", policyPath(i % 2 ? "analytics-agent" : "tenant-a-db"), { key: ADMIN, body: denyDeletes });
      assert.equal(r.status, 200);
      policyIds.add(r.body.policy_id);
    } else if (i % 25 === 17) {
      const r = await call(url, "DELETE", `${policyPath(i % 2 ? "analytics-agent" : "tenant-a-db")}?direction=receive`, { key: ADMIN });
      assert.equal(r.status, 200);
      if (r.body.removed_policy_id === null) emptyDeletes += 1;
      else deletes += 1;
    } else {
      const to = i % 3 ? "analytics-agent" : "tenant-a-db";
      const r = await sendIntent(url, i % 2 ? "ops-agent" : "tenant-b-bot", to, `intent.data.${i % 4 ? "read" : "delete"}.v${i}`);
      if (r.status === 202) delivered.add(r.body.intent_id);
      else {
        assert.equal(r.status, 403, JSON.stringify(r.body));
        blocked += 1;
      }
    }
  });
  const [ra, rb] = [await fullAudit(servers[0].url), await fullAudit(servers[1].url)];
  assert.deepEqual(ra, rb, "the same audit through both instances");
  for (let i = 1; i < ra.length; i++) assert.ok(ra[i].seq < ra[i - 1].seq, `seq strictly decreasing at ${i}: ${ra[i - 1].seq}, ${ra[i].seq}`);
  const intents = delivered.size + blocked;
  assert.equal(ra.length, policyIds.size + deletes + intents, "one record per policy change (a DELETE of nothing is not one) and per intent");
  assert.equal(new Set(ra.map((r) => r.audit_id)).size, ra.length, "audit ids unique");
  const by = (d) => ra.filter((r) => r.decision === d);
  assert.deepEqual(new Set(by("delivered").map((r) => r.intent_id)), delivered);
  assert.equal(by("blocked").length, blocked);
  assert.deepEqual(new Set(by("policy_set").map((r) => r.policy_id)), policyIds);
  assert.equal(by("policy_deleted").length, deletes);
  // A filtered page is the same through both, too.
  const fa = await call(servers[0].url, "GET", "/v1/mesh/audit?agent=tenant-a-db&limit=50", { key: ADMIN });
  const fb = await call(servers[1].url, "GET", "/v1/mesh/audit?agent=tenant-a-db&limit=50", { key: ADMIN });
  assert.deepEqual(fa.body, fb.body);
  t.diagnostic(
    `${ra.length} records: ${delivered.size} delivered, ${blocked} blocked, ${policyIds.size} policy sets, ${deletes} deletes (+${emptyDeletes} of nothing, not audited)`,
  );
});

test("kill -9 of one instance during a write load over both loses nothing acknowledged", async (t) => {
  const c = await cluster(t, 2);
  let [a, b] = c.servers;
  const put = await call(a.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: denyDeletes });
  assert.equal(put.status, 200);

  const delivered = new Map(); // intent_id -> intent_type
  const deliveredBy = { A: 0, B: 0 };
  let deliveredAfterKill = 0;
  let blockedAcks = 0;
  const policies = []; // {agent, policy_id} answered 200
  const failed = { A: 0, B: 0 };
  const otherStatus = [];
  let killed = false;
  let opsAfterKill = 0;
  let started = 0;
  const LIMIT = 4000; // bounded even if the kill came late
  const worker = async () => {
    while (started < LIMIT && opsAfterKill < 400) {
      const n = started++;
      const [server, name] = n % 2 ? [a, "A"] : [b, "B"];
      if (killed) opsAfterKill += 1;
      try {
        if (n % 40 === 7) {
          // A policy write among the intents: a new agent each time, so that
          // every acknowledged one can be checked afterwards.
          const agent = `kill9-agent-${n}`;
          const r = await call(server.url, "PUT", `${policyPath(agent)}?create=true`, {
            key: ADMIN,
            body: { direction: "send", mode: "denylist", patterns: [`intent.admin.v${n}.*`] },
          });
          if (r.status === 200) policies.push({ agent, policy_id: r.body.policy_id });
          else otherStatus.push(r.status);
          continue;
        }
        const type = n % 5 === 0 ? `intent.data.delete.v${n}` : `intent.data.read.v${n}`;
        const r = await sendIntent(server.url, n % 3 ? "ops-agent" : "reporting-agent", "analytics-agent", type, { n });
        if (r.status === 202) {
          delivered.set(r.body.intent_id, type);
          deliveredBy[name] += 1;
          if (killed) deliveredAfterKill += 1;
        } else if (r.status === 403) blockedAcks += 1;
        else otherStatus.push(r.status);
      } catch {
        failed[name] += 1; // in flight when A died, or A is gone: never acknowledged
      }
      if (!killed && deliveredBy.A >= 200 && deliveredBy.B >= 200) {
        killed = true;
        await a.kill9();
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.ok(killed, "the load reached the kill");
  assert.equal((await a.exited).signal, "SIGKILL");
  assert.deepEqual(otherStatus, [], "only 200/202/403 (or a dead connection) were answered");
  assert.ok(deliveredAfterKill > 0, "the survivor kept delivering after the kill");
  assert.ok(running(b), "the survivor is up");

  a = await c.start();
  const got = await takeAll([b.url, a.url], "analytics-agent", { takers: 10, limit: 100 });
  const missing = [...delivered.keys()].filter((id) => !got.times.has(id));
  assert.deepEqual(missing, [], `${missing.length} acknowledged intents lost`);
  const twice = [...got.times].filter(([, k]) => k > 1);
  assert.deepEqual(twice, [], `${twice.length} intents handed out twice`);
  for (const [id, type] of delivered) assert.equal(got.types.get(id), type);
  assert.deepEqual(got.unknown, []);

  const records = await fullAudit(b.url);
  assert.deepEqual(records, await fullAudit(a.url), "the restarted instance shows the same audit");
  const deliveredAudit = new Set(records.filter((r) => r.decision === "delivered").map((r) => r.intent_id));
  const noAudit = [...delivered.keys()].filter((id) => !deliveredAudit.has(id));
  assert.deepEqual(noAudit, [], "every 202 has its delivered audit record");
  // Stored together or not at all: what was in the inbox is exactly what the audit says was delivered.
  assert.deepEqual(new Set(got.times.keys()), deliveredAudit, "inbox and delivered audit records match one to one");
  assert.ok(records.filter((r) => r.decision === "blocked").length >= blockedAcks);
  const policySet = new Set(records.filter((r) => r.decision === "policy_set").map((r) => r.policy_id));
  for (const p of policies) {
    assert.ok(policySet.has(p.policy_id), `the audit record of policy ${p.policy_id}`);
    for (const s of [a, b]) {
      const r = await call(s.url, "GET", policyPath(p.agent), { key: ADMIN });
      assert.equal(r.status, 200);
      assert.equal(r.body.policies.send.policy_id, p.policy_id, `policy of ${p.agent} answered 200 is in force`);
    }
  }
  for (const s of [a, b]) {
    const r = await call(s.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
    assert.equal(r.body.policies.receive.policy_id, put.body.policy_id);
  }
  t.diagnostic(
    `acknowledged: ${delivered.size} delivered (A ${deliveredBy.A}, B ${deliveredBy.B}; ${deliveredAfterKill} by B after the kill), ` +
      `${blockedAcks} blocked, ${policies.length} policy writes; failed requests: A ${failed.A}, B ${failed.B}; ` +
      `in the inbox unacknowledged (in flight at the kill): ${got.times.size - delivered.size}; all present, none twice`,
  );
});

/**
 * A TCP proxy on 127.0.0.1 to `host:port`; `close()` stops listening and
 * destroys every connection (the database is gone, as a network cut).
 */
function startProxy(host, port, listenPort = 0) {
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", drop);
      s.on("close", drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, "127.0.0.1", () => {
      server.off("error", reject);
      resolve({
        port: server.address().port,
        connections: () => sockets.size / 2,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
            sockets.clear();
          }),
      });
    });
  });
}

test("the database goes away: 503 unavailable, never an allow; back by itself when it returns", async (t) => {
  requirePostgres();
  const c = await cluster(t, 1); // B: straight to the database
  const [b] = c.servers;
  const target = new URL(freshDatabase(c.dataDir)); // the same database as B
  let proxy = await startProxy(target.hostname, Number(target.port || 5432));
  t.after(() => proxy.close());
  const via = new URL(target);
  via.hostname = "127.0.0.1";
  via.port = String(proxy.port);
  const a = await c.start({ database: via.toString() }); // A: through the proxy

  const put = await call(a.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: denyDeletes });
  assert.equal(put.status, 200);
  const before = await sendIntent(a.url, "ops-agent", "analytics-agent", "intent.data.read.before");
  assert.equal(before.status, 202);
  assert.ok(proxy.connections() > 0, "A talks to the database through the proxy");
  // Let A's own policy notification come back and be handled (a reload in
  // flight when the database goes away is the subject of another test).
  await sleep(300);
  const settled = await call(a.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  assert.equal(settled.body.policies.receive.policy_id, put.body.policy_id, "A shows its own PUT before the outage");

  await proxy.close();
  // How long each refusal took; checked at the end (after the recovery,
  // so that a slow refusal does not hide what follows).
  const outage = [];
  const timed = async (what, p) => {
    const t0 = performance.now();
    const r = await p;
    outage.push({ what, status: r.status, ms: Math.round(performance.now() - t0) });
    return r;
  };
  const unavailable = (r, what) => {
    assert.equal(r.status, 503, `${what}: expected 503, got ${r.status} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, "unavailable", what);
    assert.match(r.body.message, /database is unavailable/, what);
    assert.match(r.body.message, /nothing was delivered or changed/, what);
    assert.equal(r.headers.get("retry-after"), "1", what);
  };
  // Intents, allowed or not by the policy, several at once: all 503.
  const sends = await Promise.all([
    ...Array.from({ length: 4 }, (_, i) => timed(`intent ${i}`, sendIntent(a.url, "ops-agent", "analytics-agent", `intent.data.read.outage${i}`))),
    timed("blocked-type intent", sendIntent(a.url, "ops-agent", "analytics-agent", "intent.data.delete.outage")),
  ]);
  for (const r of sends) unavailable(r, "intent during the outage");
  unavailable(
    await timed("PUT policy", call(a.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: { direction: "receive", mode: "allowlist", patterns: ["intent.outage.*"] } })),
    "PUT during the outage",
  );
  unavailable(await timed("DELETE policy", call(a.url, "DELETE", `${policyPath("analytics-agent")}?direction=receive`, { key: ADMIN })), "DELETE during the outage");
  unavailable(await timed("GET inbox", call(a.url, "GET", "/v1/mesh/inbox", { key: keyOf("analytics-agent") })), "GET inbox during the outage");
  unavailable(await timed("ack", call(a.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body: { intent_ids: [before.body.intent_id] } })), "ack during the outage");
  unavailable(await timed("GET audit", call(a.url, "GET", "/v1/mesh/audit", { key: ADMIN })), "GET audit during the outage");
  // Reading a policy needs no database: answered from memory, unchanged by the refused writes.
  const read = await timed("GET policy", call(a.url, "GET", policyPath("analytics-agent"), { key: ADMIN }));
  assert.equal(read.status, 200, `GET policy during the outage: ${read.status} ${JSON.stringify(read.body)}`);
  assert.equal(read.body.policies.receive.policy_id, put.body.policy_id, "the refused PUT/DELETE changed nothing in memory");
  // Meanwhile B, straight to the database, changes a policy that A cannot hear about yet.
  const bPut = await call(b.url, "PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "denylist", patterns: ["intent.ops.*"] } });
  assert.equal(bPut.status, 200);
  assert.ok(running(a), `A is still up during the outage; stderr: ${a.output().stderr}`);

  proxy = await startProxy(target.hostname, Number(target.port || 5432), proxy.port);
  const refusedWhileReconnecting = [];
  const back = await pollUntil(
    async () => {
      const r = await sendIntent(a.url, "ops-agent", "analytics-agent", "intent.data.read.after");
      if (r.status !== 202) refusedWhileReconnecting.push(r);
      return r;
    },
    (r) => r.status === 202,
    { withinMs: 10_000, everyMs: 100, what: "intents accepted again after the database came back" },
  );
  // Every try before the first 202 was refused with 503, nothing else.
  for (const r of refusedWhileReconnecting) unavailable(r, "an intent while reconnecting");
  const accepted = [before.body.intent_id, back.result.body.intent_id];
  const bPolicy = await pollUntil(
    () => sendIntent(a.url, "ops-agent", "reporting-agent", "intent.ops.restart"),
    (r) => r.status === 403,
    { withinMs: 10_000, everyMs: 100, what: "A enforces the policy B set during the outage" },
  );
  assert.equal(bPolicy.result.body.direction, "send");
  const put2 = await call(a.url, "PUT", policyPath("tenant-a-db"), { key: ADMIN, body: denyDeletes });
  assert.equal(put2.status, 200, "policy writes work again");
  const seenByB = await pollUntil(
    () => sendIntent(b.url, "tenant-a-bot", "tenant-a-db", "intent.data.delete.x"),
    (r) => r.status === 403,
    { withinMs: 1000, what: "B enforces A's PUT made after the outage" },
  );
  assert.equal(seenByB.result.body.direction, "receive");

  // Nothing from the outage was stored: the inbox holds exactly the accepted intents.
  const inbox = await call(a.url, "GET", "/v1/mesh/inbox?limit=1000", { key: keyOf("analytics-agent") });
  assert.equal(inbox.status, 200);
  const ids = inbox.body.intents.map((i) => i.intent_id);
  assert.deepEqual(ids, accepted, "the inbox holds the accepted intents only");
  const records = await fullAudit(a.url);
  assert.deepEqual(records.filter((r) => /outage/.test(JSON.stringify(r))), [], "no audit record of a refused request");
  assert.ok(running(a), "A never exited");
  const stopped = await a.stop();
  assert.equal(stopped.code, 0, "A stops cleanly");
  t.diagnostic(
    `outage: ${outage.map((o) => `${o.what} ${o.status} in ${o.ms} ms`).join("; ")}; ` +
      `back ${Math.round(back.ms)} ms after the proxy returned (${back.tries} tries); ` +
      `B's outage-time policy enforced by A ${Math.round(bPolicy.ms)} ms after that (${bPolicy.tries - 1} intents it forbids delivered by A meanwhile); A's stderr: ${JSON.stringify(a.output().stderr.slice(0, 600))}`,
  );
  // A refusal is prompt: the pool's wait for a connection (5 s) and a
  // margin, however many requests are refused at once.
  const slow = outage.filter((o) => o.ms > 10_000);
  assert.deepEqual(slow, [], "every request during the outage was answered within 10 s");
});

test("the instance that answered a policy PUT or DELETE enforces it on the very next intent", async (t) => {
  // A's follower reloads every policy after each notification (its own
  // changes' too, and B's); a reload must never put back what a later commit
  // of A replaced in memory.
  const {
    servers: [a, b],
  } = await cluster(t, 2);
  let stop = false;
  let noise = 0;
  const noiser = (async () => {
    while (!stop) {
      const r = await call(b.url, "PUT", policyPath("reporting-agent"), {
        key: ADMIN,
        body: { direction: "receive", mode: "allowlist", patterns: [`intent.report.v${noise++}.*`] },
      });
      assert.equal(r.status, 200);
    }
  })();
  const stale = [];
  const ROUNDS = 400;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const put = await call(a.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: denyDeletes });
      assert.equal(put.status, 200);
      const r = await sendIntent(a.url, "ops-agent", "analytics-agent", `intent.data.delete.v${i}`);
      if (r.status !== 403) stale.push({ round: i, after: `PUT ${put.body.policy_id} answered 200`, expected: 403, got: r.status, body: r.body });
      const del = await call(a.url, "DELETE", `${policyPath("analytics-agent")}?direction=receive`, { key: ADMIN });
      assert.equal(del.status, 200);
      const r2 = await sendIntent(a.url, "ops-agent", "analytics-agent", `intent.data.delete.w${i}`);
      if (r2.status !== 202) stale.push({ round: i, after: `DELETE of ${del.body.removed_policy_id} answered 200`, expected: 202, got: r2.status });
    }
  } finally {
    stop = true;
    await noiser;
  }
  t.diagnostic(`${ROUNDS} rounds (while B set ${noise} policies): ${stale.length} intents decided with a policy older than the one just acknowledged`);
  assert.deepEqual(stale, [], `${stale.length} of ${2 * ROUNDS} intents were decided by the policy before the one the same instance had just acknowledged`);
});

test("gateways started at the same moment on a fresh database all come up (one schema migration)", async (t) => {
  requirePostgres();
  const dir = tempDir(t);
  const keysFile = writeKeys(dir);
  const dataDir = join(dir, "data");
  const results = await Promise.allSettled(Array.from({ length: 3 }, () => startServer({ dataDir, keysFile })));
  for (const r of results) if (r.status === "fulfilled") t.after(() => r.value.stop());
  const failures = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
  assert.deepEqual(failures, [], "every instance started");
  const [x, y, z] = results.map((r) => r.value);
  const put = await call(x.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body: denyDeletes });
  assert.equal(put.status, 200);
  for (const s of [y, z]) {
    const r = await pollUntil(
      () => sendIntent(s.url, "ops-agent", "analytics-agent", "intent.data.delete.v1"),
      (r) => r.status === 403,
      { withinMs: 1000, what: "the PUT enforced by every instance" },
    );
    assert.equal(r.result.status, 403);
  }
});

test("an approval asked through A and long-polled on A, granted through B: A's long-poll answers within 2 s; the repeat check through B is allowed once", async (t) => {
  const {
    servers: [a, b],
  } = await cluster(t, 2);
  const toolPolicy = { require_approval: ["git_push"], allow: ["read_*"], default: "deny" };
  const put = await call(a.url, "PUT", "/v1/agents/ops-agent/policies/tools", { key: ADMIN, body: toolPolicy });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  const args = { branch: "main", remote: "origin" };
  // B enforces A's tool policy (the same as for action policies: within 1 s).
  const asked = await pollUntil(
    () => call(b.url, "POST", "/v1/tools/check", { key: keyOf("ops-agent"), body: { tool: "read_file" } }),
    (r) => r.status === 200,
    { withinMs: 1000, what: "A's tool policy in force on B" },
  );
  assert.equal(asked.result.body.decision, "allow");
  const ask = await call(a.url, "POST", "/v1/tools/check", { key: keyOf("ops-agent"), body: { tool: "git_push", args } });
  assert.equal(ask.status, 200, JSON.stringify(ask.body));
  assert.equal(ask.body.decision, "require_approval");
  const id = ask.body.approval.id;

  let answeredAt = null;
  const poll = call(a.url, "GET", `/v1/approvals/${id}?wait=30`, { key: keyOf("ops-agent") }).then((r) => {
    answeredAt = performance.now();
    return r;
  });
  await sleep(500);
  assert.equal(answeredAt, null, "the long-poll on A waits while the approval is pending");
  const grantedAt = performance.now();
  const grant = await call(b.url, "POST", `/v1/approvals/${id}/grant`, { key: ADMIN, body: { note: "via B" } });
  assert.equal(grant.status, 200, JSON.stringify(grant.body));
  const polled = await poll;
  const ms = answeredAt - grantedAt;
  t.diagnostic(`A's long-poll answered ${Math.round(ms)} ms after the grant was sent to B`);
  assert.equal(polled.status, 200);
  assert.equal(polled.body.approval.status, "granted");
  assert.equal(polled.body.approval.note, "via B");
  assert.ok(ms < 2000, `A's long-poll answered ${Math.round(ms)} ms after B's grant (at most 2 s)`);

  const used = await call(b.url, "POST", "/v1/tools/check", { key: keyOf("ops-agent"), body: { tool: "git_push", args: { remote: "origin", branch: "main" }, approval_id: id } });
  assert.equal(used.status, 200, JSON.stringify(used.body));
  assert.equal(used.body.decision, "allow");
  assert.equal(used.body.reason, "approved via callback (pattern: git_push)");
  assert.equal(used.body.approval.status, "used");
  for (const s of [b, a]) {
    const again = await call(s.url, "POST", "/v1/tools/check", { key: keyOf("ops-agent"), body: { tool: "git_push", args, approval_id: id } });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.equal(again.body.error, "approval_used");
  }
  // One audit: the ask, the grant and the one allow, the same through both.
  const steps = (await fullAudit(a.url)).filter((r) => r.approval_id === id).map((r) => [r.kind, r.decision]);
  assert.deepEqual(steps, [
    ["tool", "allow"],
    ["approval", "approval_granted"],
    ["tool", "require_approval"],
  ]);
  assert.deepEqual(await fullAudit(b.url), await fullAudit(a.url));
});
