// Compaction never loses an acknowledged record: an inbox is rewritten
// with only its untaken intents (at startup, and while running past a
// threshold) by an atomic replace, and the audit log is rotated by size into
// numbered segments that stay readable. Crashes are real: SIGKILL at the
// store's crash points, and kill -9 at random moments of a compaction.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { ADMIN, call, drainInbox, keyOf, policyPath, runServerToExit, sendIntent, spawnServer, startServer, tempDir, writeKeys } from "./helpers.mjs";

function setup(t) {
  const dir = tempDir(t);
  return { keysFile: writeKeys(dir), dataDir: join(dir, "data") };
}

const inboxFile = (dataDir, agent) => join(dataDir, "inbox", `${agent}.jsonl`);

/** The inbox file of `agent` as text, with its header's base and the cursor. */
function inboxState(dataDir, agent) {
  const text = readFileSync(inboxFile(dataDir, agent), "utf8");
  const lines = text.split("\n").filter((l) => l !== "");
  const header = lines.length > 0 ? JSON.parse(lines[0]) : {};
  const base = typeof header.inbox_base === "number" ? header.inbox_base : 0;
  const intents = typeof header.inbox_base === "number" ? lines.slice(1) : lines;
  const cursor = join(dataDir, "inbox", `${agent}.taken`);
  const taken = existsSync(cursor) ? JSON.parse(readFileSync(cursor, "utf8")).taken : 0;
  return { text, base, intents, taken };
}

/** What a compaction of `state` must write: the header, then the untaken lines, unchanged. */
function compacted(state) {
  return `${[JSON.stringify({ inbox_base: state.taken }), ...state.intents.slice(state.taken - state.base)].join("\n")}\n`;
}

const temporaries = (dataDir) =>
  [...readdirSync(dataDir), ...readdirSync(join(dataDir, "inbox"))].filter((n) => n.includes(".tmp-"));

async function sendMany(url, n, { from = "ops-agent", to = "analytics-agent", prefix = "intent.data.read", payload = null } = {}) {
  const ids = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, k) => sendIntent(url, from, to, `${prefix}.v${i + k}`, payload)),
    );
    for (const r of batch) {
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push(r.body.intent_id);
    }
  }
  return ids;
}

async function take(url, agent, limit) {
  const r = await call(url, "GET", `/v1/mesh/inbox?limit=${limit}`, { key: keyOf(agent) });
  assert.equal(r.status, 200);
  return r.body.intents.map((i) => i.intent_id);
}

test("startup compaction drops only taken intents; every untaken one comes back, exactly once, across restarts", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile });
  const sent = await sendMany(gw.url, 30);
  const taken = await take(gw.url, "analytics-agent", 12);
  assert.deepEqual(taken, sent.slice(0, 12));
  await gw.stop();
  const before = inboxState(dataDir, "analytics-agent");
  assert.equal(before.intents.length, 30);

  gw = await startServer({ dataDir, keysFile });
  assert.equal(gw.output().stderr, "", "compaction is silent");
  const after = inboxState(dataDir, "analytics-agent");
  assert.equal(after.text, compacted(before), "the file is the header and the 18 untaken lines, byte for byte");
  assert.equal(after.base, 12);
  assert.equal(after.taken, 12, "the cursor file is untouched: it counts from the first intent ever");

  // More traffic on the compacted file, then another restart.
  const more = await sendMany(gw.url, 5, { prefix: "intent.data.query" });
  const taken2 = await take(gw.url, "analytics-agent", 20);
  assert.deepEqual(taken2, [...sent.slice(12), ...more.slice(0, 2)]);
  await gw.stop();
  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  assert.equal(inboxState(dataDir, "analytics-agent").base, 32);
  const rest = (await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id);
  assert.deepEqual(rest, more.slice(2));
  assert.deepEqual([...taken, ...taken2, ...rest], [...sent, ...more], "every intent once, in order");
  assert.deepEqual(temporaries(dataDir), []);
});

