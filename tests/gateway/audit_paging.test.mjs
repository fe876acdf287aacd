// GET /v1/mesh/audit?agent=&decision=&limit=&before=: records beyond the
// in-memory window are read from disk (the active file and its rotated
// segments), page by page, with the filters applied across the boundary;
// the installed agentguard-mesh command pages too; a log written before
// records had a `seq` is numbered by position; a bad `before` is a 400.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { ADMIN, MESH_BIN_DIR, call, policyPath, sendIntent, startServer, tempDir, writeKeys } from "./helpers.mjs";

function setup(t) {
  const dir = tempDir(t);
  return { keysFile: writeKeys(dir), dataDir: join(dir, "data") };
}

/** Every record on disk, oldest first (segments by name, then the active file). */
function onDisk(dataDir) {
  const names = readdirSync(dataDir)
    .filter((n) => /^audit\.\d{12}\.jsonl$/.test(n))
    .sort();
  names.push("audit.jsonl");
  return names.flatMap((n) =>
    readFileSync(join(dataDir, n), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  );
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

/** A mixed log: policy changes, deliveries and blocks between several agents. */
async function traffic(url) {
  const put = (agent, body) => call(url, "PUT", policyPath(agent), { key: ADMIN, body });
  assert.equal((await put("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] })).status, 200);
  assert.equal((await put("tenant-a-db", { direction: "receive", mode: "denylist", patterns: ["intent.admin.*"] })).status, 200);
  for (let i = 0; i < 45; i++) {
    const [from, to, type] = [
      ["ops-agent", "analytics-agent", `intent.data.read.v${i}`],
      ["ops-agent", "analytics-agent", `intent.data.delete.v${i}`],
      ["tenant-a-bot", "tenant-a-db", `intent.admin.drop.v${i}`],
      ["tenant-a-bot", "tenant-a-db", `intent.data.query.v${i}`],
      ["reporting-agent", "ops-agent", `intent.report.v${i}`],
    ][i % 5];
    const r = await sendIntent(url, from, to, type, { i });
    assert.ok(r.status === 202 || r.status === 403);
  }
}

const matches = (agent, decision) => (r) =>
  (agent === undefined || r.caller === agent || r.to_agent === agent || r.agent === agent) && (decision === undefined || r.decision === decision);

for (const [label, args] of [
  ["the active file alone", ["--audit-memory", "8"]],
  ["rotated segments", ["--audit-memory", "8", "--audit-segment-bytes", "2500"]],
]) {
  test(`audit paging past the in-memory window reads ${label}, with filters, across a restart`, async (t) => {
    const { keysFile, dataDir } = setup(t);
    let gw = await startServer({ dataDir, keysFile, extraArgs: args });
    await traffic(gw.url);
    await gw.stop();
    gw = await startServer({ dataDir, keysFile, extraArgs: args });
    t.after(() => gw.stop());
    await sendIntent(gw.url, "ops-agent", "analytics-agent", "intent.data.read.after-restart");
    const disk = onDisk(dataDir);
    assert.equal(disk.length, 2 + 45 + 1);
    if (args.includes("--audit-segment-bytes")) {
      assert.ok(readdirSync(dataDir).filter((n) => /^audit\.\d{12}\.jsonl$/.test(n)).length >= 3, "rotated");
    }

    for (const [agent, decision, limit] of [
      [undefined, undefined, 5],
      [undefined, undefined, 1000],
      ["analytics-agent", undefined, 4],
      [undefined, "blocked", 3],
      ["tenant-a-db", "delivered", 2],
      ["tenant-a-bot", "policy_set", 10],
    ]) {
      const query = `${agent ? `&agent=${agent}` : ""}${decision ? `&decision=${decision}` : ""}`;
      const got = await pages(gw.url, query, limit);
      const expected = [...disk].reverse().filter(matches(agent, decision));
      assert.deepEqual(
        got.flatMap((p) => p.records),
        expected,
        `${query || "all"}, ${limit} a page: every matching record once, newest first`,
      );
      for (const p of got.slice(0, -1)) assert.equal(p.records.length, limit, "full pages until the last");
    }

    // `before` in the middle: only older records, the newest of them first.
    const mid = disk[20].seq;
    const r = await call(gw.url, "GET", `/v1/mesh/audit?limit=3&before=${mid}`, { key: ADMIN });
    assert.deepEqual(
      r.body.records.map((x) => x.seq),
      [mid - 1, mid - 2, mid - 3],
    );
    const none = await call(gw.url, "GET", "/v1/mesh/audit?before=1", { key: ADMIN });
    assert.deepEqual(none.body, { ok: true, records: [], next_before: null });
  });
}

test("the installed agentguard-mesh pages with --before", async (t) => {
  const { keysFile, dataDir } = setup(t);
  const gw = await startServer({ dataDir, keysFile, extraArgs: ["--audit-memory", "4"] });
  t.after(() => gw.stop());
  await traffic(gw.url);
  const mesh = (args) =>
    promisify(execFile)("agentguard-mesh", args, {
      env: { PATH: `${MESH_BIN_DIR}${delimiter}${process.env.PATH}`, AGENTGUARD_URL: gw.url, AGENTGUARD_API_KEY: ADMIN },
      timeout: 20_000,
    });
  const first = JSON.parse((await mesh(["audit", "--decision", "blocked", "--limit", "5"])).stdout);
  const second = JSON.parse((await mesh(["audit", "--decision", "blocked", "--limit", "5", "--before", String(first.next_before)])).stdout);
  const blocked = [...onDisk(dataDir)].reverse().filter((r) => r.decision === "blocked");
  assert.ok(blocked.length > 10);
  assert.deepEqual([...first.records, ...second.records], blocked.slice(0, 10));
});

test("a log written before records had a seq is numbered by position, and new records follow on", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile });
  await traffic(gw.url);
  await gw.stop();
  // The previous format: the same records without `seq`.
  const old = onDisk(dataDir).map(({ seq, ...rest }) => rest);
  writeFileSync(join(dataDir, "audit.jsonl"), old.map((r) => `${JSON.stringify(r)}\n`).join(""));
  gw = await startServer({ dataDir, keysFile, extraArgs: ["--audit-memory", "10", "--audit-segment-bytes", "4000"] });
  t.after(() => gw.stop());
  assert.equal(gw.output().stderr, "");
  for (let i = 0; i < 10; i++) await sendIntent(gw.url, "ops-agent", "analytics-agent", `intent.data.read.new${i}`);
  const all = (await pages(gw.url, "", 7)).flatMap((p) => p.records);
  assert.equal(all.length, old.length + 10);
  assert.deepEqual(
    all.map((r) => r.seq),
    all.map((_, i) => all.length - i),
  );
  assert.deepEqual(
    all.slice(10).map((r) => r.audit_id),
    [...old].reverse().map((r) => r.audit_id),
  );
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
