// agentguard/analysis: the core's lint, diff and fixture tests. Every answer
// is the core's JSON (parsed), exactly: this file converts the arguments
// (a Policy, a policy file object or its JSON text; fixtures as objects or
// text) and the core's errors, and decides nothing.
//
// `agentguard:main` is the package's main entry for the same runtime
// (scripts/build-pkg.mjs points it at ./node.cjs, ./web.mjs or
// ./workerd.mjs), so a Policy made with `import { Policy } from "agentguard"`
// is the class seen here, and errors are its PolicyError.

import { Policy, PolicyError } from "agentguard:main";

import { jsonText, fieldOf } from "../data.js";
import { describe, isWellFormed, loneSurrogateAt } from "../util.js";
import { CoreError, WasmPolicy, requireWasm } from "./wasm.js";

export { init, initSync } from "./wasm.js";

// The policy file of a main-module Policy as the core's JSON text (no number
// goes through a JavaScript double): see Policy in ../policy.js.
const POLICY_TEXT = Symbol.for("agentguard.policyText");

/** What the analysis module threw, as the package's errors (see fromCore in ../wasm.js). */
function fromCore(e) {
  if (!(e instanceof CoreError)) return e;
  const [kind, field, index, , display] = JSON.parse(e.parts);
  e.free();
  if (kind === "internal") return Object.assign(new Error(display), { kind, field, index });
  return new PolicyError(display, { kind, field, index });
}

/**
 * The analysis module's compiled copy of `policy`: a Policy, or what
 * `Policy.fromJSON` reads (a policy file object or its JSON text), read by
 * the main module so that a bad one fails exactly as it would there.
 */
function compiled(policy, what) {
  let text;
  if (policy instanceof Policy) {
    text = Policy[POLICY_TEXT](policy);
  } else if (typeof policy === "string" || (typeof policy === "object" && policy !== null)) {
    const p = Policy.fromJSON(policy);
    try {
      text = Policy[POLICY_TEXT](p);
    } finally {
      p.free();
    }
  } else {
    throw new TypeError(`${what} must be a Policy, a policy object or its JSON text, got ${describe(policy)}`);
  }
  requireWasm();
  try {
    return new WasmPolicy(text, 0, 0);
  } catch (e) {
    throw fromCore(e);
  }
}

/** Runs `f` on the compiled policies, freeing them after; the core's JSON answer, parsed. */
function run(policies, f) {
  try {
    return JSON.parse(f(...policies));
  } catch (e) {
    throw fromCore(e);
  } finally {
    for (const p of policies) p.free();
  }
}

function fixturesFail(path, description, kind) {
  const { field, index } = fieldOf(path);
  const message = `${path}: ${description}`;
  if (kind === "invalid_value") throw new PolicyError(message, { kind, field, index });
  throw Object.assign(new TypeError(message), { kind, field, index });
}

/** Fixtures as the JSON text the core reads: text as given, an array as its JSON. */
function fixturesText(fixtures) {
  if (typeof fixtures === "string") {
    if (!isWellFormed(fixtures)) {
      throw new PolicyError(
        `fixtures text is not well-formed Unicode: lone surrogate at index ${loneSurrogateAt(fixtures)}`,
        { kind: "json" },
      );
    }
    return fixtures;
  }
  if (!Array.isArray(fixtures)) {
    throw new TypeError(`fixtures must be an array of fixtures or their JSON / JSON lines text, got ${describe(fixtures)}`);
  }
  return jsonText(fixtures, "fixtures", fixturesFail);
}

/** The lint findings of a policy, as the core reports them. */
export function lint(policy) {
  return run([compiled(policy, "policy")], (p) => p.lint());
}

/** Every way a decision changes from `oldPolicy` to `newPolicy`, each with a witness call. */
export function diff(oldPolicy, newPolicy) {
  const old = compiled(oldPolicy, "oldPolicy");
  let next;
  try {
    next = compiled(newPolicy, "newPolicy");
  } catch (e) {
    old.free();
    throw e;
  }
  return run([old, next], (a, b) => a.diff(b));
}

/** Runs fixtures against a policy: failures (want and got) and what no fixture exercised. */
export function testPolicy(policy, fixtures) {
  const text = fixturesText(fixtures);
  return run([compiled(policy, "policy")], (p) => p.testFixtures(text));
}
