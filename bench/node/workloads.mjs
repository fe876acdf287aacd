// The workloads of `make bench` (the same policies and names as the Rust
// benches in benches/check.rs, plus all-unique names).

import { readFileSync } from "node:fs";

export const DB_SAFETY = {
  name: "database-safety",
  allow: ["read_database", "generate_report", "list_tables", "describe_schema"],
  deny: ["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
  require_approval: ["write_database", "create_table", "create_index"],
};

/** The realistic mix of tool names an agent produces: mostly the same few. */
export const DB_NAMES = [
  "read_database",
  "read_database",
  "list_tables",
  "generate_report",
  "drop_table",
  "write_database",
  "describe_schema",
  "read_database",
  "delete_users",
  "send_email",
  "truncate_logs",
  "create_index",
];

/**
 * Names as an agent gets them: parsed from the model's JSON (flat strings,
 * not the rope a template literal builds, which every engine must flatten
 * on first use).
 */
const fromJson = (names) => JSON.parse(JSON.stringify(names));

const VERBS = ["read", "list", "drop", "delete", "write", "create", "send", "truncate", "generate", "describe"];

/** Every name different (more than the package's result cache holds). */
export function dbUniqueNames(count = 100_000) {
  return fromJson(Array.from({ length: count }, (_, j) => `${VERBS[j % VERBS.length]}_table_${j}`));
}

/** A policy of `n` patterns: a quarter each of exact names, `prefix_*`, `*_suffix`, `?`/class patterns. */
export function largeSpec(n) {
  const spec = { allow: [], deny: [], require_approval: [] };
  for (let i = 0; i < n; i++) {
    const p = [`tool_${i}`, `ns${i}_*`, `*_sfx${i}`, `q${i}_[a-f]?`][i % 4];
    const k = i % 10;
    (k <= 5 ? spec.allow : k <= 8 ? spec.deny : spec.require_approval).push(p);
  }
  return spec;
}

/** 64 names, repeated: hits of every kind of pattern and misses. */
export function largeNames(n) {
  return fromJson(
    Array.from({ length: 64 }, (_, k) => {
      const i = (k * 7919) % n;
      return [`tool_${i}`, `ns${i}_anything`, `call_sfx${i}`, `q${i}_bz`, `missing_${k}`][k % 5];
    }),
  );
}

/** All-unique names against a large policy: hits and misses. */
export function largeUniqueNames(n, count = 100_000) {
  return fromJson(
    Array.from({ length: count }, (_, j) => {
      const i = (j * 7919) % n;
      return [`ns${i}_u${j}`, `u${j}_sfx${i}`, `missing_${j}`, `tool_${i}_${j}`][j % 4];
    }),
  );
}

// ---- every pattern shape of DESIGN.md's budget (as benches/check.rs) ----

const RANGES = ["a-b", "c-d", "e-f", "g-h", "i-j", "k-l", "m-n", "o-p", "q-r", "s-t"];
const digitRange = (i, k) => RANGES[Math.floor(i / 10 ** k) % 10];

/**
 * Pattern `i` of each shape, and a name that pattern `i` matches: exact
 * names; families sharing a short literal prefix (`mcp__*__delete_N`,
 * `t[0-9]N?`); a shared suffix; an inner literal only; sets and `?`; no
 * literal at all.
 */
export const SHAPES = {
  exact: { label: "exact names", pattern: (i) => `${VERBS[i % 10]}_record_${i}`, hit: (i) => `${VERBS[i % 10]}_record_${i}` },
  prefix_star: { label: "shared prefix `mcp__*__delete_N`", pattern: (i) => `mcp__*__delete_${i}`, hit: (i) => `mcp__filesystem__delete_${i}` },
  prefix_class: { label: "shared prefix `t[0-9]N?`", pattern: (i) => `t[0-9]${i}?`, hit: (i) => `t7${i}x` },
  suffix: { label: "shared suffix `*_N?.log`", pattern: (i) => `*_${i}?.log`, hit: (i) => `app/server_${i}x.log` },
  inner: { label: "inner literal only `?*_opN_*?`", pattern: (i) => `?*_op${i}_*?`, hit: (i) => `x_op${i}_y` },
  classes: { label: "sets and `?` `[a-f]?N[0-9]?`", pattern: (i) => `[a-f]?${i}[0-9]?`, hit: (i) => `cz${i}5q` },
  no_literal: {
    label: "no literal `[a-b]?[c-d][e-f]*[g-h]`",
    pattern: (i) => `[${digitRange(i, 0)}]?[${digitRange(i, 1)}][${digitRange(i, 2)}]*[${digitRange(i, 3)}]`,
    hit: (i) => `${digitRange(i, 0)[0]}z${digitRange(i, 1)[0]}${digitRange(i, 2)[0]}zz${digitRange(i, 3)[0]}`,
  },
};

/** A policy of `n` patterns of one shape, spread over the three lists like `largeSpec`. */
export function shapeSpec(shape, n) {
  const spec = { allow: [], deny: [], require_approval: [] };
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    (k <= 5 ? spec.allow : k <= 8 ? spec.deny : spec.require_approval).push(SHAPES[shape].pattern(i));
  }
  return spec;
}

/** Repeated names for one shape: hits of early, middle and late patterns, near misses, and names holding only what the shape's patterns share. */
export function shapeNames(shape, n) {
  const names = [];
  for (const k of [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1]) {
    const hit = SHAPES[shape].hit(k);
    names.push(hit, `${hit}~`);
  }
  names.push("send_email", "mcp__filesystem__delete_", "t7x", "app/server.log", "x_op_y", "cz5q", "_op1_op12_op123_op1234_op12345_");
  return fromJson(names);
}

/** All-unique names for one shape: hits and near misses of patterns all over the policy. */
export function shapeUniqueNames(shape, n, count = 100_000) {
  return fromJson(
    Array.from({ length: count }, (_, j) => {
      const hit = SHAPES[shape].hit((j * 7919) % n);
      return j % 2 ? hit : `${hit}~${j}`;
    }),
  );
}

// ---- argument conditions: the 20-rule workload shared with Rust and Python ----

/** bench/workloads/twenty_rules.json: `{ policy, calls: [{ tool, args }] }`, 3 arguments a call. */
export function twentyRules() {
  return JSON.parse(readFileSync(new URL("../workloads/twenty_rules.json", import.meta.url), "utf8"));
}

/**
 * 1 000 argument values that no condition reads, for a call to carry beside
 * its own; none of them JSON data, so converting one would throw.
 */
export function unreadArguments(count = 1000) {
  const out = {};
  for (let i = 0; i < count; i++) out[`extra_${i}`] = [new Map([[i, i]]), () => i, BigInt(i), new Set([i])][i % 4];
  return out;
}

/** Names no rule of the 20-rule policy applies to (its lists decide them): the name-only path. */
export const NO_RULE_NAMES = fromJson(["list_files", "drop_table", "list_files", "stat_file2", "drop_index", "list_files", "whoami", "list_files"]);
