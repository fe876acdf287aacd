// agentguard/analysis loads its own module lazily: importing `agentguard`
// or `agentguard/analysis` reads no analysis .wasm; the first call reads it
// once, next to the entry, and require() shares it and the main classes.
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { test } from "node:test";

const reads = [];
const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (String(path).endsWith(".wasm")) reads.push(String(path).split("/").pop());
  return readFileSync.call(this, path, ...rest);
};
syncBuiltinESMExports();

test("the analysis module is read on first use, once", async () => {
  const main = await import("agentguard");
  const analysis = await import("agentguard/analysis");
  assert.deepEqual(reads, ["agentguard_bg.wasm"]);
  assert.equal(main.fnmatch("a", "a"), true);
  assert.deepEqual(reads, ["agentguard_bg.wasm"]);
  assert.deepEqual(analysis.lint(new main.Policy({ allow: ["read_*"] })), []);
  assert.deepEqual(reads, ["agentguard_bg.wasm", "agentguard_analysis_bg.wasm"]);
  const cjs = createRequire(import.meta.url)("agentguard/analysis");
  assert.equal(cjs.lint, analysis.lint);
  assert.equal(cjs.diff({ deny: ["a"] }, { deny: ["a"] }).changes.length, 0);
  assert.equal(reads.length, 2, reads.join(", "));
  assert.ok(import.meta.resolve("agentguard/analysis").endsWith("/analysis-node.mjs"));
});
