#!/usr/bin/env node
// `make bench` (Node part): the package, installed from the packed tarball,
// against a hand-written pure-JS regex loop (baseline.mjs), in one run.
//
//   node bench/node/run.mjs --tarball target/npm/agentguard-X.tgz [--write bench/RESULTS.md]
//
// Each measurement runs in a fresh child process (clean JIT state); the
// figure is the median of 5 timed rounds after a warm-up.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

import { JsPolicy } from "./baseline.mjs";
import {
  DB_NAMES,
  DB_SAFETY,
  NO_RULE_NAMES,
  SHAPES,
  dbUniqueNames,
  largeNames,
  largeSpec,
  largeUniqueNames,
  shapeNames,
  shapeSpec,
  shapeUniqueNames,
  twentyRules,
  unreadArguments,
} from "./workloads.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const { values: args } = parseArgs({
  options: {
    tarball: { type: "string" },
    write: { type: "string" },
    child: { type: "string" },
    project: { type: "string", default: join(root, "target/npm-bench") },
    ms: { type: "string", default: "150" },
    repeats: { type: "string", default: "3" },
  },
});

// ---- child: one measurement --------------------------------------------

/**
 * The argument-conditions workloads (`rules:FIGURE`, and `dbargs`): items
 * `[tool, options]` and how the package decides one (`how`: evaluate or
 * check).
 */
function callWorkload(name) {
  const { policy, calls } = twentyRules();
  const unread = unreadArguments();
  const withArgs = calls.map((c) => [c.tool, { args: c.args }]);
  switch (name) {
    case "rules:evaluate":
      return { spec: policy, items: withArgs, how: "evaluate" };
    case "rules:check":
      return { spec: policy, items: withArgs, how: "check" };
    case "rules:padded":
      return { spec: policy, items: calls.map((c) => [c.tool, { args: { ...c.args, ...unread } }]), how: "evaluate" };
    case "rules:name":
      return { spec: policy, items: calls.map((c) => [c.tool, undefined]), how: "evaluate" };
    case "rules:norule":
      return { spec: policy, items: NO_RULE_NAMES.map((t) => [t, undefined]), how: "check" };
    case "rules:norule-empty":
      return { spec: policy, items: NO_RULE_NAMES.map((t) => [t, { args: {} }]), how: "check" };
    case "rules:norule-args":
      return { spec: policy, items: NO_RULE_NAMES.map((t) => [t, { args: unread }]), how: "check" };
    case "dbargs":
      return { spec: DB_SAFETY, items: DB_NAMES.map((t) => [t, { args: unread }]), how: "check" };
    default:
      throw new Error(`no workload ${name}`);
  }
}

function workload(name) {
  if (name.startsWith("shape:")) {
    // shape:SHAPE:N:repeated|unique, every pattern of one shape (DESIGN.md's budget).
    const [, shape, size, names] = name.split(":");
    const n = Number(size);
    return { spec: shapeSpec(shape, n), names: names === "repeated" ? shapeNames(shape, n) : shapeUniqueNames(shape, n) };
  }
  const [kind, size, names] = name.split(":");
  const spec = kind === "db" ? DB_SAFETY : largeSpec(Number(size));
  const n = kind === "db" ? 13 : Number(size);
  let list;
  if (kind === "db") list = names === "repeated" ? DB_NAMES : dbUniqueNames();
  else list = names === "repeated" ? largeNames(n) : largeUniqueNames(n);
  return { spec, names: list };
}

function timeLoop(check, names, ms) {
  let sink = 0;
  const len = names.length;
  let idx = 0;
  // Checks between clock reads: 256, or 8 for the slow (µs) cases.
  let chunk = 8;
  const round = () => {
    const deadline = performance.now() + ms;
    let count = 0;
    const t0 = process.hrtime.bigint();
    do {
      for (let k = 0; k < chunk; k++) {
        sink += check(names[idx]).reason.length;
        idx = idx + 1 === len ? 0 : idx + 1;
      }
      count += chunk;
    } while (performance.now() < deadline);
    return Number(process.hrtime.bigint() - t0) / count;
  };
  if (round() < 2000) chunk = 256;
  round(); // warm-up
  const rounds = Array.from({ length: 5 }, round).sort((a, b) => a - b);
  if (sink === -1) console.error("unreachable");
  return rounds[2];
}

