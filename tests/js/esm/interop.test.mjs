// From an ES module: import and createRequire see the same classes, and the
// package resolves to the Node entries.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

import * as esm from "agentguard";

const require = createRequire(import.meta.url);

test("import resolves to node.mjs, require to node.cjs, with one set of classes", () => {
  assert.ok(import.meta.resolve("agentguard").endsWith("/node.mjs"));
  assert.ok(require.resolve("agentguard").endsWith("node.cjs"));
  const cjs = require("agentguard");
  assert.deepEqual(Object.keys(esm).sort(), Object.keys(cjs).sort());
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name);
  assert.throws(
    () => new cjs.Policy({ require_approval: ["*"] }).enforce("x"),
    (e) => e instanceof esm.ApprovalRequired && e instanceof esm.ToolDenied,
  );
});

test("the package's files are exactly the ones it needs", () => {
  const pkg = require("agentguard/package.json");
  assert.deepEqual(pkg.dependencies ?? {}, {});
  assert.equal(pkg.engines.node, ">=18");
  assert.equal(pkg.types, "./index.d.ts");
  assert.equal(pkg.exports["."].types, "./index.d.ts");
  assert.ok(require.resolve("agentguard/agentguard_bg.wasm").endsWith("agentguard_bg.wasm"));
});
