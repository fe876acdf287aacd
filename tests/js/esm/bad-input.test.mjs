// Bad input (issue 3, item 4): each case fails loudly and closed, through
// the installed package.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Policy, PolicyError, ToolDenied, fnmatch } from "agentguard";

const DB = {
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["write_*"],
};

function recorder(options = {}) {
  const calls = [];
  const policy = new Policy(DB, {
    onDecision: (e) => calls.push(`decision ${e.tool}`),
    onDeny: (r) => calls.push(`deny ${r.tool}`),
    ...options,
  });
  return { policy, calls };
}

const NOT_STRINGS = [
  ["a number", 5],
  ["undefined", undefined],
  ["null", null],
  ["an object", { toString: () => "read_x" }],
  ["an array", ["read_x"]],
  ["a boolean", true],
  ["a bigint", 5n],
  ["a symbol", Symbol("read_x")],
  ["a String object", new String("read_x")],
  ["a function", () => "read_x"],
];

test("a tool name that is not a string is a TypeError, never a decision", async () => {
  for (const [what, value] of NOT_STRINGS) {
    const { policy, calls } = recorder();
    assert.throws(() => policy.check(value), TypeError, `check(${what})`);
    assert.throws(() => policy.enforce(value), TypeError, `enforce(${what})`);
    await assert.rejects(policy.checkAsync(value), TypeError, `checkAsync(${what})`);
    await assert.rejects(policy.enforceAsync(value), TypeError, `enforceAsync(${what})`);
    assert.throws(() => policy.check(value), /tool name must be a string, got/);
    assert.deepEqual(policy.auditLog, [], `nothing recorded for ${what}`);
    assert.deepEqual(calls, []);
  }
  // A name that is cached as a string is still rejected as a number.
  const { policy } = recorder();
  policy.check("5");
  assert.throws(() => policy.check(5), TypeError);
});

const LONE = [
  ["a lone high surrogate", "\ud800"],
  ["a lone low surrogate", "\udc00"],
  ["a high surrogate at the end", "read_\ud83d"],
  ["a low surrogate first", "\ude00read_x"],
  ["reversed pair", "read_\ude00\ud83d"],
  ["a lone surrogate in a long name", `read_${"x".repeat(10_000)}\udfff`],
];

test("a name with lone surrogates is a TypeError, never decided as U+FFFD", async () => {
  const { policy, calls } = recorder();
  // U+FFFD itself is an ordinary character.
  const p = new Policy({ deny: ["read_\ufffd"], allow: ["read_*"] });
  for (const [what, name] of LONE) {
    assert.throws(() => policy.check(name), /not well-formed Unicode/, what);
    assert.throws(() => p.check(name), TypeError, what);
    assert.throws(() => policy.enforce(name), TypeError, what);
    await assert.rejects(policy.checkAsync(name), TypeError, what);
    assert.throws(() => fnmatch(name, "*"), TypeError, what);
    assert.throws(() => fnmatch("x", name), TypeError, what);
  }
  assert.deepEqual(policy.auditLog, []);
  assert.deepEqual(calls, []);
  // Well-formed pairs are fine.
  assert.equal(policy.check("read_😀").decision, "allow");
  assert.equal(p.check("read_\ufffd").decision, "deny");
});

test("spec errors are PolicyErrors that name the field and index", () => {
  const cases = [
    [{ denny: ["drop_*"] }, "unknown_key", "denny", null],
    [{ allow: ["read_*", 5] }, "wrong_type", "allow", 1],
    [{ deny: "drop_*" }, "wrong_type", "deny", null],
    [{ require_approval: ["a", "b", null] }, "wrong_type", "require_approval", 2],

    [{ default: "maybe" }, "invalid_value", "default", null],
    [{ default: "Deny" }, "invalid_value", "default", null],
    [{ audit: "yes" }, "wrong_type", "audit", null],
    [{ audit: null }, "wrong_type", "audit", null],
    [{ name: 7 }, "wrong_type", "name", null],
    [["drop_*"], "not_an_object", null, null],
    ["drop_*", "not_an_object", null, null],
    [null, "not_an_object", null, null],
    [42, "not_an_object", null, null],
    [{ allow: ["ok", "bad\ud800"] }, "invalid_value", "allow", 1],
    [{ name: "\udc00" }, "invalid_value", "name", null],
  ];
  for (const [spec, kind, field, index] of cases) {
    assert.throws(
      () => new Policy(spec),
      (e) => {
        assert.ok(e instanceof PolicyError, `${JSON.stringify(String(spec))}: ${e}`);
        assert.deepEqual([e.kind, e.field, e.index], [kind, field, index], e.message);
        if (field !== null) assert.ok(e.message.includes(field), e.message);
        return true;
      },
    );
  }
});

