// When the package reads its .wasm under import: once, at import (node.mjs
// loads it from ESM, so that a bundle of it needs no `require`), and
// require() then shares that instance.
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { test } from "node:test";

// Count reads of the .wasm, through require("node:fs") and ESM imports of it alike.
const reads = [];
const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (String(path).endsWith("agentguard_bg.wasm")) reads.push(String(path));
  return readFileSync.call(this, path, ...rest);
};
syncBuiltinESMExports();

test("import reads the .wasm once, next to node.mjs, and require() reuses it", async () => {
  const esm = await import("agentguard");
  assert.equal(reads.length, 1, reads.join(", "));
  assert.equal(reads[0], new URL("./agentguard_bg.wasm", import.meta.resolve("agentguard")).href);
  assert.equal(esm.fnmatch("drop_table", "drop_*"), true);
  const cjs = createRequire(import.meta.url)("agentguard");
  assert.equal(new cjs.Policy({ deny: ["drop_*"] }).check("drop_table").decision, "deny");
  assert.equal(reads.length, 1, `read again: ${reads.join(", ")}`);
});

