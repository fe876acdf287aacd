// Argument conditions (CONDITIONS.md) through the installed package: the
// hand-written vectors of tests/vectors/conditions.json and the whole
// generated corpus (`make corpus`: tests/conditions/generate.py, judged by
// the independent reference model), replayed as tests/conditions.rs and
// tests/python/test_conditions.py replay them, with zero mismatches in
// decision, reason, matched rule, rule and shadow: `evaluate` with the
// call's arguments, and `check` (then `checkAsync` on every fourth call)
// with an approver answering true and false, and the audit entries. Every
// bad policy of the vectors is a PolicyError at the vector's path with
// exactly its message (the core's, as tests/vectors.rs checks it).
//
// A JavaScript number cannot hold every integer the core compares exactly
// (2 ** 53 + 1, 2 ** 64 - 1): the calls whose arguments' JSON text holds
// such a literal where a rule for the tool reads it (the value at one of
// the rules' argument paths, found in the text itself: json-spans.mjs) are
// left out, counted and bounded. Such an integer elsewhere in the
// arguments is never converted, so those calls are replayed. Policies are
// loaded from their JSON text, exactly.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Policy, PolicyError, fnmatch } from "agentguard";

import { arraySpans, inexactIntegers, objectSpans } from "./json-spans.mjs";

const VECTORS = process.env.AGENTGUARD_VECTORS;
const CORPUS = process.env.AGENTGUARD_CORPUS;

function report(t, line, mismatches) {
  t.diagnostic(line);
  console.log(line);
  assert.deepEqual(mismatches.slice(0, 10), [], line);
}

/** The result's JSON form without `tool`, as the reference writes it. */
function judged(r) {
  const d = r.toJSON();
  assert.equal(d.tool, r.tool);
  delete d.tool;
  return JSON.stringify(d);
}

/**
 * What an approval answer makes of a require_approval result (the corpus
 * has the reference's answer; the hand-written vectors do not).
 */
function resolved(expect, approved) {
  if (expect.decision !== "require_approval") return expect;
  const via = "list" in expect.rule ? `pattern: ${expect.matched_rule}` : `rule: ${expect.matched_rule}`;
  return approved
    ? { ...expect, decision: "allow", reason: `approved via callback (${via})` }
    : { ...expect, decision: "deny", reason: `approval denied via callback (${via})` };
}

/** Where a PolicyError points, as the reference writes it: `field[index]`. */
const errorPath = (e) => (e.index === null ? e.field : `${e.field}[${e.index}]`);

/** The expected result JSON, keys in the core's order. */
const want = (e) =>
  JSON.stringify({ decision: e.decision, reason: e.reason, matched_rule: e.matched_rule, rule: e.rule, shadow: e.shadow });

/**
 * One policy of a replay, with an approver whose answer the replay sets and
 * a sink that keeps the last audit entry.
 */
class Replay {
  constructor(policyText) {
    this.answer = true;
    this.entry = null;
    this.policy = Policy.fromJSON(policyText, {
      onApproval: () => this.answer,
      onDecision: (e) => {
        this.entry = e;
      },
      auditCapacity: 0,
    });
    this.audit = this.policy.toJSON().audit;
  }

