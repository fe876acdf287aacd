// The package through require() in a CommonJS project, and one set of
// classes for require() and import() (no dual-package hazard).
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const { join } = require("node:path");
const { test } = require("node:test");

const ag = require("agentguard");

test("require() gives the whole API", () => {
  for (const name of ["ApprovalRequired", "AuditEntry", "GatewayClient", "GatewayError", "Policy", "PolicyError", "ToolDenied", "fnmatch", "init", "initSync"]) {
    assert.ok(name in ag, name);
  }
  const policy = new ag.Policy({ allow: ["read_*"], deny: ["drop_*"], name: "cjs" });
  assert.equal(policy.check("drop_table").reason, "denied by pattern: drop_*");
  assert.equal(policy.name, "cjs");
  assert.equal(ag.fnmatch("read_x", "read_?"), true);
  assert.ok(require.resolve("agentguard").endsWith("node.cjs"));
});

test("import() and require() share one set of classes", async () => {
  const esm = await import("agentguard");
  for (const name of Object.keys(ag)) assert.equal(esm[name], ag[name], name);
  const policy = new esm.Policy({ deny: ["drop_*"] });
  assert.throws(
    () => policy.enforce("drop_table"),
    (e) => e instanceof ag.ToolDenied && e instanceof esm.ToolDenied,
  );
  assert.throws(() => new ag.Policy({ denny: [] }), esm.PolicyError);
  assert.ok(new esm.Policy() instanceof ag.Policy);
});

test("vectors through require()", () => {
  const dir = process.env.AGENTGUARD_VECTORS;
  const { cases } = JSON.parse(readFileSync(join(dir, "policy.json"), "utf8"));
  let checks = 0;
  for (const c of cases) {
    const options = c.approval === null ? {} : { onApproval: () => c.approval };
    const policy = new ag.Policy(c.policy, options);
    for (const k of c.checks) {
      const r = policy.check(k.tool, { context: k.context });
      assert.deepEqual([r.decision, r.reason, r.matchedRule], [k.decision, k.reason, k.matched_rule]);
      checks++;
    }
    const audit = policy.auditLog.map((e) => {
      const { timestamp, ...rest } = e.toJSON();
      return rest;
    });
    assert.equal(JSON.stringify(audit), JSON.stringify(c.audit), c.name);
  }
  const fn = JSON.parse(readFileSync(join(dir, "fnmatch.json"), "utf8")).cases;
  for (const c of fn) assert.equal(ag.fnmatch(c.name, c.pattern), c.match, `${c.pattern} ${c.name}`);
  console.log(`cjs vectors: ${checks} checks, ${fn.length} fnmatch cases, 0 mismatches`);
});
