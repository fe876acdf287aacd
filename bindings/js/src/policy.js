// The Policy class: a compiled policy in wasm, and around it the decision
// flow of the core's `Policy::decide` / `Policy::record` (approval, audit
// entry, onDecision, onDeny), run here because its hooks are JavaScript
// functions. Decisions, reasons, matched rules and approval outcomes all
// come from the core; this file only caches them.

import { ApprovalRequired, PolicyError, ToolDenied } from "./errors.js";
import { describe, isWellFormed, loneSurrogateAt } from "./util.js";
import { WasmPolicy, requireWasm, writeScratch } from "./wasm.js";

/** The core's `DEFAULT_AUDIT_CAPACITY`. */
const DEFAULT_AUDIT_CAPACITY = 10_000;

/**
 * Results are cached per tool name (a policy is immutable, so a name always
 * gets the same verdict). The cache holds at most this many names and is
 * emptied when full; a hot name comes back on its next check.
 */
const CACHE_SIZE = 4096;
/**
 * When a whole fill of the cache saw fewer hits than a quarter of its
 * misses, names are not repeating (a fuzzer, generated names): from then on
 * only one miss in SAMPLE is cached, so the cache costs almost nothing, and
 * a name that does repeat still gets in after a few checks.
 */
const SAMPLE = 16;
/** Longer names are decided every time rather than kept in the cache. */
const CACHE_MAX_NAME = 256;

/** The verdict code wasm returns for bytes that are not UTF-8 (a bug). */
const INVALID_CODE = 0xffffffff;

const OPTION_KEYS = new Set(["onApproval", "onDeny", "onDecision", "auditCapacity"]);
const NO_ERROR = Symbol("no error");
const noop = () => {};

/** Policy text already checked by `Policy.fromJSON`, for the constructor. */
class PolicyText {
  constructor(text) {
    this.text = text;
  }
}

function isThenable(v) {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
}

/** A verdict of the core, as JavaScript values. */
class Verdict {
  constructor(decision, reason, matchedRule) {
    this.decision = decision;
    this.reason = reason;
    this.matchedRule = matchedRule;
  }
}

function makeResult(v, tool) {
  const d = v.decision;
  return Object.freeze({
    decision: d,
    tool,
    reason: v.reason,
    matchedRule: v.matchedRule,
    allowed: d === "allow",
    denied: d === "deny",
    needsApproval: d === "require_approval",
  });
}

/**
 * One recorded decision. `toJSON()` gives tokenfence's
 * `AuditEntry.to_dict()`: snake_case keys, `matched_rule` and `context` left
 * out when absent.
 */
export class AuditEntry {
  constructor(timestamp, result, context) {
    this.timestamp = timestamp;
    this.tool = result.tool;
    this.decision = result.decision;
    this.reason = result.reason;
    this.matchedRule = result.matchedRule;
    this.context = context;
    Object.freeze(this);
  }

  toJSON() {
    const d = {
      timestamp: this.timestamp,
      tool: this.tool,
      decision: this.decision,
      reason: this.reason,
    };
    if (this.matchedRule) d.matched_rule = this.matchedRule;
    if (this.context !== null) d.context = this.context;
    return d;
  }
}

function contextOf(options) {
  if (options === undefined || options === null) return null;
  if (typeof options !== "object") {
    throw new TypeError(`check options must be an object like { context }, got ${describe(options)}`);
  }
  let context = null;
  for (const key in options) {
    if (key !== "context") {
      throw new TypeError(`unknown check option ${JSON.stringify(key)} (known: context)`);
    }
    context = options.context;
  }
  if (context === undefined || context === null) return null;
  if (typeof context !== "object" || Array.isArray(context)) {
    throw new TypeError(`context must be a plain object, got ${describe(context)}`);
  }
  // tokenfence keeps an empty context out of the entry; so do we.
  for (const _ in context) return context;
  return null;
}

