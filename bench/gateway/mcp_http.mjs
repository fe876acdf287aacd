#!/usr/bin/env node
// make bench-gateway (third part): the latency MCP over HTTP through the
// gateway adds to each tools/call. One client, the official TypeScript SDK
// (@modelcontextprotocol/sdk's Client), calls the same allowed tool of the
// same stub server (bench/mcp/server.mjs, the MCP proxy bench's) three ways:
//
//   direct    the server over stdio (StdioClientTransport);
//   proxy     `agentguard mcp --policy bench/mcp/policy.json` over stdio, in
//             front of it (StdioClientTransport);
//   gateway   `agentguard serve --mcp-config FILE` (SQLite) serving it at
//             /mcp/bench, the agent's tool policy the same file, over
//             Streamable HTTP (StreamableHTTPClientTransport, an agent key).
//
// The call, read_file {"path": "/workspace/src/main.rs"}, is allowed by an
// argument condition, so each one is parsed and decided. In rounds, like
// bench/mcp/run.mjs: each round starts each target's session afresh (the
// gateway itself stays up; its session starts its own server process),
// makes WARMUP calls, then calls/rounds sequential calls (one in flight),
// the targets taking turns. Added latency = a percentile through a target
// minus the same percentile direct, in the same run (the SDK client's and
// the stub's own time cancel out). Then throughput: `concurrent` calls with
// `window` in flight on one fresh session per target, and on `window` fresh
// sessions with one in flight each. Every call's answer is
// checked; the gateway's audit must hold one record per call it forwarded.
// Writes the `gateway-mcp-http` section of bench/RESULTS.md with --write.
//
//   node bench/gateway/mcp_http.mjs [--calls 2000] [--rounds 4] [--concurrent 2000]
//                                   [--window 16] [--timeout-s 540] [--write bench/RESULTS.md]
//
// The agentguard command: $AGENTGUARD_BIN, else target/cli/release/agentguard.

import { spawn } from "node:child_process";
import { cpus, loadavg, tmpdir } from "node:os";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    rounds: { type: "string", default: "4" },
    concurrent: { type: "string", default: "2000" },
    window: { type: "string", default: "16" },
    "timeout-s": { type: "string", default: "540" },
    write: { type: "string" },
  },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const CONCURRENT = Number(values.concurrent);
const WINDOW = Number(values.window);
const TIMEOUT_S = Number(values["timeout-s"]);
const WARMUP = 200;
/** Warm-up calls of each of the `window` sessions of the last figure. */
const MANY_WARMUP = 20;
/** One request's limit (the SDK rejects it after this long). */
const CALL_TIMEOUT_MS = 10_000;
const BIN = process.env.AGENTGUARD_BIN ?? join(root, "target/cli/release/agentguard");
const SERVER = join(root, "bench/mcp/server.mjs");
const POLICY_FILE = join(root, "bench/mcp/policy.json");
const ADMIN = "bench-admin-key";
const AGENT_KEY = "bench-key-mcp-agent";
const CALL = { name: "read_file", arguments: { path: "/workspace/src/main.rs" } };
const EXPECT = "ok /workspace/src/main.rs";

const dir = mkdtempSync(join(tmpdir(), "agentguard-mcp-http-bench-"));
let gatewayProc = null;
const open = new Set();

// Hard limit on the whole run: whatever is left running is stopped.
const watchdog = setTimeout(() => {
  console.error(`error: the bench did not finish in ${TIMEOUT_S} s`);
  cleanup().finally(() => process.exit(1));
}, TIMEOUT_S * 1000);
watchdog.unref();

