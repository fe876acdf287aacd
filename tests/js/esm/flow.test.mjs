// The decision flow's shared vectors (tests/vectors/flow.json, made by
// tests/vectors/make_flow_vectors.py, whose docstring defines the scripts):
// the same cases the Rust (tests/vectors.rs: flow_vectors) and Python suites
// run, through the installed package, each in the mode it names. Also the
// duplicate-key vectors through Policy.fromJSON.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { Policy, PolicyError } from "agentguard";

const VECTORS = process.env.AGENTGUARD_VECTORS;
const load = (f) => JSON.parse(readFileSync(join(VECTORS, f), "utf8")).cases;

const FAILURES = { approve: "approver crashed", on_decision: "sink down", on_deny: "alert failed" };
/** Our errors, so that a hook's error can be checked to come out as the very object thrown. */
const thrown = new Set();
function fail(hook) {
  const e = new Error(FAILURES[hook]);
  thrown.add(e);
  return e;
}

/** The policy of `c`, its callbacks scripted as the case says; events and the log go to `run`. */
function scripted(c, run) {
  const { approve, on_decision: onDecision, on_deny: onDeny } = c.hooks;
  const options = {};
  if (approve !== "absent") {
    options.onApproval = (pending) => {
      run.events.push(`approve ${pending.tool}`);
      switch (approve) {
        case "true":
          return true;
        case "false":
          return false;
        case "throw":
          throw fail("approve");
        case "string":
          return "yes";
        case "none":
          return undefined;
        case "object":
          return { ok: true };
        case "pending_true":
          return (async () => true)();
        case "pending_throw":
          return (async () => {
            throw fail("approve");
          })();
        default:
          throw new Error(`unknown approve script ${approve}`);
      }
    };
  }
  const sink = (hook, script) => {
    switch (script) {
      case "ok":
      case "reenter":
        return undefined;
      case "throw":
        throw fail(hook);
      case "pending_ok":
        return new Promise((resolve) => setTimeout(resolve, 1));
      case "pending_throw":
        return new Promise((_, reject) => setTimeout(() => reject(fail(hook)), 1));
      default:
        throw new Error(`unknown ${hook} script ${script}`);
    }
  };
  if (onDecision !== "absent") {
    options.onDecision = (entry) => {
      run.events.push(`on_decision ${entry.tool} ${entry.decision} log=${run.policy.auditLog.length}`);
      if (onDecision === "reenter" && run.depth === 0) {
        run.depth++;
        try {
          run.policy.check(c.reenter_tool);
        } finally {
          run.depth--;
        }
      }
      return sink("on_decision", onDecision);
    };
  }
  if (onDeny !== "absent") {
    options.onDeny = (result) => {
      run.events.push(`on_deny ${result.tool} ${result.decision}`);
      return sink("on_deny", onDeny);
    };
  }
  run.policy = new Policy(c.policy, options);
  return run.policy;
}

async function runCase(c) {
  const run = { events: [], depth: 0, policy: null };
  const policy = scripted(c, run);
  const options = c.context === null ? undefined : { context: c.context };
  let result = null;
  let error = null;
  try {
    result = c.mode === "sync" ? policy.check(c.tool, options) : await policy.checkAsync(c.tool, options);
  } catch (e) {
    error = e;
  }
  const log = policy.auditLog.map((e) => {
    const { timestamp, ...rest } = e.toJSON();
    assert.equal(typeof timestamp, "number");
    return rest;
  });
  return { result, error, events: run.events, log };
}

test("flow vectors: every case, in its mode, through the installed package", async (t) => {
  const cases = load("flow.json");
  assert.ok(cases.length >= 20, `only ${cases.length} flow cases`);
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    for (const c of cases) {
      const got = await runCase(c);
      const want = c.expect;
      if (want.error === null) {
        assert.equal(got.error, null, `${c.name}: ${got.error}`);
        assert.deepEqual(got.result.toJSON(), want.result, `${c.name}: result`);
      } else {
        assert.ok(got.error !== null, `${c.name}: expected an error, got ${JSON.stringify(got.result)}`);
        if (want.error.kind === "hook") {
          assert.ok(thrown.has(got.error), `${c.name}: the hook's own error comes out, not ${got.error}`);
          assert.equal(got.error.message, want.error.message, c.name);
        } else {
          assert.ok(got.error instanceof TypeError, `${c.name}: ${got.error}`);
          assert.equal(got.error.kind, want.error.kind, c.name);
          assert.equal(got.error.message, want.error.message.js, c.name);
        }
      }
      assert.deepEqual(got.events, want.events, `${c.name}: events`);
      assert.deepEqual(got.log, want.log, `${c.name}: audit log`);
    }
    // Rejections the flow refused or awaited are all handled.
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  t.diagnostic(`${cases.length} flow cases`);
});

test("flow vectors: where the flow has no effect (audit off, no callback), check's shortcut gives the flow's results", async () => {
  // With audit on, check() always runs the core's flow; with audit off and
  // no callback it returns the pure result without it. The two must agree
  // on every tool the vectors check, in both modes.
  for (const c of load("flow.json")) {
    for (const tool of [c.tool, c.reenter_tool].filter((t) => t !== undefined)) {
      const flow = new Policy({ ...c.policy, audit: true });
      const shortcut = new Policy({ ...c.policy, audit: false });
      const want = flow.check(tool).toJSON();
      assert.deepEqual(shortcut.check(tool).toJSON(), want, `${c.name}: ${tool}`);
      assert.deepEqual((await shortcut.checkAsync(tool)).toJSON(), want, `${c.name}: ${tool} (async)`);
      assert.deepEqual((await flow.checkAsync(tool)).toJSON(), want, `${c.name}: ${tool} (async flow)`);
      assert.equal(flow.auditLog.length, 2, "the flow ran and recorded");
      assert.equal(shortcut.auditLog.length, 0);
    }
  }
});

