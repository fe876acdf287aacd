/**
 * agentguard: a least-privilege policy engine for AI agents' tool calls.
 *
 * Before a tool runs, ask the policy: allow, deny, or require a human's
 * approval, with the rule that decided and an audit record. On tool names
 * the semantics are exactly those of the Python package tokenfence 0.3.1's
 * `Policy` (patterns are CPython's `fnmatch.fnmatchcase`); `rules` decide on
 * a call's arguments too. Computed by a Rust core compiled to WebAssembly,
 * the same in Rust, Node and Python.
 *
 * @example
 * ```ts
 * import { Policy, ToolDenied } from "agentguard";
 *
 * const policy = new Policy({
 *   allow: ["read_*"], deny: ["drop_*"], require_approval: ["write_*"],
 *   rules: [{ id: "small-refunds", tool: "refund", decision: "allow", when: { amount: { lte: 100 } } }],
 * });
 * policy.check("drop_table").reason;                             // "denied by pattern: drop_*"
 * policy.check("refund", { args: { amount: 20 } }).decision;    // "allow"
 * policy.check("refund", { args: { amount: 500 } }).decision;   // "deny"
 * policy.enforce("drop_table");                                  // throws ToolDenied
 * ```
 *
 * @packageDocumentation
 */

declare global {
  // For `[Symbol.dispose]` below without requiring lib "esnext.disposable"
  // (the same declaration as that lib's, so the two merge).
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/** What a policy decides for a tool. */
export type Decision = "allow" | "deny" | "require_approval";

/**
 * One fnmatch pattern (CPython's `fnmatch.fnmatchcase`: `*`, `?`, `[seq]`,
 * `[!seq]`; case-sensitive, no escapes), or a non-empty array of them (any
 * may match).
 */
export type Patterns = string | readonly [string, ...string[]];

/**
 * A value `in` / `not_in` compare with: strings by code points, numbers by
 * mathematical value (`1` equals `1.0`), booleans (`true` is not `1`).
 */
export type Scalar = string | number | boolean;

/**
 * A command pattern: word globs separated by single spaces (`"git diff *"`;
 * a last word glob that is exactly `*` matches any number of remaining
 * words), or an array of word globs for words that hold spaces
 * (`["git", "commit", "-m", "*"]`).
 */
export type CommandPattern = string | readonly [string, ...string[]];

/**
 * The operators that test one argument value and combine with each other
 * (all must hold). Each is true, false or *unknown* on a value: unknown for
 * a missing argument, `null` or a value of the wrong type (a numeric
 * string is not a number), a relative path, NaN or an infinity. An array
 * argument is judged element by element (see {@link Rule}).
 */
export interface ValueOperators {
  /** The value is a string matching any of the patterns. */
  glob?: Patterns;
  /** The value is a string matching none of the patterns. */
  not_glob?: Patterns;
  /** The value equals one of these. */
  in?: readonly [Scalar, ...Scalar[]];
  /** The value equals none of these. */
  not_in?: readonly [Scalar, ...Scalar[]];
  /** The value is a number below this. */
  lt?: number;
  /** The value is a number at most this. */
  lte?: number;
  /** The value is a number above this. */
  gt?: number;
  /** The value is a number at least this. */
  gte?: number;
  /**
   * The value is an absolute path that, normalised lexically (`.`, `..`
   * and repeated `/` resolved; no file system access:
   * `/workspace/../etc/passwd` is `/etc/passwd`), is one of these
   * directories or lies below one.
   */
  path_under?: Patterns;
  /** The value is an absolute path that, normalised, matches one of these patterns. */
  path_glob?: Patterns;
}

/** None of the {@link ValueOperators}: for the operators that must stand alone. */
export type NoValueOperators = { readonly [K in keyof ValueOperators]?: never };

/** A condition of {@link ValueOperators} (one or more). */
export interface ValueCondition extends ValueOperators {
  /** `command` must be the only operator of its condition. */
  command?: never;
  /** `present` must be the only operator of its condition. */
  present?: never;
}

/**
 * `command`, alone: the value is a shell command string (in the accepted
 * POSIX subset) every simple command of which (split at `;`, `&`, `|`,
 * `&&`, `||`, newlines) matches one of the command patterns. Anything that
 * could run something a word list cannot show (`$`, backquotes,
 * redirections, subshells, globbing, `~`, comments, `!`, assignments,
 * compound commands) makes the value unknown: an allow rule does not
 * fire, a deny rule does.
 */
export interface CommandCondition extends NoValueOperators {
  command: CommandPattern | readonly [CommandPattern, ...CommandPattern[]];
  present?: never;
}

/**
 * `present`, alone: `true` holds when the argument is there and not `null`,
 * `false` when it is missing or `null`. Never unknown.
 */
export interface PresentCondition extends NoValueOperators {
  present: boolean;
  command?: never;
}

/** What a rule requires of one argument (a misspelt operator is a type error). */
export type Condition = ValueCondition | CommandCondition | PresentCondition;

/**
 * A rule with argument conditions (CONDITIONS.md). The lists are rules
 * without conditions; the decision order is: the first `deny` pattern, else
 * the first enforced `deny` rule that fires; else the first
 * `require_approval` pattern or rule; else, if there is an allow (a
 * non-empty `allow` list or an enforced `allow` rule), the first `allow`
 * pattern or rule, else `default`.
 *
 * **When in doubt, the restrictive rule applies; an allow rule needs
 * proof.** A `deny` or `require_approval` rule fires when each of its
 * conditions is true or unknown; an `allow` rule only when every one is
 * true. For an array argument a restrictive condition holds if it holds for
 * some element, a permissive one only if it is true for every element.
 *
 * @example
 * ```ts
 * const rule: Rule = {
 *   id: "workspace-writes", tool: ["write_file", "edit_file"], decision: "allow",
 *   when: { path: { path_under: "/workspace" } },
 * };
 * ```
 */
export interface Rule {
  /** Unique in the policy: an ASCII letter or digit, then up to 63 of letters, digits, `_`, `.`, `:`, `-`. */
  id: string;
  /** The tool names the rule applies to. */
  tool: Patterns;
  /** What the rule decides when it fires. */
  decision: Decision;
  /**
   * Argument path (keys joined by `.`: `"recipient.email"`) -> condition;
   * all must hold. Absent or `{}`: the rule applies on the name alone.
   */
  when?: Readonly<Record<string, Condition>> | undefined;
  /** Replaces the default reason (`denied by rule: {id}`, ...). */
  reason?: string | undefined;
  /**
   * `"enforce"` (the default), or `"shadow"`: the rule never changes a
   * decision; when it fires it is listed in the result's and the audit
   * entry's `shadow`, to try it on real traffic first. At most 64 per policy.
   */
  mode?: "enforce" | "shadow" | undefined;
}

/**
 * A tool call's arguments: a plain object of argument names to values.
 * Only the values at the paths the rules for the called tool read are
 * converted (they must be JSON data; NaN and the infinities are unknown to
 * every operator); the rest is never looked at. (Typed so that an
 * interface of your tool's arguments fits, and an array, a `Map` or a
 * string does not.)
 */
export type Args = { readonly [name: string]: any; readonly [Symbol.iterator]?: never };

/**
 * The policy file format: exactly the keys of tokenfence's
 * `Policy.to_dict()`, plus `rules` (argument conditions). Every key is
 * optional. Unknown keys and wrong types
 * are rejected with a {@link PolicyError} naming the key and index.
 *
 * A spec object is read the way its author reads it: each key by property
 * access, whatever defines it (an own or inherited property, a getter, a
 * class's), and every own key that is not one of these (enumerable or not,
 * a symbol) is an unknown key. Values must be JSON data: a `Map`, `Set`,
 * `Date`, function, symbol, `BigInt`, class instance, `NaN`, or an array
 * with holes or `undefined` is a `TypeError` naming the key and index (kind
 * `wrong_type`), never read as an empty list.
 */
export interface PolicySpec {
  /** The policy's name. Default `"default"` (an empty name also becomes `"default"`). */
  name?: string | null | undefined;
  /**
   * Patterns that are allowed. When non-empty, a tool that matches no
   * pattern at all falls to `default`. Default: empty.
   */
  allow?: readonly string[] | null | undefined;
  /** Patterns that are denied; they win over everything. Default: empty. */
  deny?: readonly string[] | null | undefined;
  /** Patterns that need a human's approval (see `onApproval`). Default: empty. */
  require_approval?: readonly string[] | null | undefined;
  /** The decision when no rule matches. Default `"deny"`. */
  default?: "allow" | "deny" | undefined;
  /** Whether decisions are recorded in the audit log. Default `true`. */
  audit?: boolean | undefined;
  /** Rules with argument conditions ({@link Rule}). Default: none. */
  rules?: readonly Rule[] | undefined;
}

/** {@link PolicySpec} with every key present, as {@link Policy.toJSON} returns it. */
export interface PolicyJSON {
  name: string;
  allow: string[];
  deny: string[];
  require_approval: string[];
  default: "allow" | "deny";
  audit: boolean;
  /** Left out when the policy has none (so a tokenfence file round-trips unchanged). */
  rules?: Rule[];
}

/** The caller's metadata attached to an audit entry (`{ agentId: "bot-1" }`). */
export type Context = Record<string, unknown>;

/** Options of {@link Policy.evaluate}. */
export interface EvaluateOptions {
  /**
   * The call's arguments, a plain object (`null` or absent: none; anything
   * else is a `TypeError`). Only the values the rules for this tool read are
   * converted, each of which must be JSON data: a function, symbol,
   * `BigInt`, `undefined` in an array, `Map`, `Set`, `Date`, class
   * instance, cycle or lone surrogate there is a `TypeError` naming its
   * path (`args.to[1]: ...`, with {@link ErrorFields} `field: "args.to"`,
   * `index: 1`). `NaN` and the infinities are unknown to every operator
   * (and present to `present`). Values are read by property access
   * (getters and Proxy traps run), except keys `Object.prototype` also has
   * (`toString`, `constructor`, ...), read only when own. Everything else
   * is ignored, however large. Arguments are never recorded.
   */
  args?: Args | null | undefined;
}

/** Options of {@link Policy.check} and friends. */
export interface CheckOptions extends EvaluateOptions {
  /**
   * Metadata recorded with the decision in the audit entry. The entry holds
   * a copy made at decision time, so changing the object afterwards does
   * not change the log; it must be JSON data (plain objects, arrays,
   * strings, finite numbers, booleans, null; a key holding `undefined` is
   * left out): anything else (a `Map`, a `Date`, a function, a class
   * instance, a cycle) is a `TypeError` naming its path
   * (`context.when`), before anything is decided. An empty object is
   * recorded as no context, as in tokenfence. Callbacks get the object
   * itself.
   */
  context?: Context | null | undefined;
  /**
   * The answer to this call's approval, when it was obtained outside the
   * policy's `onApproval` (a person answering through an agent framework's
   * own approval): `true` or `false` answers a `require_approval` decision
   * instead of `onApproval` (which is then not asked), through the core's
   * flow, so the call's one audit entry carries the outcome: `allow`,
   * `approved via callback (...)`, or `deny`, `approval denied via callback
   * (...)`, the same reasons as an `onApproval` answer. For a decision that
   * is not `require_approval` it is ignored (an `allow` or a `deny` stands).
   * `undefined` or `null`: not given; anything else is a `TypeError`, before
   * anything is decided or recorded.
   */
  approved?: boolean | null | undefined;
}

/** One of a policy's pattern lists. */
export type RuleList = "deny" | "require_approval" | "allow";

/**
 * The rule that decided, structured: a pattern list and the pattern's index
 * in it, or a rule with conditions by its id.
 */
export type RuleRef = { readonly list: RuleList; readonly index: number } | { readonly id: string };

/** A shadow rule that fired: reported, never enforced. */
export interface ShadowHit {
  /** The rule's id. */
  readonly id: string;
  /** What it would have decided. */
  readonly decision: Decision;
}

/**
 * A result's JSON form, the same in every language (Rust's serde, Python's
 * `to_dict()`): snake_case, with `null` for a missing matched rule or rule.
 */
export interface PolicyResultJSON {
  tool: string;
  decision: Decision;
  reason: string;
  matched_rule: string | null;
  rule: { list: RuleList; index: number } | { id: string } | null;
  shadow: Array<{ id: string; decision: Decision }>;
}

/**
 * The outcome of a check or an evaluation (frozen). Results for the same
 * tool name may be the same object (when no rule for it reads arguments).
 */
export interface PolicyResult {
  /** The decision. */
  readonly decision: Decision;
  /** The tool name that was checked. */
  readonly tool: string;
  /** Why, in tokenfence's words: `"denied by pattern: drop_*"`, `"allowed by rule: small-refunds"`. */
  readonly reason: string;
  /** The pattern, or the rule's id, that decided; `null` when the default decided. */
  readonly matchedRule: string | null;
  /**
   * The rule that decided, structured (`{ list: "deny", index: 0 }`, or
   * `{ id: "small-refunds" }` for a rule); `null` when the default decided.
   * An approval's outcome keeps the `require_approval` rule it answered.
   */
  readonly rule: RuleRef | null;
  /** The shadow rules that fired, in file order (empty: none); they never change the decision. */
  readonly shadow: readonly ShadowHit[];
  /** `decision === "allow"`: the tool may run now. */
  readonly allowed: boolean;
  /** `decision === "deny"`: the tool must not run. */
  readonly denied: boolean;
  /** `decision === "require_approval"`: a human must approve it first. */
  readonly needsApproval: boolean;
  /**
   * Only on the results of a {@link GatewayClient}: the approval the
   * gateway created for this call (`status: "pending"`), or used or
   * looked up to answer it (`"used"` once granted, `"denied"`, still
   * `"pending"` or `"expired"` when nobody answered in time); `null` when
   * the call needed none. Absent on a {@link Policy}'s results.
   */
  readonly approval?: GatewayApproval | null;
  /**
   * The cross-language JSON form, as the core serialises it: `{"tool",
   * "decision", "reason", "matched_rule", "rule", "shadow"}` (a fresh object
   * each call; `JSON.stringify(result)` uses it). For a
   * {@link GatewayClient}'s result, the gateway's JSON without `approval`.
   */
  toJSON(): PolicyResultJSON;
}

/** tokenfence's `AuditEntry.to_dict()`: the cross-language audit record. */
export interface AuditEntryJSON {
  /** Seconds since the Unix epoch. */
  timestamp: number;
  /** The tool name. */
  tool: string;
  /** The final decision. */
  decision: Decision;
  /** The reason string. */
  reason: string;
  /** Left out when no pattern decided (or the pattern was empty, as in tokenfence). */
  matched_rule?: string;
  /** Left out when there was no (or an empty) context. */
  context?: Context;
  /** The shadow rules that fired; left out when none did. */
  shadow?: Array<{ id: string; decision: Decision }>;
}

/**
 * One recorded decision (frozen, its context too): made by the core, read
 * from the log in wasm. Each read of {@link Policy.auditLog} gives new
 * objects with the same contents.
 */
export declare class AuditEntry {
  private constructor();
  /** Seconds since the Unix epoch (a float). */
  readonly timestamp: number;
  /** The tool name. */
  readonly tool: string;
  /** The final decision (after approval). */
  readonly decision: Decision;
  /** The reason string. */
  readonly reason: string;
  /** The pattern that decided; `null` when the default decided. */
  readonly matchedRule: string | null;
  /** The copy of the caller's context made at decision time; `null` when absent or empty. */
  readonly context: Readonly<Context> | null;
  /** The shadow rules that fired (empty: none). */
  readonly shadow: readonly ShadowHit[];
  /** tokenfence's `to_dict()` form as the core writes it, snake_case (a fresh object each call). */
  toJSON(): AuditEntryJSON;
}

/**
 * Asks a human (or a program) whether an approval-gated tool may run.
 * Must return `true` or `false`: anything else is a {@link FlowError} of
 * kind `not_a_bool`, never an approval. A Promise is allowed only in
 * {@link Policy.checkAsync} and {@link Policy.enforceAsync}; returned inside
 * the synchronous `check`/`enforce`, it is a {@link FlowError} of kind
 * `async_hook` that points there (and its rejection is handled, never left
 * unhandled).
 *
 * @param pending - the `require_approval` result
 * @param context - the check's context, or `null`
 */
export type Approver = (pending: PolicyResult, context: Context | null) => boolean | Promise<boolean>;

/** Behaviour of a {@link Policy}: callbacks and the audit log's size. */
export interface PolicyOptions {
  /**
   * Decides approval-gated tools. Without it, such a tool's result stays
   * `require_approval` (and `enforce` throws {@link ApprovalRequired}).
   * If it throws (or its Promise rejects), the error propagates and nothing
   * is allowed or recorded.
   */
  onApproval?: Approver | null | undefined;
  /**
   * Runs after each deny. If it throws, the decision still stands and is
   * still recorded, and the error propagates. In the async methods a
   * returned Promise is awaited; in `check`/`enforce` a returned Promise is
   * a {@link FlowError} of kind `async_hook` (its rejection handled).
   */
  onDeny?: ((result: PolicyResult, context: Context | null) => void | Promise<void>) | null | undefined;
  /**
   * Receives every audit entry as it is made (only when the policy's
   * `audit` is on), so a real store loses nothing even when the bounded
   * log drops old entries. It runs after its entry is in the log (it may
   * read {@link Policy.auditLog}, or check again). If it throws, the entry is
   * still recorded and the error propagates. In the async methods a
   * returned Promise is awaited; in `check`/`enforce` it is a
   * {@link FlowError} of kind `async_hook` (its rejection handled).
   */
  onDecision?: ((entry: AuditEntry) => void | Promise<void>) | null | undefined;
  /**
   * How many audit entries the log keeps; past it the oldest go first and
   * {@link Policy.auditDropped} counts them. Default `10000`; `0` keeps none.
   */
  auditCapacity?: number | undefined;
}

/**
 * A compiled, immutable policy, with its callbacks and audit log.
 *
 * Decisions:
 * 1. the first `deny` pattern (list order) that matches, else the first
 *    enforced `deny` rule that fires: `deny`;
 * 2. else the first `require_approval` pattern or rule:
 *    `require_approval`, or, with `onApproval`, `allow`/`deny` by its answer;
 * 3. else, if there is an allow (a non-empty `allow` list or an enforced
 *    `allow` rule), the first `allow` pattern, else the first `allow` rule
 *    that fires: `allow`, and none: `default` (`"not in allow list
 *    (default: deny)"`);
 * 4. else `default` (`"no matching rule (default: …)"`).
 *
 * A rule fires by its polarity ({@link Rule}): when in doubt, the
 * restrictive rule applies; an allow rule needs proof. Shadow rules never
 * change a decision.
 *
 * Its wasm memory is released when the policy is garbage-collected; call
 * {@link Policy.free} (or use `using`) to release it at once.
 *
 * @example
 * ```ts
 * const policy = new Policy(
 *   { allow: ["read_*"], deny: ["drop_*"], require_approval: ["write_*"], name: "db" },
 *   { onApproval: (pending) => pending.tool === "write_log" },
 * );
 * policy.check("drop_table", { context: { agentId: "bot-1" } }).decision; // "deny"
 * ```
 */
export declare class Policy {
  /**
   * Compiles a policy.
   *
   * @param spec - the policy file format (the object tokenfence's
   *   `to_dict()` writes, read as {@link PolicySpec} says); another
   *   `Policy` is copied; omitted: an empty policy, which denies everything
   * @param options - callbacks and the audit log's capacity
   * @throws {@link PolicyError} for an invalid spec (unknown key, wrong
   *   type, bad `default`, a key given twice in JSON text), naming the field
   *   and index
   * @throws `TypeError` (with {@link ErrorFields}) for a spec value that is
   *   not JSON data, or an unknown or mistyped option
   */
  constructor(spec?: PolicySpec | Policy, options?: PolicyOptions);

  /**
   * A policy from its JSON text (a policy file) or from the parsed object.
   *
   * @throws {@link PolicyError} for invalid JSON or an invalid spec
   */
  static fromJSON(textOrObject: string | PolicySpec, options?: PolicyOptions): Policy;

  /** The policy's name. */
  readonly name: string;

  /**
   * The kept audit entries, oldest first (a new array of new objects each
   * time). After {@link Policy.free} it is the log as it was then.
   */
  readonly auditLog: AuditEntry[];

  /** How many entries were dropped to respect `auditCapacity` since the last {@link Policy.clearAudit}. */
  readonly auditDropped: number;

  /**
   * Whether the policy has an `onApproval` callback: a `require_approval`
   * call is then answered by it in {@link Policy.check} (unless the call
   * gives {@link CheckOptions.approved}). The adapters read it to let the
   * policy's own approver settle a call before asking the framework's.
   */
  readonly hasOnApproval: boolean;

  /**
   * The pure step: decides whether `tool`, called with `options.args`, may
   * run, with no approver, no audit entry and no callback. Frameworks that
   * ask "does this need approval?" before they run a tool call it;
   * {@link Policy.check} is this plus the flow.
   *
   * @throws `TypeError` if `tool` is not a string or not well-formed
   *   Unicode, `args` is not a plain object, or a value a rule reads is not
   *   JSON data (see {@link EvaluateOptions.args})
   * @throws `RangeError` (kind `too_long`) if `tool` is over 1 MiB of UTF-8
   */
  evaluate(tool: string, options?: EvaluateOptions): PolicyResult;

  /**
   * Whether every call of `tool` is denied whatever its arguments, as far
   * as the policy shows at once: `true` is always right (a `deny` pattern
   * or an unconditional deny rule decides it, or it is denied and no rule
   * with conditions applies to it); `false` may also mean "not shown this
   * cheaply". What an adapter uses to leave a tool out of a listing.
   * @throws `TypeError` if `tool` is not a string; `RangeError` if it is over 1 MiB of UTF-8
   */
  alwaysDenied(tool: string): boolean;

  /**
   * Decides whether `tool` may run, asks `onApproval` for an
   * approval-gated tool, records the decision and runs `onDecision` and
   * `onDeny`: the core's decision flow, the same in every language (its
   * order, what each callback sees, every message).
   *
   * @throws `TypeError` if `tool` is not a string or not well-formed
   *   Unicode (a lone surrogate), the context is not JSON data, `args` is
   *   not a plain object, or a value a rule reads is not JSON data (see
   *   {@link EvaluateOptions.args}): before anything is decided or recorded
   * @throws `RangeError` (kind `too_long`) if `tool` is over 1 MiB of UTF-8,
   *   before anything is copied or decided
   * @throws `TypeError` if `approved` is given and is not a boolean
   * @throws {@link FlowError} if `onApproval` returns anything but a boolean
   *   (kind `not_a_bool`) or a callback returns a Promise (kind `async_hook`:
   *   use {@link Policy.checkAsync})
   * @throws whatever `onApproval` throws (nothing is recorded then), or
   *   what `onDecision` / `onDeny` throw (the decision is recorded first;
   *   both run; the first error is thrown): the very object thrown
   */
  check(tool: string, options?: CheckOptions): PolicyResult;

  /**
   * {@link Policy.check}, throwing unless the tool is allowed.
   *
   * @returns the `allow` result
   * @throws {@link ToolDenied} for a deny (an approval answered `false`
   *   included), {@link ApprovalRequired} for an approval-gated tool that no
   *   `onApproval` or `approved` answered
   */
  enforce(tool: string, options?: CheckOptions): PolicyResult;

  /**
   * {@link Policy.check} where `onApproval`, `onDecision` and `onDeny` may
   * return Promises: the approver's answer is awaited (it must settle to
   * `true` or `false`), then the decision is recorded and every pending
   * callback awaited together; the first failure rejects (a callback's
   * rejection never goes unhandled).
   */
  checkAsync(tool: string, options?: CheckOptions): Promise<PolicyResult>;

  /** {@link Policy.enforce} with callbacks that may return Promises (see {@link Policy.checkAsync}). */
  enforceAsync(tool: string, options?: CheckOptions): Promise<PolicyResult>;

  /** Removes every audit entry and resets {@link Policy.auditDropped}. */
  clearAudit(): void;

  /**
   * The policy file (tokenfence's `to_dict()`), a fresh object each call:
   * `new Policy(policy.toJSON())` is the same policy.
   */
  toJSON(): PolicyJSON;

  /**
   * Releases the wasm memory now; using the policy afterwards throws (its
   * {@link Policy.auditLog} stays readable). Called from a callback, the
   * running check finishes first.
   */
  free(): void;

  /** {@link Policy.free}, for `using policy = new Policy(...)`. */
  [Symbol.dispose](): void;
}

// ------------------------------------------------------------------- gateway

/** Where an approval on the gateway stands. */
export type ApprovalStatus = "pending" | "granted" | "denied" | "used" | "expired";

/** An approval, as the gateway's tool decisions carry it (snake_case, its JSON). */
export interface GatewayApproval {
  /** The approval's id (`apr_...`): what a person grants or denies. */
  readonly id: string;
  /** Where it stands (more may come: handle any string). */
  readonly status: ApprovalStatus | (string & {});
  /** When it expires, in seconds since the Unix epoch. */
  readonly expires_at: number;
  /** Who granted or denied it (the approver key's name), once decided. */
  readonly decided_by?: string | null;
}

/** The options of {@link GatewayClient}'s calls: as a {@link Policy}'s, without `approved`. */
export interface GatewayCallOptions {
  /**
   * The call's arguments, a plain object of JSON data (`null` or absent:
   * none), sent whole to the gateway: anything that is not JSON data (a
   * function, `BigInt`, `Map`, `Date`, a cycle, a lone surrogate, `NaN`)
   * is a `TypeError` naming its path ({@link ErrorFields}), before anything
   * is sent.
   */
  args?: Args | null | undefined;
  /** Recorded with the decision in the gateway's audit (agent id, user, session): JSON data, as `args`. */
  context?: Context | null | undefined;
  /**
   * Not accepted (a `TypeError` unless `undefined` or `null`): a
   * gateway's approvals are given on the gateway (its dashboard,
   * `agentguard approvals grant`, `POST /v1/approvals/{id}/grant`), and
   * `checkAsync` waits for them.
   */
  approved?: null | undefined;
}

/** The request {@link GatewayClientOptions.fetch} gets (a subset of `RequestInit`). */
export interface GatewayRequestInit {
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string;
  /** An `AbortSignal` ({@link GatewayAbortSignal}; typed `any` so that DOM's or Node's `fetch` fits). */
  signal: any;
  /** Never followed: a redirect would take the key elsewhere. */
  redirect: "manual";
}

/** What the client reads of a `fetch` answer. */
export interface GatewayFetchResponse {
  readonly status: number;
  text(): Promise<string>;
}

/** An `AbortSignal` (typed structurally, so that no DOM or Node typings are needed). */
export interface GatewayAbortSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Options of {@link GatewayClient}. */
export interface GatewayClientOptions {
  /**
   * How long `checkAsync` waits for a person to answer a pending approval,
   * in seconds (long-polls of at most 60 s each). Default `300`; `0`
   * returns the pending `require_approval` at once. When it passes, the
   * result is the gateway's still-pending `require_approval`: fail closed.
   */
  approvalTimeout?: number | undefined;
  /**
   * How long one request may take before it is a {@link GatewayError} of
   * code `"timeout"`, in seconds, on top of a long-poll's wait. Default `30`.
   */
  requestTimeout?: number | undefined;
  /** The `fetch` to use. Default: the global `fetch` (Node 18+, workers, browsers). */
  fetch?: ((url: string, init: GatewayRequestInit) => Promise<GatewayFetchResponse>) | null | undefined;
  /**
   * Aborts every request of the client and every wait for an approval:
   * the call rejects with the signal's reason.
   */
  signal?: GatewayAbortSignal | null | undefined;
}

/**
 * The decisions of an agentguard gateway (`agentguard serve`), where the
 * policy lives outside the agent's process: the agent's tool policy on the
 * gateway decides, audits and holds approvals, for the agent the key
 * belongs to. The shape of a {@link Policy} (every method async), so every
 * adapter (`agentguard/ai-sdk`, `/openai-agents`, `/langchain`, `/mcp`)
 * takes either. Decisions, reasons and approvals are the gateway's; a
 * failure to get one is a {@link GatewayError}, never an allow.
 *
 * @example
 * ```ts
 * const gateway = new GatewayClient("http://127.0.0.1:8787", process.env.AGENTGUARD_KEY!, { approvalTimeout: 120 });
 * const r = await gateway.check("refund", { args: { amount: 500 }, context: { user: "u1" } });
 * // a pending approval: waits for a person (dashboard, `agentguard approvals grant apr_...`)
 * r.decision; // "allow" once granted, "deny" once refused, "require_approval" if nobody answered in time
 * ```
 */
export declare class GatewayClient {
  /**
   * @param url - the gateway's base URL (`http://` or `https://`, no query,
   *   no credentials)
   * @param key - the agent's API key (the keys file's `agent` role), sent
   *   in the `x-api-key` header
   * @throws `TypeError` for a URL or key that is not one, an unknown
   *   option or one of the wrong type; `RangeError` for a negative or
   *   infinite timeout
   */
  constructor(url: string | { readonly href: string }, key: string, options?: GatewayClientOptions);

  /** The gateway's base URL, without a trailing slash. */
  readonly url: string;
  /** {@link GatewayClientOptions.approvalTimeout}, in seconds. */
  readonly approvalTimeout: number;
  /**
   * Always `true`: approvals are answered by the gateway's queue inside
   * {@link GatewayClient.checkAsync}, so an adapter never asks its
   * framework (as for a {@link Policy} with its own `onApproval`).
   */
  readonly hasOnApproval: true;

  /**
   * The pure step on the gateway (`POST /v1/tools/evaluate`): the
   * decision for `tool` with `options.args` under the agent's policy;
   * nothing is audited, no approval is asked.
   *
   * @throws `TypeError` for a tool that is not a well-formed string or
   *   options that are not JSON data; {@link GatewayError} when the gateway
   *   gives no decision
   */
  evaluate(tool: string, options?: GatewayCallOptions): Promise<PolicyResult>;

  /**
   * The gateway's decision (`POST /v1/tools/check`), audited there. A
   * `require_approval` with a pending approval waits for a person (long
   * polls of `GET /v1/approvals/{id}`) up to `approvalTimeout`, then asks
   * again with the approval's id and returns that answer: `allow` (once:
   * the approval is `used`) when granted, the gateway's `deny` when
   * refused, its `require_approval` (still `pending`, or `expired`) when
   * nobody answered in time.
   *
   * @throws `TypeError` for bad input (and for `approved`); {@link
   *   GatewayError} when the gateway gives no decision (an HTTP error such
   *   as `no_tool_policy` or `approval_expired`, no answer, or an answer of
   *   another shape); the signal's reason when aborted
   */
  checkAsync(tool: string, options?: GatewayCallOptions): Promise<PolicyResult>;
  /** The same function as {@link GatewayClient.checkAsync}. */
  check(tool: string, options?: GatewayCallOptions): Promise<PolicyResult>;
  /**
   * {@link GatewayClient.checkAsync}, throwing unless the tool is allowed.
   *
   * @throws {@link ToolDenied} for a deny, {@link ApprovalRequired} for a
   *   `require_approval` nobody granted in time
   */
  enforceAsync(tool: string, options?: GatewayCallOptions): Promise<PolicyResult>;
  /** The same function as {@link GatewayClient.enforceAsync}. */
  enforce(tool: string, options?: GatewayCallOptions): Promise<PolicyResult>;
}

/**
 * The codes of a {@link GatewayError}: the gateway's own (`unauthorized`,
 * `forbidden`, `no_tool_policy`, `bad_request`, `unknown_approval`,
 * `approval_expired`, `approval_used`, ...), or the client's: `unreachable`
 * (no connection), `timeout` (no answer in time), `bad_response` (an answer
 * that is not the gateway's JSON).
 */
export type GatewayErrorCode = "unreachable" | "timeout" | "bad_response" | (string & {});

/**
 * A gateway that gave no decision: never an allow. `message` is the
 * gateway's own for an HTTP error.
 */
export declare class GatewayError extends Error {
  constructor(
    message: string,
    details: { code: GatewayErrorCode; status?: number | null; body?: Record<string, unknown> | null; cause?: unknown },
  );
  /** `"GatewayError"`. */
  readonly name: "GatewayError";
  /** The HTTP status, or `null` when there was no answer. */
  readonly status: number | null;
  /** The gateway's error code, or the client's (see {@link GatewayErrorCode}). */
  readonly code: GatewayErrorCode;
  /** The gateway's JSON error body (`{ error, message, ... }`), when there was one. */
  readonly body: { readonly error?: string; readonly message?: string; readonly [key: string]: unknown } | null;
}

/**
 * An invalid policy: what is wrong, and where. `message` reads like
 * `allow[1]: expected a string pattern, got number 5`.
 */
export declare class PolicyError extends Error {
  constructor(
    message: string,
    details: { kind: PolicyError["kind"]; field?: string | null; index?: number | null; cause?: unknown },
  );
  /** `"PolicyError"`. */
  readonly name: "PolicyError";
  /** What kind of problem this is. */
  readonly kind: PolicyErrorKind;
  /** The offending key (the unknown key itself for `unknown_key`), or `null`. */
  readonly field: string | null;
  /** The offending position inside a list, or `null`. */
  readonly index: number | null;
}

/** The kinds of {@link PolicyError}: the core's error kinds for a policy file or store. */
export type PolicyErrorKind =
  | "json"
  | "not_an_object"
  | "unknown_key"
  | "wrong_type"
  | "invalid_value"
  | "missing_field"
  | "duplicate_key";

/**
 * The fields every other error of the package carries besides its message,
 * so no caller parses a message: a `TypeError` for a value that is not JSON
 * data (kind `wrong_type`, `invalid_value` or `not_an_object`), a
 * {@link FlowError}, or a `RangeError` of kind `too_long`.
 */
export interface ErrorFields {
  /** What kind of problem this is (the core's error kinds). */
  readonly kind: string;
  /** Where: the key or path (`deny`, `context.when`, `args.to` for `args.to[1]`), or `null`. */
  readonly field: string | null;
  /** The position in a list, or `null`. */
  readonly index: number | null;
}

/**
 * What the decision flow refuses, as thrown by `check` and friends: a
 * `TypeError` whose message is the core's (the same in every language but
 * for the callbacks' names). `async_hook`: a callback returned a Promise in
 * the synchronous flow (or an async approver's answer settled to one);
 * `not_a_bool`: `onApproval` answered something other than `true` or
 * `false`. Never an allow.
 */
export type FlowError = TypeError & ErrorFields & { readonly kind: "async_hook" | "not_a_bool" };

/**
 * Thrown by {@link Policy.enforce} for a denied tool. Message:
 * `Tool 'drop_table' denied: denied by pattern: drop_*`.
 */
export declare class ToolDenied extends Error {
  /** The error `enforce` throws for `result`. */
  constructor(result: PolicyResult);
  /** `"ToolDenied"` (or `"ApprovalRequired"`). */
  readonly name: "ToolDenied" | "ApprovalRequired";
  /** The tool name. */
  readonly tool: string;
  /** The reason string. */
  readonly reason: string;
  /** The pattern that decided, or `null`. */
  readonly matchedRule: string | null;
  /** The full result. */
  readonly result: PolicyResult;
}

/**
 * Thrown by {@link Policy.enforce} for an approval-gated tool that no
 * `onApproval` granted (tokenfence's `enforce` returns such a result, which
 * callers then run by mistake; this fails closed).
 */
export declare class ApprovalRequired extends ToolDenied {
  /** `"ApprovalRequired"`. */
  readonly name: "ApprovalRequired";
}

/**
 * CPython 3.11's `fnmatch.fnmatchcase(name, pattern)`, exactly: `*` any
 * run (across `/`, `.` and newlines), `?` one code point, `[seq]` / `[!seq]`
 * sets, case-sensitive, no escapes.
 *
 * @throws `TypeError` if either argument is not a well-formed string
 */
export declare function fnmatch(name: string, pattern: string): boolean;

/**
 * The text a model reads for a call that did not run, made by the core:
 * `Tool 'drop_table' denied: denied by pattern: drop_*`, the deciding rule
 * added when the reason does not name it (`Tool 'write_file' denied:
 * secrets are off limits (rule: no-secrets)`), and for a `require_approval`
 * that it needs a person's approval. What the framework adapters give the
 * model; for your own tool loop.
 *
 * @throws `TypeError` if `result` is not an object
 */
export declare function denialText(result: Pick<PolicyResult, "tool" | "decision" | "reason" | "matchedRule">): string;

/**
 * Instantiates the wasm module synchronously. Only needed where the entry
 * cannot load it by itself (the web entry when the `.wasm` was not served
 * next to it); a no-op once loaded.
 *
 * @param moduleOrBytes - a compiled `WebAssembly.Module` or the bytes of
 *   `agentguard_bg.wasm`
 */
export declare function initSync(moduleOrBytes: WasmModuleOrBytes): void;

/**
 * Instantiates the wasm module asynchronously; a no-op once loaded.
 *
 * @param input - a URL, a `Response` (or a promise of one), a compiled
 *   module or the bytes; default: `agentguard_bg.wasm` next to the web entry
 */
export declare function init(input?: string | WasmModuleOrBytes | PromiseLike<object>): Promise<void>;

/**
 * A compiled `WebAssembly.Module`, or the bytes of `agentguard_bg.wasm`
 * (an `ArrayBuffer` or a view of one). For `init`, also a `URL`, a
 * `Request` or a `Response`. Typed structurally so that no DOM or Node
 * typings are needed.
 */
export type WasmModuleOrBytes = ArrayBuffer | ArrayBufferView | object;

/** The direction an action policy governs: what an agent sends, or receives. */
export type Direction = "send" | "receive";

/**
 * `open` (everything passes; the state of an agent without a policy),
 * `allowlist` (only matching intent types pass), `denylist` (matching
 * intent types are blocked).
 */
export type ActionMode = "open" | "allowlist" | "denylist";

/**
 * One agent's action policy for one direction. `patterns` are fnmatch
 * patterns over dotted intent types (`intent.data.read.*`); none for `open`.
 */
export interface ActionPolicy {
  direction: Direction;
  mode: ActionMode;
  /** Default `[]`. */
  patterns?: string[];
  /** An opaque label a store may attach (the gateway's `pol_…`). */
  policy_id?: string;
}

/** {@link ActionPolicy} as the store returns it: `patterns` always present. */
export interface ActionPolicyJSON {
  direction: Direction;
  mode: ActionMode;
  patterns: string[];
  policy_id?: string;
}

/** The store format of {@link ActionPolicies}: one entry per agent and direction. */
export interface ActionPoliciesJSON {
  policies: Array<ActionPolicyJSON & { agent: string }>;
}

/**
 * A blocked intent: the gateway's 403 body. `message` is
 * `Intent type 'intent.data.delete.v1' not in receive allowlist` or
 * `Intent type '…' in send denylist (pattern: …)`; `pattern` only for a
 * denylist hit.
 */
export interface Violation {
  error: "action_policy_violation";
  message: string;
  direction: Direction;
  /** The agent whose policy blocked (the sender for `send`, the receiver for `receive`). */
  address_id: string;
  pattern?: string;
}

/** An intent to check: addresses are `agent://org/env/name` or a bare id. */
export interface Intent {
  from: string;
  to: string;
  intentType: string;
}

/**
 * The action policies of many agents, at most one per agent and direction;
 * an agent or direction without one is open. The semantics are the core's
 * (the same in Rust and Python).
 *
 * ```ts
 * const policies = new ActionPolicies();
 * policies.set("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] });
 * policies.checkIntent({ from: "ops-agent", to: "agent://myorg/production/analytics-agent", intentType: "intent.data.delete.v1" });
 * // -> { error: "action_policy_violation", message: "Intent type 'intent.data.delete.v1' not in receive allowlist", ... }
 * ```
 */
export declare class ActionPolicies {
  /**
   * Empty, or read strictly from a store.
   * @throws {@link PolicyError} naming the field and index (`policies[3].mode: …`)
   */
  constructor(store?: ActionPoliciesJSON);
  /** A store from its JSON text or object, strictly. */
  static fromJSON(textOrObject: string | ActionPoliciesJSON): ActionPolicies;
  /**
   * `agent://org/env/name` -> `name`; a bare id as is.
   * @throws {@link PolicyError} for anything else
   */
  static resolveAddress(address: string): string;
  /**
   * Sets `agent`'s policy for `policy.direction`; returns the one it replaced.
   * @throws {@link PolicyError} for a malformed policy or address
   */
  set(agent: string, policy: ActionPolicy): ActionPolicyJSON | null;
  /** Both directions of `agent` (`null`: open). */
  get(agent: string): { send: ActionPolicyJSON | null; receive: ActionPolicyJSON | null };
  /** One direction of `agent` (`null`: open). */
  get(agent: string, direction: Direction): ActionPolicyJSON | null;
  /** Removes a direction's policy (back to open); returns it. */
  delete(agent: string, direction: Direction): ActionPolicyJSON | null;
  /**
   * The sender's `send` policy, then the receiver's `receive` policy:
   * `null` if the intent passes, else the violation.
   * @throws {@link PolicyError} for a malformed address or intent type (empty,
   *   over 256 characters, or with whitespace or a control character: never
   *   matched on part of it); `TypeError` for a non-string
   */
  checkIntent(intent: Intent): Violation | null;
  /** The ids of the agents that have at least one policy, sorted. */
  readonly agents: string[];
  /** The store, readable by {@link ActionPolicies.fromJSON}. */
  toJSON(): ActionPoliciesJSON;
  /** Releases the wasm memory now; using the store afterwards throws. */
  free(): void;
  /** {@link ActionPolicies.free}, for `using policies = new ActionPolicies()`. */
  [Symbol.dispose](): void;
}

// ------------------------------------------------------------------ analysis
// The values of `agentguard/analysis` (lint, diff, testPolicy; see
// analysis.d.ts): the core's JSON, the same in Rust, Node and Python.

/** How serious a lint finding is. */
export type Severity = "error" | "warning" | "info";

/**
 * Where in a policy: a list pattern (`{ field: "deny", index: 3, rule: null }`),
 * a rule (`{ field: "rules[2]", index: null, rule: "refunds" }`) or a part of
 * one (`rules[2].tool`, `rules[2].when.amount`, `rules[2].when.path.path_glob`
 * with its index).
 */
export interface Location {
  readonly field: string;
  readonly index: number | null;
  /** The id of the rule the location is in, when it is in `rules`. */
  readonly rule: string | null;
}

/** A tool call: a name and its arguments (`{}` when the decision reads none). */
export interface Call {
  readonly tool: string;
  readonly args: { readonly [name: string]: unknown };
}

/** The codes a lint finding can have (more may come: handle any string). */
export type FindingCode =
  | "shadowed"
  | "matches-nothing"
  | "duplicate"
  | "shadow-rule"
  | "brace-is-literal"
  | "backslash-is-literal"
  | "caret-is-not-negation"
  | "whitespace"
  | "case-bypass"
  | "condition-never-true"
  | "condition-always-unknown"
  | "path-glob-unmatchable"
  | "undecided"
  | (string & {});

/** One lint finding. */
export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  readonly location: Location;
  /** What is wrong, in one sentence. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
  /** Other places involved: what shadows this, the first copy of a duplicate. */
  readonly related: readonly Location[];
  /** A call that shows the finding, when there is one (`case-bypass`). */
  readonly witness: Call | null;
}

