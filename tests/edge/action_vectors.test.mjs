// The shared action-policy vectors (tests/vectors/action.json) through the
// npm package's ActionPolicies, installed from the packed tarball as a user
// gets it, in both its CommonJS and ESM entries.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";

import { ROOT, installedPackage } from "./lib.mjs";

const { project } = installedPackage();
const agentguard = createRequire(join(project, "package.json"))("agentguard");

const doc = JSON.parse(readFileSync(join(ROOT, "tests/vectors/action.json"), "utf8"));
const EXPECTED = { get: "policy", delete: "removed", check: "violation", store: "store" };

function runStep({ PolicyError }, store, step) {
  const before = store.toJSON();
  try {
    switch (step.op) {
      case "set":
        store.set(step.agent, step.policy);
        return [null, null];
      case "get":
        return [store.get(step.agent, step.direction), null];
      case "delete":
        return [store.delete(step.agent, step.direction), null];
      case "check":
        return [store.checkIntent({ from: step.from, to: step.to, intentType: step.intent_type }), null];
      case "store":
        return [store.toJSON(), null];
      default:
        throw new Error(`unknown op ${step.op}`);
    }
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    assert.equal(e.name, "PolicyError");
    assert.deepEqual(store.toJSON(), before, `a refused ${step.op} changes nothing`);
    return [null, { kind: e.kind, field: e.field, index: e.index, message: e.message }];
  }
}

async function runAll(lib, t) {
  let steps = 0;
  for (const c of doc.cases) {
    const store = c.store === null ? new lib.ActionPolicies() : lib.ActionPolicies.fromJSON(c.store);
    for (const step of c.steps) {
      const [got, error] = runStep(lib, store, step);
      const want = EXPECTED[step.op] ? step[EXPECTED[step.op]] : null;
      assert.deepEqual({ got, error }, { got: want, error: step.error ?? null }, `${c.name}: ${JSON.stringify(step)}`);
      steps += 1;
    }
    assert.deepEqual(lib.ActionPolicies.fromJSON(JSON.stringify(store.toJSON())).toJSON(), store.toJSON());
  }
  for (const c of doc.store_errors) {
    assert.throws(
      () => lib.ActionPolicies.fromJSON(c.store),
      (e) => {
        assert.ok(e instanceof lib.PolicyError, c.name);
        assert.deepEqual({ kind: e.kind, field: e.field, index: e.index, message: e.message }, {
          kind: c.kind,
          field: c.field,
          index: c.index,
          message: c.message,
        });
        return true;
      },
    );
  }
  t.diagnostic(`${doc.cases.length} cases, ${steps} steps, ${doc.store_errors.length} store errors: 0 failures`);
}

test("action vectors through require('agentguard')", async (t) => {
  await runAll(agentguard, t);
});

test("action vectors through import('agentguard')", async (t) => {
  const entry = createRequire(join(project, "package.json")).resolve("agentguard").replace(/node\.cjs$/, "node.mjs");
  const esm = await import(pathToFileURL(entry).href);
  assert.equal(esm.ActionPolicies, agentguard.ActionPolicies, "one class for both entries");
  await runAll(esm, t);
});

test("JS-side argument checks are TypeErrors, not decisions", () => {
  const { ActionPolicies } = agentguard;
  const p = new ActionPolicies();
  assert.throws(() => p.checkIntent({ from: "a", to: "b", intentType: 5 }), { name: "TypeError", message: /intentType must be a string, got number 5/ });
  assert.throws(() => p.checkIntent({ from: "a", to: "b", intentType: "x.\ud800" }), { name: "TypeError", message: /not well-formed Unicode/ });
  assert.throws(() => p.checkIntent(null), { name: "TypeError" });
  assert.throws(() => p.set("a", "receive"), { name: "PolicyError", message: /^an action policy must be a JSON object, got string "receive"$/ });
  assert.equal(ActionPolicies.resolveAddress("agent://o/e/n"), "n");
  p.set("a", { direction: "send", mode: "allowlist", patterns: ["x.*"] });
  assert.deepEqual(p.agents, ["a"]);
  assert.deepEqual(p.get("a"), { send: { direction: "send", mode: "allowlist", patterns: ["x.*"] }, receive: null });
});

test("the README's ActionPolicies example (gateway section) prints what its comment says", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /<!-- BEGIN gateway -->([\s\S]*?)<!-- END gateway -->/.exec(readme)?.[1];
  assert.ok(section, "README.md has a gateway section");
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "the gateway section has a js example");
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  assert.equal(expected.length, 1);
  const file = join(project, `readme-action-${process.pid}.mjs`);
  writeFileSync(file, code);
  try {
    const stdout = execFileSync(process.execPath, [file], { cwd: project, encoding: "utf8", timeout: 60_000 });
    assert.deepEqual(stdout.trim().split("\n"), expected);
  } finally {
    rmSync(file, { force: true });
  }
});