test("an inbox is compacted while running once --inbox-compact-lines are taken, with sends and takes going on", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile, extraArgs: ["--inbox-compact-lines", "20"] });
  const sent = [];
  const got = [];
  for (let round = 0; round < 8; round++) {
    const [ids, a, b] = await Promise.all([sendMany(gw.url, 10, { prefix: `intent.r${round}` }), take(gw.url, "analytics-agent", 4), take(gw.url, "analytics-agent", 3)]);
    sent.push(...ids);
    got.push(...a, ...b);
  }
  // The compaction runs after the take that crossed the threshold; wait for it (bounded).
  let state = inboxState(dataDir, "analytics-agent");
  for (let i = 0; i < 100 && state.base === 0; i++) {
    await sleep(20);
    state = inboxState(dataDir, "analytics-agent");
  }
  assert.ok(state.base >= 20, `compacted while running (base ${state.base})`);
  assert.ok(state.intents.length < sent.length, "the file shrank");
  await gw.stop();
  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  got.push(...(await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id));
  assert.equal(new Set(got).size, got.length, "nothing handed out twice");
  assert.deepEqual([...got].sort(), [...sent].sort(), "every acknowledged intent, exactly once");
});

for (const point of ["compact:written", "compact:renamed"]) {
  test(`SIGKILL at ${point} during startup compaction: the old or the new file, complete; nothing lost`, async (t) => {
    const { keysFile, dataDir } = setup(t);
    let gw = await startServer({ dataDir, keysFile });
    const sent = await sendMany(gw.url, 40, { payload: { text: "x".repeat(200) } });
    const taken = await take(gw.url, "analytics-agent", 15);
    await gw.stop();
    const before = inboxState(dataDir, "analytics-agent");

    const crash = await runServerToExit({ dataDir, keysFile, env: { AGENTGUARD_GATEWAY_CRASH_AT: point } });
    assert.equal(crash.signal, "SIGKILL", `the crash point was reached: ${crash.stderr}`);
    assert.equal(crash.stdout, "", "it died before listening");
    const mid = inboxState(dataDir, "analytics-agent");
    if (point === "compact:written") {
      assert.equal(mid.text, before.text, "not yet renamed: the old file, untouched");
      assert.equal(temporaries(dataDir).length, 1, "the complete temporary file is left behind");
    } else {
      assert.equal(mid.text, compacted(before), "renamed: the new file, complete");
    }

    gw = await startServer({ dataDir, keysFile });
    t.after(() => gw.stop());
    assert.deepEqual(temporaries(dataDir), [], "leftover temporaries are removed at startup");
    assert.equal(inboxState(dataDir, "analytics-agent").text, compacted(before));
    const rest = (await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id);
    assert.deepEqual([...taken, ...rest], sent);
  });
}

test("SIGKILL at compact:written during a compaction while running loses nothing", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile, extraArgs: ["--inbox-compact-lines", "5"], env: { AGENTGUARD_GATEWAY_CRASH_AT: "compact:written" } });
  const sent = await sendMany(gw.url, 10);
  const taken = await take(gw.url, "analytics-agent", 6); // acknowledged: the cursor is durable
  assert.deepEqual(taken, sent.slice(0, 6));
  const exit = await gw.exited; // the compaction that take started hits the crash point
  assert.equal(exit.signal, "SIGKILL");
  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  const rest = (await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id);
  assert.deepEqual(rest, sent.slice(6));
});