function checkOptions(options) {
  const out = { onApproval: null, onDeny: null, onDecision: null, auditCapacity: DEFAULT_AUDIT_CAPACITY };
  if (options === undefined || options === null) return out;
  if (typeof options !== "object") {
    throw new TypeError(`Policy options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new TypeError(
        `unknown Policy option ${JSON.stringify(key)} (known: ${[...OPTION_KEYS].join(", ")})`,
      );
    }
    const value = options[key];
    if (value === undefined || value === null) continue;
    if (key === "auditCapacity") {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
        throw new TypeError(`auditCapacity must be a non-negative integer, got ${describe(value)}`);
      }
    } else if (typeof value !== "function") {
      throw new TypeError(`${key} must be a function, got ${describe(value)}`);
    }
    out[key] = value;
  }
  return out;
}

/** The policy's JSON text, or a PolicyError naming what cannot be sent. */
function specText(spec) {
  if (spec === undefined) return "{}";
  let text;
  try {
    text = JSON.stringify(spec);
  } catch (e) {
    throw new PolicyError(`policy is not JSON-serialisable: ${e.message}`, { kind: "json", cause: e });
  }
  if (text === undefined) {
    // A function or a symbol: let the core name the type.
    return "null";
  }
  return text;
}

/**
 * A string in a policy object that is not well-formed Unicode: JSON.stringify
 * escapes it as `\udXXX`, which the core's JSON reader rejects without
 * saying where. Find it and name the field and index instead.
 */
function illFormedSpecString(spec) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) return null;
  for (const [field, value] of Object.entries(spec)) {
    if (typeof value === "string" && !isWellFormed(value)) {
      return new PolicyError(`${field}: not well-formed Unicode (lone surrogate at ${loneSurrogateAt(value)})`, {
        kind: "invalid_value",
        field,
      });
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (typeof item === "string" && !isWellFormed(item)) {
          return new PolicyError(
            `${field}[${i}]: pattern is not well-formed Unicode (lone surrogate at ${loneSurrogateAt(item)})`,
            { kind: "invalid_value", field, index: i },
          );
        }
      }
    }
    if (!isWellFormed(field)) {
      return new PolicyError(`unknown key ${JSON.stringify(field)} in policy (not well-formed Unicode)`, {
        kind: "unknown_key",
        field,
      });
    }
  }
  return null;
}

function compile(text, spec) {
  requireWasm();
  try {
    return new WasmPolicy(text);
  } catch (e) {
    if (typeof e !== "string") throw e;
    const info = JSON.parse(e);
    if (info.kind === "json" && spec !== undefined) {
      const better = illFormedSpecString(spec);
      if (better !== null) throw better;
    }
    throw new PolicyError(info.display, { kind: info.kind, field: info.field, index: info.index });
  }
}

/**
 * A compiled, immutable policy with its callbacks and audit log. See
 * index.d.ts for the documented API.
 */
export class Policy {
  #w;
  #name;
  #audit;
  #onApproval;
  #onDeny;
  #onDecision;
  #capacity;
  // The audit log: a ring of at most #capacity entries; #head is the oldest
  // once it is full.
  #log = [];
  #head = 0;
  #dropped = 0;
  // Caches: verdict code -> Verdict; tool -> frozen result.
  #verdicts = new Map();
  #cache = new Map();
  #hits = 0;
  #skip = 0;
  #sampling = false;
  // Results that need approval -> their verdict code, for the core's resolve.
  #pendingCodes = new WeakMap();

  constructor(spec, options) {
    const opts = checkOptions(options);
    // The wasm-bindgen object registers itself with a FinalizationRegistry:
    // its memory is released when this policy is collected, or by free().
    this.#w = spec instanceof PolicyText ? compile(spec.text, undefined) : compile(specText(spec), spec);
    this.#name = this.#w.name;
    this.#audit = this.#w.audit;
    this.#onApproval = opts.onApproval;
    this.#onDeny = opts.onDeny;
    this.#onDecision = opts.onDecision;
    this.#capacity = opts.auditCapacity;
  }

  /**
   * A policy from its JSON text (a policy file) or from the parsed object.
   */
  static fromJSON(textOrObject, options) {
    if (typeof textOrObject !== "string") return new Policy(textOrObject, options);
    if (!isWellFormed(textOrObject)) {
      throw new PolicyError(
        `policy text is not well-formed Unicode: lone surrogate at index ${loneSurrogateAt(textOrObject)}`,
        { kind: "json" },
      );
    }
    return new Policy(new PolicyText(textOrObject), options);
  }

  /** The policy's name. */
  get name() {
    return this.#name;
  }

  /** The kept audit entries, oldest first (a copy). */
  get auditLog() {
    const log = this.#log;
    if (this.#head === 0) return log.slice();
    return log.slice(this.#head).concat(log.slice(0, this.#head));
  }

  /** How many entries were dropped to respect `auditCapacity` since the last `clearAudit()`. */
  get auditDropped() {
    return this.#dropped;
  }

  /** Removes every audit entry and resets `auditDropped`. */
  clearAudit() {
    this.#log = [];
    this.#head = 0;
    this.#dropped = 0;
  }

  /** The policy file: tokenfence's `to_dict()` (a fresh object each call). */
  toJSON() {
    const s = JSON.parse(this.#live().toJson());
    // tokenfence's to_dict() key order.
    return {
      name: s.name,
      allow: s.allow,
      deny: s.deny,
      require_approval: s.require_approval,
      default: s.default,
      audit: s.audit,
    };
  }

  /** Frees the wasm memory now instead of when the policy is collected. */
  free() {
    if (this.#w === null) return;
    this.#w.free();
    this.#w = null;
    this.#cache = new Map();
  }

  #live() {
    const w = this.#w;
    if (w === null) throw new Error(`agentguard: policy ${JSON.stringify(this.#name)} was freed`);
    return w;
  }

  #verdict(code) {
    let v = this.#verdicts.get(code);
    if (v === undefined) {
      const [decision, reason, matchedRule] = JSON.parse(this.#w.describe(code));
      v = new Verdict(decision, reason, matchedRule);
      this.#verdicts.set(code, v);
    }
    return v;
  }

  /** The pure result for `tool`, from the cache or from wasm. */
  #result(tool) {
    let r = this.#cache.get(tool);
    if (r !== undefined) {
      this.#hits++;
      return r;
    }
    if (typeof tool !== "string") {
      throw new TypeError(`tool name must be a string, got ${describe(tool)}`);
    }
    const w = this.#live();
    const len = writeScratch(tool);
    if (len < 0) {
      throw new TypeError(`tool name is not well-formed Unicode: lone surrogate at index ${loneSurrogateAt(tool)}`);
    }
    const code = w.evaluateScratch(len);
    if (code === INVALID_CODE) throw new TypeError("tool name could not be encoded as UTF-8");
    r = makeResult(this.#verdict(code), tool);
    if (r.needsApproval) this.#pendingCodes.set(r, code);
    if (tool.length <= CACHE_MAX_NAME) this.#remember(tool, r);
    return r;
  }

  #remember(tool, r) {
    if (this.#skip > 0) {
      this.#skip--;
      return;
    }
    const cache = this.#cache;
    if (cache.size >= CACHE_SIZE) {
      // Misses since the last fill: CACHE_SIZE inserts, SAMPLE times as
      // many checks while sampling.
      const misses = this.#sampling ? CACHE_SIZE * SAMPLE : CACHE_SIZE;
      this.#sampling = this.#hits * 4 < misses;
      this.#hits = 0;
      cache.clear();
    }
    cache.set(tool, r);
    if (this.#sampling) this.#skip = SAMPLE - 1;
  }

  #resolve(pending, answer) {
    const code = this.#live().resolve(this.#pendingCodes.get(pending), answer);
    return makeResult(this.#verdict(code), pending.tool);
  }

  #answer(answer, where) {
    if (answer === true || answer === false) return answer;
    if (isThenable(answer)) {
      // Never leave the caller's rejected promise unhandled because of us.
      answer.then(noop, noop);
      throw new TypeError(
        `onApproval returned a Promise inside ${where}(); a Promise is not an answer. ` +
          "Use checkAsync() / enforceAsync() for an asynchronous approver",
      );
    }
    throw new TypeError(`onApproval must return true or false, got ${describe(answer)}`);
  }

  /** Appends to the ring; the core's `AuditLog::push`. */
  #push(entry) {
    const cap = this.#capacity;
    const log = this.#log;
    if (log.length < cap) {
      log.push(entry);
    } else if (cap === 0) {
      this.#dropped++;
    } else {
      log[this.#head] = entry;
      this.#head = this.#head + 1 === cap ? 0 : this.#head + 1;
      this.#dropped++;
    }
  }

  /**
   * The core's `Policy::record`: the entry (when audit is on) goes to
   * onDecision and into the log, then onDeny runs for a deny. Both hooks run
   * even if the other throws; the entry is kept either way; the first error
   * is thrown. Returns the promises the hooks returned, for the async flow.
   */
  #record(r, context, pending) {
    let error = NO_ERROR;
    if (this.#audit) {
      const entry = new AuditEntry(Date.now() / 1000, r, context);
      const sink = this.#onDecision;
      if (sink !== null) {
        try {
          const p = sink(entry);
          if (pending !== null && isThenable(p)) pending.push(p);
        } catch (e) {
          error = e;
        }
      }
      this.#push(entry);
    }
    if (r.denied) {
      const onDeny = this.#onDeny;
      if (onDeny !== null) {
        try {
          const p = onDeny(r, context);
          if (pending !== null && isThenable(p)) pending.push(p);
        } catch (e) {
          if (error === NO_ERROR) error = e;
        }
      }
    }
    if (error !== NO_ERROR) throw error;
  }

  /**
   * Decides whether `tool` may run, runs the approver for an
   * approval-gated tool, and records the decision.
   */
  check(tool, options) {
    const context = options === undefined ? null : contextOf(options);
    let r = this.#result(tool);
    if (r.needsApproval && this.#onApproval !== null) {
      r = this.#resolve(r, this.#answer(this.#onApproval(r, context), "check"));
    }
    this.#record(r, context, null);
    return r;
  }

  /** `check()`, throwing `ToolDenied` / `ApprovalRequired` unless allowed. */
  enforce(tool, options) {
    const r = this.check(tool, options);
    if (r.allowed) return r;
    throw r.denied ? new ToolDenied(r) : new ApprovalRequired(r);
  }

  /** `check()` with an approver that may return a Promise. */
  async checkAsync(tool, options) {
    const context = options === undefined ? null : contextOf(options);
    let r = this.#result(tool);
    if (r.needsApproval && this.#onApproval !== null) {
      r = this.#resolve(r, this.#answer(await this.#onApproval(r, context), "checkAsync"));
    }
    const pending = [];
    let error = NO_ERROR;
    try {
      this.#record(r, context, pending);
    } catch (e) {
      error = e;
    }
    if (pending.length > 0) {
      // allSettled handles every promise at once: none is left unhandled.
      for (const s of await Promise.allSettled(pending)) {
        if (s.status === "rejected" && error === NO_ERROR) error = s.reason;
      }
    }
    if (error !== NO_ERROR) throw error;
    return r;
  }

  /** `enforce()` with an approver that may return a Promise. */
  async enforceAsync(tool, options) {
    const r = await this.checkAsync(tool, options);
    if (r.allowed) return r;
    throw r.denied ? new ToolDenied(r) : new ApprovalRequired(r);
  }
}

// console.log(policy) in Node: the policy file, not an empty `Policy {}`.
Object.defineProperty(Policy.prototype, Symbol.for("nodejs.util.inspect.custom"), {
  value(depth, options, inspect) {
    let body;
    try {
      body = this.toJSON();
    } catch {
      return `Policy <freed ${JSON.stringify(this.name)}>`;
    }
    return typeof inspect === "function" ? `Policy ${inspect(body, options)}` : `Policy ${JSON.stringify(body)}`;
  },
  writable: true,
  configurable: true,
});

const dispose = typeof Symbol.dispose === "symbol" ? Symbol.dispose : null;
if (dispose !== null) {
  Object.defineProperty(Policy.prototype, dispose, {
    value: Policy.prototype.free,
    writable: true,
    configurable: true,
  });
}
