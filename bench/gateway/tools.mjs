#!/usr/bin/env node
// make bench-gateway (second part): POST /v1/tools/check at concurrency 50
// against `agentguard serve` on SQLite, for --duration seconds, from wrk (a
// C load generator: a Node one topped out near 11 500 requests/s on 2
// cores, below what is measured here). 10 agents
// share a tool policy with lists and an argument condition; the requests
// cycle through 60% allowed, 30% denied and 10% needing approval (each of
// those creates a pending approval). Every decision is audited before its
// answer, and the audit is counted after the run. Writes the
// `gateway-tools` section of bench/RESULTS.md with --write.
//
//   node bench/gateway/tools.mjs [--duration 10] [--concurrency 50] [--write bench/RESULTS.md]

import { spawn } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    concurrency: { type: "string", default: "50" },
    write: { type: "string" },
  },
});
const SECONDS = Number(values.duration);
const C = Number(values.concurrency);
const BIN = process.env.AGENTGUARD_BIN ?? join(root, "target/cli/release/agentguard");

const dir = mkdtempSync(join(tmpdir(), "agentguard-tools-bench-"));
const agents = Array.from({ length: 10 }, (_, i) => `agent-${i}`);
const keys = { "bench-admin-key": { role: "admin" } };
for (const a of agents) keys[`key-${a}`] = { agent: a, role: "agent" };
writeFileSync(join(dir, "keys.json"), JSON.stringify({ keys }));
const policy = {
  deny: ["drop_*", "delete_*"],
  allow: ["read_*", "query_*", "refund"],
  rules: [{ id: "large-refunds", tool: "refund", decision: "require_approval", when: { amount: { gt: 100 } } }],
};

