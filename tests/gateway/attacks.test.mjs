// Attacks that worked on the old (Node) gateway must be impossible on the
// new one (`agentguard serve`). Each test mounts one attack on the real
// binary and checks the defence, and would fail without it:
//
// 1. a full disk (SQLite on a 4 MB tmpfs): every answer a real one (202,
//    403, 429) or a 503 "unavailable"; every intent answered 202 is in the
//    inbox exactly once, with its audit record, after a restart on the same
//    (still full, then freed) directory; the gateway starts on it cleanly;
// 2. quotas: inbox intents and bytes (429 inbox_full naming the agent, other
//    receivers unaffected, room again after acks), the payload bound (413),
//    intent types and agent ids too long or with whitespace/control
//    characters (400 naming the field), and 1 MB blocked intents that must
//    not pile up in the gateway's memory;
// 3. concurrent PUTs on one agent/direction, and PUTs racing DELETEs: every
//    answer describes its own request, every change is audited once, the
//    state is the audit's last word;
// 4. agent ids that look like temporary or database file names (".x.tmp-y",
//    "agentguard.db-wal", ...): delivered, and nothing of theirs is
//    deleted at startup;
// 5. slowloris: idle and trickling connections from one address beyond the
//    per-address limit are closed at once, the rest after the header
//    timeout, and other addresses are served meanwhile.
//
// (SIGTERM with a half-sent request is shutdown.test.mjs; duplicate keys in
// the keys file are keys_file.test.mjs.)

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import {
  ADMIN,
  AGENTS,
  DATABASE_URL,
  call,
  drainInbox,
  keyOf,
  policyPath,
  sendIntent,
  startServer,
  tempDir,
  writeKeys,
} from "./helpers.mjs";

/** A gateway on a fresh data directory with `extraArgs`, stopped after the test. */
async function gateway(t, extraArgs = [], keys = null) {
  const dir = tempDir(t);
  const keysFile = keys === null ? writeKeys(dir) : writeKeysWith(dir, keys);
  const dataDir = join(dir, "data");
  const gw = await startServer({ dataDir, keysFile, extraArgs });
  t.after(() => stopIfRunning(gw));
  return { ...gw, dir, dataDir, keysFile };
}

/** Kills `gw` (SIGKILL) if it is still running; resolves once it has exited. */
async function stopIfRunning(gw) {
  if (gw.child.exitCode === null && gw.child.signalCode === null) {
    gw.child.kill("SIGKILL");
  }
  await gw.exited;
}

/** The test keys file plus an agent key `key-<id>` for each of `extra`. */
function writeKeysWith(dir, extra) {
  const keys = { [ADMIN]: { role: "admin" } };
  for (const a of [...AGENTS, ...extra]) keys[keyOf(a)] = { agent: a, role: "agent" };
  const path = join(dir, "keys.json");
  writeFileSync(path, JSON.stringify({ keys }));
  return path;
}

/** Every audit record matching `filter` (`agent`, `decision`), oldest first. */
async function auditAll(url, filter = {}) {
  const records = [];
  let before = null;
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ limit: "1000", ...filter, ...(before === null ? {} : { before: String(before) }) });
    const r = await call(url, "GET", `/v1/mesh/audit?${q}`, { key: ADMIN });
    assert.equal(r.status, 200, `audit: ${JSON.stringify(r.body)}`);
    records.push(...r.body.records);
    if (r.body.next_before === null) return records.reverse();
    before = r.body.next_before;
  }
  throw new Error("the audit did not end");
}

