// Webhooks of the gateway (`agentguard serve --webhook URL`): the
// approval.pending, approval.decided and decision.deny events arrive at a
// receiver (a node:http server on 127.0.0.1 in this file) as JSON
// `{id, event, created_at, data}` with the data the API shows, signed with
// HMAC-SHA256 of the body under the keys file's webhook_secret; a receiver
// that fails is retried with backoff under the same delivery id; events of a
// receiver that is down survive a restart of the gateway; a receiver that
// hangs delays no decision; every URL gets every event; startup refuses
// webhooks it could not sign or reach.
//
// Runs on SQLite, and on PostgreSQL under scripts/with-postgres.sh:
//
//   AGENTGUARD_BIN=target/cli/release/agentguard node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/webhooks.test.mjs
//   bash scripts/with-postgres.sh node --test --test-concurrency=1 --test-timeout=120000 tests/gateway/webhooks.test.mjs

import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { call, runServerToExit, startServer, tempDir } from "./helpers.mjs";

const ADMIN = "hooks-admin-key-0001";
const APPROVER = "hooks-approver-key-0001";
const OPS = "hooks-key-ops-agent";
const SECRET = "whsec-test-0123456789abcdef";
const WRONG_SECRET = "whsec-test-0123456789abcdeF";

/** Writes a keys file (admin alice, approver bob, agent ops-agent) into `dir`; `extra` is merged at the top level. */
function writeHookKeys(dir, extra = { webhook_secret: SECRET }, name = "keys.json") {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      keys: {
        [ADMIN]: { role: "admin", name: "alice" },
        [APPROVER]: { role: "approver", name: "bob" },
        [OPS]: { role: "agent", agent: "ops-agent" },
      },
      ...extra,
    }),
  );
  return path;
}

const POLICY = {
  name: "webhook-tools",
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["git_push"],
  default: "deny",
};

/**
 * A webhook receiver on 127.0.0.1 (`port` 0: any free one). `respond(d)` is
 * called for each request once its body is read and answers a status code,
 * or "hang" to never answer. Each request is kept in `deliveries` as
 * `{at, method, path, headers, raw, body}` (`at`: performance.now()).
 */
