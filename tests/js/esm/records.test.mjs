// Audit entries are records of the moment (issue 9, item 7), and the flow's
// edges as a JavaScript caller meets them: re-entrant checks, free() from a
// callback, Promises in the synchronous flow, structured flow errors.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AuditEntry, Policy, ToolDenied } from "agentguard";

const SPEC = { allow: ["read_*"], deny: ["drop_*"], require_approval: ["write_*"] };

test("the entry holds a copy of the context made at decision time", () => {
  const policy = new Policy(SPEC);
  const context = { agent: "bot-1", args: { path: "/tmp/a", tags: ["x"] } };
  policy.check("read_x", { context });
  context.agent = "someone else";
  context.args.path = "/etc/passwd";
  context.args.tags.push("y");
  delete context.args;
  const [entry] = policy.auditLog;
  assert.deepEqual(entry.context, { agent: "bot-1", args: { path: "/tmp/a", tags: ["x"] } });
  assert.deepEqual(entry.toJSON().context, { agent: "bot-1", args: { path: "/tmp/a", tags: ["x"] } });
  // An entry read from the log cannot be changed either, and every read is
  // the record itself.
  assert.ok(Object.isFrozen(entry) && Object.isFrozen(entry.context) && Object.isFrozen(entry.context.args));
  const dict = entry.toJSON();
  dict.context.agent = "edited";
  assert.equal(policy.auditLog[0].toJSON().context.agent, "bot-1");
  // onDecision sees the copy too.
  let seen = null;
  const sink = new Policy(SPEC, { onDecision: (e) => (seen = e) });
  const ctx = { n: 1 };
  sink.check("drop_x", { context: ctx });
  ctx.n = 2;
  assert.ok(seen instanceof AuditEntry);
  assert.deepEqual(seen.context, { n: 1 });
});

test("a context that is not JSON data is a TypeError naming the path, never null in the log", () => {
  class Session {
    constructor() {
      this.id = 1;
    }
  }
  const cyclic = { a: {} };
  cyclic.a.back = cyclic;
  const cases = [
    [{ when: new Date(0) }, "context.when", null, /a Date is not JSON data/],
    [{ seen: new Map() }, "context.seen", null, /a Map is not JSON data/],
    [{ done: () => {} }, "context.done", null, /a function is not JSON data/],
    [{ session: new Session() }, "context.session", null, /an instance of Session is not JSON data/],
    [{ n: NaN }, "context.n", null, /the number NaN is not JSON data/],
    [{ big: 1n }, "context.big", null, /a BigInt/],
    [{ list: [1, undefined] }, "context.list", 1, /undefined is not JSON data/],
    [{ list: [1, , 3] }, "context.list", 1, /a hole/],
    [{ "odd key": { deeper: [new Set()] } }, 'context["odd key"].deeper', 0, /a Set is not JSON data/],
    [cyclic, "context.a.back", null, /a cyclic reference/],
    [{ s: "bad\ud800" }, "context.s", null, /not well-formed Unicode/],
    [{ [Symbol("k")]: 1 }, "context", null, /a symbol key \(Symbol\(k\)\) is not JSON data/],
    [new Session(), "context", null, /an instance of Session is not JSON data/],
  ];
  for (const audit of [true, false]) {
    const calls = [];
    const policy = new Policy({ ...SPEC, audit }, {
      onApproval: () => calls.push("approve") > 0,
      onDecision: () => calls.push("decision"),
      onDeny: () => calls.push("deny"),
    });
    for (const [context, field, index, message] of cases) {
      for (const tool of ["read_x", "drop_x", "write_x"]) {
        assert.throws(
          () => policy.check(tool, { context }),
          (e) => {
            assert.ok(e instanceof TypeError, `${message}: ${e}`);
            assert.deepEqual([e.field, e.index], [field, index], e.message);
            assert.match(e.message, message);
            return true;
          },
        );
      }
    }
    assert.deepEqual(policy.auditLog, []);
    assert.deepEqual(calls, [], "nothing ran for a refused context");
  }
});

test("a context holding only undefined, or empty, is no context", () => {
  const policy = new Policy(SPEC);
  policy.check("read_x", { context: { a: undefined } });
  policy.check("read_x", { context: {} });
  policy.check("read_x", { context: Object.create(null) });
  for (const e of policy.auditLog) {
    assert.equal(e.context, null);
    assert.deepEqual(Object.keys(e.toJSON()), ["timestamp", "tool", "decision", "reason", "matched_rule"]);
  }
});

