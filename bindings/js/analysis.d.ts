/**
 * agentguard/analysis: what a reviewer needs before a policy ships, from
 * the same Rust core as `agentguard` (and the Python package and the
 * command): lint findings, the semantic diff of two policies, fixture tests.
 * Every answer is the core's JSON as a plain object.
 *
 * A module of its own (`agentguard_analysis_bg.wasm`), so that importing
 * `agentguard` stays small: on Node it is read on the first call; the web
 * entry fetches it when this subpath is imported.
 *
 * @example
 * ```ts
 * import { Policy } from "agentguard";
 * import { lint, diff, testPolicy } from "agentguard/analysis";
 *
 * lint(new Policy({ deny: ["drop_*"], allow: ["drop_table"] }))[0]?.code;   // "shadowed"
 * ```
 */
import type { Diff, Finding, Fixture, PolicyLike, TestReport, WasmModuleOrBytes } from "agentguard";

export type {
  Call,
  Change,
  Diff,
  Failure,
  Finding,
  FindingCode,
  Fixture,
  Location,
  Outcome,
  PolicyLike,
  Severity,
  TestReport,
} from "agentguard";

/**
 * The lint findings of a policy: patterns and rules that can never decide
 * anything (decided exactly), duplicates, the fnmatch traps, conditions that
 * can never hold.
 *
 * @throws {@link PolicyError} for a policy object or text that is not a valid policy
 */
export declare function lint(policy: PolicyLike): Finding[];

/**
 * Every way a decision changes from `oldPolicy` to `newPolicy`, each with a
 * witness call that the old policy decides one way and the new one the
 * other.
 *
 * @throws {@link PolicyError} for a policy object or text that is not a valid policy
 */
export declare function diff(oldPolicy: PolicyLike, newPolicy: PolicyLike): Diff;

/**
 * Runs fixtures against a policy: the failures (what was wanted, what the
 * policy decided) and the patterns and rules no fixture exercised.
 *
 * @param fixtures - fixture objects, or their JSON array or JSON lines text
 * @throws {@link PolicyError} for a fixture that is not one (read strictly:
 *   an unknown or duplicate key, a bad `expect`), or an invalid policy;
 *   `TypeError` for values that are not JSON data
 */
export declare function testPolicy(policy: PolicyLike, fixtures: readonly Fixture[] | string): TestReport;

/** Instantiates the analysis module synchronously (a no-op once loaded). */
export declare function initSync(moduleOrBytes: WasmModuleOrBytes): void;

/**
 * Instantiates the analysis module asynchronously (a no-op once loaded);
 * default: `agentguard_analysis_bg.wasm` next to the web entry.
 */
export declare function init(input?: string | WasmModuleOrBytes | PromiseLike<object>): Promise<void>;
