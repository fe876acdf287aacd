// Spec objects are read the way their author reads them (issue 9, item 2):
// a deny list behind a getter, a non-enumerable or inherited property, is
// the deny list; a value that is not JSON data, or a key the format does not
// have (a symbol's included), is an error. Never an empty list, which under
// "default": "allow" would allow everything.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ActionPolicies, Policy, PolicyError } from "agentguard";

/** Asserts that `spec` loads and denies drop_table (its deny list was read). */
function denies(spec, what) {
  const policy = new Policy(spec);
  const r = policy.check("drop_table");
  assert.equal(r.decision, "deny", `${what}: ${r.reason}`);
  assert.equal(r.reason, "denied by pattern: drop_*", what);
  assert.equal(policy.check("read_x").decision, "allow", `${what}: the default was read too`);
  return policy;
}

/** Asserts that `spec` does not load: no policy, so nothing is allowed. */
function refused(spec, what, check) {
  assert.throws(
    () => new Policy(spec),
    (e) => {
      check(e);
      return true;
    },
    what,
  );
}

test("a deny list defined by a class getter is read", () => {
  class Spec {
    get deny() {
      return ["drop_*"];
    }
    get default() {
      return "allow";
    }
  }
  denies(new Spec(), "class getters");
  // A subclass inherits them.
  class Named extends Spec {
    get name() {
      return "named";
    }
  }
  assert.equal(denies(new Named(), "inherited getters").name, "named");
});

test("non-enumerable and inherited deny lists are read", () => {
  const hidden = { default: "allow" };
  Object.defineProperty(hidden, "deny", { value: ["drop_*"], enumerable: false });
  denies(hidden, "non-enumerable deny");
  denies(Object.create({ deny: ["drop_*"], default: "allow" }), "inherited deny");
  const getter = { default: "allow" };
  Object.defineProperty(getter, "deny", { get: () => ["drop_*"], enumerable: false });
  denies(getter, "own getter");
  denies(Object.assign(Object.create(null), { deny: ["drop_*"], default: "allow" }), "null prototype");
});

test("a symbol-keyed or unknown non-enumerable key is an error naming it", () => {
  refused({ default: "allow", [Symbol("deny")]: ["drop_*"] }, "symbol key", (e) => {
    assert.ok(e instanceof PolicyError, String(e));
    assert.equal(e.kind, "unknown_key");
    assert.equal(e.field, "Symbol(deny)");
    assert.match(e.message, /unknown key "Symbol\(deny\)" in policy/);
  });
  const sneaky = { default: "allow" };
  Object.defineProperty(sneaky, "denny", { value: ["drop_*"], enumerable: false });
  refused(sneaky, "non-enumerable typo", (e) => {
    assert.ok(e instanceof PolicyError);
    assert.deepEqual([e.kind, e.field], ["unknown_key", "denny"]);
  });
  // A class instance's own fields are keys like any other.
  class Spec {
    deny = ["drop_*"];
    cache = new Map();
  }
  refused(new Spec(), "an instance field outside the format", (e) => {
    assert.ok(e instanceof PolicyError);
    assert.deepEqual([e.kind, e.field], ["unknown_key", "cache"]);
  });
});

test("values that are not JSON data are TypeErrors naming the key, never an empty list", () => {
  class Patterns {
    constructor() {
      this.list = ["drop_*"];
    }
  }
  const cases = [
    [{ deny: () => ["drop_*"] }, "deny", null, /deny: a function is not JSON data/],
    [{ deny: new Map([["drop_*", true]]) }, "deny", null, /deny: a Map is not JSON data/],
    [{ deny: new Set(["drop_*"]) }, "deny", null, /deny: a Set is not JSON data/],
    [{ deny: new Patterns() }, "deny", null, /deny: an instance of Patterns is not JSON data/],
    [{ deny: [Symbol("drop_*")] }, "deny", 0, /deny\[0\]: a symbol is not JSON data/],
    [{ deny: ["read_*", new String("drop_*")] }, "deny", 1, /deny\[1\]: a String is not JSON data/],
    [{ deny: Object.assign([], { 1: "drop_*" }) }, "deny", 0, /deny\[0\]: a hole/],
    [{ deny: [10n] }, "deny", 0, /a BigInt/],
    [{ audit: new Boolean(false) }, "audit", null, /audit: a Boolean is not JSON data/],
  ];
  for (const [extra, field, index, message] of cases) {
    refused({ default: "allow", ...extra }, message.source, (e) => {
      assert.ok(e instanceof TypeError, `${message}: ${e}`);
      assert.deepEqual([e.kind, e.field, e.index], ["wrong_type", field, index], e.message);
      assert.match(e.message, message);
    });
  }
});