test("a synchronous check with an async onDecision that rejects: a TypeError, and no unhandled rejection", async () => {
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    const policy = new Policy(SPEC, {
      onDecision: async () => {
        throw new Error("the store is down");
      },
      onDeny: () => Promise.reject(new Error("the pager is down")),
    });
    for (const tool of ["read_x", "drop_x"]) {
      assert.throws(
        () => policy.check(tool),
        (e) => e instanceof TypeError && e.kind === "async_hook" && /onDecision returned a Promise inside check\(\) \/ enforce\(\)/.test(e.message),
      );
    }
    assert.throws(() => policy.enforce("drop_x"), (e) => e instanceof TypeError && !(e instanceof ToolDenied));
    assert.equal(policy.auditLog.length, 3, "each decision was recorded");
    // The async methods await the same callbacks: the first failure comes out.
    await assert.rejects(policy.checkAsync("read_x"), /the store is down/);
    await assert.rejects(policy.checkAsync("drop_x"), /the store is down/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(unhandled, [], "every refused Promise had a handler");
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("flow errors are structured: TypeError with kind async_hook / not_a_bool, the core's message", async () => {
  const sync = new Policy(SPEC, { onApproval: () => "yes" });
  assert.throws(() => sync.check("write_x"), (e) => {
    assert.ok(e instanceof TypeError);
    assert.deepEqual([e.kind, e.field, e.index], ["not_a_bool", null, null]);
    assert.equal(e.message, 'onApproval must return true or false, got string "yes"; the tool stays unapproved');
    return true;
  });
  const pending = new Policy(SPEC, { onApproval: async () => true });
  assert.throws(() => pending.check("write_x"), (e) => e instanceof TypeError && e.kind === "async_hook");
  assert.equal((await pending.checkAsync("write_x")).reason, "approved via callback (pattern: write_*)");
  assert.deepEqual(pending.auditLog.map((e) => e.decision), ["allow"], "only the async check was recorded");
});

test("re-entrant checks from every callback, on the same policy and others, work and are all recorded", async () => {
  const other = new Policy(SPEC);
  let depth = 0;
  const nested = (fn) => {
    if (depth > 0) return undefined;
    depth++;
    try {
      return fn();
    } finally {
      depth--;
    }
  };
  const policy = new Policy(SPEC, {
    onApproval: (pending) => nested(() => policy.check("read_from_approver").allowed && other.check("drop_y").denied) ?? true,
    onDecision: (e) => nested(() => policy.check(`read_after_${e.tool}`)),
    onDeny: (r) => nested(() => policy.evaluate(`drop_again_${r.tool}`)),
  });
  assert.equal(policy.check("write_x").reason, "approved via callback (pattern: write_*)");
  assert.equal(policy.check("drop_x").decision, "deny");
  assert.equal((await policy.checkAsync("write_z")).decision, "allow");
  assert.deepEqual(
    policy.auditLog.map((e) => e.tool),
    ["read_from_approver", "write_x", "read_after_write_x", "drop_x", "read_after_drop_x", "read_from_approver", "write_z", "read_after_write_z"],
  );
  assert.deepEqual(other.auditLog.map((e) => e.tool), ["drop_y", "drop_y"]);
  // Cached names and long names are re-entered too.
  const long = `read_${"x".repeat(100_000)}`;
  const deep = new Policy(SPEC, { onDecision: (e) => nested(() => deep.check(e.tool === long ? "read_short" : long)) });
  for (let i = 0; i < 3; i++) {
    assert.equal(deep.check(long).tool, long);
    assert.equal(deep.check("read_short").tool, "read_short");
  }
  const tools = deep.auditLog.map((e) => (e.tool === long ? "long" : e.tool));
  assert.deepEqual(tools, ["long", "read_short", "read_short", "long", "long", "read_short", "read_short", "long", "long", "read_short", "read_short", "long"]);
});

test("free() from inside a callback: the running check finishes, later use throws, the log survives", () => {
  let policy;
  const seen = [];
  policy = new Policy(SPEC, {
    onDecision: (e) => {
      seen.push(e.tool);
      policy.free();
      assert.throws(() => policy.check("read_y"), /freed/);
    },
    onDeny: (r) => seen.push(`deny ${r.tool}`),
  });
  assert.equal(policy.check("drop_x").decision, "deny");
  assert.deepEqual(seen, ["drop_x", "deny drop_x"]);
  assert.throws(() => policy.check("read_x"), /freed/);
  assert.deepEqual(policy.auditLog.map((e) => e.tool), ["drop_x"]);
});