/** Resident memory of process `pid`, in bytes. */
function rss(pid) {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  assert.ok(m, `no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

async function until(predicate, what, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Counts of each value of `list`. */
function tally(list) {
  const out = {};
  for (const x of list) out[x] = (out[x] ?? 0) + 1;
  return out;
}

// ---------------------------------------------------------------------------
// 1. Full disk
// ---------------------------------------------------------------------------

const FULL_DISK_SKIP =
  DATABASE_URL !== null &&
  "inherently SQLite: under PostgreSQL the gateway keeps nothing in its data directory (the database server's disk is not the gateway's to fill)";

test("1. full disk: only 202, 403, 429 or 503 unavailable; every 202 survives a restart exactly once, with its audit record", { skip: FULL_DISK_SKIP }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), "agentguard-attack-disk-"));
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  const keysFile = writeKeys(root);
  const servers = [];
  let mounted = false;
  t.after(async () => {
    for (const s of servers) await stopIfRunning(s);
    if (mounted) {
      try {
        execFileSync("umount", [dataDir], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", dataDir], { stdio: "pipe" });
      }
    }
    rmSync(root, { recursive: true, force: true });
  });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dataDir], { stdio: "pipe" });
    mounted = true;
  } catch (e) {
    assert.fail(
      `cannot mount a 4 MB tmpfs on ${dataDir} (${String(e.stderr ?? e.message).trim()}): ` +
        "this test needs root (or CAP_SYS_ADMIN) to give the gateway a small real filesystem; the full-disk defence is NOT tested",
    );
  }
  const df = () => execFileSync("df", ["-k", "--output=avail", dataDir], { encoding: "utf8" }).trim().split("\n").pop().trim();

  let gw = await startServer({ dataDir, keysFile });
  servers.push(gw);
  // Blocked intents write an audit record too: some of the flood is blocked.
  const deny = await call(gw.url, "PUT", policyPath("reporting-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "denylist", patterns: ["intent.blocked.*"] },
  });
  assert.equal(deny.status, 200);

  const answers = []; // {kind, status, body}
  let firstUnavailable = null;
  let sent = 0;
  const worker = async (w) => {
    for (let i = 0; ; i++) {
      if (firstUnavailable !== null && sent >= firstUnavailable + 60) return;
      if (sent >= 3000) return;
      sent += 1;
      const blocked = i % 5 === 4;
      const payload = { w, i, blob: randomBytes(10_000).toString("hex") }; // ~20 KB
      let r;
      try {
        r = blocked
          ? await sendIntent(gw.url, "ops-agent", "reporting-agent", "intent.blocked.v1", payload)
          : await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", payload);
      } catch (e) {
        r = { status: `no answer (${e.cause?.code ?? e.message})`, body: null };
      }
      answers.push({ blocked, status: r.status, body: r.body });
      if (r.status === 503 && firstUnavailable === null) firstUnavailable = sent;
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  const statuses = tally(answers.map((a) => a.status));
  t.diagnostic(`flood: ${answers.length} intents, answers ${JSON.stringify(statuses)}; ${df()} kB left`);
  assert.ok(firstUnavailable !== null, `the 4 MB disk never filled: ${JSON.stringify(statuses)}`);
  const odd = answers.filter(
    (a) =>
      !(
        (a.status === 202 && !a.blocked && typeof a.body?.intent_id === "string") ||
        (a.status === 403 && a.blocked) ||
        a.status === 429 ||
        (a.status === 503 && a.body?.error === "unavailable")
      ),
  );
  assert.deepEqual(odd.slice(0, 5).map((a) => ({ status: a.status, body: a.body })), [], `${odd.length} answers that are neither a real one nor a 503`);
  const acked = answers.filter((a) => a.status === 202).map((a) => a.body.intent_id);
  const ackedAfterFull = answers
    .slice(answers.findIndex((a) => a.status === 503))
    .filter((a) => a.status === 202)
    .map((a) => a.body.intent_id);
  assert.ok(acked.length > 0);
  // Still up, still answering.
  assert.equal(gw.child.exitCode, null, "the gateway is still running on a full disk");
  assert.equal((await call(gw.url, "GET", "/healthz")).status, 200);
  const stopped = await gw.stop();
  t.diagnostic(`stopped on the full disk: ${JSON.stringify(stopped)}; stderr: ${JSON.stringify(gw.output().stderr)}`);
  assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM on a full disk: stderr: ${gw.output().stderr}`);

  // Restart on the same, still full directory: it starts, and the audit has
  // a delivered record for each 202.
  gw = await startServer({ dataDir, keysFile });
  servers.push(gw);
  t.diagnostic(`restarted on the full disk (${df()} kB left)`);
  const delivered = (await auditAll(gw.url, { decision: "delivered" })).map((r) => r.intent_id);
  const unaudited = acked.filter((id) => !delivered.includes(id));
  assert.deepEqual(
    unaudited.slice(0, 3),
    [],
    `${unaudited.length} of the ${acked.length} intents answered 202 have no delivered audit record after a restart ` +
      `on the still full disk; ${unaudited.filter((id) => ackedAfterFull.includes(id)).length} of them were answered ` +
      `after the first 503 (${ackedAfterFull.length} intents were answered 202 after it)`,
  );
  // Taking from the inbox writes (a lease): on a full disk a 200 or a 503.
  const take = await call(gw.url, "GET", "/v1/mesh/inbox?limit=1", { key: keyOf("analytics-agent") });
  assert.ok(take.status === 200 || (take.status === 503 && take.body.error === "unavailable"), `inbox on a full disk: ${take.status} ${JSON.stringify(take.body)}`);
  assert.deepEqual(await gw.stop(), { code: 0, signal: null }, `stderr: ${gw.output().stderr}`);
  assert.equal(gw.output().stderr, "", "nothing on stderr");

  // Free space (grow the filesystem) and restart: every 202 is in the inbox
  // exactly once, nothing answered 503 is, and each has its audit record.
  execFileSync("mount", ["-o", "remount,size=64m", dataDir], { stdio: "pipe" });
  gw = await startServer({ dataDir, keysFile });
  servers.push(gw);
  const inbox = (await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id);
  const counts = tally(inbox);
  const notOnce = acked.filter((id) => counts[id] !== 1).map((id) => [id, counts[id] ?? 0]);
  assert.deepEqual(notOnce.slice(0, 3), [], `${notOnce.length} of the ${acked.length} intents answered 202 are not in the inbox exactly once`);
  assert.deepEqual(
    inbox.filter((id) => !acked.includes(id)),
    [],
    "nothing else is in the inbox (a 503 says nothing was delivered)",
  );
  const audit = await auditAll(gw.url, { decision: "delivered" });
  const auditCounts = tally(audit.map((r) => r.intent_id));
  assert.deepEqual(acked.filter((id) => auditCounts[id] !== 1), [], "one delivered audit record for each");
  assert.deepEqual((await drainInbox(gw.url, "analytics-agent")).length, 0, "acknowledged: gone");
  assert.deepEqual(await gw.stop(), { code: 0, signal: null });
  assert.equal(gw.output().stderr, "");
  t.diagnostic(`${acked.length} acknowledged intents, all in the inbox once after the restarts`);
});