test("duplicate-key vectors: Policy.fromJSON refuses every one, naming the key", () => {
  const cases = load("duplicate_keys.json");
  assert.ok(cases.length >= 5);
  for (const c of cases) {
    assert.throws(
      () => Policy.fromJSON(c.text),
      (e) => {
        assert.ok(e instanceof PolicyError, `${c.name}: ${e}`);
        assert.deepEqual([e.kind, e.field, e.index, e.message], ["duplicate_key", c.field, null, c.message], c.name);
        return true;
      },
    );
  }
});

// Issue 15: the answer to a call's approval, obtained outside onApproval (a
// person answering through an agent framework), given as `approved`: the
// core applies it, and the call's one entry carries it.
test("approved answers require_approval in the one entry; onApproval is not asked", async () => {
  const asked = [];
  const policy = new Policy(
    { allow: ["read_*"], deny: ["drop_*"], require_approval: ["write_*"] },
    { onApproval: (r) => (asked.push(r.tool), true) },
  );
  assert.equal(policy.hasOnApproval, true);
  assert.equal(new Policy({}).hasOnApproval, false);
  const yes = policy.check("write_a", { approved: true });
  const no = policy.check("write_b", { approved: false, context: { user: "u1" } });
  assert.deepEqual([yes.decision, yes.reason], ["allow", "approved via callback (pattern: write_*)"]);
  assert.deepEqual([no.decision, no.reason], ["deny", "approval denied via callback (pattern: write_*)"]);
  const ay = await policy.checkAsync("write_c", { approved: true });
  const an = await policy.checkAsync("write_d", { approved: false });
  assert.deepEqual([ay.decision, an.decision], ["allow", "deny"]);
  assert.equal(policy.enforce("write_e", { approved: true }).decision, "allow");
  assert.throws(() => policy.enforce("write_f", { approved: false }), (e) => e.name === "ToolDenied");
  await assert.rejects(policy.enforceAsync("write_g", { approved: false }), (e) => e.name === "ToolDenied");
  assert.deepEqual(asked, []);
  assert.deepEqual(
    policy.auditLog.map((e) => [e.tool, e.decision, e.reason, e.context]),
    [
      ["write_a", "allow", "approved via callback (pattern: write_*)", null],
      ["write_b", "deny", "approval denied via callback (pattern: write_*)", { user: "u1" }],
      ["write_c", "allow", "approved via callback (pattern: write_*)", null],
      ["write_d", "deny", "approval denied via callback (pattern: write_*)", null],
      ["write_e", "allow", "approved via callback (pattern: write_*)", null],
      ["write_f", "deny", "approval denied via callback (pattern: write_*)", null],
      ["write_g", "deny", "approval denied via callback (pattern: write_*)", null],
    ],
  );
});

test("approved is ignored for a decision that is not require_approval; a non-boolean is a TypeError", async () => {
  const policy = new Policy({ allow: ["read_*"], deny: ["drop_*"], require_approval: ["write_*"] });
  assert.equal(policy.check("read_x", { approved: false }).decision, "allow");
  assert.equal(policy.check("drop_x", { approved: true }).decision, "deny");
  assert.equal(policy.check("write_x", { approved: undefined }).decision, "require_approval");
  assert.equal(policy.check("write_x", { approved: null }).decision, "require_approval");
  for (const bad of ["yes", 1, 0, {}, []]) {
    assert.throws(() => policy.check("write_x", { approved: bad }), TypeError);
    assert.throws(() => policy.enforce("write_x", { approved: bad }), TypeError);
    await assert.rejects(policy.checkAsync("write_x", { approved: bad }), TypeError);
  }
  assert.throws(() => policy.evaluate("write_x", { approved: true }), /unknown evaluate option "approved"/);
  assert.deepEqual(policy.auditLog.map((e) => e.decision), ["allow", "deny", "require_approval", "require_approval"]);
});

test("approved in check keeps the synchronous rules: a Promise from onDecision is refused", async () => {
  const policy = new Policy({ require_approval: ["write_*"] }, { onDecision: async () => {} });
  assert.throws(() => policy.check("write_x", { approved: true }), (e) => e instanceof TypeError && e.kind === "async_hook");
  assert.equal((await policy.checkAsync("write_x", { approved: true })).decision, "allow");
  assert.equal(policy.auditLog.length, 2);
});

test("approved with arguments the rules read, and with shadow rules", () => {
  const policy = new Policy({
    default: "allow",
    rules: [
      { id: "watch", tool: "refund", decision: "deny", mode: "shadow" },
      { id: "big", tool: "refund", decision: "require_approval", when: { amount: { gt: 100 } } },
    ],
  });
  const r = policy.check("refund", { args: { amount: 500 }, approved: false });
  assert.equal(r.decision, "deny");
  assert.match(r.reason, /approval denied via callback/);
  assert.equal(policy.check("refund", { args: { amount: 5 }, approved: false }).decision, "allow");
  assert.deepEqual(policy.auditLog.map((e) => [e.decision, e.shadow.length]), [["deny", 1], ["allow", 1]]);
});
