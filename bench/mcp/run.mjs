// The MCP proxy benchmark: the latency `agentguard mcp` adds to each
// tools/call, over calling the same stub server (bench/mcp/server.mjs)
// directly, and the throughput of tools/call through it, in one run.
//
//   node bench/mcp/run.mjs [--calls 5000] [--rounds 10] [--pipelined 20000]
//                          [--window 64] [--write bench/RESULTS.md]
//
// AGENTGUARD_BIN: the binary (default target/release/agentguard).
//
// Three targets, each a client (this process) speaking
// newline-delimited JSON-RPC over pipes: the server alone; the proxy in
// front of it (bench/mcp/policy.json, a call allowed by an argument
// condition, so the policy reads the arguments); and the proxy with
// --audit. The calls are made in rounds: each round starts each target's
// processes afresh (handshake, warm-up) and makes calls/rounds sequential
// calls (one in flight) on it, the targets in turn, so drift in the
// machine's load and the placement of processes on cores are shared. Added latency
// = a percentile through the proxy minus the same percentile direct.
// Throughput: `pipelined` calls with `window` in flight, per target.
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = process.env.AGENTGUARD_BIN ?? join(ROOT, 'target/release/agentguard');
const SERVER = join(ROOT, 'bench/mcp/server.mjs');
const POLICY = join(ROOT, 'bench/mcp/policy.json');

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '10' },
    pipelined: { type: 'string', default: '20000' },
    window: { type: 'string', default: '64' },
    write: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const PIPELINED = Number(values.pipelined);
const WINDOW = Number(values.window);
const WARMUP = 300;
const BUDGET_P50_US = 100;
const BUDGET_P99_US = 1000;

