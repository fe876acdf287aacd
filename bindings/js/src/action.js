// The ActionPolicies class: what each agent may send to and receive from
// other agents. The store, its validation, address resolution, matching and
// the violation messages all live in the core (src/action.rs, through
// bindings/wasm/src/action.rs); this file only converts values and errors.

import { PolicyError } from "./errors.js";
import { WasmActionPolicies } from "./glue.js";
import { checkString, describe } from "./util.js";
import { requireWasm } from "./wasm.js";

const DIRECTIONS = ["send", "receive"];

/** Runs a wasm call, turning the core's error JSON into a `PolicyError`. */
function core(call) {
  try {
    return call();
  } catch (e) {
    if (typeof e !== "string") throw e;
    const info = JSON.parse(e);
    throw new PolicyError(info.display, { kind: info.kind, field: info.field, index: info.index });
  }
}

/** JSON text of a policy or store object, or a PolicyError saying why not. */
function toText(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new PolicyError(`${what} is not JSON-serialisable: ${e.message}`, { kind: "json", cause: e });
  }
  // A function, a symbol or undefined: let the core name the type.
  return text === undefined ? "null" : text;
}

function parsed(text) {
  return text === undefined || text === null ? null : JSON.parse(text);
}

/**
 * The action policies of many agents: at most one per agent and direction
 * (`send`: what the agent may initiate; `receive`: what it may be asked to
 * do). An agent or direction without a policy is open. See index.d.ts.
 */
export class ActionPolicies {
  #w;

  /**
   * An empty store, or one read strictly from `store`
   * (`{policies: [{agent, direction, mode, patterns, policy_id?}, ...]}`).
   */
  constructor(store) {
    requireWasm();
    this.#w =
      store === undefined
        ? new WasmActionPolicies()
        : core(() => WasmActionPolicies.fromJson(toText(store, "store")));
  }

  /** Reads a store from its JSON text or object, strictly. */
  static fromJSON(textOrObject) {
    if (typeof textOrObject !== "string") return new ActionPolicies(textOrObject);
    checkString(textOrObject, "store text");
    requireWasm();
    const store = new ActionPolicies();
    const w = core(() => WasmActionPolicies.fromJson(textOrObject));
    store.#w.free();
    store.#w = w;
    return store;
  }

  /**
   * `agent://org/env/name` -> `name`; a bare id is returned as is; anything
   * else throws a `PolicyError`.
   */
  static resolveAddress(address) {
    checkString(address, "address");
    requireWasm();
    return core(() => WasmActionPolicies.resolveAddress(address));
  }

  /**
   * Sets `agent`'s policy for `policy.direction`: `{direction, mode,
   * patterns, policy_id?}`. Returns the policy it replaced, or null.
   */
  set(agent, policy) {
    checkString(agent, "agent");
    const text = toText(policy, "action policy");
    return parsed(core(() => this.#live().set(agent, text)));
  }

  /**
   * `agent`'s policy for `direction` (null: open); without a direction,
   * `{send, receive}`.
   */
  get(agent, direction) {
    checkString(agent, "agent");
    if (direction === undefined) {
      const out = {};
      const w = this.#live();
      for (const d of DIRECTIONS) out[d] = parsed(core(() => w.get(agent, d)));
      return out;
    }
    checkString(direction, "direction");
    return parsed(core(() => this.#live().get(agent, direction)));
  }

  /** Removes `agent`'s policy for `direction` (back to open); returns it, or null. */
  delete(agent, direction) {
    checkString(agent, "agent");
    checkString(direction, "direction");
    return parsed(core(() => this.#live().delete(agent, direction)));
  }

  /**
   * Decides an intent: the sender's `send` policy, then the receiver's
   * `receive` policy. Returns null if it passes, else the violation
   * `{error: "action_policy_violation", message, direction, address_id,
   * pattern?}`. A malformed address or an empty intent type throws a
   * `PolicyError`.
   */
  checkIntent(intent) {
    if (intent === null || typeof intent !== "object") {
      throw new TypeError(`checkIntent() takes {from, to, intentType}, got ${describe(intent)}`);
    }
    const { from, to, intentType } = intent;
    checkString(from, "from");
    checkString(to, "to");
    checkString(intentType, "intentType");
    return parsed(core(() => this.#live().checkIntent(from, to, intentType)));
  }

  /** The ids of the agents that have at least one policy, sorted. */
  get agents() {
    return JSON.parse(this.#live().agents());
  }

  /** The store: `{policies: [...]}`, readable by `fromJSON`. */
  toJSON() {
    return JSON.parse(this.#live().toJson());
  }

  /**
   * Releases the wasm memory now instead of at garbage collection; using the
   * store afterwards throws. Calling it again does nothing.
   */
  free() {
    if (this.#w === null) return;
    this.#w.free();
    this.#w = null;
  }

  #live() {
    if (this.#w === null) throw new Error("agentguard: these action policies were freed");
    return this.#w;
  }
}

// `using policies = new ActionPolicies()`, where the runtime has Symbol.dispose.
if (typeof Symbol.dispose === "symbol") {
  Object.defineProperty(ActionPolicies.prototype, Symbol.dispose, {
    value: ActionPolicies.prototype.free,
    writable: true,
    configurable: true,
  });
}
