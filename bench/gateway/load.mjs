#!/usr/bin/env node
// The load generator, run as its own process by run.mjs and tools.mjs: N
// POSTs at concurrency C against a gateway on 127.0.0.1 (intents by
// default; --path for another route), each checked against the status it
// must get. Prints one JSON line of results.
//
//   node load.mjs --url http://127.0.0.1:PORT --plan plan.json --concurrency 50 [--path /v1/mesh/intents]

import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    plan: { type: "string" },
    concurrency: { type: "string", default: "50" },
    path: { type: "string", default: "/v1/mesh/intents" },
  },
});
const url = new URL(values.url);
if (url.hostname !== "127.0.0.1") throw new Error("the load generator only targets 127.0.0.1");
/** @type {{key: string, body: string, expect: number}[]} */
const plan = JSON.parse(readFileSync(values.plan, "utf8"));
const concurrency = Number(values.concurrency);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

function post(item) {
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: url.port,
        method: "POST",
        path: values.path,
        agent,
        headers: { "x-api-key": item.key, "content-type": "application/json", "content-length": Buffer.byteLength(item.body) },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", (e) => resolve(`error: ${e.code ?? e.message}`));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(item.body);
  });
}

const latencies = new Float64Array(plan.length);
const statuses = {};
let errors = 0;
let next = 0;
const cpuAtStart = process.cpuUsage();
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < plan.length) {
      const i = next++;
      const t0 = performance.now();
      const status = await post(plan[i]);
      latencies[i] = performance.now() - t0;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status !== plan[i].expect) errors += 1;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuAtStart);
agent.destroy();
const sorted = Array.from(latencies).sort((a, b) => a - b);
const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
console.log(
  JSON.stringify({
    requests: plan.length,
    concurrency,
    errors,
    statuses,
    seconds: elapsed,
    throughput: plan.length / elapsed,
    p50_ms: pct(50),
    p99_ms: pct(99),
    max_ms: sorted[sorted.length - 1],
    // This process's own CPU time (user + system) during the load: near
    // `seconds` means the load generator, not the gateway, set the pace.
    load_cpu_seconds: (cpu.user + cpu.system) / 1e6,
  }),
);
