// GET /v1/mesh/audit?agent=&decision=&limit=&before=: the whole log, page
// by page, newest first, with the filters applied across pages and across a
// restart, checked against the traffic the test itself sent; `agentguard
// mesh audit` pages too; a bad `before` is a 400.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { ADMIN, BIN, call, policyPath, sendIntent, startServer, tempDir, writeKeys } from "./helpers.mjs";

function setup(t) {
  const dir = tempDir(t);
  return { keysFile: writeKeys(dir), dataDir: join(dir, "data") };
}

/** Follows next_before from the newest page to the oldest; returns the pages. */
async function pages(url, query, limit) {
  const out = [];
  let before = null;
  for (let i = 0; i < 1000; i++) {
    const r = await call(url, "GET", `/v1/mesh/audit?limit=${limit}${query}${before === null ? "" : `&before=${before}`}`, { key: ADMIN });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    out.push(r.body);
    if (r.body.next_before === null) return out;
    assert.equal(r.body.next_before, r.body.records.at(-1).seq, "next_before is the last record's seq");
    before = r.body.next_before;
  }
  throw new Error("paging did not end");
}

/**
 * A mixed log: policy changes, deliveries and blocks between several
 * agents. Returns what the audit must hold, oldest first, as the test saw
 * it: {decision, caller, agent, to_agent, intent_type}.
 */
async function traffic(url, tag = "") {
  const expected = [];
  const put = async (agent, body) => {
    const r = await call(url, "PUT", policyPath(agent), { key: ADMIN, body });
    assert.equal(r.status, 200);
    expected.push({ decision: "policy_set", caller: "admin", agent, to_agent: undefined, intent_type: undefined });
  };
  await put("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] });
  await put("tenant-a-db", { direction: "receive", mode: "denylist", patterns: ["intent.admin.*"] });
  for (let i = 0; i < 45; i++) {
    const [from, to, type] = [
      ["ops-agent", "analytics-agent", `intent.data.read.v${i}${tag}`],
      ["ops-agent", "analytics-agent", `intent.data.delete.v${i}${tag}`],
      ["tenant-a-bot", "tenant-a-db", `intent.admin.drop.v${i}${tag}`],
      ["tenant-a-bot", "tenant-a-db", `intent.data.query.v${i}${tag}`],
      ["reporting-agent", "ops-agent", `intent.report.v${i}${tag}`],
    ][i % 5];
    const r = await sendIntent(url, from, to, type, { i });
    assert.ok(r.status === 202 || r.status === 403);
    expected.push({ decision: r.status === 202 ? "delivered" : "blocked", caller: from, agent: undefined, to_agent: to, intent_type: type });
  }
  return expected;
}

const shape = (r) => ({ decision: r.decision, caller: r.caller, agent: r.agent, to_agent: r.to_agent, intent_type: r.intent_type });

const matches = (agent, decision) => (r) =>
  (agent === undefined || r.caller === agent || r.to_agent === agent || r.agent === agent) && (decision === undefined || r.decision === decision);

test("audit paging: every record once, newest first, with filters, across a restart", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile });
  const expected = await traffic(gw.url);
  await gw.stop();
  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  const r = await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.after-restart");
  assert.equal(r.status, 202);
  expected.push({ decision: "delivered", caller: "ops-agent", agent: undefined, to_agent: "analytics-agent", intent_type: "intent.data.read.after-restart" });

  const all = (await pages(gw.url, "", 1000)).flatMap((p) => p.records);
  assert.deepEqual(all.map(shape), [...expected].reverse().map(shape), "the log is what was sent, newest first");
  const seqs = all.map((x) => x.seq);
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] < seqs[i - 1], "seq strictly decreasing");

  for (const [agent, decision, limit] of [
    [undefined, undefined, 5],
    ["analytics-agent", undefined, 4],
    [undefined, "blocked", 3],
    ["tenant-a-db", "delivered", 2],
    ["tenant-a-bot", "policy_set", 10],
  ]) {
    const query = `${agent ? `&agent=${agent}` : ""}${decision ? `&decision=${decision}` : ""}`;
    const got = await pages(gw.url, query, limit);
    assert.deepEqual(
      got.flatMap((p) => p.records),
      all.filter(matches(agent, decision)),
      `${query || "all"}, ${limit} a page: every matching record once, newest first`,
    );
    for (const p of got.slice(0, -1)) assert.equal(p.records.length, limit, "full pages until the last");
  }

  // `before` in the middle: only older records, the newest of them first.
  const mid = all[20].seq;
  const older = await call(gw.url, "GET", `/v1/mesh/audit?limit=3&before=${mid}`, { key: ADMIN });
  assert.deepEqual(older.body.records, all.slice(21, 24));
  const none = await call(gw.url, "GET", `/v1/mesh/audit?before=${all.at(-1).seq}`, { key: ADMIN });
  assert.deepEqual(none.body, { ok: true, records: [], next_before: null });
});

test("agentguard mesh audit pages with --before", async (t) => {
  const { keysFile, dataDir } = setup(t);
  const gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  const expected = await traffic(gw.url);
  const mesh = (args) =>
    promisify(execFile)(BIN, ["mesh", ...args], {
      env: { PATH: process.env.PATH, AGENTGUARD_URL: gw.url, AGENTGUARD_API_KEY: ADMIN },
      timeout: 20_000,
    });
  const first = JSON.parse((await mesh(["audit", "--decision", "blocked", "--limit", "5"])).stdout);
  const second = JSON.parse((await mesh(["audit", "--decision", "blocked", "--limit", "5", "--before", String(first.next_before)])).stdout);
  const blocked = [...expected].reverse().filter((r) => r.decision === "blocked");
  assert.ok(blocked.length > 10);
  assert.deepEqual([...first.records, ...second.records].map(shape), blocked.slice(0, 10).map(shape));
});

test("a bad before is a 400 that says what it must be", async (t) => {
  const { keysFile, dataDir } = setup(t);
  const gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  for (const bad of ["0", "-1", "abc", "1.5", "", "99999999999999999"]) {
    const r = await call(gw.url, "GET", `/v1/mesh/audit?before=${encodeURIComponent(bad)}`, { key: ADMIN });
    assert.equal(r.status, 400, bad);
    assert.deepEqual(r.body, {
      error: "bad_request",
      message: `before must be a record's seq (an integer from 1), got ${JSON.stringify(bad)}`,
    });
  }
  assert.equal((await call(gw.url, "GET", "/v1/mesh/audit?before=5", { key: ADMIN })).status, 200, "the server keeps serving");
});