async function child() {
  const [impl, audit, wl] = args.child.split("|");
  const ms = Number(args.ms);
  if (wl.startsWith("rules:") || wl === "dbargs") {
    const require = createRequire(join(args.project, "package.json"));
    const { Policy } = require("agentguard");
    const { spec, items, how } = callWorkload(wl);
    const p = new Policy({ ...spec, audit: audit === "on" });
    const ask = how === "evaluate" ? (c) => p.evaluate(c[0], c[1]) : (c) => p.check(c[0], c[1]);
    return { ns: timeLoop(ask, items, ms) };
  }
  const { spec, names } = workload(wl);
  const full = { ...spec, audit: audit === "on" };
  if (impl === "js") {
    const p = new JsPolicy(full);
    return { ns: timeLoop((t) => p.check(t), names, ms) };
  }
  const require = createRequire(join(args.project, "package.json"));
  const { Policy } = require("agentguard");
  if (impl === "build") {
    const times = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const p = new Policy(full);
      times.push(performance.now() - t0);
      p.free();
    }
    times.sort((a, b) => a - b);
    return { ms: times[7] };
  }
  const p = new Policy(full);
  return { ns: timeLoop((t) => p.check(t), names, ms) };
}

if (args.child) {
  console.log(JSON.stringify(await child()));
  process.exit(0);
}

// ---- parent: install, measure, report ----------------------------------

if (!args.tarball || !existsSync(args.tarball)) {
  console.error(`no tarball at ${args.tarball}: run \`make pack\``);
  process.exit(2);
}
const project = args.project;
rmSync(project, { recursive: true, force: true });
mkdirSync(project, { recursive: true });
writeFileSync(join(project, "package.json"), '{ "name": "agentguard-bench", "private": true }\n');
const inst = spawnSync(
  "npm",
  ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", "--silent", resolve(args.tarball)],
  { cwd: project, stdio: "inherit" },
);
if (inst.status !== 0) process.exit(1);

function measure(impl, audit, wl) {
  const p = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--child", `${impl}|${audit}|${wl}`, "--project", project, "--ms", args.ms],
    { encoding: "utf8" },
  );
  if (p.status !== 0) throw new Error(`${impl} ${wl}: ${p.stderr}`);
  return JSON.parse(p.stdout);
}