/** A JSON-RPC peer on a child's stdio; `call` resolves with the answer line. */
function peer(name, command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      // The ids are numbers this client chose: read them without a full parse.
      const m = /"id":(\d+)/.exec(line);
      const w = m && waiting.get(Number(m[1]));
      if (w) {
        waiting.delete(Number(m[1]));
        w(line);
      }
    }
  });
  let next = 1;
  const send = (method, params) => {
    const id = next++;
    const p = new Promise((resolve) => waiting.set(id, resolve));
    child.stdin.write(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${JSON.stringify(params)}}\n`);
    return p;
  };
  return { name, child, send };
}

const CALL = { name: 'read_file', arguments: { path: '/workspace/src/main.rs' } };

async function handshake(p) {
  const init = JSON.parse(await p.send('initialize', {
    protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' },
  }));
  if (!init.result) throw new Error(`${p.name}: initialize failed: ${JSON.stringify(init)}`);
  p.child.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  const list = JSON.parse(await p.send('tools/list', {}));
  const answer = JSON.parse(await p.send('tools/call', CALL));
  if (answer.result?.content?.[0]?.text !== 'ok /workspace/src/main.rs') {
    throw new Error(`${p.name}: unexpected answer ${JSON.stringify(answer)}`);
  }
  return list.result.tools.map((t) => t.name);
}

/** `n` sequential calls; returns each one's round trip in µs. */
async function sequential(p, n, into) {
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await p.send('tools/call', CALL);
    into.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}

/** `n` calls with `window` in flight; returns calls per second. */
async function pipelined(p, n, window) {
  let sent = 0;
  const t0 = process.hrtime.bigint();
  const lane = async () => {
    while (sent < n) {
      sent++;
      await p.send('tools/call', CALL);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const pct = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

const dir = mkdtempSync(join(tmpdir(), 'agentguard-mcp-bench-'));
const targets = [
  { name: 'direct', command: process.execPath, args: [SERVER] },
  { name: 'proxy', command: BIN, args: ['mcp', '--policy', POLICY, '--', process.execPath, SERVER] },
  { name: 'proxy --audit', command: BIN,
    args: ['mcp', '--policy', POLICY, '--audit', join(dir, 'audit.jsonl'), '--', process.execPath, SERVER] },
];
const running = new Set();

/** A target's processes, started, checked and warmed up. */
async function start(t) {
  const p = peer(t.name, t.command, t.args);
  running.add(p);
  const tools = await handshake(p);
  const want = t.name === 'direct' ? 'read_file,delete_file' : 'read_file';
  if (tools.join() !== want) throw new Error(`${t.name}: tools/list gave ${tools}`);
  await sequential(p, WARMUP, []);
  return p;
}

async function stop(p) {
  p.child.stdin.end();
  if (p.child.exitCode === null) await new Promise((r) => p.child.once('exit', r));
  running.delete(p);
}

const loadAtStart = loadavg()[0];
try {
  const samples = new Map(targets.map((t) => [t.name, []]));
  const perRound = Math.ceil(CALLS / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    // Fresh processes each round, so no one placement of them on the
    // cores decides a target's figures; who goes first rotates.
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length];
      const p = await start(t);
      await sequential(p, perRound, samples.get(t.name));
      await stop(p);
    }
  }
  const stats = new Map();
  for (const [name, xs] of samples) {
    const s = xs.slice().sort((a, b) => a - b);
    stats.set(name, { n: s.length, p50: pct(s, 0.5), p99: pct(s, 0.99), mean: s.reduce((a, b) => a + b, 0) / s.length });
  }
  const throughput = new Map();
  for (const t of targets) {
    const p = await start(t);
    throughput.set(t.name, await pipelined(p, PIPELINED, WINDOW));
    await stop(p);
  }
  const audited = readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).length;

  const d = stats.get('direct');
  const rows = [];
  const verdicts = [];
  for (const name of ['proxy', 'proxy --audit']) {
    const s = stats.get(name);
    const a50 = s.p50 - d.p50;
    const a99 = s.p99 - d.p99;
    rows.push(`| ${name}: added latency p50 | ${fmtUs(a50)} | under 100 µs: ${a50 < BUDGET_P50_US ? 'met' : 'OVER'} |`);
    rows.push(`| ${name}: added latency p99 | ${fmtUs(a99)} | under 1 ms: ${a99 < BUDGET_P99_US ? 'met' : 'OVER'} |`);
    verdicts.push(a50 < BUDGET_P50_US && a99 < BUDGET_P99_US);
  }
  const table = [
    '| figure | value | budget (DESIGN.md) |',
    '|---|---|---|',
    ...rows,
    ...targets.map((p) => {
      const s = stats.get(p.name);
      return `| ${p.name}: round trip p50 / p99 / mean (${s.n} sequential calls) | ${fmtUs(s.p50)} / ${fmtUs(s.p99)} / ${fmtUs(s.mean)} |  |`;
    }),
    ...targets.map((p) => `| ${p.name}: throughput, ${PIPELINED} calls, ${WINDOW} in flight | ${Math.round(throughput.get(p.name))} calls/s |  |`),
  ].join('\n');
  console.log(table);
  const expectAudited = ROUNDS * (1 + WARMUP + perRound) + 1 + WARMUP + PIPELINED;
  if (audited !== expectAudited) throw new Error(`audit: ${audited} lines for ${expectAudited} calls`);

  if (values.write) {
    const section = `<!-- BEGIN mcp -->
## MCP proxy (\`make bench-mcp\`)

\`node bench/mcp/run.mjs --calls ${CALLS} --rounds ${ROUNDS} --pipelined ${PIPELINED} --window ${WINDOW} --write bench/RESULTS.md\`
(AGENTGUARD_BIN: the release build of \`agentguard\`), ${new Date().toISOString().slice(0, 10)}.
A client in Node sends \`tools/call\` frames over stdio (Node's child pipes are Unix socket pairs) to
three targets: the stub
server \`bench/mcp/server.mjs\` alone ("direct"), \`agentguard mcp --policy bench/mcp/policy.json\` in
front of the same server ("proxy"; the call, \`read_file {"path": "/workspace/src/main.rs"}\`, is allowed
by an argument condition, so every call is parsed and decided), and the proxy with \`--audit\` (one
line written per call; ${audited} lines checked). ${ROUNDS} rounds of ${perRound} sequential calls (one
in flight) per target, taking turns; each round starts the target's processes afresh (so no one
placement of them on the cores decides its figures) and makes ${WARMUP} warm-up calls first. Added latency is a
percentile through the proxy minus the same percentile direct, in the same run; the round trip
includes the client's and the stub's own time (Node), which the subtraction removes. Throughput:
${PIPELINED} calls with ${WINDOW} in flight, on fresh processes.
Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, other work running
(load average ${loadAtStart.toFixed(2)} at the start); p99 moves with the machine's load more than with
the code, so compare runs made together. With \`--audit\` each call's line is written (one write(2))
before the call goes on, so that p99 also follows the disk's load from other jobs.

${table}
<!-- END mcp -->`;
    const text = readFileSync(values.write, 'utf8');
    const re = /<!-- BEGIN mcp -->[\s\S]*?<!-- END mcp -->/;
    writeFileSync(values.write, re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`);
    console.log(`wrote the mcp section of ${values.write}`);
  }
  if (!verdicts.every(Boolean)) console.log('over the DESIGN.md budget');
} finally {
  await Promise.all([...running].map(stop));
  rmSync(dir, { recursive: true, force: true });
}