// ---------------------------------------------------------------------------
// 2. Quotas and bounds
// ---------------------------------------------------------------------------

test("2a. --inbox-max-intents: the 6th intent to a receiver is 429 inbox_full naming it; others unaffected; room again after acks", async (t) => {
  const gw = await gateway(t, ["--inbox-max-intents", "5"]);
  const ids = [];
  for (let i = 0; i < 5; i++) {
    const r = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1", { i });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.intent_id);
  }
  for (const from of ["ops-agent", "tenant-a-bot"]) {
    const full = await sendIntent(gw.url, from, "analytics-agent", "intent.data.read.v1", { i: 5 });
    assert.equal(full.status, 429, JSON.stringify(full.body));
    assert.equal(full.body.error, "inbox_full");
    assert.match(full.body.message, /the inbox of "analytics-agent" is full \(5 intents/);
    assert.equal(full.headers.get("retry-after"), "1");
  }
  // Other receivers are unaffected.
  for (const to of ["reporting-agent", "tenant-b-db"]) {
    for (let i = 0; i < 5; i++) {
      const r = await sendIntent(gw.url, "ops-agent", to, "intent.data.read.v1", { i });
      assert.equal(r.status, 202, `${to}: ${JSON.stringify(r.body)}`);
    }
  }
  // Taking without acknowledging does not make room; acknowledging does.
  const leased = await call(gw.url, "GET", "/v1/mesh/inbox?limit=2", { key: keyOf("analytics-agent") });
  assert.equal(leased.body.intents.length, 2);
  assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1")).status, 429);
  const ack = await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf("analytics-agent"), body: { intent_ids: leased.body.intents.map((i) => i.intent_id) } });
  assert.deepEqual(ack.body, { ok: true, acked: 2, unknown: [] });
  for (let i = 0; i < 2; i++) assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1")).status, 202);
  assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1")).status, 429);
  // Refused intents were never stored.
  assert.equal((await drainInbox(gw.url, "analytics-agent")).length, 5);
  assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1")).status, 202);
});