async function receiver(t, { port = 0, respond = () => 200 } = {}) {
  const deliveries = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        // kept raw: the assertions say what was wrong
      }
      const d = { at: performance.now(), method: req.method, path: req.url, headers: req.headers, raw, body };
      deliveries.push(d);
      const status = respond(d);
      if (status === "hang") return;
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status >= 200 && status < 300 ? "ok" : "failing on purpose");
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address().port;
  let closed = false;
  const close = () =>
    new Promise((resolve) => {
      if (closed) return resolve();
      closed = true;
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  return {
    port: bound,
    url: (path = "/hooks") => `http://127.0.0.1:${bound}${path}`,
    deliveries,
    close,
    /** Waits until `pred(deliveries)` holds; fails after `ms` saying `what`. */
    async until(pred, ms, what) {
      const deadline = performance.now() + ms;
      while (!pred(deliveries)) {
        if (performance.now() > deadline) {
          assert.fail(`${what}: not within ${ms} ms; received ${deliveries.length}: ${deliveries.map((d) => `${d.headers["x-agentguard-event"]}#${d.headers["x-agentguard-delivery"]}`).join(", ")}`);
        }
        await sleep(25);
      }
    },
  };
}

/** The signature header a receiver expects for `raw` under `secret`. */
const sign = (secret, raw) => `sha256=${createHmac("sha256", secret).update(raw).digest("hex")}`;

/** How a receiver verifies: a constant-time comparison of the header with its own HMAC. */
function verifies(secret, raw, header) {
  const want = Buffer.from(sign(secret, raw));
  const got = Buffer.from(String(header ?? ""));
  return want.length === got.length && timingSafeEqual(want, got);
}

/** One delivery is well formed and signed with SECRET (and not with any other secret or over any other body). */
function assertSigned(d) {
  assert.equal(d.method, "POST");
  assert.match(d.headers["content-type"] ?? "", /^application\/json/);
  assert.notEqual(d.body, null, `the body is JSON: ${d.raw}`);
  assert.deepEqual(Object.keys(d.body).sort(), ["created_at", "data", "event", "id"], d.raw);
  assert.match(d.body.id, /^evt_[0-9a-f]+$/);
  assert.ok(["approval.pending", "approval.decided", "decision.deny"].includes(d.body.event), d.body.event);
  assert.equal(d.headers["x-agentguard-event"], d.body.event);
  assert.match(d.headers["x-agentguard-delivery"] ?? "", /^[1-9][0-9]*$/);
  assert.equal(typeof d.body.created_at, "number");
  assert.ok(Math.abs(d.body.created_at - Date.now() / 1000) < 120, `created_at is seconds since the epoch: ${d.body.created_at}`);
  const header = d.headers["x-agentguard-signature"];
  assert.equal(header, sign(SECRET, d.raw));
  assert.ok(verifies(SECRET, d.raw, header), "verifies with the secret");
  assert.ok(!verifies(WRONG_SECRET, d.raw, header), "does not verify with another secret");
  assert.ok(!verifies(SECRET, d.raw.replace(/"event"/, '"Event"'), header), "does not verify over another body");
}

/** A gateway with the hook keys file and `--webhook` for each of `urls`, stopped after the test. */
async function gateway(t, urls, { dir = tempDir(t), keysFile } = {}) {
  keysFile ??= writeHookKeys(dir);
  const dataDir = join(dir, "data");
  const extraArgs = urls.flatMap((u) => ["--webhook", u]);
  const server = await startServer({ dataDir, keysFile, extraArgs });
  t.after(() => server.stop());
  return { ...server, dir, dataDir, keysFile, extraArgs };
}

async function putPolicy(url) {
  const r = await call(url, "PUT", "/v1/agents/ops-agent/policies/tools", { key: ADMIN, body: POLICY });
  assert.equal(r.status, 200, `PUT tool policy: ${r.status} ${JSON.stringify(r.body)}`);
}

/** A tool check of ops-agent that must answer 200; its body. */
async function check(url, body) {
  const r = await call(url, "POST", "/v1/tools/check", { key: OPS, body });
  assert.equal(r.status, 200, `check ${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Grants or denies an approval as bob; the approval the API answers. */
async function decideApproval(url, id, verb) {
  const r = await call(url, "POST", `/v1/approvals/${id}/${verb}`, { key: APPROVER, body: {} });
  assert.equal(r.status, 200, `${verb} ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.approval;
}

/**
 * A pause after a request that raised an event, so that the delivery task's
 * own writes (its claim and the attempt's outcome) are done before the next
 * write: on SQLite they can make a concurrent write fail (503 "database is
 * locked"), which "delivering events never makes a decision or an approval
 * fail" tests; the other tests are about their own subject.
 */
const quiet = () => sleep(150);

/** The three kinds of events, once each: a deny, an approval asked, the approval granted. Returns what the API answered. */
async function raiseOneOfEach(url) {
  const denied = await check(url, { tool: "drop_table", args: { table: "users" } });
  assert.equal(denied.decision, "deny");
  await quiet();
  const asked = await check(url, { tool: "git_push", args: { branch: "main" } });
  assert.equal(asked.decision, "require_approval");
  await quiet();
  const granted = await decideApproval(url, asked.approval.id, "grant");
  assert.equal(granted.status, "granted");
  return { denied, approvalId: asked.approval.id, granted };
}

/** The deliveries of `event` whose data satisfies `pred`. */
const find = (deliveries, event, pred = () => true) => deliveries.filter((d) => d.body?.event === event && pred(d.body.data));

// ------------------------------------------------------------------ events

test("each event arrives signed, with the data the API shows", async (t) => {
  const rec = await receiver(t);
  const gw = await gateway(t, [rec.url("/hooks?source=agentguard")]);
  await putPolicy(gw.url);

  // decision.deny: a call the policy denies.
  const denied = await check(gw.url, { tool: "drop_table", args: { table: "users" } });
  assert.equal(denied.decision, "deny");
  await quiet();

  // approval.pending, then approval.decided (granted), then the allowed call: no event.
  const asked = await check(gw.url, { tool: "git_push", args: { branch: "main" }, context: { ticket: "OPS-7" } });
  assert.equal(asked.decision, "require_approval");
  const a = asked.approval.id;
  await quiet();
  const shownPending = await call(gw.url, "GET", `/v1/approvals/${a}`, { key: ADMIN });
  assert.equal(shownPending.status, 200);
  const granted = await decideApproval(gw.url, a, "grant");
  assert.equal(granted.decided_by, "bob");
  await quiet();
  const used = await check(gw.url, { tool: "git_push", args: { branch: "main" }, approval_id: a });
  assert.equal(used.decision, "allow");

  // An approval refused: approval.decided (denied), and the repeated call is a decision.deny naming it.
  const asked2 = await check(gw.url, { tool: "git_push", args: { branch: "release", force: true } });
  const b = asked2.approval.id;
  await quiet();
  const refused = await decideApproval(gw.url, b, "deny");
  assert.equal(refused.status, "denied");
  await quiet();
  const deniedB = await check(gw.url, { tool: "git_push", args: { branch: "release", force: true }, approval_id: b });
  assert.equal(deniedB.decision, "deny");
  await quiet();

  // An allowed call raises nothing.
  assert.equal((await check(gw.url, { tool: "read_file", args: { path: "/x" } })).decision, "allow");

  await rec.until((ds) => ds.length >= 6, 10_000, "six events");
  await sleep(1500); // and no more
  assert.equal(rec.deliveries.length, 6, rec.deliveries.map((d) => d.raw).join("\n"));
  for (const d of rec.deliveries) {
    assertSigned(d);
    assert.equal(d.path, "/hooks?source=agentguard", "POSTed to the URL as given");
  }
  assert.equal(new Set(rec.deliveries.map((d) => d.headers["x-agentguard-delivery"])).size, 6, "a delivery id per event");
  assert.equal(new Set(rec.deliveries.map((d) => d.body.id)).size, 6, "an event id per event");

  // decision.deny of the policy's deny: the result the check answered.
  const audit = await call(gw.url, "GET", "/v1/mesh/audit?limit=1000", { key: ADMIN });
  assert.equal(audit.status, 200);
  const denies = find(rec.deliveries, "decision.deny");
  assert.equal(denies.length, 2);
  const d1 = denies.find((d) => d.body.data.approval_id === null);
  assert.ok(d1, "the deny without an approval");
  assert.equal(d1.body.data.agent, "ops-agent");
  assert.deepEqual(d1.body.data.result, denied);
  assert.match(d1.body.data.audit_id, /^aud_/);
  const rec1 = audit.body.records.find((r) => r.audit_id === d1.body.data.audit_id);
  assert.ok(rec1, `the audit has ${d1.body.data.audit_id}`);
  assert.equal(rec1.decision, "deny");
  assert.equal(rec1.tool, "drop_table");

  // decision.deny of the refused approval: the result without the approval part, naming the approval.
  const d2 = denies.find((d) => d.body.data.approval_id === b);
  assert.ok(d2, "the deny of the refused approval");
  const { approval: _shown, ...resultB } = deniedB;
  assert.deepEqual(d2.body.data.result, resultB);
  assert.equal(d2.body.data.agent, "ops-agent");
  const rec2 = audit.body.records.find((r) => r.audit_id === d2.body.data.audit_id);
  assert.ok(rec2, `the audit has ${d2.body.data.audit_id}`);
  assert.equal(rec2.approval_id, b);

  // approval.pending: the approval as GET /v1/approvals/{id} showed it then.
  const pending = find(rec.deliveries, "approval.pending");
  assert.deepEqual(pending.map((d) => d.body.data.id).sort(), [a, b].sort());
  const pa = pending.find((d) => d.body.data.id === a).body.data;
  assert.deepEqual(pa, shownPending.body.approval);
  assert.equal(pa.status, "pending");
  assert.equal(pa.decided_by, null);
  assert.deepEqual(pa.context, { ticket: "OPS-7" });

  // approval.decided: the approval as the grant and the deny answered it.
  const decided = find(rec.deliveries, "approval.decided");
  assert.equal(decided.length, 2);
  const da = decided.find((d) => d.body.data.id === a).body.data;
  assert.deepEqual(da, granted);
  assert.equal(da.status, "granted");
  assert.equal(da.decided_by, "bob");
  const db = decided.find((d) => d.body.data.id === b).body.data;
  assert.deepEqual(db, refused);
  assert.equal(db.status, "denied");
  assert.equal(db.decided_by, "bob");
});

test("delivering events never makes a decision or an approval fail", async (t) => {
  // The delivery task writes to the outbox (claims, results) while the
  // writer decides: neither may turn the other's work into an error.
  const rec = await receiver(t);
  const gw = await gateway(t, [rec.url()]);
  await putPolicy(gw.url);
  const failures = [];
  const rounds = 30;
  for (let i = 0; i < rounds; i++) {
    const denied = await call(gw.url, "POST", "/v1/tools/check", { key: OPS, body: { tool: "drop_table", args: { i } } });
    if (denied.status !== 200) failures.push(`deny ${i}: ${denied.status} ${JSON.stringify(denied.body)}`);
    const asked = await call(gw.url, "POST", "/v1/tools/check", { key: OPS, body: { tool: "git_push", args: { i } } });
    if (asked.status !== 200) {
      failures.push(`ask ${i}: ${asked.status} ${JSON.stringify(asked.body)}`);
      continue;
    }
    const verb = i % 2 === 0 ? "grant" : "deny";
    const decided = await call(gw.url, "POST", `/v1/approvals/${asked.body.approval.id}/${verb}`, { key: APPROVER, body: {} });
    if (decided.status !== 200) failures.push(`${verb} ${i}: ${decided.status} ${JSON.stringify(decided.body)}`);
  }
  assert.deepEqual(failures, [], `${failures.length} of ${rounds * 3} requests failed while events were delivered`);
  await rec.until((ds) => ds.length >= rounds * 3, 15_000, "every event");
  for (const d of rec.deliveries) assertSigned(d);
  assert.equal(new Set(rec.deliveries.map((d) => d.body.id)).size, rounds * 3);
});

// ------------------------------------------------------------------ retries

test("a receiver failing twice gets the event on the third attempt, same delivery id, after 1 s then 2 s of backoff", async (t) => {
  let n = 0;
  const rec = await receiver(t, { respond: () => (++n <= 2 ? 500 : 204) });
  const gw = await gateway(t, [rec.url()]);
  await putPolicy(gw.url);
  const denied = await check(gw.url, { tool: "drop_table", args: { table: "t" } });
  assert.equal(denied.decision, "deny");

  await rec.until((ds) => ds.length >= 3, 15_000, "three attempts");
  await sleep(2500); // delivered: no fourth attempt
  const ds = rec.deliveries;
  assert.equal(ds.length, 3, "delivered on the third attempt, then never again");
  for (const d of ds) assertSigned(d);
  assert.equal(new Set(ds.map((d) => d.headers["x-agentguard-delivery"])).size, 1, "the same X-Agentguard-Delivery on every attempt");
  assert.equal(new Set(ds.map((d) => d.raw)).size, 1, "the same body on every attempt");
  assert.equal(new Set(ds.map((d) => d.headers["x-agentguard-signature"])).size, 1);
  assert.deepEqual(ds[0].body.data.result, denied);

  const gap1 = (ds[1].at - ds[0].at) / 1000;
  const gap2 = (ds[2].at - ds[1].at) / 1000;
  t.diagnostic(`attempts ${gap1.toFixed(2)} s and ${gap2.toFixed(2)} s apart`);
  // 1 s then 2 s of backoff; the delivery task looks at least every second.
  assert.ok(gap1 >= 0.9 && gap1 < 3, `first retry ~1 s after the first attempt: ${gap1} s`);
  assert.ok(gap2 >= 1.9 && gap2 < 4, `second retry ~2 s after the first retry: ${gap2} s`);
  assert.ok(gap2 > gap1, "the backoff grows");
});

// ------------------------------------------------------------------ restart

test("events raised while the receiver is down arrive after the gateway restarts", async (t) => {
  // A port that was free a moment ago; nothing listens on it for now.
  const probe = await receiver(t);
  const port = probe.port;
  await probe.close();

  const dir = tempDir(t);
  const url = `http://127.0.0.1:${port}/down`;
  const gw = await gateway(t, [url], { dir });
  await putPolicy(gw.url);
  const { denied, approvalId, granted } = await raiseOneOfEach(gw.url);
  await sleep(1200); // the first attempts fail (connection refused)
  const stopped = await gw.stop();
  assert.equal(stopped.code, 0, `SIGTERM: a clean exit (${JSON.stringify(stopped)}); stderr: ${gw.output().stderr}`);

  const rec = await receiver(t, { port });
  const restartedAt = performance.now();
  const gw2 = await startServer({ dataDir: gw.dataDir, keysFile: gw.keysFile, extraArgs: gw.extraArgs });
  t.after(() => gw2.stop());

  await rec.until((ds) => ds.length >= 3, 20_000, "the three events after the restart");
  t.diagnostic(`delivered ${((rec.deliveries.at(-1).at - restartedAt) / 1000).toFixed(2)} s after the restart`);
  await sleep(1500);
  assert.equal(rec.deliveries.length, 3, "each event once");
  for (const d of rec.deliveries) {
    assertSigned(d);
    assert.equal(d.path, "/down");
  }
  const [deny] = find(rec.deliveries, "decision.deny");
  assert.deepEqual(deny.body.data.result, denied);
  const [pending] = find(rec.deliveries, "approval.pending");
  assert.equal(pending.body.data.id, approvalId);
  assert.equal(pending.body.data.status, "pending");
  const [decided] = find(rec.deliveries, "approval.decided");
  assert.deepEqual(decided.body.data, granted);
  // Raised before the restart: created then, delivered now.
  for (const d of rec.deliveries) assert.ok(d.at >= restartedAt);
});

// ------------------------------------------------------------------ slow receivers

test("a receiver that never answers delays no decision", async (t) => {
  const rec = await receiver(t, { respond: () => "hang" });
  const gw = await gateway(t, [rec.url("/slow")]);
  await putPolicy(gw.url);

  // Warm up (and start the hanging deliveries).
  await check(gw.url, { tool: "drop_table", args: { i: -1 } });
  await rec.until((ds) => ds.length >= 1, 5000, "the first attempt reaches the hanging receiver");

  const times = [];
  const t0 = performance.now();
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    const r = await check(gw.url, { tool: "drop_table", args: { i } });
    times.push(performance.now() - s);
    assert.equal(r.decision, "deny");
  }
  const total = performance.now() - t0;
  // The approval path too: asked and decided while the receiver hangs.
  const s = performance.now();
  const asked = await check(gw.url, { tool: "git_push", args: { branch: "main" } });
  await decideApproval(gw.url, asked.approval.id, "deny");
  const approvalMs = performance.now() - s;

  const worst = Math.max(...times);
  t.diagnostic(`50 denied checks: ${Math.round(total)} ms in all, worst ${Math.round(worst)} ms; ask + deny ${Math.round(approvalMs)} ms; ${rec.deliveries.length} attempts hanging`);
  assert.ok(worst < 200, `each check answers within 200 ms while the receiver hangs (worst ${Math.round(worst)} ms)`);
  assert.ok(total < 3000, `50 checks within 3 s (took ${Math.round(total)} ms)`);
  assert.ok(approvalMs < 400, `ask and deny within 400 ms (took ${Math.round(approvalMs)} ms)`);
  assert.ok(rec.deliveries.length >= 1, "the gateway was trying to deliver meanwhile");

  // And it still stops promptly with deliveries hanging.
  const s2 = performance.now();
  const stopped = await gw.stop();
  const stopMs = performance.now() - s2;
  assert.equal(stopped.code, 0, JSON.stringify(stopped));
  assert.ok(stopMs < 3000, `stopped within 3 s with deliveries hanging (took ${Math.round(stopMs)} ms)`);
});

// ------------------------------------------------------------------ several URLs

test("two --webhook URLs both receive every event", async (t) => {
  const r1 = await receiver(t);
  const r2 = await receiver(t);
  const gw = await gateway(t, [r1.url("/one"), r2.url("/two")]);
  await putPolicy(gw.url);
  const { denied, approvalId, granted } = await raiseOneOfEach(gw.url);

  await r1.until((ds) => ds.length >= 3, 10_000, "receiver 1");
  await r2.until((ds) => ds.length >= 3, 10_000, "receiver 2");
  await sleep(1200);
  for (const [rec, path] of [[r1, "/one"], [r2, "/two"]]) {
    assert.equal(rec.deliveries.length, 3, `${path}: each event once`);
    for (const d of rec.deliveries) {
      assertSigned(d);
      assert.equal(d.path, path);
    }
    assert.deepEqual(find(rec.deliveries, "decision.deny")[0].body.data.result, denied);
    assert.equal(find(rec.deliveries, "approval.pending")[0].body.data.id, approvalId);
    assert.deepEqual(find(rec.deliveries, "approval.decided")[0].body.data, granted);
  }
  // The same events (same ids and bodies), delivered separately.
  const byId = (rec) => Object.fromEntries(rec.deliveries.map((d) => [d.body.id, d.raw]));
  assert.deepEqual(byId(r1), byId(r2));
  const ids1 = new Set(r1.deliveries.map((d) => d.headers["x-agentguard-delivery"]));
  for (const d of r2.deliveries) assert.ok(!ids1.has(d.headers["x-agentguard-delivery"]), "a delivery id per URL");
});

test("a hanging receiver does not hold up another receiver's events", async (t) => {
  // webhook.rs: "a slow or dead receiver delays nothing but its own events".
  const fast = await receiver(t);
  const slow = await receiver(t, { respond: () => "hang" });
  const gw = await gateway(t, [slow.url("/slow"), fast.url("/fast")]);
  await putPolicy(gw.url);

  const lags = [];
  for (let i = 0; i < 4; i++) {
    const s = performance.now();
    await check(gw.url, { tool: "drop_table", args: { i } });
    await fast.until((ds) => ds.length >= i + 1, 15_000, `event ${i} at the healthy receiver`);
    lags.push(performance.now() - s);
    await sleep(300);
  }
  t.diagnostic(`healthy receiver's lag per event: ${lags.map((ms) => Math.round(ms)).join(", ")} ms; ${slow.deliveries.length} attempts hanging at the other`);
  for (const [i, ms] of lags.entries()) {
    assert.ok(ms < 2000, `event ${i} reached the healthy receiver ${Math.round(ms)} ms after the check (at most ~1 s expected)`);
  }
});

// ------------------------------------------------------------------ startup

test("startup refuses webhooks it cannot sign or reach: exit 1 with a clear message", async (t) => {
  const dir = tempDir(t);
  const noSecret = writeHookKeys(dir, {}, "no-secret.json");
  const shortSecret = writeHookKeys(dir, { webhook_secret: "fifteen-chars15" }, "short-secret.json");
  const numberSecret = writeHookKeys(dir, { webhook_secret: 1234567890123456 }, "number-secret.json");
  const good = writeHookKeys(dir, { webhook_secret: "exactly-16-chars" }, "good.json");
  const hook = "http://127.0.0.1:9/hooks";
  const cases = [
    { keysFile: noSecret, args: ["--webhook", hook], message: `--webhook needs a "webhook_secret" (at least 16 characters) in the keys file ${noSecret}` },
    { keysFile: shortSecret, args: ["--webhook", hook], message: `"webhook_secret" must be a string of at least 16 characters, got a shorter string` },
    { keysFile: numberSecret, args: ["--webhook", hook], message: `"webhook_secret" must be a string of at least 16 characters, got` },
    { keysFile: good, args: ["--webhook", "https://127.0.0.1:9/hooks"], message: `--webhook "https://127.0.0.1:9/hooks" must be an http:// URL with a host` },
    { keysFile: good, args: ["--webhook", "ftp://127.0.0.1/hooks"], message: `--webhook "ftp://127.0.0.1/hooks" must be an http:// URL with a host` },
    { keysFile: good, args: ["--webhook", "not-a-url"], message: `--webhook "not-a-url" must be an http:// URL` },
    { keysFile: good, args: ["--webhook", "127.0.0.1:9/hooks"], message: `--webhook "127.0.0.1:9/hooks" is not a URL` },
    { keysFile: good, args: ["--webhook", "http://"], message: `--webhook "http://" is not a URL` },
    // One bad URL among good ones is enough.
    { keysFile: good, args: ["--webhook", hook, "--webhook", "https://example.invalid/x"], message: `--webhook "https://example.invalid/x" must be an http:// URL` },
  ];
  for (const c of cases) {
    const r = await runServerToExit({ dataDir: join(dir, "data"), keysFile: c.keysFile, extraArgs: c.args, timeoutMs: 10_000 });
    const what = `${c.args.join(" ")} with ${c.keysFile}: ${JSON.stringify(r)}`;
    assert.equal(r.code, 1, what);
    assert.equal(r.stdout, "", `nothing listened: ${what}`);
    assert.ok(r.stderr.startsWith("gateway: "), what);
    assert.ok(r.stderr.includes(c.message), `says ${JSON.stringify(c.message)}: ${what}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${what}`);
  }

  // The shortest secret accepted, and a keys file with a secret but no --webhook, both start.
  for (const args of [["--webhook", hook], []]) {
    const gw = await startServer({ dataDir: join(dir, "data"), keysFile: good, extraArgs: args });
    const h = await call(gw.url, "GET", "/v1/approvals", { key: ADMIN });
    assert.equal(h.status, 200);
    assert.equal((await gw.stop()).code, 0);
  }
});