  /** Every way the package disagrees with the reference on one call (`n`: its number). */
  async mismatches(call, n) {
    const { tool, args, expect } = call;
    const out = [];
    const where = () => `${JSON.stringify(tool)} ${JSON.stringify(args)}`;
    const evaluate = () => {
      const got = judged(this.policy.evaluate(tool, { args }));
      if (got !== want(expect)) out.push(`evaluate ${where()}: got ${got}, want ${want(expect)}`);
    };
    // Half the calls evaluate first, half check first: the first call of a
    // name takes another way through the package than the later ones.
    if (n % 2 === 0) evaluate();
    for (const [answer, key] of [
      [true, "approved"],
      [false, "refused"],
    ]) {
      const w = call[key] ?? resolved(expect, answer);
      const runs = n % 4 === 1 ? ["check", "checkAsync"] : ["check"];
      for (const how of runs) {
        this.answer = answer;
        this.entry = null;
        const r = how === "check" ? this.policy.check(tool, { args }) : await this.policy.checkAsync(tool, { args });
        const got = judged(r);
        if (got !== want(w)) out.push(`${how} ${where()} (${key}): got ${got}, want ${want(w)}`);
        if (this.audit) {
          const e = this.entry;
          const logged = e && JSON.stringify([e.tool, e.decision, e.reason, e.matchedRule, e.shadow]);
          if (logged !== JSON.stringify([tool, w.decision, w.reason, w.matched_rule, w.shadow])) {
            out.push(`${how} audit entry ${where()} (${key}): ${logged}, want ${want(w)}`);
          } else if ("shadow" in e.toJSON() !== w.shadow.length > 0) {
            out.push(`${how} audit entry JSON ${where()} (${key}): ${JSON.stringify(e.toJSON())}`);
          }
        } else if (this.entry !== null) {
          out.push(`audit off, yet an entry: ${JSON.stringify(this.entry)}`);
        }
      }
    }
    if (n % 2 === 1) evaluate();
    return out;
  }
}

/** The argument paths the rules of `policy` that apply to `tool` read. */
function readPaths(policy, tool) {
  const paths = new Set();
  for (const r of policy.rules ?? []) {
    const tools = typeof r.tool === "string" ? [r.tool] : r.tool;
    if (tools.some((p) => fnmatch(tool, p))) for (const path of Object.keys(r.when ?? {})) paths.add(path);
  }
  return paths;
}

/**
 * The calls of one case in `text` (the case's JSON text), each with the
 * integers its arguments hold that no JavaScript number holds: `inexact`
 * where a rule for the tool reads them, `unread` elsewhere.
 */
function callsOf(text, parsed) {
  const spans = arraySpans(text, objectSpans(text).get("calls")[0]);
  return parsed.calls.map((call, i) => {
    const args = objectSpans(text, spans[i][0]).get("args");
    const all = inexactIntegers(text.slice(...args));
    const inexact = [];
    if (all.length > 0) {
      for (const path of readPaths(parsed.policy, call.tool)) {
        let span = args;
        for (const key of path.split(".")) {
          // A value that is not an object: the path below it is missing.
          span = text[span[0]] === "{" ? objectSpans(text, span[0]).get(key) : undefined;
          if (span === undefined) break;
        }
        if (span !== undefined) inexact.push(...inexactIntegers(text.slice(...span)));
      }
    }
    return { call, inexact, unread: all.length > 0 && inexact.length === 0 };
  });
}

test("conditions vectors: every call, and every policy error", async (t) => {
  assert.ok(VECTORS, "AGENTGUARD_VECTORS is set");
  const text = readFileSync(join(VECTORS, "conditions.json"), "utf8");
  const file = JSON.parse(text);
  const caseSpans = arraySpans(text, objectSpans(text).get("cases")[0]);
  const bad = [];
  let calls = 0;
  let excluded = 0;
  let unreadBig = 0;
  for (const [k, c] of file.cases.entries()) {
    const caseText = text.slice(...caseSpans[k]);
    const [ps, pe] = objectSpans(caseText).get("policy");
    const replay = new Replay(caseText.slice(ps, pe));
    // The same policy from the object, where the object holds it exactly.
    if (inexactIntegers(caseText.slice(ps, pe)).length === 0) {
      assert.deepEqual(new Policy(c.policy).toJSON(), replay.policy.toJSON(), c.name);
    }
    for (const [n, { call, inexact, unread }] of callsOf(caseText, c).entries()) {
      if (inexact.length > 0) {
        excluded++;
        continue;
      }
      calls++;
      unreadBig += unread;
      for (const m of await replay.mismatches(call, n)) bad.push(`${c.name}: ${m}`);
    }
  }
  assert.ok(calls >= 80, `${calls} calls`);
  assert.ok(excluded <= 10, `${excluded} calls left out`);
  report(
    t,
    `conditions vectors: ${file.cases.length} policies, ${calls + excluded} calls, ${calls} replayed (${unreadBig} of them with such integers where no rule reads them), ${excluded} left out (a rule reads an integer no JS number holds), ${bad.length} mismatches`,
    bad,
  );

  const errors = [];
  for (const c of file.errors) {
    for (const load of [() => new Policy(c.policy), () => Policy.fromJSON(JSON.stringify(c.policy))]) {
      try {
        load();
        errors.push(`${c.name}: loaded`);
      } catch (e) {
        if (!(e instanceof PolicyError)) errors.push(`${c.name}: ${e}`);
        else if (errorPath(e) !== c.path) errors.push(`${c.name}: ${errorPath(e)} (${e.message}), want ${c.path}`);
        // The core's message, unchanged: the package never re-words it.
        else if (e.message !== c.message) {
          errors.push(`${c.name}: message ${JSON.stringify(e.message)}, want ${JSON.stringify(c.message)}`);
        }
      }
    }
  }
  assert.ok(file.errors.length >= 70);
  report(t, `conditions error vectors: ${file.errors.length} policies, ${errors.length} mismatches`, errors);
});