test("2b. --inbox-max-bytes: an intent that would take the inbox over is 429 inbox_full naming it; others unaffected; room after acks", async (t) => {
  const gw = await gateway(t, ["--inbox-max-bytes", "10000"]);
  const blob = "x".repeat(2900); // ~3.1 KB stored per intent: 3 fit in 10 000 bytes, not 4
  for (let i = 0; i < 3; i++) {
    const r = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", { blob });
    assert.equal(r.status, 202, JSON.stringify(r.body));
  }
  const full = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", { blob });
  assert.equal(full.status, 429, JSON.stringify(full.body));
  assert.equal(full.body.error, "inbox_full");
  assert.match(full.body.message, /the inbox of "analytics-agent" is full \(3 intents, \d+ bytes; at most \d+ intents and 10000 bytes/);
  // A payload too big for any inbox of this gateway, to another receiver: 429 too.
  const huge = await sendIntent(gw.url, "ops-agent", "reporting-agent", "intent.data.write.v1", { blob: "y".repeat(10_000) });
  assert.equal(huge.status, 429, JSON.stringify(huge.body));
  assert.match(huge.body.message, /"reporting-agent"/);
  // Other receivers are unaffected.
  for (let i = 0; i < 3; i++) assert.equal((await sendIntent(gw.url, "ops-agent", "reporting-agent", "intent.data.write.v1", { blob })).status, 202);
  // After acks, room again.
  assert.equal((await drainInbox(gw.url, "analytics-agent")).length, 3);
  for (let i = 0; i < 3; i++) assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", { blob })).status, 202);
  assert.equal((await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", { blob })).status, 429);
});

test("2c. --max-payload-bytes: one byte over is 413, nothing stored; at the bound it is accepted", async (t) => {
  const gw = await gateway(t, ["--max-payload-bytes", "1000"]);
  const atBound = "a".repeat(998); // JSON "aaa...": 1000 bytes
  const over = "b".repeat(999);
  const big = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", over);
  assert.equal(big.status, 413, JSON.stringify(big.body));
  assert.equal(big.body.error, "payload_too_large");
  assert.match(big.body.message, /1001 bytes of JSON; at most 1000/);
  const nested = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", { a: [{ b: "c".repeat(2000) }] });
  assert.equal(nested.status, 413);
  const ok = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.write.v1", atBound);
  assert.equal(ok.status, 202, JSON.stringify(ok.body));
  const inbox = await drainInbox(gw.url, "analytics-agent");
  assert.deepEqual(inbox.map((i) => i.intent_id), [ok.body.intent_id], "only the accepted one is stored");
  assert.equal(inbox[0].payload, atBound);
  // Bodies over 1 MB are refused whatever the payload bound: a 413 as soon
  // as the declared length is read, and the connection closed, so a client
  // still sending may see the reset instead of the answer (both refusals).
  const body = Buffer.alloc(1024 * 1024 + 1, 0x20);
  const r = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: body, headers: { "content-type": "application/json" } }).catch((e) => {
    assert.match(String(e.cause?.code ?? e.cause?.message ?? e), /ECONNRESET|EPIPE|other side closed|SocketError/, String(e.cause ?? e));
    return { status: "reset" };
  });
  assert.ok(r.status === 413 || r.status === "reset", `got ${r.status}`);
  assert.equal((await call(gw.url, "GET", "/healthz")).status, 200, "and the gateway keeps serving");
});

test("2d. intent types over 256 characters or with whitespace/control characters, agent ids over 128: 400 naming the field", async (t) => {
  const gw = await gateway(t);
  const send = (intent_type, to_agent = "analytics-agent") =>
    call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), body: { intent_type, to_agent, payload: null } });
  const badTypes = [
    ["257 characters", `intent.${"a".repeat(250)}`],
    ["a space", "intent.data read.v1"],
    ["a tab", "intent.data\tread"],
    ["a newline", "intent.data\nread"],
    ["a carriage return", "intent.data.read\r"],
    ["NUL", "intent\u0000data"],
    ["DEL", "intent\u007fdata"],
    ["an escape", "\u001b[31mintent"],
    ["a no-break space", "intent\u00a0data"],
    ["a line separator", "intent\u2028data"],
    ["a C1 control", "intent\u0085data"],
    ["empty", ""],
  ];
  assert.equal(badTypes[0][1].length, 257);
  for (const [what, type] of badTypes) {
    const r = await send(type);
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error, "bad_request", what);
    assert.equal(r.body.field, "intent_type", what);
    assert.match(r.body.message, /^intent_type: /, what);
  }
  const longest = `intent.${"a".repeat(249)}`;
  assert.equal(longest.length, 256);
  assert.equal((await send(longest)).status, 202, "256 characters are allowed");
  // Agent ids: at most 128 characters.
  const r129 = await send("intent.data.read.v1", "a".repeat(129));
  assert.equal(r129.status, 400, JSON.stringify(r129.body));
  assert.equal(r129.body.field, "to_agent");
  assert.match(r129.body.message, /^to_agent: /);
  const r129url = await send("intent.data.read.v1", `agent://org/env/${"n".repeat(129)}`);
  assert.equal(r129url.status, 400);
  assert.equal(r129url.body.field, "to_agent");
  const r128 = await send("intent.data.read.v1", "a".repeat(128));
  assert.equal(r128.status, 404, "128 characters are a valid id (of no agent here)");
  assert.equal(r128.body.error, "unknown_agent");
  const path129 = await call(gw.url, "GET", policyPath("p".repeat(129)), { key: ADMIN });
  assert.equal(path129.status, 400, JSON.stringify(path129.body));
  assert.equal(path129.body.field, "agent");
  const put129 = await call(gw.url, "PUT", `${policyPath("q".repeat(129))}?create=true`, { key: ADMIN, body: { direction: "send", mode: "open" } });
  assert.equal(put129.status, 400);
  // Nothing of it was stored or audited.
  const audit = await auditAll(gw.url);
  assert.deepEqual(audit.map((r) => r.intent_type), [longest], "only the valid intent is audited");
  assert.equal((await drainInbox(gw.url, "analytics-agent")).length, 1);
});

