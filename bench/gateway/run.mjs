#!/usr/bin/env node
// make bench-gateway: starts the gateway (one process) with a fresh data
// directory, sets action policies, and has a second process (load.mjs) send
// 10 000 intents at concurrency 50: 80% allowed (202, queued and fsynced),
// 20% blocked (403 with an audit record, fsynced). Any other status or a
// network error counts as an error. Writes the figures into the `gateway`
// section of bench/RESULTS.md with --write.
//
//   node bench/gateway/run.mjs [--requests 10000] [--concurrency 50] [--write bench/RESULTS.md]

import { spawn } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "50" },
    write: { type: "string" },
  },
});
const N = Number(values.requests);
const C = Number(values.concurrency);

const loadAtStart = loadavg()[0];
const dir = mkdtempSync(join(tmpdir(), "agentguard-gateway-bench-"));
const senders = Array.from({ length: 10 }, (_, i) => `sender-${i}`);
const receivers = Array.from({ length: 10 }, (_, i) => `receiver-${i}`);
const keys = { "bench-admin-key": { role: "admin" } };
for (const a of [...senders, ...receivers]) keys[`key-${a}`] = { agent: a, role: "agent" };
writeFileSync(join(dir, "keys.json"), JSON.stringify({ keys }));

const server = spawn(process.execPath, [join(root, "examples/gateway/server.mjs"), "--port", "0", "--data-dir", join(dir, "data"), "--keys", join(dir, "keys.json")], {
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const m = /^listening on (\S+)/.exec(out);
    if (m) resolve(m[1]);
  });
  server.once("exit", (code) => reject(new Error(`gateway exited with ${code}`)));
  setTimeout(() => reject(new Error("gateway did not start")), 10_000);
});

try {
  for (const r of receivers) {
    const res = await fetch(`${url}/v1/mesh/agents/${r}/policies/action`, {
      method: "PUT",
      headers: { "x-api-key": "bench-admin-key" },
      body: JSON.stringify({ direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*", "intent.data.query.*", "intent.report.*"] }),
    });
    if (res.status !== 200) throw new Error(`policy PUT: ${res.status} ${await res.text()}`);
  }
  const types = ["intent.data.read.v1", "intent.data.query.v2", "intent.report.generate.v1", "intent.data.read.v3", "intent.data.delete.v1"];
  const plan = Array.from({ length: N }, (_, i) => {
    const type = types[i % types.length];
    return {
      key: `key-${senders[i % senders.length]}`,
      body: JSON.stringify({
        intent_type: type,
        to_agent: `agent://bench/prod/${receivers[Math.floor(i / types.length) % receivers.length]}`,
        payload: { n: i, table: "customers" },
      }),
      expect: type === "intent.data.delete.v1" ? 403 : 202,
    };
  });
  writeFileSync(join(dir, "plan.json"), JSON.stringify(plan));

  const load = spawn(process.execPath, [join(root, "bench/gateway/load.mjs"), "--url", url, "--plan", join(dir, "plan.json"), "--concurrency", String(C)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  load.stdout.on("data", (d) => (out += d));
  const code = await new Promise((resolve) => load.once("exit", resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  const r = JSON.parse(out.trim().split("\n").pop());

  // What the gateway kept: one audit line per request (in audit.jsonl and
  // any segments it was rotated into), one inbox line per 202.
  const audit =
    readdirSync(join(dir, "data"))
      .filter((n) => /^audit\..*jsonl$/.test(n))
      .map((n) => readFileSync(join(dir, "data", n), "utf8").split("\n").filter(Boolean).length)
      .reduce((a, b) => a + b, 0) - receivers.length;
  const queued = receivers
    .map((a) => readFileSync(join(dir, `data/inbox/${a}.jsonl`), "utf8").split("\n").filter(Boolean).length)
    .reduce((a, b) => a + b, 0);

  const table = [
    "| figure | value |",
    "|---|---|",
    `| intents sent | ${r.requests} (${r.statuses[202] ?? 0} delivered, ${r.statuses[403] ?? 0} blocked) |`,
    `| concurrency | ${r.concurrency} (keep-alive, from a second process) |`,
    `| errors | ${r.errors} |`,
    `| throughput | ${Math.round(r.throughput)} intents/s |`,
    `| latency p50 | ${r.p50_ms.toFixed(2)} ms |`,
    `| latency p99 | ${r.p99_ms.toFixed(2)} ms |`,
    `| latency max | ${r.max_ms.toFixed(2)} ms |`,
    `| audit records written (fsynced) | ${audit} |`,
    `| intents queued (fsynced) | ${queued} |`,
  ].join("\n");
  console.log(table);
  if (r.errors !== 0) throw new Error(`${r.errors} errors: ${JSON.stringify(r.statuses)}`);
  if (audit !== N || queued !== (r.statuses[202] ?? 0)) throw new Error(`kept ${audit} audit records and ${queued} intents for ${N} requests`);

  if (values.write) {
    const section = `<!-- BEGIN gateway -->
## Gateway load (\`make bench-gateway\`)

\`node bench/gateway/run.mjs --requests ${N} --concurrency ${C} --write bench/RESULTS.md\`: the gateway
(\`examples/gateway/server.mjs\`, one Node process) on 127.0.0.1 with a fresh data directory and a
receive allowlist on each of 10 receivers; a second process sends ${N} intents from 10 senders at
concurrency ${C}, 80% allowed and 20% blocked. Every response comes after its audit record (and, for a
delivered intent, its inbox line) is fsynced; concurrent appends share one write and one fsync.
The audit log rotates at 8 MiB (10 000 records stay under it) and nothing is taken from the inboxes,
so neither rotation nor compaction runs during the load.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}, other work running
(load average ${loadAtStart.toFixed(2)} at the start); back-to-back runs of the same code here vary by
about 20% in throughput, so compare runs made together, not across days.

${table}
<!-- END gateway -->`;
    const text = readFileSync(values.write, "utf8");
    const re = /<!-- BEGIN gateway -->[\s\S]*?<!-- END gateway -->/;
    if (!re.test(text)) throw new Error(`${values.write} has no gateway section markers`);
    writeFileSync(values.write, text.replace(re, section));
    console.log(`wrote the gateway section of ${values.write}`);
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