test("kill -9 at random moments of a large startup compaction: always the old or the new file, never a mix", { timeout: 120_000 }, async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile });
  const sent = await sendMany(gw.url, 2000, { payload: { blob: "y".repeat(2000) } });
  const got = await take(gw.url, "analytics-agent", 300);
  await gw.stop();

  const ROUNDS = 6;
  const seen = { old: 0, new: 0, duringWrite: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const before = inboxState(dataDir, "analytics-agent");
    assert.ok(before.taken > before.base, "there is something to compact");
    // Watch for the compaction's temporary file (it exists from the first
    // byte written until the rename) and kill -9 when it appears, plus a
    // delay that grows each round, so kills land in the write, around the
    // rename, and after it. Bounded: 10 s.
    const s = spawnServer({ dataDir, keysFile });
    const deadline = Date.now() + 10_000;
    while (temporaries(dataDir).length === 0 && Date.now() < deadline && s.child.exitCode === null) await sleep(0);
    const wasWriting = temporaries(dataDir).length > 0;
    if (round > 0) await sleep(round * round);
    s.child.kill("SIGKILL");
    const exit = await s.exited;
    assert.equal(exit.signal, "SIGKILL", `round ${round}: ${s.output().stderr}`);
    if (wasWriting) seen.duringWrite += 1;
    const mid = inboxState(dataDir, "analytics-agent");
    if (mid.text === before.text) seen.old += 1;
    else {
      assert.equal(mid.text, compacted(before), `round ${round}: a kill -9 left neither the old nor the new file`);
      seen.new += 1;
    }
    // A clean start finishes the job; take some more so the next round compacts again.
    gw = await startServer({ dataDir, keysFile });
    assert.equal(inboxState(dataDir, "analytics-agent").text, compacted(before));
    got.push(...(await take(gw.url, "analytics-agent", 250)));
    await gw.stop();
  }
  gw = await startServer({ dataDir, keysFile });
  t.after(() => gw.stop());
  got.push(...(await drainInbox(gw.url, "analytics-agent")).map((i) => i.intent_id));
  assert.deepEqual(got, sent, "every intent exactly once, in order, after all the kills");
  assert.ok(seen.duringWrite > 0, "at least one kill landed while the new file was being written");
  t.diagnostic(
    `${ROUNDS} kills -9 during startup compaction (${seen.duringWrite} while the temporary file existed): ${seen.old} left the old file, ${seen.new} the new one, none a mix`,
  );
});

/** Every audit record, newest first, read a page at a time through `before`. */
async function allAudit(url, query = "", limit = 7) {
  const records = [];
  let before = null;
  for (let i = 0; i < 10_000; i++) {
    const r = await call(url, "GET", `/v1/mesh/audit?limit=${limit}${query}${before === null ? "" : `&before=${before}`}`, { key: ADMIN });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    records.push(...r.body.records);
    if (r.body.next_before === null) return records;
    before = r.body.next_before;
  }
  throw new Error("audit paging did not end");
}

const auditFiles = (dataDir) => readdirSync(dataDir).filter((n) => /^audit\..*jsonl$/.test(n)).sort();

/** Sends intents one at a time (so a crash cuts between acknowledgements); returns the acknowledged ones. */
async function sendSequentially(url, n, { stopOnError = false } = {}) {
  const acked = [];
  for (let i = 0; i < n; i++) {
    const type = i % 4 === 0 ? `intent.data.delete.v${i}` : `intent.data.read.v${i}`;
    let r;
    try {
      r = await sendIntent(url, "ops-agent", "analytics-agent", type, { i });
    } catch (e) {
      if (stopOnError) return acked;
      throw e;
    }
    assert.ok(r.status === 202 || r.status === 403, JSON.stringify(r.body));
    acked.push({ type, status: r.status, intent_id: r.body.intent_id ?? null });
  }
  return acked;
}

