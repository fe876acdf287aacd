// Conformance through the installed package: the shared vectors in
// tests/vectors/ and the differential corpus (CPython's fnmatch and
// tokenfence 0.3.1's Policy) from `make corpus`. Zero mismatches allowed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Policy, PolicyError, fnmatch } from "agentguard";

const VECTORS = process.env.AGENTGUARD_VECTORS;
const CORPUS = process.env.AGENTGUARD_CORPUS;
const json = (dir, f) => JSON.parse(readFileSync(join(dir, f), "utf8"));
const jsonl = (dir, f) =>
  readFileSync(join(dir, f), "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));

function report(t, what, total, mismatches) {
  const line = `${what}: ${total} cases, ${mismatches.length} mismatches`;
  t.diagnostic(line);
  console.log(line);
  assert.deepEqual(mismatches.slice(0, 20), [], line);
}

test("vectors: fnmatch", (t) => {
  assert.ok(VECTORS, "AGENTGUARD_VECTORS is set");
  const { cases } = json(VECTORS, "fnmatch.json");
  const bad = cases
    .filter((c) => fnmatch(c.name, c.pattern) !== c.match)
    .map((c) => `${JSON.stringify(c.pattern)} ${JSON.stringify(c.name)}: want ${c.match}`);
  assert.ok(cases.length > 100);
  report(t, "vectors fnmatch", cases.length, bad);
});

test("vectors: policies, decisions and audit entries", (t) => {
  const { cases } = json(VECTORS, "policy.json");
  const bad = [];
  let checks = 0;
  for (const c of cases) {
    const options = c.approval === null ? {} : { onApproval: () => c.approval };
    const policy = new Policy(c.policy, options);
    assert.deepEqual(policy.toJSON(), c.policy, `${c.name}: toJSON round-trips`);
    assert.deepEqual(Object.keys(policy.toJSON()), Object.keys(c.policy), `${c.name}: key order`);
    for (const k of c.checks) {
      checks++;
      const r = policy.check(k.tool, { context: k.context });
      const got = [r.decision, r.reason, r.matchedRule];
      const want = [k.decision, k.reason, k.matched_rule];
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        bad.push(`${c.name} ${JSON.stringify(k.tool)}: got ${JSON.stringify(got)} want ${JSON.stringify(want)}`);
      }
    }
    const audit = policy.auditLog.map((e) => {
      const d = e.toJSON();
      assert.equal(typeof d.timestamp, "number");
      delete d.timestamp;
      return d;
    });
    // JSON text, so key order (tokenfence's to_dict order) counts too.
    if (JSON.stringify(audit) !== JSON.stringify(c.audit)) {
      bad.push(`${c.name}: audit ${JSON.stringify(audit)} want ${JSON.stringify(c.audit)}`);
    }
  }
  report(t, `vectors policy (${cases.length} policies)`, checks, bad);
});

test("vectors: spec errors", (t) => {
  const { cases } = json(VECTORS, "spec_errors.json");
  const bad = [];
  for (const c of cases) {
    for (const load of [() => new Policy(c.spec), () => Policy.fromJSON(JSON.stringify(c.spec))]) {
      try {
        load();
        bad.push(`${c.name}: loaded`);
      } catch (e) {
        assert.ok(e instanceof PolicyError, `${c.name}: ${e}`);
        const got = [e.kind, e.field, e.index, e.message];
        const want = [c.kind, c.field, c.index, c.message];
        if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${c.name}: ${JSON.stringify(got)}`);
      }
    }
  }
  report(t, "vectors spec errors", cases.length * 2, bad);
});

test("corpus: fnmatch against CPython", (t) => {
  assert.ok(CORPUS, "AGENTGUARD_CORPUS is set");
  const cases = jsonl(CORPUS, "fnmatch.jsonl");
  assert.ok(cases.length >= 200_000, `corpus too small: ${cases.length}`);
  const bad = [];
  for (const c of cases) {
    if (fnmatch(c.n, c.p) !== c.m) bad.push(`${JSON.stringify(c.p)} ${JSON.stringify(c.n)}: CPython says ${c.m}`);
  }
  report(t, "corpus fnmatch", cases.length, bad);
});

test("corpus: policies against tokenfence", (t) => {
  const cases = jsonl(CORPUS, "policy.jsonl");
  assert.ok(cases.length >= 20_000, `corpus too small: ${cases.length}`);
  const bad = [];
  let checks = 0;
  for (const c of cases) {
    const policy = new Policy(c.policy, { auditCapacity: 0 });
    if (JSON.stringify(policy.toJSON()) !== JSON.stringify(c.policy)) {
      bad.push(`round-trip ${JSON.stringify(c.policy)}`);
    }
    for (const [tool, decision, reason, rule] of c.checks) {
      checks++;
      const r = policy.check(tool);
      if (r.decision !== decision || r.reason !== reason || r.matchedRule !== rule) {
        bad.push(
          `${JSON.stringify(c.policy)} ${JSON.stringify(tool)}: got ${JSON.stringify([r.decision, r.reason, r.matchedRule])}`,
        );
      }
    }
    policy.free();
  }
  report(t, `corpus policy (${cases.length} policies)`, checks, bad);
});