test("a spec that is a Map, a Set, a Date or a function is a TypeError, never an empty policy", () => {
  for (const spec of [new Map([["deny", ["drop_*"]]]), new Set(), new Date(), () => ({ deny: ["drop_*"] }), Symbol("spec")]) {
    refused(spec, String(spec), (e) => {
      assert.ok(e instanceof TypeError, String(e));
      assert.ok(e.kind === "not_an_object" || e.kind === "wrong_type", e.kind);
    });
  }
});

test("another Policy as a spec is a copy of its policy file", () => {
  const original = new Policy({ name: "db", deny: ["drop_*"], default: "allow" });
  const copy = denies(original, "a Policy");
  assert.deepEqual(copy.toJSON(), original.toJSON());
});

const INTENT = {
  from: "ops-agent",
  to: "agent://myorg/production/analytics-agent",
  intentType: "intent.data.delete.v1",
};

/** Asserts that the store blocks the delete intent (its allowlist was read). */
function blocks(store, what) {
  const violation = store.checkIntent(INTENT);
  assert.equal(violation?.error, "action_policy_violation", what);
  assert.equal(store.checkIntent({ ...INTENT, intentType: "intent.data.read.v1" }), null, what);
}

test("ActionPolicies: policy and store objects are read the way their author reads them", () => {
  class Receive {
    get direction() {
      return "receive";
    }
    get mode() {
      return "allowlist";
    }
    get patterns() {
      return ["intent.data.read.*"];
    }
  }
  const viaSet = new ActionPolicies();
  viaSet.set("analytics-agent", new Receive());
  blocks(viaSet, "set() with class getters");

  class Entry extends Receive {
    get agent() {
      return "analytics-agent";
    }
  }
  class Store {
    get policies() {
      return [new Entry()];
    }
  }
  blocks(new ActionPolicies(new Store()), "a store of class instances");
  const hidden = {};
  Object.defineProperty(hidden, "policies", {
    value: [{ agent: "analytics-agent", direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] }],
    enumerable: false,
  });
  blocks(ActionPolicies.fromJSON(hidden), "a non-enumerable policies list");
});

test("ActionPolicies: non-JSON values and unknown keys are errors, never an open agent", () => {
  const base = { direction: "receive", mode: "allowlist" };
  const store = new ActionPolicies();
  const cases = [
    [{ ...base, patterns: new Set(["intent.data.read.*"]) }, TypeError, "patterns"],
    [{ ...base, patterns: () => [] }, TypeError, "patterns"],
    [{ ...base, patterns: ["intent.data.read.*"], [Symbol("mode")]: "open" }, PolicyError, "Symbol(mode)"],
  ];
  const hidden = { ...base, patterns: ["intent.data.read.*"] };
  Object.defineProperty(hidden, "modee", { value: "open", enumerable: false });
  cases.push([hidden, PolicyError, "modee"]);
  for (const [policy, type, field] of cases) {
    assert.throws(
      () => store.set("analytics-agent", policy),
      (e) => e instanceof type && e.field === field,
      field,
    );
  }
  assert.equal(store.agents.length, 0, "no policy was set by a refused call");
  assert.throws(() => new ActionPolicies(new Map([["policies", []]])), TypeError);
  assert.throws(
    () => new ActionPolicies({ policies: [{ ...base, agent: "a", patterns: ["x"], extra: 1 }] }),
    (e) => e instanceof PolicyError && e.kind === "unknown_key",
  );
});

test("ActionPolicies: an intent type with a newline is an error, never a match on its first line", () => {
  const store = new ActionPolicies();
  store.set("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] });
  for (const intentType of ["intent.data.read.v1\nintent.data.delete.v1", "intent.data.read.v1 ", "intent.data.read.v1\u0000"]) {
    assert.throws(
      () => store.checkIntent({ ...INTENT, intentType }),
      (e) => e instanceof PolicyError && e.kind === "invalid_value" && e.field === "intent_type" && /is not a valid intent type/.test(e.message),
      JSON.stringify(intentType),
    );
  }
  blocks(store, "the store still works");
});