/**
 * A decision that changes: the old policy decides `from` for the witness
 * call (`tool`, `args`), the new one `to`; the rules are patterns or rule
 * ids (`null`: the default decided).
 */
export interface Change {
  readonly from: Decision;
  readonly to: Decision;
  readonly tool: string;
  readonly args: { readonly [name: string]: unknown };
  readonly old_rule: string | null;
  readonly new_rule: string | null;
  readonly old_reason: string;
  readonly new_reason: string;
  /** Newly allowed (from deny or approval), or newly possible with approval (from deny). */
  readonly wider: boolean;
}

/** The semantic difference of two policies. */
export interface Diff {
  /** Every transition of the decision, one per pair of deciding rules, each with a witness. */
  readonly changes: readonly Change[];
  /** Calls decided the same way by another rule (or with another reason). */
  readonly reason_changes: readonly Change[];
  /** `false` when some part was compared on samples (`notes` says which). */
  readonly exact: boolean;
  readonly notes: readonly string[];
}

/**
 * A fixture: a call and the decision the policy must give it, and
 * optionally the deciding rule (a pattern or rule id; `null`: the default).
 */
export interface Fixture {
  tool: string;
  args?: Args | null;
  expect: Decision;
  rule?: string | null;
}

/** What a fixture wanted, or what the policy decided (with its reason). */
export interface Outcome {
  readonly decision: Decision;
  readonly rule: string | null;
  /** Only in `got`. */
  readonly reason?: string;
}

/** A fixture the policy does not satisfy. */
export interface Failure {
  /** Its position (0-based) among the fixtures. */
  readonly index: number;
  readonly tool: string;
  readonly args: { readonly [name: string]: unknown };
  readonly want: Outcome;
  readonly got: Outcome;
}

/** The outcome of running fixtures against a policy. */
export interface TestReport {
  readonly total: number;
  readonly passed: number;
  readonly failures: readonly Failure[];
  /** Patterns and rules that decided no fixture, in policy order. */
  readonly unexercised: readonly Location[];
}

/** A policy for the analysis: a {@link Policy}, a policy file object, or its JSON text. */
export type PolicyLike = Policy | PolicySpec | PolicyJSON | string;