const REPEATS = Number(args.repeats);
const rows = [];
const fmt = (ns) => (ns >= 1000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toFixed(0)} ns`);
const ratio = (a, b) => (a / b >= 0.1 ? `${(a / b).toFixed(2)}x` : `1/${(b / a).toFixed(0)}`);
const results = {};
const workloads = [
  ["db:13:repeated", "database-safety (13 patterns), repeated names"],
  ["db:13:unique", "database-safety (13 patterns), unique names"],
  ["large:100:repeated", "100 patterns, repeated names"],
  ["large:100:unique", "100 patterns, unique names"],
  ["large:1000:repeated", "1 000 patterns, repeated names"],
  ["large:1000:unique", "1 000 patterns, unique names"],
  ["large:10000:repeated", "10 000 patterns, repeated names"],
  ["large:10000:unique", "10 000 patterns, unique names"],
];
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
for (const [wl, label] of workloads) {
  // Interleaved repeats: the machine is shared, so load shifts between runs.
  const runs = { ag_on: [], ag_off: [], js_on: [], js_off: [] };
  for (let rep = 0; rep < REPEATS; rep++) {
    for (const impl of ["ag", "js"]) for (const audit of ["on", "off"]) runs[`${impl}_${audit}`].push(measure(impl, audit, wl).ns);
  }
  const r = Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, median(xs)]));
  results[wl] = r;
  const row = `| ${label} | ${fmt(r.ag_on)} | ${fmt(r.ag_off)} | ${fmt(r.js_on)} | ${fmt(r.js_off)} | ${ratio(r.ag_on, r.js_on)} | ${ratio(r.ag_off, r.js_off)} |`;
  rows.push(row);
  console.log(row);
}
// Every pattern shape at 10 000 patterns, audit off (the matching cost): the
// slowest shape against the 13-pattern time and the JS loop.
const SHAPE_N = 10_000;
const shapeRows = [];
const shapeResults = {};
for (const [shape, { label }] of Object.entries(SHAPES)) {
  const runs = { rep: [], uniq: [], js: [] };
  for (let rep = 0; rep < REPEATS; rep++) {
    runs.rep.push(measure("ag", "off", `shape:${shape}:${SHAPE_N}:repeated`).ns);
    runs.uniq.push(measure("ag", "off", `shape:${shape}:${SHAPE_N}:unique`).ns);
    // The loop takes milliseconds a check here: one run is plenty for a 50x bound.
    if (rep === 0) runs.js.push(measure("js", "off", `shape:${shape}:${SHAPE_N}:unique`).ns);
  }
  const r = { rep: median(runs.rep), uniq: median(runs.uniq), js: median(runs.js) };
  shapeResults[shape] = r;
  const row = `| ${label} | ${fmt(r.rep)} | ${fmt(r.uniq)} | ${ratio(r.rep, results["db:13:repeated"].ag_off)} / ${ratio(r.uniq, results["db:13:unique"].ag_off)} | ${fmt(r.js)} | ${(r.js / r.uniq).toFixed(0)}x |`;
  shapeRows.push(row);
  console.log(row);
}
// Argument conditions: the 20-rule workload shared with Rust and Python
// (bench/workloads/twenty_rules.json), and names no rule applies to.
const ruleRows = [];
const ruleResults = {};
for (const [wl, label, audits] of [
  ["rules:evaluate", "`evaluate`, 3 arguments", ["on"]],
  ["rules:check", "`check`, 3 arguments", ["on", "off"]],
  ["rules:padded", "`evaluate`, 3 arguments + 1 000 that no condition reads", ["on"]],
  ["rules:name", "`evaluate`, the same names without arguments", ["on"]],
  ["rules:norule", "`check`, names no rule applies to (the name-only path)", ["on", "off"]],
  ["rules:norule-empty", "`check`, the same, `{ args: {} }`", ["on", "off"]],
  ["rules:norule-args", "`check`, the same, `{ args }` of 1 000 values", ["on", "off"]],
  ["dbargs", "`check`, database-safety, repeated names, `{ args }` of 1 000 values", ["on", "off"]],
]) {
  const runs = Object.fromEntries(audits.map((a) => [a, []]));
  for (let rep = 0; rep < REPEATS; rep++) for (const a of audits) runs[a].push(measure("ag", a, wl).ns);
  const r = Object.fromEntries(audits.map((a) => [a, median(runs[a])]));
  ruleResults[wl] = r;
  const row = `| ${label} | ${fmt(r.on)} | ${r.off === undefined ? "" : fmt(r.off)} |`;
  ruleRows.push(row);
  console.log(row);
}
const build = measure("build", "on", "large:10000:unique").ms;
const wasm = readFileSync(join(project, "node_modules/agentguard/agentguard_bg.wasm"));
const gz = gzipSync(wasm, { level: 9 }).length;

const db = results["db:13:repeated"];
const dbu = results["db:13:unique"];
const big = results["large:10000:unique"];
const bigr = results["large:10000:repeated"];
const mark = (ok) => (ok ? "met" : "**missed**");
const shapes = Object.values(shapeResults);
const slowRep = Math.max(...shapes.map((s) => s.rep));
const slowUniq = Math.max(...shapes.map((s) => s.uniq));
const leastFaster = Math.min(...shapes.map((s) => s.js / s.uniq));
const budget = [
  ["`check`, repeated names: no slower than the JS loop (audit on / off)",
    `${ratio(db.ag_on, db.js_on)} / ${ratio(db.ag_off, db.js_off)}`, mark(db.ag_on <= db.js_on && db.ag_off <= db.js_off)],
  ["`check`, unique names: at most 3x the JS loop at 13 patterns (audit on / off)",
    `${ratio(dbu.ag_on, dbu.js_on)} / ${ratio(dbu.ag_off, dbu.js_off)}`, mark(dbu.ag_on <= 3 * dbu.js_on && dbu.ag_off <= 3 * dbu.js_off)],
  ["`check`, 10 000 patterns: at most 2x the 13-pattern time (unique names, audit on / off)",
    `${ratio(big.ag_on, dbu.ag_on)} / ${ratio(big.ag_off, dbu.ag_off)}`, mark(big.ag_on <= 2 * dbu.ag_on && big.ag_off <= 2 * dbu.ag_off)],
  ["`check`, 10 000 patterns: at least 50x faster than the JS loop (unique / repeated names, audit off)",
    `${(big.js_off / big.ag_off).toFixed(0)}x / ${(bigr.js_off / bigr.ag_off).toFixed(0)}x`, mark(big.js_off >= 50 * big.ag_off && bigr.js_off >= 50 * bigr.ag_off)],
  ["`check`, 10 000 patterns of every shape: at most 2x the 13-pattern time (slowest shape; repeated / unique names, audit off)",
    `${ratio(slowRep, db.ag_off)} / ${ratio(slowUniq, dbu.ag_off)}`, mark(slowRep <= 2 * db.ag_off && slowUniq <= 2 * dbu.ag_off)],
  ["`check`, 10 000 patterns of every shape: at least 50x faster than the JS loop (least, unique names)",
    `${leastFaster.toFixed(0)}x`, mark(leastFaster >= 50)],
  ["`new Policy`, 10 000 patterns: under 50 ms", `${build.toFixed(1)} ms`, mark(build < 50)],
  ["`evaluate` with 3 arguments, 20 rules: under 2 µs", fmt(ruleResults["rules:evaluate"].on), mark(ruleResults["rules:evaluate"].on < 2000)],
  // Issue 10: what no rule reads costs nothing: 1 000 arguments cost what
  // `{ args: {} }` costs (within 15%: noise). (Any options object costs its
  // own reading, as `{ context }` always has: the rows above.)
  ["`check` of names no rule applies to: 1 000 unread arguments cost what none do (`{ args }` of 1 000 values / `{ args: {} }`, audit on / off)",
    `${ratio(ruleResults["rules:norule-args"].on, ruleResults["rules:norule-empty"].on)} / ${ratio(ruleResults["rules:norule-args"].off, ruleResults["rules:norule-empty"].off)}`,
    mark(
      ruleResults["rules:norule-args"].on <= 1.15 * ruleResults["rules:norule-empty"].on &&
        ruleResults["rules:norule-args"].off <= 1.15 * ruleResults["rules:norule-empty"].off,
    )],
  // In KiB, as tests/edge/pack.test.mjs checks it.
  ["`.wasm`, gzip -9: at most 150 KB (aim: 100 KB)", `${(gz / 1024).toFixed(1)} KiB (${(wasm.length / 1024).toFixed(0)} KiB raw)`, mark(gz <= 150 * 1024)],
];

const section = `## Node

