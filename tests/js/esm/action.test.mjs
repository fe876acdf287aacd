// ActionPolicies' memory: free() and [Symbol.dispose]() release it the way
// Policy's do (once; using the store afterwards is a clear error, never a
// wasm null-pointer error or a decision). Its semantics are tested with the
// gateway's vectors (tests/gateway/).
import assert from "node:assert/strict";
import { test } from "node:test";

import { ActionPolicies } from "agentguard";

const INTENT = { from: "ops-agent", to: "agent://myorg/production/analytics-agent", intentType: "intent.data.delete.v1" };

function store() {
  const s = new ActionPolicies();
  s.set("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] });
  assert.equal(s.checkIntent(INTENT).error, "action_policy_violation");
  return s;
}

/** Every method that reaches the wasm store throws that it was freed. */
function assertFreed(s) {
  const freed = /agentguard: these action policies were freed/;
  assert.throws(() => s.checkIntent(INTENT), freed);
  assert.throws(() => s.set("a", { direction: "send", mode: "allowlist", patterns: ["x"] }), freed);
  assert.throws(() => s.get("analytics-agent"), freed);
  assert.throws(() => s.get("analytics-agent", "receive"), freed);
  assert.throws(() => s.delete("analytics-agent", "receive"), freed);
  assert.throws(() => s.agents, freed);
  assert.throws(() => s.toJSON(), freed);
}

test("free() releases the store once; using it afterwards throws that it was freed", () => {
  const s = store();
  s.free();
  s.free(); // idempotent
  assertFreed(s);
  // Other stores are untouched.
  assert.equal(store().checkIntent({ ...INTENT, intentType: "intent.data.read.v1" }), null);
});

test("[Symbol.dispose]() is free(), so `using` releases the store", () => {
  assert.equal(typeof Symbol.dispose, "symbol", "Node 20 has Symbol.dispose");
  assert.equal(ActionPolicies.prototype[Symbol.dispose], ActionPolicies.prototype.free);
  const s = store();
  s[Symbol.dispose]();
  assertFreed(s);
  s[Symbol.dispose](); // idempotent too
});
