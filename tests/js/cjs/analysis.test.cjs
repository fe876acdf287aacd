// agentguard/analysis through require(): the classes of `agentguard`, and
// the shared vectors' answers.
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { test } = require("node:test");

const { Policy, PolicyError } = require("agentguard");
const analysis = require("agentguard/analysis");

test("require('agentguard/analysis') gives lint, diff, testPolicy", () => {
  for (const name of ["lint", "diff", "testPolicy", "init", "initSync"]) assert.equal(typeof analysis[name], "function", name);
  assert.ok(require.resolve("agentguard/analysis").endsWith("analysis-node.cjs"));
  assert.throws(() => analysis.testPolicy(new Policy({}), [{ tool: "a" }]), PolicyError);
});

test("vectors through require()", () => {
  const { cases } = JSON.parse(readFileSync(join(process.env.AGENTGUARD_VECTORS, "analysis.json"), "utf8"));
  for (const c of cases) {
    let got;
    if (c.op === "lint") got = analysis.lint(new Policy(c.policy));
    else if (c.op === "diff") got = analysis.diff(new Policy(c.old), new Policy(c.new));
    else if (c.error) {
      assert.throws(() => analysis.testPolicy(c.policy, c.fixtures), (e) => e instanceof PolicyError && e.message === c.error.message);
      continue;
    } else got = analysis.testPolicy(c.policy, c.fixtures);
    assert.deepStrictEqual(got, c.want, c.name);
  }
});