\`make bench-npm\` (part of \`make bench\`): \`node bench/node/run.mjs --tarball target/npm/agentguard-VERSION.tgz --write bench/RESULTS.md\`,
Node ${process.version}. The package is installed from the packed tarball; the baseline is
\`bench/node/baseline.mjs\`, a hand-written pure-JS policy (one RegExp per pattern, linear scan,
the same result objects and bounded audit log). Per \`check\`: each figure is the median of ${REPEATS} fresh processes
(interleaved: agentguard and the loop, audit on and off, in turn), each the median of 5 timed rounds after a warm-up.
"Unique names" never repeat (100 000 of them, more than the result cache holds), so every check goes into wasm.

| workload | agentguard, audit on | audit off | JS loop, audit on | audit off | agentguard / loop, on | off |
|---|---|---|---|---|---|---|
${rows.join("\n")}

Every pattern shape of DESIGN.md (\`bench/node/workloads.mjs\`: SHAPES, the same as the Rust and Python benches), ${SHAPE_N.toLocaleString("en").replace(/,/g, " ")}
patterns, audit off; "to 13 patterns" divides by the database-safety figures above (repeated / unique names); the JS loop
is one run, unique names:

| shape | repeated names | unique names | to 13 patterns | JS loop | loop / agentguard |
|---|---|---|---|---|---|
${shapeRows.join("\n")}

Argument conditions: the 20-rule policy of \`bench/workloads/twenty_rules.json\` (every operator, enforced and shadow
rules; the same as the Rust and Python benches), its 9 calls of 3 arguments each, allowed, denied and approval-gated by
rules and by the lists. Only the values a condition of a rule for the called tool reads are converted; the 1 000 more
arguments are none of them JSON data (converting one would throw). Names no rule applies to are decided on the name
alone, from the per-name cache, the arguments unread (an options object costs its own reading, as \`{ context }\` always
has):

| figure | audit on | audit off |
|---|---|---|
${ruleRows.join("\n")}

| budget (DESIGN.md) | measured | |
|---|---|---|
${budget.map((b) => `| ${b.join(" | ")} |`).join("\n")}
`;
console.log(`\n${section}`);

if (args.write) {
  const file = resolve(args.write);
  const text = readFileSync(file, "utf8");
  const begin = "<!-- BEGIN node -->";
  const end = "<!-- END node -->";
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file} has no ${begin} ... ${end} section`);
  writeFileSync(file, `${text.slice(0, a + begin.length)}\n${section}${text.slice(b)}`);
  console.log(`wrote the node section of ${file}`);
}
