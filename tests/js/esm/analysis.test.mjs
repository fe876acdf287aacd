// agentguard/analysis through the installed package: the shared cases of
// tests/vectors/analysis.json (written from the core by
// tests/analysis_vectors.rs) must come back exactly, for every way of
// passing a policy (a Policy, a policy object, its JSON text) and fixtures
// (objects, JSON text). Then the size budget of the main module, which the
// analysis stays out of.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gzipSync } from "node:zlib";

import { Policy, PolicyError } from "agentguard";
import { diff, lint, testPolicy } from "agentguard/analysis";

const { cases } = JSON.parse(readFileSync(join(process.env.AGENTGUARD_VECTORS, "analysis.json"), "utf8"));

/** A policy as each accepted form. */
const forms = (spec) => [new Policy(spec), Policy.fromJSON(JSON.stringify(spec)), spec, JSON.stringify(spec)];

/** Deep equality, and the same JSON text (key order included). */
function same(got, want, what) {
  assert.deepStrictEqual(got, want, what);
  assert.equal(JSON.stringify(got), JSON.stringify(want), what);
}

test("vectors: every operation, 20 to 40 cases", () => {
  assert.deepEqual(new Set(cases.map((c) => c.op)), new Set(["lint", "diff", "test"]));
  assert.ok(cases.length >= 20 && cases.length <= 40, `${cases.length}`);
});

for (const c of cases) {
  test(`vector: ${c.name}`, () => {
    if (c.op === "lint") {
      for (const p of forms(c.policy)) same(lint(p), c.want, c.name);
    } else if (c.op === "diff") {
      const olds = forms(c.old);
      const news = forms(c.new);
      olds.forEach((old, i) => same(diff(old, news[i]), c.want, c.name));
    } else {
      const fixtures = typeof c.fixtures === "string" ? [c.fixtures] : [c.fixtures, JSON.stringify(c.fixtures)];
      for (const p of forms(c.policy)) {
        for (const f of fixtures) {
          if (c.error) {
            assert.throws(
              () => testPolicy(p, f),
              (e) => {
                assert.ok(e instanceof PolicyError, `${c.name}: ${e}`);
                same([e.kind, e.field, e.index, e.message], [c.error.kind, c.error.field, c.error.index, c.error.message], c.name);
                return true;
              },
            );
          } else {
            same(testPolicy(p, f), c.want, c.name);
          }
        }
      }
    }
  });
}

test("a Policy argument is read exactly, callbacks and all, and stays usable", () => {
  const policy = new Policy({ deny: ["drop_*"], allow: ["drop_table"] }, { onApproval: () => true });
  assert.equal(lint(policy)[0].code, "shadowed");
  assert.equal(policy.check("drop_table").decision, "deny");
  // Bounds past 2^53 reach the analysis as the core holds them, never
  // through a double (toJSON() would make these two policies one).
  const text = (bound) =>
    `{"default": "allow", "rules": [{"id": "big", "tool": "t", "decision": "deny", "when": {"n": {"gt": ${bound}}}}]}`;
  const [a, b] = [Policy.fromJSON(text("9007199254740992")), Policy.fromJSON(text("9007199254740993"))];
  const d = diff(a, b);
  assert.deepEqual(
    d.changes.map((c) => [c.from, c.to, c.tool, c.old_rule, c.new_rule]),
    [["deny", "allow", "t", "big", null]],
  );
  assert.deepEqual(diff(a.toJSON(), b.toJSON()).changes, []);
  assert.equal(diff(text("9007199254740992"), text("9007199254740993")).changes.length, 1);
});

test("a bad policy fails as Policy.fromJSON does", () => {
  for (const bad of [{ deny: "drop_*" }, { denny: ["x"] }, "{not json", '{"allow": ["a"], "allow": ["b"]}']) {
    let want;
    try {
      Policy.fromJSON(bad);
    } catch (e) {
      want = e;
    }
    assert.ok(want instanceof PolicyError);
    for (const call of [() => lint(bad), () => diff(bad, {}), () => diff({}, bad), () => testPolicy(bad, [])]) {
      assert.throws(call, (e) => e instanceof PolicyError && e.message === want.message && e.kind === want.kind);
    }
  }
  for (const bad of [undefined, null, 5, true]) {
    assert.throws(() => lint(bad), TypeError);
  }
  const freed = new Policy({ allow: ["a"] });
  freed.free();
  assert.throws(() => lint(freed), /was freed/);
});

test("fixtures that are not JSON data, or not fixtures", () => {
  const p = { allow: ["a"] };
  assert.throws(() => testPolicy(p, { tool: "a", expect: "allow" }), TypeError);
  assert.throws(() => testPolicy(p, undefined), TypeError);
  assert.throws(
    () => testPolicy(p, [{ tool: "a", expect: "allow", args: { when: new Date() } }]),
    (e) => e instanceof TypeError && e.kind === "wrong_type" && e.message.startsWith("fixtures[0].args.when:"),
  );
  assert.throws(() => testPolicy(p, [{ tool: "a", expect: "allow", args: { n: NaN } }]), TypeError);
  assert.throws(() => testPolicy(p, [{ tool: "\ud800", expect: "allow" }]), PolicyError);
  assert.throws(() => testPolicy(p, '[{"tool": "\ud800", "expect": "allow"}]'), (e) => e instanceof PolicyError && e.kind === "json");
  assert.throws(() => testPolicy(p, [5]), (e) => e instanceof PolicyError && e.kind === "not_an_object" && e.field === "fixtures[0]");
  // undefined keys are absent, as in JSON.
  assert.equal(testPolicy(p, [{ tool: "a", expect: "allow", rule: undefined }]).passed, 1);
});

test("answers are fresh plain objects", () => {
  const spec = { deny: ["drop_*"], allow: ["drop_table"] };
  const a = lint(spec);
  assert.equal(Object.getPrototypeOf(a[0]), Object.prototype);
  a[0].code = "changed";
  assert.equal(lint(spec)[0].code, "shadowed");
});

test("the main module stays within its size budget (150 KiB gzip -9, as tests/edge/pack.test.mjs)", () => {
  const dir = new URL(".", import.meta.resolve("agentguard"));
  const main = readFileSync(new URL("agentguard_bg.wasm", dir));
  const analysis = readFileSync(new URL("agentguard_analysis_bg.wasm", dir));
  const gz = (b) => gzipSync(b, { level: 9 }).length;
  const line = `agentguard_bg.wasm ${(gz(main) / 1024).toFixed(1)} KiB gzipped; agentguard_analysis_bg.wasm ${(gz(analysis) / 1024).toFixed(1)} KiB (lazy, not in the budget)`;
  console.log(line);
  assert.ok(gz(main) <= 150 * 1024, line);
});
