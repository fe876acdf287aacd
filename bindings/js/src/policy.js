// The Policy class: a compiled policy in wasm, with its audit log there too.
// `check` runs the core's decision flow (Policy::decide_from, through
// bindings/wasm's WasmPolicy.decide) with this file's callbacks behind the
// core's Hooks; `checkAsync` runs the same steps, awaiting what is pending.
// Decisions, reasons, approval outcomes, audit entries, their JSON and
// every flow message come from the core; this file converts values and
// errors, and caches the outcome of the pure step per tool name for the
// names whose verdict cannot depend on a call's arguments (no rule for
// them reads one). For the others, it converts only the arguments those
// rules read (args.js), on every call.

import { argsOf, argsText, pathTree } from "./args.js";
import { fieldOf, jsonText, objectText } from "./data.js";
import { ApprovalRequired, PolicyError, ToolDenied, structured } from "./errors.js";
import { describe, isWellFormed, loneSurrogateAt } from "./util.js";
import {
  WasmPolicy,
  failure,
  formatKeys,
  fromCore,
  releaseScratch,
  requireWasm,
  setShadow,
  shadowWord,
  writeName,
  writeText,
} from "./wasm.js";

/** The core's `DEFAULT_AUDIT_CAPACITY`. */
const DEFAULT_AUDIT_CAPACITY = 10_000;

/**
 * Pure results are cached per tool name (a policy is immutable, so a name
 * always gets the same verdict). The cache holds at most this many names and
 * is emptied when full; a hot name comes back on its next check.
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

/** The code that asks WasmPolicy.decide to evaluate the name first. */
const EVALUATE = 0xffffffff;
/** What WasmPolicy's flow calls return when they failed (the error: takeFailure()). */
const FAILED = 0xffffffff;
/**
 * What WasmPolicy's calls on a name alone return when a rule for that name
 * reads arguments (bindings/wasm: NEEDS_ARGS): nothing was decided.
 */
const NEEDS_ARGS = 0xfffffffe;
/**
 * A verdict code at or above this has shadow rules, whose set is in the
 * shadow slot (bindings/wasm: SHADOWED): read at once when wasm returns the
 * code, written right before passing the code back in.
 */
const SHADOWED = 0x80000000;
/** Marks a name argument as the id of a name wasm remembers (bindings/wasm: NAME_ID). */
const NAME_ID = 0x80000000;
/**
 * How many results with shadow rules (distinct by rule and set of shadow
 * rules) are kept described; the table is emptied when full.
 */
const SHADOW_INFOS = 4096;

/** Which WasmPolicy flow call #flow makes. */
const DECIDE = 0;
const RECORD = 1;
const CALL = 2;

/** The callbacks WasmPolicy is told about (bindings/wasm: ON_APPROVAL, ...). */
const ON_APPROVAL = 1;
const ON_DECISION = 2;
const ON_DENY = 4;

const OPTION_KEYS = new Set(["onApproval", "onDeny", "onDecision", "auditCapacity"]);
const NO_ERROR = Symbol("no error");
const noop = () => {};
const NO_SHADOW = Object.freeze([]);

/** Policy text already checked by `Policy.fromJSON`, for the constructor. */
class PolicyText {
  constructor(text) {
    this.text = text;
  }
}

function isThenable(v) {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
}

/** Makes sure a Promise we refuse is never reported as an unhandled rejection. */
function handled(p) {
  try {
    p.then(noop, noop);
  } catch {
    // A thenable whose then() throws has no rejection to leave unhandled.
  }
}

/**
 * An approver's answer as bindings/wasm reads it: the boolean itself, null
 * for a Promise (the core refuses it in the synchronous flow), or a
 * description of anything else, for the core's message.
 */
function answerOf(answer) {
  if (answer === true || answer === false) return answer;
  if (isThenable(answer)) {
    handled(answer);
    return null;
  }
  return describe(answer);
}

/**
 * What onDecision / onDeny returned, for bindings/wasm: 1 for a Promise.
 * In checkAsync it joins `pending`, to be awaited; in check the core
 * refuses it (kind async_hook), and it must not leave a rejection unhandled.
 */
function settle(p, pending) {
  if (!isThenable(p)) return 0;
  if (pending !== null) pending.push(p);
  else handled(p);
  return 1;
}

function deepFreeze(v) {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze(v[k]);
  }
  return v;
}

