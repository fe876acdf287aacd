// The ActionPolicies class: what each agent may send to and receive from
// other agents. The store, its validation, address resolution, intent type
// checks, matching and the violation messages all live in the core
// (src/action.rs, through bindings/wasm/src/action.rs); this file only
// converts values and errors.

import { fieldOf, objectText } from "./data.js";
import { PolicyError, structured } from "./errors.js";
import { checkString, describe } from "./util.js";
import { WasmActionPolicies, formatKeys, fromCore, requireWasm } from "./wasm.js";

const DIRECTIONS = ["send", "receive"];

/** Runs a wasm call, turning the core's errors into `PolicyError`s. */
function core(call) {
  try {
    return call();
  } catch (e) {
    throw fromCore(e, "policy");
  }
}

/** A store or policy that is not JSON data: where, and why (see data.js). */
function fail(what) {
  return (path, description, kind) => {
    const { field, index } = fieldOf(path);
    const message = path === "" ? `${what}: ${description}` : `${path}: ${description}`;
    if (kind === "invalid_value" || kind === "unknown_key") throw new PolicyError(message, { kind, field, index });
    throw structured(new TypeError(message), kind, field, index);
  };
}

/**
 * An action policy object as JSON text: its keys read by property access,
 * any other own key passed on for the core to name.
 */
function policyText(policy) {
  return objectText(policy, "", formatKeys().action_policy, fail("action policy"));
}

/** A store object (`{policies: [...]}`) as JSON text, each entry read as a policy is. */
function storeText(store) {
  const keys = formatKeys();
  const failStore = fail("store");
  const entries = (list, path) => {
    if (!Array.isArray(list)) return objectText(list, path, [], failStore);
    const parts = [];
    for (let i = 0; i < list.length; i++) {
      const at = `${path}[${i}]`;
      if (!(i in list) || list[i] === undefined) failStore(at, "a hole or undefined in a list is not JSON data", "wrong_type");
      parts.push(objectText(list[i], at, keys.store_entry, failStore));
    }
    return `[${parts.join(",")}]`;
  };
  return objectText(store, "", keys.store, failStore, { policies: entries });
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
      store === undefined ? new WasmActionPolicies() : core(() => WasmActionPolicies.fromJson(storeText(store)));
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
    const text = policyText(policy);
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
   * pattern?}`. A malformed address or intent type throws a `PolicyError`.
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