const loadAtStart = loadavg()[0];
const server = spawn(BIN, ["serve", "--port", "0", "--data-dir", join(dir, "data"), "--keys", join(dir, "keys.json")], {
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
  for (const a of agents) {
    const res = await fetch(`${url}/v1/agents/${a}/policies/tools`, {
      method: "PUT",
      headers: { "x-api-key": "bench-admin-key" },
      body: JSON.stringify(policy),
    });
    if (res.status !== 200) throw new Error(`policy PUT: ${res.status} ${await res.text()}`);
  }
  const calls = [
    ["read_orders", { customer: 7 }, "allow"],
    ["query_sales", { q: "sum" }, "allow"],
    ["refund", { amount: 20 }, "allow"],
    ["read_tickets", {}, "allow"],
    ["refund", { amount: 99 }, "allow"],
    ["query_stock", { sku: "x" }, "allow"],
    ["drop_table", { table: "customers" }, "deny"],
    ["delete_user", { id: 3 }, "deny"],
    ["send_email", { to: "a@b" }, "deny"],
    ["refund", { amount: 500 }, "require_approval"],
  ];
  // One request per (call, agent), cycled through by every connection.
  const requests = [];
  for (let i = 0; i < calls.length * agents.length; i++) {
    const [tool, args] = calls[i % calls.length];
    requests.push({ key: `key-${agents[i % agents.length]}`, body: JSON.stringify({ tool, args }) });
  }
  // Lua long strings ([==[...]==]) hold the keys and bodies as they are.
  const long = (text) => {
    if (text.includes("]==]")) throw new Error(`cannot quote ${text} for Lua`);
    return `[==[${text}]==]`;
  };
  const lua = [
    "local requests = {}",
    ...requests.map(
      (q, i) =>
        `requests[${i + 1}] = wrk.format("POST", "/v1/tools/check", {["x-api-key"] = ${long(q.key)}, ["Content-Type"] = "application/json"}, ${long(q.body)})`,
    ),
    "local i = 0",
    "function request()",
    "  i = i % #requests + 1",
    "  return requests[i]",
    "end",
    "function done(summary, latency, requests_)",
    '  io.write(string.format("RESULT %d %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,',
    "    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,",
    "    summary.errors.status, latency:percentile(50), latency:percentile(99), latency.max, #requests))",
    "end",
  ].join("\n");
  writeFileSync(join(dir, "plan.lua"), lua);
  const load = spawn("wrk", ["-t1", `-c${C}`, `-d${SECONDS}s`, "-s", join(dir, "plan.lua"), `${url}/v1/tools/check`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  load.stdout.on("data", (d) => (out += d));
  const code = await new Promise((resolve) => load.once("exit", resolve));
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${out}`);
  const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
  if (!m) throw new Error(`wrk said: ${out}`);
  const [requestsDone, durationUs, socketErrors, statusErrors, p50, p99, max, planned] = m.slice(1).map(Number);
  if (planned !== requests.length) throw new Error(`the wrk script read ${planned} of ${requests.length} requests`);
  if (socketErrors !== 0 || statusErrors !== 0) throw new Error(`${socketErrors} socket errors, ${statusErrors} non-2xx answers: ${out}`);
  const N = requestsDone;
  const r = {
    requests: N,
    concurrency: C,
    errors: socketErrors + statusErrors,
    throughput: N / (durationUs / 1e6),
    p50_ms: p50 / 1000,
    p99_ms: p99 / 1000,
    max_ms: max / 1000,
  };

  // What was kept: one audit record per check, and the approvals asked.
  let audited = 0;
  let before = null;
  for (;;) {
    const q = before === null ? "" : `&before=${before}`;
    const page = await (await fetch(`${url}/v1/mesh/audit?limit=1000${q}`, { headers: { "x-api-key": "bench-admin-key" } })).json();
    audited += page.records.filter((x) => x.kind === "tool").length;
    if (page.next_before === null) break;
    before = page.next_before;
  }
  const pending = await (await fetch(`${url}/v1/approvals?status=pending&limit=1000`, { headers: { "x-api-key": "bench-admin-key" } })).json();
  // wrk counts the answers it read; the last ones in flight when it
  // stopped were decided (and audited) too.
  if (audited < N || audited > N + C) throw new Error(`audited ${audited} checks; wrk read ${N} answers`);
  const expectApprovals = Math.floor(N / calls.length);
  if (pending.approvals.length !== Math.min(expectApprovals, 1000)) {
    throw new Error(`${pending.approvals.length} pending approvals listed, expected ${Math.min(expectApprovals, 1000)}`);
  }
  const table = [
    "| figure | value |",
    "|---|---|",
    `| checks | ${r.requests} in ${SECONDS} s (60% allow, 30% deny, 10% require_approval: about ${expectApprovals} approvals created) |`,
    `| concurrency | ${r.concurrency} (keep-alive connections of wrk, one thread) |`,
    `| errors | ${r.errors} |`,
    `| throughput | ${Math.round(r.throughput)} decisions/s |`,
    `| latency p50 | ${r.p50_ms.toFixed(2)} ms |`,
    `| latency p99 | ${r.p99_ms.toFixed(2)} ms |`,
    `| latency max | ${r.max_ms.toFixed(2)} ms |`,
    `| audit records kept | ${audited} |`,
  ].join("\n");
  console.log(table);
  const verdict = r.throughput >= 20_000 ? "met" : "NOT met";
  if (values.write) {
    const section = `<!-- BEGIN gateway-tools -->
## Tool decisions over HTTP (\`make bench-gateway\`)

\`node bench/gateway/tools.mjs --duration ${SECONDS} --concurrency ${C} --write bench/RESULTS.md\`, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC:
\`agentguard serve\` on SQLite (WAL, synchronous FULL) on 127.0.0.1; 10 agents with the same tool policy (lists and
one argument condition); wrk (one thread) sends \`POST /v1/tools/check\` at concurrency ${C} for ${SECONDS} s. Every answer comes
after its audit record (and, for require_approval, its approval) is committed; concurrent ones share a transaction.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), shared by the gateway and the load generator,
load average ${loadAtStart.toFixed(2)} at the start. Budget (DESIGN.md): at least 20 000 decisions/s: ${verdict}
(${Math.round(r.throughput)}/s). Audit records of a batch go in with multi-row INSERTs.

${table}
<!-- END gateway-tools -->`;
    let text = readFileSync(values.write, "utf8");
    const re = /<!-- BEGIN gateway-tools -->[\s\S]*?<!-- END gateway-tools -->/;
    text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
    writeFileSync(values.write, text);
    console.log(`wrote the gateway-tools section of ${values.write}`);
  }
} finally {
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
}