// The per-code data behind a result, for PolicyResult's private field.
let infoOf;

/**
 * The outcome of a check or an evaluation (frozen). `toJSON()` is the core's
 * serialisation, the same in every language.
 */
class PolicyResult {
  #info;

  static {
    infoOf = (r) => r.#info;
  }

  constructor(tool, info, approval) {
    this.decision = info.decision;
    this.tool = tool;
    this.reason = info.reason;
    this.matchedRule = info.matchedRule;
    this.rule = info.rule;
    this.shadow = info.shadow;
    this.allowed = info.decision === "allow";
    this.denied = info.decision === "deny";
    this.needsApproval = info.decision === "require_approval";
    // Only a gateway's results (gatewayResult) have one, null or not.
    if (approval !== undefined) this.approval = approval;
    this.#info = info;
    Object.freeze(this);
  }

  /** `{"tool", "decision", "reason", "matched_rule", "rule", "shadow"}` (a fresh object). */
  toJSON() {
    const d = JSON.parse(this.#info.json);
    d.tool = this.tool;
    return d;
  }
}

/**
 * The result a gateway (`agentguard serve`, through GatewayClient) decided,
 * from its JSON, whose shape gateway.js checked: the same class as a
 * policy's results, the same fields, `toJSON()` the gateway's JSON without
 * its `approval`, which is the result's `approval` (frozen; null: none).
 */
export function gatewayResult(json) {
  const { approval = null, ...result } = json;
  return new PolicyResult(
    result.tool,
    {
      json: JSON.stringify(result),
      decision: result.decision,
      reason: result.reason,
      matchedRule: result.matched_rule,
      rule: deepFreeze(result.rule),
      shadow: result.shadow.length === 0 ? NO_SHADOW : deepFreeze(result.shadow),
    },
    deepFreeze(approval),
  );
}

/**
 * One recorded decision (frozen), made from the core's entry. `toJSON()`
 * gives tokenfence's `AuditEntry.to_dict()` as the core writes it.
 */
export class AuditEntry {
  #dict;

  constructor(dict, matchedRule) {
    this.timestamp = dict.timestamp;
    this.tool = dict.tool;
    this.decision = dict.decision;
    this.reason = dict.reason;
    this.matchedRule = matchedRule;
    this.context = dict.context === undefined ? null : deepFreeze(dict.context);
    this.shadow = dict.shadow === undefined ? NO_SHADOW : deepFreeze(dict.shadow);
    this.#dict = dict;
    Object.freeze(this);
  }