test("2e. 400 blocked intents with 1 MB bodies do not grow the gateway's memory past a bound", async (t) => {
  const gw = await gateway(t);
  const put = await call(gw.url, "PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "denylist", patterns: ["intent.bulk.*"] } });
  assert.equal(put.status, 200);
  // One body just under the 1 MB request limit; the payload is what the old
  // gateway kept.
  const shell = JSON.stringify({ intent_type: "intent.bulk.v1", to_agent: "analytics-agent", payload: "" });
  const body = Buffer.from(shell.replace('"payload":""', `"payload":"${"z".repeat(1024 * 1024 - shell.length)}"`));
  assert.equal(body.length, 1024 * 1024);
  const before = rss(gw.child.pid);
  const statuses = [];
  const N = 400;
  let next = 0;
  const worker = async () => {
    while (next < N) {
      next += 1;
      const r = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: body, headers: { "content-type": "application/json" } });
      statuses.push(r.status);
    }
  };
  const started = performance.now();
  await Promise.all([worker(), worker(), worker(), worker()]);
  const after = rss(gw.child.pid);
  const grew = after - before;
  t.diagnostic(`${N} x 1 MB blocked in ${Math.round(performance.now() - started)} ms; VmRSS ${Math.round(before / 2 ** 20)} MB -> ${Math.round(after / 2 ** 20)} MB`);
  assert.deepEqual(tally(statuses), { 403: N }, "every one blocked");
  assert.ok(grew < 100 * 2 ** 20, `VmRSS grew by ${Math.round(grew / 2 ** 20)} MB (${N} MB sent): at most 100 MB allowed`);
  // Each is audited (without its payload).
  const blocked = await auditAll(gw.url, { decision: "blocked" });
  assert.equal(blocked.length, N);
  assert.ok(JSON.stringify(blocked).length < N * 2000, "the audit does not keep the payloads");
  assert.equal(gw.child.exitCode, null);
});

// ---------------------------------------------------------------------------
// 3. Concurrent policy writes
// ---------------------------------------------------------------------------