test("spec values that are not JSON data are TypeErrors naming the field and index", () => {
  const cyclic = { allow: [] };
  cyclic.allow.push(cyclic);
  const cases = [
    [{ allow: ["a", undefined] }, "allow", 1, /allow\[1\]: undefined is not JSON data/],
    [{ deny: [1n] }, "deny", 0, /deny\[0\]: a BigInt \(1n\) is not JSON data/],
    [cyclic, "allow", 0, /allow\[0\]: a cyclic reference/],
    [{ deny: ["a", , "b"] }, "deny", 1, /deny\[1\]: a hole/],
    [{ name: new Date(0) }, "name", null, /name: a Date is not JSON data/],
    [{ audit: NaN }, "audit", null, /audit: the number NaN is not JSON data/],
  ];
  for (const [spec, field, index, message] of cases) {
    assert.throws(
      () => new Policy(spec),
      (e) => {
        assert.ok(e instanceof TypeError && !(e instanceof PolicyError), String(e));
        assert.deepEqual([e.kind, e.field, e.index], ["wrong_type", field, index], e.message);
        assert.match(e.message, message);
        return true;
      },
    );
  }
});

test("fromJSON: invalid text is a PolicyError", () => {
  for (const text of ["", "{", "{'allow': []}", '{"allow": ["a",]}', "[1]", '"x"', '{"denny": []}']) {
    assert.throws(() => Policy.fromJSON(text), PolicyError, text);
  }
  assert.throws(() => Policy.fromJSON("{"), (e) => e.kind === "json" && /invalid JSON/.test(e.message));
  assert.throws(() => Policy.fromJSON('{"allow": ["\ud800"]}'), (e) => e instanceof PolicyError && e.kind === "json");
  assert.throws(() => Policy.fromJSON('{"allow": ["\\ud800"]}'), (e) => e instanceof PolicyError && e.kind === "json");
});

test("bad options are TypeErrors naming the option", () => {
  const cases = [
    [{ onApprove: () => true }, /unknown Policy option "onApprove"/],
    [{ onApproval: true }, /onApproval must be a function/],
    [{ onDeny: "log" }, /onDeny must be a function/],
    [{ onDecision: {} }, /onDecision must be a function/],
    [{ auditCapacity: -1 }, /auditCapacity/],
    [{ auditCapacity: 1.5 }, /auditCapacity/],
    [{ auditCapacity: "10" }, /auditCapacity/],
    [{ auditCapacity: Infinity }, /auditCapacity/],
    ["strict", /options must be an object/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new Policy(DB, options), (e) => e instanceof TypeError && message.test(e.message));
  }
  const policy = new Policy(DB);
  assert.throws(() => policy.check("read_x", { contxt: {} }), /unknown check option "contxt"/);
  assert.throws(() => policy.check("read_x", "ctx"), TypeError);
  assert.throws(() => policy.check("read_x", { context: ["a"] }), /context must be a plain object/);
  assert.throws(() => policy.check("read_x", { context: "bot-1" }), TypeError);
  assert.equal(policy.auditLog.length, 0);
});