  /** tokenfence's `to_dict()` (a fresh object each call). */
  toJSON() {
    return JSON.parse(JSON.stringify(this.#dict));
  }
}

function entriesOf(text) {
  return JSON.parse(text).map(([dict, matchedRule]) => new AuditEntry(dict, matchedRule));
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

/** A policy spec that is not JSON data, or an unreadable key: where, and why. */
function specFail(path, description, kind) {
  const { field, index } = fieldOf(path);
  const message = path === "" ? `policy: ${description}` : `${path}: ${description}`;
  // Strings JSON cannot carry and unreadable keys are values of the format
  // that are wrong; a Map, a function, a cycle are not policy data at all.
  if (kind === "invalid_value" || kind === "unknown_key") throw new PolicyError(message, { kind, field, index });
  throw structured(new TypeError(message), kind, field, index);
}

/** The policy's JSON text, read strictly from `spec` (see data.js). */
function specText(spec) {
  if (spec === undefined) return "{}";
  // Another Policy: its policy file (its getters are not the format's keys).
  if (spec instanceof Policy) return JSON.stringify(spec.toJSON());
  return objectText(spec, "", formatKeys().policy, specFail);
}

function compile(text, capacity, callbacks) {
  try {
    return new WasmPolicy(text, capacity, callbacks);
  } catch (e) {
    throw fromCore(e, "policy");
  }
}

const NO_OPTIONS = Object.freeze({ args: null, context: null, approved: null });

/**
 * The options of a check (`{ args, context }`) or, with `evaluating`, of
 * evaluate (`{ args }`): the caller's objects (or null), validated.
 */
function callOptions(options, evaluating) {
  if (options === null) return NO_OPTIONS;
  const what = evaluating ? "evaluate" : "check";
  const known = evaluating ? "args" : "args, context, approved";
  if (typeof options !== "object") {
    throw new TypeError(`${what} options must be an object like { ${known} }, got ${describe(options)}`);
  }
  let args = null;
  let context = null;
  let approved = null;
  for (const key in options) {
    if (key === "args") args = options.args;
    else if (key === "context" && !evaluating) context = options.context;
    else if (key === "approved" && !evaluating) approved = options.approved;
    else throw new TypeError(`unknown ${what} option ${JSON.stringify(key)} (known: ${known})`);
  }
  if (approved === undefined) approved = null;
  if (approved !== null && approved !== true && approved !== false) {
    throw new TypeError(`approved must be true or false (or undefined / null: not given), got ${describe(approved)}`);
  }
  args = argsOf(args);
  if (context === undefined || context === null) {
    return args === null && approved === null ? NO_OPTIONS : { args, context: null, approved };
  }
  if (typeof context !== "object" || Array.isArray(context)) {
    throw new TypeError(`context must be a plain object, got ${describe(context)}`);
  }
  return { args, context, approved };
}

function contextFail(path, description, kind) {
  const { field, index } = fieldOf(path);
  throw structured(new TypeError(`${path}: ${description}`), kind, field, index);
}

/**
 * The copy of the context the audit entry records: JSON text, made now, so
 * that changing the caller's object afterwards does not change the log.
 * Undefined for no context or an empty one (tokenfence records neither).
 */
function contextText(context) {
  if (context === null) return undefined;
  const text = jsonText(context, "context", contextFail);
  return text === "{}" ? undefined : text;
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
  #callbacks;
  // Callbacks as the core's Hooks: bindings/wasm calls these during a flow.
  #hooks;
  // The check whose flow is running (for the callbacks' arguments); a
  // re-entrant check from inside a callback saves and restores it.
  #frame = null;
  #depth = 0;
  // free() during a flow: the wasm object to free once the flow is over.
  #freeLater = null;
  // The log as it was when free() released the wasm memory.
  #finalLog = null;
  #finalDropped = 0;
  // Caches: verdict code -> its result data; tool -> id, the index of its
  // pure PolicyResult in #results and of the name wasm remembers for it
  // (WasmPolicy.remember), so that a cached name is not written again. Only
  // names whose verdict cannot depend on the arguments are cached.
  #infos = new Map();
  #cache = new Map();
  #results = [];
  #hits = 0;
  #skip = 0;
  #sampling = false;
  // Whether any rule reads an argument; if so, tool -> the tree of the
  // argument paths its rules read (args.js), for the names that have them.
  #reads = false;
  #trees = new Map();
  // Verdict code with shadow rules -> set of shadow rules -> result data.
  #shadowInfos = new Map();
  #shadowCount = 0;

  // For agentguard/analysis (a bundle of its own, with a wasm module of its
  // own): the policy file as the core's JSON text, exactly (toJSON() would
  // take a bound past 2^53 through a double). Not part of the API, hence a
  // symbol and not enumerable.
  static {
    Object.defineProperty(Policy, Symbol.for("agentguard.policyText"), {
      value: (policy) => policy.#live().toJson(),
    });
  }

  constructor(spec, options) {
    const opts = checkOptions(options);
    requireWasm();
    this.#onApproval = opts.onApproval;
    this.#onDeny = opts.onDeny;
    this.#onDecision = opts.onDecision;
    this.#callbacks =
      (opts.onApproval !== null ? ON_APPROVAL : 0) |
      (opts.onDecision !== null ? ON_DECISION : 0) |
      (opts.onDeny !== null ? ON_DENY : 0);
    // The wasm-bindgen object registers itself with a FinalizationRegistry:
    // its memory is released when this policy is collected, or by free().
    const text = spec instanceof PolicyText ? spec.text : specText(spec);
    this.#w = compile(text, opts.auditCapacity, this.#callbacks);
    this.#name = this.#w.name;
    this.#audit = this.#w.audit;
    this.#reads = this.#w.readsArguments;
    this.#hooks = {
      approve: (code) => {
        const f = this.#frame;
        return answerOf(this.#onApproval(this.#frameResult(f, code), f.context));
      },
      decision: (text) => {
        const [dict, matchedRule] = JSON.parse(text);
        return settle(this.#onDecision(new AuditEntry(dict, matchedRule)), this.#frame.pending);
      },
      deny: (code) => {
        const f = this.#frame;
        return settle(this.#onDeny(this.#frameResult(f, code), f.context), f.pending);
      },
    };
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

  /** The kept audit entries, oldest first (new objects each time). */
  get auditLog() {
    if (this.#w === null) return this.#finalLog.slice();
    let text;
    try {
      text = this.#w.auditLog();
    } catch (e) {
      throw fromCore(e, "type");
    }
    return entriesOf(text);
  }

  /** How many entries were dropped to respect `auditCapacity` since the last `clearAudit()`. */
  get auditDropped() {
    return this.#w === null ? this.#finalDropped : this.#w.auditDropped;
  }

  /** Whether the policy has an onApproval callback. */
  get hasOnApproval() {
    return this.#onApproval !== null;
  }

  /** Removes every audit entry and resets `auditDropped`. */
  clearAudit() {
    if (this.#w === null) {
      this.#finalLog = [];
      this.#finalDropped = 0;
      return;
    }
    this.#w.clearAudit();
  }

  /** The policy file: tokenfence's `to_dict()` as the core writes it (a fresh object each call). */
  toJSON() {
    return JSON.parse(this.#live().toJson());
  }

  /** Frees the wasm memory now instead of when the policy is collected. */
  free() {
    const w = this.#w;
    if (w === null) return;
    // The log outlives the wasm memory: callers may still read it.
    this.#finalLog = this.auditLog;
    this.#finalDropped = w.auditDropped;
    this.#w = null;
    this.#cache = new Map();
    this.#results = [];
    this.#trees = new Map();
    this.#shadowInfos = new Map();
    // Inside a callback, the flow that called it still runs in this object.
    if (this.#depth > 0) this.#freeLater = w;
    else w.free();
  }

  #live() {
    const w = this.#w;
    if (w === null) throw new Error(`agentguard: policy ${JSON.stringify(this.#name)} was freed`);
    return w;
  }

  /**
   * The data of verdict `code` (its shadow set, if it has one, in the
   * slot): the core's result JSON, parsed once per verdict.
   */
  #info(code) {
    if (code >= SHADOWED) return this.#shadowInfo(code, shadowWord(0), shadowWord(1));
    let info = this.#infos.get(code);
    if (info === undefined) {
      info = this.#describe(code, 0, 0);
      this.#infos.set(code, info);
    }
    return info;
  }

  /** The data of verdict `code` with the set of shadow rules `lo`, `hi`. */
  #shadowInfo(code, lo, hi) {
    // One number for a set of up to 53 shadow rules, a string past that.
    const key = hi < 0x200000 ? hi * 0x100000000 + lo : `${hi}:${lo}`;
    let sets = this.#shadowInfos.get(code);
    let info = sets?.get(key);
    if (info === undefined) {
      if (this.#shadowCount >= SHADOW_INFOS) {
        // Results already made keep their data; only the table goes.
        this.#shadowInfos.clear();
        this.#shadowCount = 0;
        sets = undefined;
      }
      setShadow(lo, hi);
      info = this.#describe(code, lo, hi);
      if (sets === undefined) {
        sets = new Map();
        this.#shadowInfos.set(code, sets);
      }
      sets.set(key, info);
      this.#shadowCount++;
    }
    return info;
  }

  /** Asks wasm for verdict `code`'s result (its shadow set in the slot). */
  #describe(code, lo, hi) {
    // (free() from a callback leaves the wasm object to the check that runs it.)
    const w = this.#w ?? this.#freeLater ?? this.#live();
    let text;
    try {
      text = w.describe(code);
    } catch (e) {
      throw fromCore(e, "type");
    }
    const [pure, result] = JSON.parse(text);
    return {
      code,
      lo,
      hi,
      pure,
      json: JSON.stringify(result),
      decision: result.decision,
      reason: result.reason,
      matchedRule: result.matched_rule,
      rule: deepFreeze(result.rule),
      shadow: result.shadow.length === 0 ? NO_SHADOW : deepFreeze(result.shadow),
    };
  }

  #result(tool, code) {
    return new PolicyResult(tool, this.#info(code));
  }

  /** The result a callback gets: the check's own pure result when the verdict is its. */
  #frameResult(frame, code) {
    const r = frame.result;
    if (r !== null) {
      const info = infoOf(r);
      if (info.code === code && (code < SHADOWED || (info.lo === shadowWord(0) && info.hi === shadowWord(1)))) return r;
    }
    return this.#result(frame.tool, code);
  }

  /**
   * Caches `r`, the pure result for `tool` (whose checks then pass it to
   * wasm by id). `len`: the name's bytes still in the scratch buffer, or -1
   * when a callback may have written another name there since.
   */
  #remember(w, tool, r, len) {
    if (tool.length > CACHE_MAX_NAME || this.#w === null) return;
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
      this.#results.length = 0;
      w.forgetNames();
    }
    const id = w.remember(len === -1 ? writeName(tool) : len);
    if (id !== this.#results.length) {
      throw structured(new Error("agentguard: the name cache is out of step with wasm (a bug; please report it)"), "internal");
    }
    cache.set(tool, id);
    this.#results.push(r);
    if (this.#sampling) this.#skip = SAMPLE - 1;
  }

  /**
   * Whether every call of `tool` is denied whatever its arguments, as far
   * as the policy shows at once (the core's `Policy::always_denied`):
   * `true` is always right; `false` may mean "not shown". What an adapter
   * uses to leave a tool out of a listing.
   * @param {string} tool
   * @returns {boolean}
   */
  alwaysDenied(tool) {
    const w = this.#live();
    const code = w.alwaysDenied(writeName(tool));
    releaseScratch();
    if (code === FAILED) throw failure("type");
    return code === 1;
  }

  /** The pure step for a name not in the cache (`args`: the call's, or null). */
  #evaluate(w, tool, args) {
    const len = writeName(tool);
    const code = w.evaluate(len);
    releaseScratch();
    if (code === FAILED) throw failure("type");
    if (code === NEEDS_ARGS) return this.#evaluateCall(w, tool, argsText(args, this.#tree(w, tool)));
    const r = this.#result(tool, code);
    this.#remember(w, tool, r, len);
    return r;
  }

  /** The pure step for a call whose arguments (`text`: their JSON) the rules read. */
  #evaluateCall(w, tool, text) {
    const len = writeName(tool);
    const code = w.evaluateCall(len, writeText(len, text));
    releaseScratch();
    if (code === FAILED) throw failure("type");
    return this.#result(tool, code);
  }

  /**
   * The tree of the argument paths the rules for `tool` read, from wasm
   * (once per name: kept for names no longer than CACHE_MAX_NAME).
   */
  #tree(w, tool) {
    const len = writeName(tool);
    let paths;
    try {
      paths = w.argumentPaths(len);
    } catch (e) {
      throw fromCore(e, "type");
    } finally {
      releaseScratch();
    }
    const tree = pathTree(JSON.parse(paths));
    if (tool.length <= CACHE_MAX_NAME && this.#w !== null) {
      if (this.#trees.size >= CACHE_SIZE) this.#trees.clear();
      this.#trees.set(tool, tree);
    }
    return tree;
  }

  /** The pure result for `tool` called with `args` (or null), from the cache or from wasm. */
  #pure(w, tool, args) {
    const id = this.#cache.get(tool);
    if (id !== undefined) {
      this.#hits++;
      return this.#results[id];
    }
    if (this.#reads) {
      const tree = this.#trees.get(tool);
      if (tree !== undefined) return this.#evaluateCall(w, tool, argsText(args, tree));
    }
    return this.#evaluate(w, tool, args);
  }

  /**
   * `check()` of `tool` with `args` (or null), a name whose rules read the
   * arguments at the paths of `tree`: one wasm call, evaluate_call and the
   * flow, or the pure step alone when the flow can do nothing.
   */
  #checkCall(w, tool, tree, args, context, text) {
    // Converted before anything is written to wasm memory: a getter may
    // check again.
    const argsJson = argsText(args, tree);
    if (!this.#audit && this.#callbacks === 0) return this.#evaluateCall(w, tool, argsJson);
    const len = writeName(tool);
    const code = this.#flow(w, CALL, len, writeText(len, argsJson), text, tool, context, null, null);
    const r = this.#result(tool, code);
    if (this.#freeLater !== null) this.#freeDeferred();
    return r;
  }

  /**
   * Whether the flow after the pure step can do anything for `r`: record
   * an entry, ask the approver, run onDeny. When it cannot (audit off, and
   * no callback this result would reach), the flow has no effect, and check
   * returns the pure result without calling it; the flow vectors
   * (tests/js/esm/flow.test.mjs) prove the results equal.
   */
  #flows(r) {
    return this.#audit || (r.needsApproval && this.#onApproval !== null) || (r.denied && this.#onDeny !== null);
  }

  /**
   * Runs the flow in wasm for the name written to the scratch buffer, with
   * the frame its callbacks read: `kind` DECIDE (WasmPolicy.decide from
   * verdict `code`, or EVALUATE), RECORD (.record: for checkAsync, `pending` an array, the
   * asynchronous mode; for check given `approved`, null, the synchronous) or CALL
   * (.decideCall, `code` being the length of the arguments' JSON after the
   * name). `result` is the pure result behind `code`, if any. What a
   * callback threw comes out untouched; the core's flow errors as
   * TypeError / RangeError with `kind`.
   */
  #flow(w, kind, len, code, text, tool, context, result, pending) {
    if (kind !== CALL && code >= SHADOWED && code !== EVALUATE) {
      const info = infoOf(result);
      setShadow(info.lo, info.hi);
    }
    if (this.#callbacks === 0) {
      // No callback can run: no frame, no hooks to pass, nothing to catch
      // but a failure; and nothing runs before the entry is made, so the
      // time can be read here.
      const out =
        kind === DECIDE
          ? w.decideBare(len, code, Date.now(), text)
          : kind === CALL
            ? w.decideCall(len, code, this.#hooks, Date.now(), text)
            : w.record(len, code, this.#hooks, text, pending === null);
      releaseScratch();
      if (out === FAILED) throw failure("type");
      return out;
    }
    const outer = this.#frame;
    this.#frame = { tool, context, result, pending };
    this.#depth++;
    let out = FAILED;
    try {
      out =
        kind === DECIDE
          ? w.decide(len, code, this.#hooks, text)
          : kind === CALL
            ? w.decideCall(len, code, this.#hooks, 0, text)
            : w.record(len, code, this.#hooks, text, pending === null);
    } finally {
      this.#frame = outer;
      this.#depth--;
    }
    releaseScratch();
    if (out === FAILED) {
      const e = failure("type");
      this.#freeDeferred();
      throw e;
    }
    return out;
  }

  /** Frees the wasm object once no check of this policy is running (see free()). */
  #freeDeferred() {
    const w = this.#freeLater;
    if (w !== null && this.#depth === 0) {
      this.#freeLater = null;
      w.free();
    }
  }

  /** The pure step alone: no approver, no audit entry, no callback. */
  evaluate(tool, options) {
    const args = options === undefined ? null : callOptions(options, true).args;
    return this.#pure(this.#live(), tool, args);
  }

  /**
   * Decides whether `tool` may run, runs the approver for an
   * approval-gated tool, and records the decision: the core's flow.
   */
  check(tool, options) {
    let context = null;
    let args = null;
    let approved = null;
    let text;
    if (options !== undefined) {
      ({ args, context, approved } = callOptions(options, false));
      text = contextText(context);
    }
    const w = this.#live();
    if (approved !== null) return this.#checkAnswered(w, tool, args, context, text, approved);
    const id = this.#cache.get(tool);
    if (id === undefined) return this.#checkNew(w, tool, args, context, text);
    this.#hits++;
    const r = this.#results[id];
    if (this.#callbacks === 0) {
      // The hottest path of the package (a repeated name, audit on, no
      // callback), kept small: #flow's bare case for a remembered name.
      if (!this.#audit) return r;
      const info = infoOf(r);
      const code = info.code;
      if (code >= SHADOWED) setShadow(info.lo, info.hi);
      const final = w.decideBare(id | NAME_ID, code, Date.now(), text);
      if (final === code) return r;
      if (final === FAILED) throw failure("type");
      return this.#result(tool, final);
    }
    return this.#checkFrom(w, tool, r, id | NAME_ID, context, text);
  }

  /** `check()` of a name not in the cache. */
  #checkNew(w, tool, args, context, text) {
    // A name whose rules read arguments: converted and decided each call.
    const tree = this.#reads ? this.#trees.get(tool) : undefined;
    if (tree !== undefined) return this.#checkCall(w, tool, tree, args, context, text);
    if (this.#audit) {
      // One call: wasm evaluates the name and runs the flow (unless a rule
      // for it reads arguments: then nothing happened yet). Without
      // callbacks, #flow's bare case written out: the hottest call for
      // names not in the cache.
      const len = writeName(tool);
      let code;
      if (this.#callbacks === 0) {
        code = w.decideBare(len, EVALUATE, Date.now(), text);
        releaseScratch();
        if (code === FAILED) throw failure("type");
      } else {
        code = this.#flow(w, DECIDE, len, EVALUATE, text, tool, context, null, null);
      }
      if (code === NEEDS_ARGS) return this.#checkCall(w, tool, this.#tree(w, tool), args, context, text);
      const r = this.#result(tool, code);
      if (infoOf(r).pure) this.#remember(w, tool, r, this.#callbacks === 0 ? len : -1);
      if (this.#freeLater !== null) this.#freeDeferred();
      return r;
    }
    return this.#checkFrom(w, tool, this.#evaluate(w, tool, args), -1, context, text);
  }

  /**
   * The flow of `check()` after the pure step gave `r` (`name`: the name's
   * id in wasm, or -1 to write it), when it can do anything.
   */
  #checkFrom(w, tool, r, name, context, text) {
    if (!this.#flows(r)) return r;
    const code = infoOf(r).code;
    const final = this.#flow(w, DECIDE, name === -1 ? writeName(tool) : name, code, text, tool, context, r, null);
    if (final !== code) r = this.#result(tool, final);
    if (this.#freeLater !== null) this.#freeDeferred();
    return r;
  }

  /**
   * `check()` given the answer to its approval (`approved`, a boolean): the
   * core's steps one by one, as in checkAsync, with that answer instead of
   * onApproval's and the record step in the synchronous mode.
   */
  #checkAnswered(w, tool, args, context, text, approved) {
    const r = this.#answered(w, this.#pure(w, tool, args), approved);
    if (!this.#flows(r)) return r;
    this.#flow(w, RECORD, writeName(tool), infoOf(r).code, text, tool, context, r, null);
    if (this.#freeLater !== null) this.#freeDeferred();
    return r;
  }

  /**
   * `r` with an approver's settled answer (true, false, or what answerOf
   * made of anything else) applied by the core: the same `r` unless it
   * needs approval.
   */
  #answered(w, r, answer) {
    if (!r.needsApproval) return r;
    const info = infoOf(r);
    if (info.code >= SHADOWED) setShadow(info.lo, info.hi);
    const code = w.answerApproval(info.code, answer);
    if (code === FAILED) throw failure("type");
    return this.#result(r.tool, code);
  }

  /** `check()`, throwing `ToolDenied` / `ApprovalRequired` unless allowed. */
  enforce(tool, options) {
    const r = this.check(tool, options);
    if (r.allowed) return r;
    throw r.denied ? new ToolDenied(r) : new ApprovalRequired(r);
  }

  /**
   * `check()` where the approver and the callbacks may return Promises: the
   * core's steps one by one, awaiting what is pending in between.
   */
  async checkAsync(tool, options) {
    let context = null;
    let args = null;
    let approved = null;
    let text;
    if (options !== undefined) {
      ({ args, context, approved } = callOptions(options, false));
      text = contextText(context);
    }
    let r = this.#pure(this.#live(), tool, args);
    if (r.needsApproval && approved !== null) {
      // The caller's answer: onApproval is not asked.
      r = this.#answered(this.#live(), r, approved);
    } else if (r.needsApproval && this.#onApproval !== null) {
      // A throw or a rejection propagates: nothing is recorded or allowed.
      const answer = answerOf(await this.#onApproval(r, context));
      r = this.#answered(this.#live(), r, answer);
    }
    if (!this.#flows(r)) return r;
    const pending = [];
    let error = NO_ERROR;
    try {
      // Written again: other checks ran while this one awaited.
      this.#flow(this.#live(), RECORD, writeName(tool), infoOf(r).code, text, tool, context, r, pending);
    } catch (e) {
      error = e;
    }
    if (this.#freeLater !== null) this.#freeDeferred();
    if (pending.length > 0) {
      // allSettled handles every promise at once: none is left unhandled.
      for (const s of await Promise.allSettled(pending)) {
        if (s.status === "rejected" && error === NO_ERROR) error = s.reason;
      }
    }
    if (error !== NO_ERROR) throw error;
    return r;
  }

  /** `enforce()` where the approver and the callbacks may return Promises. */
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