function* lines(name) {
  assert.ok(CORPUS, "AGENTGUARD_CORPUS is set");
  for (const line of readFileSync(join(CORPUS, name), "utf8").split("\n")) if (line.length > 0) yield line;
}

test("conditions corpus: every policy and call against the reference model", async (t) => {
  let policies = 0;
  let calls = 0;
  let checks = 0;
  let approvals = 0;
  let excluded = 0;
  let unreadBig = 0;
  const bad = [];
  for (const line of lines("conditions.jsonl")) {
    policies++;
    const c = JSON.parse(line);
    const [ps, pe] = objectSpans(line).get("policy");
    let replay;
    try {
      replay = new Replay(line.slice(ps, pe));
    } catch (e) {
      bad.push(`refused ${line.slice(ps, pe)}: ${e.message}`);
      continue;
    }
    for (const [n, { call, inexact, unread }] of callsOf(line, c).entries()) {
      if (inexact.length > 0) {
        excluded++;
        continue;
      }
      calls++;
      unreadBig += unread;
      checks += n % 4 === 1 ? 4 : 2;
      if (call.approved !== null) approvals++;
      for (const m of await replay.mismatches(call, n)) bad.push(`${m}\n  policy ${line.slice(ps, pe)}`);
    }
    replay.policy.free();
  }
  const total = calls + excluded;
  report(
    t,
    `conditions corpus: ${policies} policies, ${total} calls, ${calls} replayed (${calls} evaluate, ${checks} check/checkAsync, ${approvals} approval answers each way; ${unreadBig} with integers no JS number holds where no rule reads them), ${excluded} left out (a rule reads such an integer), ${bad.length} mismatches`,
    bad,
  );
  assert.ok(policies >= 1000 && calls >= 20_000 && approvals >= 100, "corpus too small");
  // Left out: only the calls where a rule reads such an integer (the
  // generator puts 2 ** 53 + 1, 2 ** 63 - 1 and 2 ** 64 - 1 among one in
  // ten of its numbers), never a large share.
  assert.ok(excluded < total * 0.08, `${excluded} of ${total} calls left out`);
});

test("condition errors corpus: every invalid policy names the reference's path", (t) => {
  let total = 0;
  const bad = [];
  for (const line of lines("condition_errors.jsonl")) {
    total++;
    const c = JSON.parse(line);
    const [ps, pe] = objectSpans(line).get("policy");
    try {
      Policy.fromJSON(line.slice(ps, pe));
      bad.push(`accepted ${line}`);
    } catch (e) {
      if (!(e instanceof PolicyError)) bad.push(`${e}: ${line}`);
      else if (errorPath(e) !== c.path) bad.push(`${errorPath(e)} (${e.message}), want ${c.path}`);
    }
  }
  assert.ok(total >= 500);
  report(t, `condition errors corpus: ${total} policies, ${bad.length} mismatches`, bad);
});