async function cleanup() {
  await Promise.allSettled([...open].map((s) => s.close()));
  if (gatewayProc && gatewayProc.exitCode === null) {
    const exited = new Promise((r) => gatewayProc.once("exit", r));
    gatewayProc.kill("SIGTERM");
    const killer = setTimeout(() => gatewayProc.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(killer);
  }
  rmSync(dir, { recursive: true, force: true });
}

async function startGateway() {
  writeFileSync(
    join(dir, "keys.json"),
    JSON.stringify({ keys: { [ADMIN]: { role: "admin" }, [AGENT_KEY]: { role: "agent", agent: "mcp-agent" } } }),
  );
  writeFileSync(join(dir, "mcp.json"), JSON.stringify({ servers: { bench: { command: process.execPath, args: [SERVER] } } }));
  gatewayProc = spawn(
    BIN,
    ["serve", "--port", "0", "--data-dir", join(dir, "data"), "--keys", join(dir, "keys.json"), "--mcp-config", join(dir, "mcp.json")],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("the gateway did not start in 10 s")), 10_000);
    gatewayProc.stdout.on("data", (d) => {
      out += d;
      const m = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    gatewayProc.once("exit", (code) => reject(new Error(`the gateway exited with ${code}: ${out}`)));
  });
  const policy = JSON.parse(readFileSync(POLICY_FILE, "utf8"));
  const res = await fetch(`${url}/v1/agents/mcp-agent/policies/tools`, {
    method: "PUT",
    headers: { "x-api-key": ADMIN, "content-type": "application/json" },
    body: JSON.stringify(policy),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
  if (res.status !== 200) throw new Error(`policy PUT: ${res.status} ${await res.text()}`);
  return url;
}

/** A connected SDK client of a target; `close()` ends its session and processes. */
async function connect(target) {
  const transport = target.transport();
  const client = new Client({ name: "agentguard-bench", version: "1.0.0" }, { capabilities: {} });
  await client.connect(transport, { timeout: CALL_TIMEOUT_MS });
  const session = {
    client,
    close: async () => {
      open.delete(session);
      // The gateway's session (and its server process) ends with DELETE.
      if (transport instanceof StreamableHTTPClientTransport) {
        await transport.terminateSession().catch(() => {});
      }
      await client.close();
    },
  };
  open.add(session);
  return session;
}

async function callOnce(client, name) {
  const r = await client.callTool(CALL, undefined, { timeout: CALL_TIMEOUT_MS });
  if (r.isError || r.content?.[0]?.text !== EXPECT) throw new Error(`${name}: unexpected answer ${JSON.stringify(r)}`);
}

/** A target's session, checked (tools/list as its policy says) and warmed up. */
async function start(target, warmup = WARMUP) {
  const s = await connect(target);
  const tools = (await s.client.listTools(undefined, { timeout: CALL_TIMEOUT_MS })).tools.map((t) => t.name).join();
  const want = target.name === "direct" ? "read_file,delete_file" : "read_file";
  if (tools !== want) throw new Error(`${target.name}: tools/list gave ${tools}`);
  for (let i = 0; i < warmup; i++) await callOnce(s.client, target.name);
  return s;
}

/** `n` sequential calls: each one's round trip (µs) into `into`; the loop's wall time (s). */
async function sequential(s, name, n, into) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await callOnce(s.client, name);
    into.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** `n` calls, one lane per entry of `lanes` (a session, repeated for
 * several in flight on one): calls per second. */
async function concurrent(lanes, name, n) {
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const lane = async (s) => {
    while (sent < n) {
      sent++;
      await callOnce(s.client, name);
    }
  };
  await Promise.all(lanes.map(lane));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** `n` sequential `POST /v1/tools/check` of the same call (the decision and
 * its audit commit over HTTP, no MCP): round trips (µs) into `into`. */
async function checks(url, n, into) {
  const body = JSON.stringify({ tool: CALL.name, args: CALL.arguments });
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/v1/tools/check`, {
      method: "POST",
      headers: { "x-api-key": AGENT_KEY, "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const r = await res.json();
    if (res.status !== 200 || r.decision !== "allow") throw new Error(`tools/check: ${res.status} ${JSON.stringify(r)}`);
    into?.push(Number(process.hrtime.bigint() - t) / 1000);
  }
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmtUs = (us) => (Math.abs(us) >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} µs`);

const loadAtStart = loadavg()[0];
let failed = false;
try {
  const url = await startGateway();
  const targets = [
    { name: "direct", transport: () => new StdioClientTransport({ command: process.execPath, args: [SERVER], stderr: "inherit" }) },
    {
      name: "proxy",
      transport: () =>
        new StdioClientTransport({ command: BIN, args: ["mcp", "--policy", POLICY_FILE, "--", process.execPath, SERVER], stderr: "inherit" }),
    },
    {
      name: "gateway",
      transport: () =>
        new StreamableHTTPClientTransport(new URL(`${url}/mcp/bench`), { requestInit: { headers: { "x-api-key": AGENT_KEY } } }),
    },
  ];

  const samples = new Map(targets.map((t) => [t.name, []]));
  const wall = new Map(targets.map((t) => [t.name, 0]));
  const perRound = Math.ceil(CALLS / ROUNDS);
  const checked = [];
  for (let r = 0; r < ROUNDS; r++) {
    await checks(url, WARMUP, null);
    await checks(url, perRound, checked);
    // Fresh sessions each round; who goes first rotates.
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length];
      const s = await start(t);
      wall.set(t.name, wall.get(t.name) + (await sequential(s, t.name, perRound, samples.get(t.name))));
      await s.close();
    }
  }
  const stats = new Map();
  for (const [name, xs] of samples) {
    const s = xs.slice().sort((a, b) => a - b);
    stats.set(name, { n: s.length, p50: pct(s, 0.5), p99: pct(s, 0.99), max: s[s.length - 1], rate: s.length / wall.get(name) });
  }
  // Throughput: `window` calls in flight on one session, then on `window`
  // sessions (one in flight each; a few warm-up calls each).
  const oneSession = new Map();
  const manySessions = new Map();
  for (const t of targets) {
    const s = await start(t);
    oneSession.set(t.name, await concurrent(Array(WINDOW).fill(s), t.name, CONCURRENT));
    await s.close();
    const ss = [];
    for (let i = 0; i < WINDOW; i++) ss.push(await start(t, MANY_WARMUP));
    manySessions.set(t.name, await concurrent(ss, t.name, CONCURRENT));
    await Promise.all(ss.map((x) => x.close()));
  }

  // The gateway's audit: one record per call it forwarded, no other decision.
  let forwarded = 0;
  let other = 0;
  let before = null;
  for (;;) {
    const q = before === null ? "" : `&before=${before}`;
    const res = await fetch(`${url}/v1/mesh/audit?agent=mcp-agent&limit=1000${q}`, {
      headers: { "x-api-key": ADMIN },
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const page = await res.json();
    for (const x of page.records.filter((x) => x.kind === "mcp")) {
      if (x.decision === "allow" && x.mcp?.action === "forwarded" && x.tool === "read_file") forwarded++;
      else other++;
    }
    if (page.next_before === null) break;
    before = page.next_before;
  }
  const expectForwarded = ROUNDS * (WARMUP + perRound) + WARMUP + CONCURRENT + WINDOW * MANY_WARMUP + CONCURRENT;
  if (forwarded !== expectForwarded || other !== 0) {
    throw new Error(`gateway audit: ${forwarded} forwarded calls recorded (expected ${expectForwarded}), ${other} other mcp records`);
  }

  const c = checked.slice().sort((a, b) => a - b);
  const d = stats.get("direct");
  const added = (name) => {
    const s = stats.get(name);
    return { p50: s.p50 - d.p50, p99: s.p99 - d.p99 };
  };
  const g = added("gateway");
  const p = added("proxy");
  const gp50 = stats.get("gateway").p50 - stats.get("proxy").p50;
  const gp99 = stats.get("gateway").p99 - stats.get("proxy").p99;
  const table = [
    "| figure | value |",
    "|---|---|",
    `| gateway (Streamable HTTP): added latency p50 / p99, over direct | **${fmtUs(g.p50)} / ${fmtUs(g.p99)}** |`,
    `| proxy (stdio): added latency p50 / p99, over direct | ${fmtUs(p.p50)} / ${fmtUs(p.p99)} |`,
    `| gateway over proxy: p50 / p99 | ${fmtUs(gp50)} / ${fmtUs(gp99)} |`,
    `| for reference, no MCP: \`POST /v1/tools/check\` of the same call, round trip p50 / p99 (${c.length} sequential) | ${fmtUs(pct(c, 0.5))} / ${fmtUs(pct(c, 0.99))} |`,
    ...targets.map((t) => {
      const s = stats.get(t.name);
      return `| ${t.name}: round trip p50 / p99 / max (${s.n} sequential calls) | ${fmtUs(s.p50)} / ${fmtUs(s.p99)} / ${fmtUs(s.max)} |`;
    }),
    ...targets.map((t) => `| ${t.name}: calls/s, one in flight | ${Math.round(stats.get(t.name).rate)} |`),
    ...targets.map((t) => `| ${t.name}: calls/s, ${CONCURRENT} calls, ${WINDOW} in flight on one session | ${Math.round(oneSession.get(t.name))} |`),
    ...targets.map((t) => `| ${t.name}: calls/s, ${CONCURRENT} calls on ${WINDOW} sessions, one in flight each | ${Math.round(manySessions.get(t.name))} |`),
    `| gateway audit records kept (one per forwarded call, checked) | ${forwarded} |`,
  ].join("\n");
  console.log(table);

  if (values.write) {
    const section = `<!-- BEGIN gateway-mcp-http -->
## MCP over HTTP through the gateway (\`make bench-gateway\`)

\`node bench/gateway/mcp_http.mjs --calls ${CALLS} --rounds ${ROUNDS} --concurrent ${CONCURRENT} --window ${WINDOW} --write bench/RESULTS.md\`,
${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC. One client, the official TypeScript SDK (\`@modelcontextprotocol/sdk\`'s \`Client\`),
calls \`read_file {"path": "/workspace/src/main.rs"}\` on the stub server \`bench/mcp/server.mjs\` three ways: over stdio
("direct"), through \`agentguard mcp --policy bench/mcp/policy.json\` over stdio ("proxy"), and through \`agentguard serve
--mcp-config\` on SQLite at \`/mcp/bench\` over Streamable HTTP with an agent key, the agent's tool policy the same file
("gateway": a POST per call, answered as an SSE stream; each decision's audit record is committed before the call goes on,
${forwarded} records checked). The call is allowed by an argument condition, so each one is parsed and decided.
${ROUNDS} rounds of ${perRound} sequential calls (one in flight) per target, taking turns, each round on a fresh session
(${WARMUP} warm-up calls first); added latency is a percentile through a target minus the same percentile direct, in the
same run (the SDK client's and the stub's own time cancel out). Throughput: ${CONCURRENT} calls with ${WINDOW} in flight on
one fresh session, then on ${WINDOW} fresh sessions (a server process each) with one in flight each. For comparison, the
\`POST /v1/tools/check\` row is the same decision with its audit commit (SQLite, WAL, synchronous FULL) over plain HTTP
(Node's fetch, keep-alive), no MCP: taken in turns with the others, ${WARMUP} warm-up requests a round.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), shared by the client, the gateway and the servers,
Node ${process.version}, load average ${loadAtStart.toFixed(2)} at the start; p99 follows the machine's load (and the
gateway's, the disk's), so compare runs made together.

${table}
<!-- END gateway-mcp-http -->`;
    const text = readFileSync(values.write, "utf8");
    const re = /<!-- BEGIN gateway-mcp-http -->[\s\S]*?<!-- END gateway-mcp-http -->/;
    writeFileSync(values.write, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`);
    console.log(`wrote the gateway-mcp-http section of ${values.write}`);
  }
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
process.exit(failed ? 1 : 0);