test("the audit log rotates by size into numbered segments that GET /v1/mesh/audit still reads, across restarts", async (t) => {
  const { keysFile, dataDir } = setup(t);
  const args = ["--audit-segment-bytes", "3000", "--audit-memory", "10"];
  let gw = await startServer({ dataDir, keysFile, extraArgs: args });
  const put = await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "denylist", patterns: ["intent.data.delete.*"] },
  });
  assert.equal(put.status, 200);
  const first = await sendSequentially(gw.url, 60);
  await gw.stop();
  gw = await startServer({ dataDir, keysFile, extraArgs: args });
  t.after(() => gw.stop());
  const second = await sendSequentially(gw.url, 20);

  const files = auditFiles(dataDir);
  const segments = files.filter((n) => /^audit\.\d{12}\.jsonl$/.test(n));
  assert.ok(segments.length >= 5, `rotated into segments: ${files.join(", ")}`);
  // Each segment is named by its first record's seq, and the seqs run on
  // without a gap or a repeat through the segments and the active file.
  const onDisk = [];
  for (const name of files.filter((n) => n !== "audit.jsonl").concat(files.includes("audit.jsonl") ? ["audit.jsonl"] : [])) {
    const records = readFileSync(join(dataDir, name), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    if (name !== "audit.jsonl") {
      assert.equal(Number(name.split(".")[1]), records[0].seq, name);
      // Rotated at the first group commit past 3000 bytes (sends are sequential: one record each).
      assert.ok(readFileSync(join(dataDir, name)).length < 3000 + 600, `${name} is about the segment size`);
    }
    onDisk.push(...records);
  }
  assert.deepEqual(
    onDisk.map((r) => r.seq),
    onDisk.map((_, i) => i + 1),
  );

  // Through the API: every record, newest first, the old ones from disk.
  const all = await allAudit(gw.url);
  assert.deepEqual(
    all.map((r) => r.audit_id),
    [...onDisk].reverse().map((r) => r.audit_id),
  );
  const acked = [...first, ...second];
  assert.equal(all.length, acked.length + 1, "one record per request and the policy_set");
  const delivered = new Set(all.filter((r) => r.decision === "delivered").map((r) => r.intent_id));
  for (const a of acked.filter((a) => a.status === 202)) assert.ok(delivered.has(a.intent_id));
  assert.equal(all.filter((r) => r.decision === "blocked").length, acked.filter((a) => a.status === 403).length);
  assert.equal(all.at(-1).decision, "policy_set", "the oldest record is still there");
});

for (const point of ["rotate:before-rename", "rotate:renamed"]) {
  test(`SIGKILL at ${point} while rotating the audit log loses no acknowledged record`, async (t) => {
    const { keysFile, dataDir } = setup(t);
    const args = ["--audit-segment-bytes", "2500"];
    let gw = await startServer({ dataDir, keysFile, extraArgs: args, env: { AGENTGUARD_GATEWAY_CRASH_AT: point } });
    const acked = await sendSequentially(gw.url, 200, { stopOnError: true });
    const exit = await gw.exited;
    assert.equal(exit.signal, "SIGKILL", "the rotation reached the crash point");
    assert.ok(acked.length > 0 && acked.length < 200);
    const files = auditFiles(dataDir);
    if (point === "rotate:before-rename") assert.deepEqual(files, ["audit.jsonl"], "nothing renamed yet");
    else assert.deepEqual(files, ["audit.000000000001.jsonl"], "renamed; the next active file not yet started");

    gw = await startServer({ dataDir, keysFile, extraArgs: args });
    t.after(() => gw.stop());
    assert.equal(gw.output().stderr, "");
    const more = await sendSequentially(gw.url, 40);
    const all = await allAudit(gw.url, "", 50);
    assert.deepEqual(
      all.map((r) => r.seq),
      all.map((_, i) => all.length - i),
      "seqs run on without a gap or a repeat",
    );
    const byIntent = new Set(all.map((r) => r.intent_id));
    for (const a of [...acked, ...more].filter((x) => x.status === 202)) assert.ok(byIntent.has(a.intent_id), a.intent_id);
    assert.ok(all.length >= acked.length + more.length);
    assert.ok(auditFiles(dataDir).length >= 3, "rotation goes on after the restart");
  });
}

test("a cursor that does not fit its compacted inbox stops startup with a clear message", async (t) => {
  const { keysFile, dataDir } = setup(t);
  let gw = await startServer({ dataDir, keysFile });
  await sendMany(gw.url, 5);
  await take(gw.url, "analytics-agent", 3);
  await gw.stop();
  gw = await startServer({ dataDir, keysFile }); // compacts: base 3, 2 intents left
  await gw.stop();
  const { writeFileSync } = await import("node:fs");
  for (const taken of [2, 6]) {
    writeFileSync(join(dataDir, "inbox", "analytics-agent.taken"), `${JSON.stringify({ taken })}\n`);
    await assert.rejects(
      startServer({ dataDir, keysFile }),
      new RegExp(`analytics-agent\\.taken: the cursor \\(${taken} taken\\) does not fit .*analytics-agent\\.jsonl \\(intents 3 to 5\\); the data directory is damaged`),
    );
  }
});
