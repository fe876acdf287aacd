// The workloads of `make bench` (the same policies and names as the Rust
// benches in benches/check.rs, plus all-unique names).

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