test("3a. 50 concurrent PUTs on one agent/direction: each answer is its own, all 50 audited, the final policy the last audited", async (t) => {
  const gw = await gateway(t);
  const N = 50;
  const requests = Array.from({ length: N }, (_, i) => ({
    direction: "send",
    mode: i % 2 === 0 ? "allowlist" : "denylist",
    patterns: [`intent.p${i}.*`, `intent.q${i}.v1`],
  }));
  const answers = await Promise.all(requests.map((body) => call(gw.url, "PUT", policyPath("analytics-agent"), { key: ADMIN, body })));
  const byId = new Map();
  answers.forEach((r, i) => {
    assert.equal(r.status, 200, `PUT ${i}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(
      { agent: r.body.agent, direction: r.body.direction, mode: r.body.mode, patterns: r.body.patterns },
      { agent: "analytics-agent", ...requests[i] },
      `PUT ${i} is answered with its own policy`,
    );
    assert.match(r.body.policy_id, /^pol_/);
    byId.set(r.body.policy_id, requests[i]);
  });
  assert.equal(byId.size, N, "50 different policy ids");
  const audit = (await auditAll(gw.url, { agent: "analytics-agent" })).filter((r) => r.direction === "send");
  assert.deepEqual(tally(audit.map((r) => r.decision)), { policy_set: N }, "exactly 50 policy_set records");
  assert.deepEqual(new Set(audit.map((r) => r.policy_id)), new Set(byId.keys()), "their policy ids are those answered");
  // Each record says what its own request set.
  for (const r of audit) {
    const req = byId.get(r.policy_id);
    assert.equal(r.message, `send policy of analytics-agent set to ${req.mode} [${req.patterns.join(", ")}]`);
  }
  const last = audit[audit.length - 1];
  const get = await call(gw.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  const final = get.body.policies.send;
  assert.ok(byId.has(final.policy_id), "the final policy is one of those answered");
  assert.deepEqual({ direction: final.direction, mode: final.mode, patterns: final.patterns }, byId.get(final.policy_id), "with that request's mode and patterns");
  assert.equal(final.policy_id, last.policy_id, "the one audited last");
  // And the decisions follow it.
  const { mode, patterns } = byId.get(final.policy_id);
  const n = /^intent\.p(\d+)\.\*$/.exec(patterns[0])[1];
  const r = await sendIntent(gw.url, "analytics-agent", "ops-agent", `intent.p${n}.x`);
  assert.equal(r.status, mode === "allowlist" ? 202 : 403);
});

test("3b. PUT racing DELETE on one agent/direction: no 500, every change audited, the state is the audit's last record", async (t) => {
  const gw = await gateway(t);
  const agent = "tenant-a-db";
  const path = policyPath(agent);
  const puts = []; // policy ids answered
  const removed = []; // removed_policy_id of DELETE answers that removed one
  const others = [];
  const current = async () => (await call(gw.url, "GET", path, { key: ADMIN })).body.policies.receive.policy_id;
  const lastRecord = async () => {
    const r = await call(gw.url, "GET", `/v1/mesh/audit?agent=${agent}&limit=10`, { key: ADMIN });
    return r.body.records.find((x) => x.direction === "receive" && (x.decision === "policy_set" || x.decision === "policy_deleted"));
  };
  const ROUNDS = 40;
  for (let round = 0; round < ROUNDS; round++) {
    const ops = [
      call(gw.url, "PUT", path, { key: ADMIN, body: { direction: "receive", mode: "allowlist", patterns: [`intent.r${round}.a`] } }),
      call(gw.url, "DELETE", `${path}?direction=receive`, { key: ADMIN }),
      call(gw.url, "PUT", path, { key: ADMIN, body: { direction: "receive", mode: "denylist", patterns: [`intent.r${round}.b`] } }),
      call(gw.url, "DELETE", `${path}?direction=receive`, { key: ADMIN }),
    ];
    if (round % 2 === 1) ops.reverse();
    const answers = await Promise.all(ops);
    for (const r of answers) {
      if (r.status !== 200) {
        others.push({ round, status: r.status, body: r.body });
      } else if ("policy_id" in r.body) {
        puts.push(r.body.policy_id);
      } else {
        assert.equal(r.body.mode, "open");
        if (r.body.removed_policy_id !== null) removed.push(r.body.removed_policy_id);
      }
    }
    // After each round, the state is what the audit says last.
    const last = await lastRecord();
    const now = await current();
    assert.equal(now, last.decision === "policy_set" ? last.policy_id : null, `round ${round}: state ${now}, last audit ${JSON.stringify(last)}`);
  }
  assert.deepEqual(others, [], "every answer a 200");
  const audit = (await auditAll(gw.url, { agent })).filter((r) => r.direction === "receive");
  const sets = audit.filter((r) => r.decision === "policy_set").map((r) => r.policy_id);
  const deletes = audit.filter((r) => r.decision === "policy_deleted").map((r) => r.policy_id);
  assert.deepEqual([...sets].sort(), [...puts].sort(), "one policy_set record for each PUT answered 200");
  assert.deepEqual([...deletes].sort(), [...removed].sort(), "one policy_deleted record for each DELETE that removed a policy");
  // Replayed in order, the audit is a consistent history: each delete
  // removes the policy set just before it.
  let state = null;
  for (const r of audit) {
    if (r.decision === "policy_set") state = r.policy_id;
    else {
      assert.equal(r.policy_id, state, `record ${r.seq} deletes ${r.policy_id} but ${state} was in force`);
      state = null;
    }
  }
  assert.equal(await current(), state, "the final state is the audit's");
  t.diagnostic(`${puts.length} PUTs, ${removed.length} effective DELETEs`);
});

// ---------------------------------------------------------------------------
// 4. Agent ids that look like file names
// ---------------------------------------------------------------------------

test("4. agent ids like .x.tmp-y: delivered, and nothing of theirs is deleted at startup", async (t) => {
  // (Each has the key key-<id>: at least 8 characters.)
  const odd = [".x.tmp-y", "agentguard.db-wal", "agentguard.db", "....", "~~~~", "x.tmp", "-journal"];
  const dir = tempDir(t);
  const keysFile = writeKeysWith(dir, odd);
  const dataDir = join(dir, "data");
  let gw = await startServer({ dataDir, keysFile });
  t.after(() => stopIfRunning(gw));
  const sent = {};
  for (const a of odd) {
    sent[a] = [];
    for (let i = 0; i < 3; i++) {
      const r = await sendIntent(gw.url, "ops-agent", a, "intent.data.read.v1", { to: a, i });
      assert.equal(r.status, 202, `to ${a}: ${JSON.stringify(r.body)}`);
      sent[a].push(r.body.intent_id);
    }
    // They send too.
    const back = await sendIntent(gw.url, a, "ops-agent", "intent.data.reply.v1", { from: a });
    assert.equal(back.status, 202, `from ${a}: ${JSON.stringify(back.body)}`);
    const put = await call(gw.url, "PUT", policyPath(a), { key: ADMIN, body: { direction: "receive", mode: "denylist", patterns: ["intent.evil.*"] } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  }
  // One taken and acknowledged before the restart; one taken and not.
  const first = await call(gw.url, "GET", "/v1/mesh/inbox?limit=1", { key: keyOf(".x.tmp-y") });
  assert.deepEqual(first.body.intents.map((i) => i.intent_id), [sent[".x.tmp-y"][0]]);
  assert.equal((await call(gw.url, "POST", "/v1/mesh/inbox/ack", { key: keyOf(".x.tmp-y"), body: { intent_ids: [sent[".x.tmp-y"][0]] } })).body.acked, 1);
  sent[".x.tmp-y"].shift();
  assert.deepEqual(await gw.stop(), { code: 0, signal: null });
  for (const restart of ["SIGTERM", "kill -9"]) {
    gw = await startServer({ dataDir, keysFile });
    assert.equal(gw.output().stderr, "");
    for (const a of odd) {
      const view = await call(gw.url, "GET", policyPath(a), { key: ADMIN });
      assert.deepEqual(view.body.policies.receive.patterns, ["intent.evil.*"], `${a}'s policy after a restart (${restart})`);
      const blocked = await sendIntent(gw.url, "ops-agent", a, "intent.evil.x");
      assert.equal(blocked.status, 403);
      // Counted without taking them (a take would lease them).
      const agents = await call(gw.url, "GET", "/v1/mesh/agents", { key: ADMIN });
      const entry = agents.body.agents.find((x) => x.agent === a);
      assert.equal(entry?.counts.queued, sent[a].length, `${a}'s inbox after a restart (${restart})`);
    }
    if (restart === "SIGTERM") assert.deepEqual(await gw.stop(), { code: 0, signal: null });
    else await gw.kill9();
  }
  gw = await startServer({ dataDir, keysFile });
  for (const a of odd) {
    const inbox = await drainInbox(gw.url, a);
    assert.deepEqual(inbox.map((i) => i.intent_id).sort(), [...sent[a]].sort(), `${a}'s inbox after the restarts`);
    assert.ok(inbox.every((i) => i.to_agent === a && i.payload.to === a));
  }
  const delivered = await auditAll(gw.url, { decision: "delivered" });
  assert.equal(delivered.length, odd.length * 4);
});

// ---------------------------------------------------------------------------
// 5. Slowloris
// ---------------------------------------------------------------------------

/** A TCP connection to `url` from `localAddress`; resolves once connected. */
function open(url, localAddress) {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ port: Number(port), host: "127.0.0.1", localAddress }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Tracks what `socket` receives and when the other side closes it. */
function watch(socket) {
  const seen = { data: "", closedAt: null };
  socket.on("data", (d) => (seen.data += d));
  socket.on("error", () => {});
  socket.on("end", () => (seen.closedAt ??= performance.now()));
  socket.on("close", () => (seen.closedAt ??= performance.now()));
  return seen;
}

test("5. slowloris: connections from one address beyond the limit closed at once, the rest after the header timeout; others served meanwhile", async (t) => {
  const LIMIT = 20;
  const gw = await gateway(t, ["--max-connections-per-address", String(LIMIT)]);
  const sockets = [];
  t.after(() => sockets.forEach((s) => s.destroy()));
  const OPENED = 60;
  const conns = [];
  const started = performance.now();
  for (let i = 0; i < OPENED; i++) {
    const s = await open(gw.url, "127.0.0.2");
    sockets.push(s);
    conns.push({ socket: s, seen: watch(s), openedAt: performance.now() });
  }
  await sleep(1_000);
  const open1s = conns.filter((c) => c.seen.closedAt === null);
  const closed1s = conns.filter((c) => c.seen.closedAt !== null);
  t.diagnostic(`${OPENED} connections from 127.0.0.2 in ${Math.round(performance.now() - started - 1000)} ms; after 1 s ${open1s.length} open`);
  assert.equal(open1s.length, LIMIT, `${LIMIT} connections from 127.0.0.2 kept, the rest closed at once`);
  assert.ok(closed1s.every((c) => c.seen.data === ""), "closed without an answer");
  // Half of those kept trickle a header byte every 500 ms (classic
  // slowloris); the other half never send a byte.
  const trickling = open1s.slice(0, LIMIT / 2);
  const header = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${"a".repeat(100)}`;
  let pos = 0;
  const drip = setInterval(() => {
    for (const c of trickling) if (c.seen.closedAt === null) c.socket.write(header[pos % header.length]);
    pos += 1;
  }, 500);
  t.after(() => clearInterval(drip));
  // Meanwhile, 127.0.0.1 is served normally, many connections at once (16:
  // under its own limit of 20).
  const answers = await Promise.all(
    Array.from({ length: 16 }, (_, i) =>
      i % 2 === 0 ? call(gw.url, "GET", "/healthz") : sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.v1", { i }),
    ),
  );
  assert.deepEqual(tally(answers.map((r) => r.status)), { 200: 8, 202: 8 });
  // A 21st connection from 127.0.0.2 is still refused.
  const extra = await open(gw.url, "127.0.0.2");
  sockets.push(extra);
  const extraSeen = watch(extra);
  extra.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  await until(() => extraSeen.closedAt !== null, "the connection over the limit to close", 2_000);
  assert.equal(extraSeen.data, "", "no answer over the limit");
  // All kept connections are closed by the header timeout (10 s), trickling or not.
  await until(() => open1s.every((c) => c.seen.closedAt !== null), "the header timeout to close the idle and trickling connections", 13_000);
  clearInterval(drip);
  const lifetimes = open1s.map((c) => c.seen.closedAt - c.openedAt);
  t.diagnostic(`kept connections closed after ${Math.round(Math.min(...lifetimes))}..${Math.round(Math.max(...lifetimes))} ms`);
  assert.ok(Math.max(...lifetimes) < 12_000, `closed within 12 s of opening (longest ${Math.round(Math.max(...lifetimes))} ms)`);
  assert.ok(Math.min(...lifetimes) > 8_000, "not before the header timeout (the limit, not a crash, closed them)");
  assert.ok(open1s.every((c) => !/^HTTP\/1\.1 200/.test(c.seen.data)), "the trickled request was never served");
  // Their slots are free again: 127.0.0.2 is served.
  await sleep(200);
  const again = await open(gw.url, "127.0.0.2");
  sockets.push(again);
  const againSeen = watch(again);
  again.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  await until(() => againSeen.closedAt !== null, "the answer", 3_000);
  assert.match(againSeen.data, /^HTTP\/1\.1 200 OK\r\n/);
  assert.equal(gw.child.exitCode, null);
});
