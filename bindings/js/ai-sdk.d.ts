/**
 * agentguard/ai-sdk: a policy on the tools of the Vercel AI SDK (`ai`).
 *
 * @example
 * import { generateText, isStepCount } from "ai";
 * import { Policy } from "agentguard";
 * import { guardTools } from "agentguard/ai-sdk";
 *
 * const policy = new Policy({ allow: ["search_*"], require_approval: ["send_*"] });
 * const result = await generateText({ model, tools: guardTools(tools, policy), stopWhen: isStepCount(5), prompt });
 */
import type { ApprovalRequired, CheckOptions, Context, EvaluateOptions, GatewayClient, Policy, PolicyResult, ToolDenied } from "./index.js";

/**
 * What the adapters need of a policy: a {@link Policy}, a
 * {@link GatewayClient} (remote decisions: its `evaluate` is async, and
 * its `hasOnApproval` is `true`: the gateway's queue answers approvals
 * inside `checkAsync`), or anything with their `evaluate` and `checkAsync`.
 */
export interface GuardPolicy {
  evaluate(tool: string, options?: EvaluateOptions): PolicyResult | PromiseLike<PolicyResult>;
  checkAsync(tool: string, options?: CheckOptions): Promise<PolicyResult>;
  /**
   * `true` when the policy answers approvals itself (a {@link Policy}'s
   * `onApproval`, a {@link GatewayClient}'s queue): the adapter then never
   * asks the framework, and a `require_approval` that `checkAsync` returns
   * never runs.
   */
  readonly hasOnApproval?: boolean | undefined;
}

/** The call a context function is asked about. */
export interface ToolCallInfo {
  toolName: string;
  /** The SDK's id of the call (absent when a tool is run outside the SDK). */
  toolCallId: string | undefined;
  /** The call's input, as the model gave it (and the SDK validated it). */
  input: unknown;
}

export interface GuardToolsOptions {
  /**
   * The context recorded with each call's audit entry (agent id, user,
   * session), or a function of the call that returns it.
   */
  context?: Context | ((call: ToolCallInfo) => Context | null | undefined) | null | undefined;
  /**
   * `"result"` (the default): a call the policy stops returns a text the
   * model reads, `Tool 'x' denied: <reason>` naming the deciding rule;
   * `"throw"`: it throws {@link ToolDenied} (or {@link ApprovalRequired}),
   * which the SDK turns into a tool error (or your code catches).
   */
  onDeny?: "result" | "throw" | undefined;
}

/**
 * The tools, each guarded by `policy` (same keys, same fields; the input
 * objects are not changed):
 *
 * - `needsApproval(input)` is the policy's answer on the call's input
 *   (`evaluate`, pure): `true` exactly for `require_approval`, so the SDK
 *   asks a person (a tool's own `needsApproval` still applies to what the
 *   policy allows);
 * - `execute(input)` records the call's one audit entry (`checkAsync`, with
 *   `context`) and runs the tool only if it is allowed; a denied call never
 *   runs and the model reads why.
 *
 * A `require_approval` call is recorded once, with its answer. A policy's
 * own `onApproval`, when it has one, settles it when the SDK asks (its one
 * entry, no question). Otherwise the SDK asks a person and nothing is
 * recorded yet: approved (a `tool-approval-response` in the call's
 * messages), `execute` records the entry with the answer (`allow`,
 * `approved via callback (...)`) and runs the tool; rejected, the SDK runs
 * nothing of the tool, and {@link recordRejections} records the entry (a
 * `deny`, `approval denied via callback (...)`).
 *
 * With a {@link GatewayClient} as `policy`, the gateway decides and audits,
 * and a `require_approval` waits in `needsApproval` for the gateway's
 * approval (the SDK never asks): granted, `execute` runs the tool; refused,
 * or not answered within the client's `approvalTimeout`, it never runs and
 * the model reads why.
 *
 * A `toolApproval` function on `generateText`/`streamText` replaces every
 * tool's `needsApproval` (the SDK asks it first): use none with guarded
 * tools (a per-tool map that does not name them is fine).
 *
 * @throws TypeError when `tools` is not an object of tools, `policy` is not
 *   a policy, or a tool is guarded already (its calls would be audited twice)
 */
export declare function guardTools<T extends Record<string, object>>(
  tools: T,
  policy: GuardPolicy,
  options?: GuardToolsOptions,
): T;

/**
 * Records the one audit entry of each call in `messages` that a person
 * rejected (a `tool-approval-response` with `approved: false` for a call of
 * one of `tools`, as {@link guardTools} returned them), once per call: a
 * `deny`, `approval denied via callback (...)` (`checkAsync` with `approved:
 * false` and the tool's `context`). Give it the messages that carry the
 * answers, before or after handing them back to the SDK.
 *
 * @returns the results recorded by this call (none for a call recorded
 *   already)
 */
export declare function recordRejections(tools: Record<string, object>, messages: readonly unknown[]): Promise<PolicyResult[]>;

/** The text a model reads for a call the policy stopped. */
export declare function denialText(result: PolicyResult): string;