test("onApproval returning a Promise in check/enforce is an error pointing to checkAsync", async () => {
  let unhandled = 0;
  const onUnhandled = () => unhandled++;
  process.on("unhandledRejection", onUnhandled);
  try {
    for (const answer of [Promise.resolve(true), Promise.reject(new Error("no")), { then: (f) => f(true) }]) {
      const { policy, calls } = recorder({ onApproval: () => answer });
      assert.throws(
        () => policy.check("write_db"),
        (e) => e instanceof TypeError && /checkAsync/.test(e.message) && /Promise/.test(e.message),
      );
      assert.throws(() => policy.enforce("write_db"), (e) => e instanceof TypeError && !(e instanceof ToolDenied));
      assert.deepEqual(policy.auditLog, [], "nothing recorded, nothing allowed");
      assert.deepEqual(calls, []);
    }
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(unhandled, 0, "the rejected promise is not left unhandled");
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("onApproval answering anything but a boolean is an error, never an approval", async () => {
  for (const answer of [1, 0, "yes", "", null, undefined, {}, [], new Boolean(true)]) {
    const { policy, calls } = recorder({ onApproval: () => answer });
    assert.throws(() => policy.check("write_db"), /onApproval must return true or false/);
    assert.throws(() => policy.enforce("write_db"), TypeError);
    await assert.rejects(policy.checkAsync("write_db"), /onApproval must return true or false/);
    const asyncP = new Policy(DB, { onApproval: async () => answer });
    await assert.rejects(asyncP.enforceAsync("write_db"), TypeError);
    assert.deepEqual(policy.auditLog, []);
    assert.deepEqual(asyncP.auditLog, []);
    assert.deepEqual(calls, []);
  }
  // A Promise resolving to a Promise-like is still not a boolean.
  const nested = new Policy(DB, { onApproval: async () => ({ then: undefined }) });
  await assert.rejects(nested.checkAsync("write_db"), TypeError);
});

test("onApproval throwing: the error propagates and nothing is allowed or recorded", async () => {
  const boom = new Error("approver down");
  const { policy, calls } = recorder({
    onApproval: () => {
      throw boom;
    },
  });
  assert.throws(() => policy.check("write_db"), (e) => e === boom);
  assert.throws(() => policy.enforce("write_db"), (e) => e === boom);
  await assert.rejects(policy.checkAsync("write_db"), (e) => e === boom);
  assert.deepEqual(policy.auditLog, []);
  assert.deepEqual(calls, []);
  // Tools that need no approval are unaffected.
  assert.equal(policy.check("read_x").allowed, true);

  const rejecting = recorder({ onApproval: async () => Promise.reject(boom) });
  await assert.rejects(rejecting.policy.checkAsync("write_db"), (e) => e === boom);
  await assert.rejects(rejecting.policy.enforceAsync("write_db"), (e) => e === boom);
  assert.deepEqual(rejecting.policy.auditLog, []);
  assert.deepEqual(rejecting.calls, []);
});

test("onDecision / onDeny throwing: the decision stands and is recorded, the error propagates", async () => {
  const bad = new Error("sink down");
  const deny = [];
  const p1 = new Policy(DB, {
    onDecision: () => {
      throw bad;
    },
    onDeny: (r) => deny.push(r.tool),
  });
  assert.throws(() => p1.check("drop_table"), (e) => e === bad);
  assert.deepEqual(p1.auditLog.map((e) => [e.tool, e.decision]), [["drop_table", "deny"]]);
  assert.deepEqual(deny, ["drop_table"], "onDeny still ran");
  assert.throws(() => p1.enforce("read_x"), (e) => e === bad, "enforce propagates the sink's error");
  assert.equal(p1.auditLog.length, 2);
  await assert.rejects(p1.checkAsync("read_y"), (e) => e === bad);
  assert.equal(p1.auditLog.length, 3);

  const seen = [];
  const p2 = new Policy(DB, {
    onDecision: (e) => seen.push(e.tool),
    onDeny: () => {
      throw bad;
    },
  });
  assert.throws(() => p2.check("drop_table"), (e) => e === bad);
  assert.deepEqual(seen, ["drop_table"]);
  assert.equal(p2.auditLog.length, 1);
  assert.equal(p2.check("read_x").allowed, true, "onDeny does not run for allows");

  // Both throw: the first error (onDecision's) propagates, both ran.
  const first = new Error("first");
  let denyRan = false;
  const p3 = new Policy(DB, {
    onDecision: () => {
      throw first;
    },
    onDeny: () => {
      denyRan = true;
      throw new Error("second");
    },
  });
  assert.throws(() => p3.check("drop_x"), (e) => e === first);
  assert.ok(denyRan);
  assert.equal(p3.auditLog.length, 1);
});

test("huge names and patterns: no blow-up", () => {
  const big = "a".repeat(1_000_000);
  const policy = new Policy({ deny: ["*a*a*a*a*a*b"], allow: [`${big}*`] });
  const t0 = performance.now();
  assert.equal(policy.check(big).decision, "allow");
  assert.equal(policy.check(`${big}b`).decision, "deny");
  assert.equal(policy.check(`é${big}`).reason, "not in allow list (default: deny)");
  assert.ok(performance.now() - t0 < 2000);
  const many = new Policy({ deny: Array.from({ length: 100_000 }, (_, i) => `t${i}_*`) });
  assert.equal(many.check("t99999_x").matchedRule, "t99999_*");
});
