// When the package reads its .wasm under require(): not at require() (the
// Node entry loads it on first use, so a bundler can turn node.mjs and
// node.cjs into one ES module), and once, shared with import().
const assert = require("node:assert/strict");
const fs = require("node:fs");
const { syncBuiltinESMExports } = require("node:module");
const { test } = require("node:test");

// Count reads of the .wasm, through require("node:fs") and ESM imports of it alike.
const reads = [];
const readFileSync = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (String(path).endsWith("agentguard_bg.wasm")) reads.push(String(path));
  return readFileSync.call(this, path, ...rest);
};
syncBuiltinESMExports();

test("require() reads the .wasm on first use, once, and import() reuses it", async () => {
  const ag = require("agentguard");
  assert.deepEqual(reads, [], "nothing is read at require()");
  assert.equal(new ag.Policy({ deny: ["drop_*"] }).check("drop_table").decision, "deny");
  assert.equal(reads.length, 1, reads.join(", "));
  assert.ok(reads[0].endsWith(`${require("node:path").sep}agentguard_bg.wasm`));
  assert.equal(ag.fnmatch("read_x", "read_*"), true);
  const esm = await import("agentguard");
  assert.equal(esm.fnmatch("drop_table", "drop_*"), true);
  assert.equal(new esm.Policy({ allow: ["read_*"] }).check("read_x").decision, "allow");
  assert.equal(reads.length, 1, `read again after import(): ${reads.join(", ")}`);
});
