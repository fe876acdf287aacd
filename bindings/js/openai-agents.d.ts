/**
 * agentguard/openai-agents: a policy on the function tools of the OpenAI
 * Agents SDK (`@openai/agents`).
 *
 * @example
 * import { Agent, run } from "@openai/agents";
 * import { Policy } from "agentguard";
 * import { guardTools } from "agentguard/openai-agents";
 *
 * const agent = new Agent({ name: "ops", tools: guardTools(tools, new Policy(spec)) });
 */
import type { Context, GatewayClient, PolicyResult } from "./index.js";
import type { GuardPolicy } from "./ai-sdk.js";

export type { GuardPolicy };

/** The call a context function is asked about. */
export interface AgentsCallInfo {
  toolName: string;
  /** The SDK's id of the call. */
  callId: string;
  /** The call's arguments (parsed), or `null` when they are not an object. */
  arguments: Record<string, unknown> | null;
  /** The run's context object (`run(agent, input, { context })`). */
  runContext: unknown;
}

export interface GuardAgentsToolsOptions {
  /** The context recorded with each call's audit entry, or a function of the call that returns it. */
  context?: Context | ((call: AgentsCallInfo) => Context | null | undefined) | null | undefined;
  /**
   * `"result"` (the default): the guardrail answers a call the policy stops
   * with `rejectContent`, a text the model reads naming the tool, the
   * reason and the deciding rule; `"throw"`: `throwException`, so the run
   * fails with the SDK's `ToolInputGuardrailTripwireTriggered`.
   */
  onDeny?: "result" | "throw" | undefined;
}

/**
 * Guarded copies of `tools` (function tools; any other tool is returned as
 * it is):
 *
 * - `needsApproval` is the policy's answer on the call's arguments: a
 *   `require_approval` call becomes the SDK's interruption, approved or
 *   rejected on the run state, and is recorded once answered (unless the
 *   policy's own `onApproval` settles it there: `checkAsync`, its one
 *   entry, no interruption). Approved (`result.state.approve(item)`, then
 *   `run(agent, state)`), the guardrail records the call's one entry with
 *   the answer (`allow`, `approved via callback (...)`) and it runs;
 *   rejected with {@link reject} (then `run(agent, state)`), its one entry
 *   is a `deny` (`approval denied via callback (...)`) and it never runs.
 *   A tool's own `needsApproval` still applies to what the policy allows.
 * - a tool input guardrail (name `agentguard`, after the tool's own) records
 *   the one audit entry of every call and lets only an allowed call run.
 *
 * With a {@link GatewayClient} as `policy`, the gateway decides and audits,
 * and a `require_approval` waits in `needsApproval` for the gateway's
 * approval (no interruption): granted, it runs; refused, or not answered
 * within the client's `approvalTimeout`, the guardrail rejects it and the
 * model reads why.
 *
 * @throws TypeError when `tools` is not an array, `policy` is not a policy,
 *   or a tool is guarded already (its calls would be audited twice)
 */
export declare function guardTools<T extends object>(tools: readonly T[], policy: GuardPolicy, options?: GuardAgentsToolsOptions): T[];

/**
 * Rejects an interruption on the run state for a person, recording the
 * call's one audit entry with the answer (`policy.checkAsync(tool, { args,
 * context, approved: false })`: a `deny`, `approval denied via callback
 * (...)`), and gives the model its text (`denialText`) as the rejection
 * message. The SDK runs nothing of a rejected call, so a rejection made
 * with `state.reject(item)` alone leaves the call unrecorded.
 *
 * @param options.context the context recorded with the entry, as for
 *   {@link guardTools} (a function gets the call's info, `runContext` from
 *   the state)
 * @returns the recorded result
 */
export declare function reject(
  state: { reject(item: any, options?: { message?: string }): void },
  item: object,
  policy: GuardPolicy,
  options?: Pick<GuardAgentsToolsOptions, "context">,
): Promise<PolicyResult>;

/** The text a model reads for a call the policy stopped. */
export declare function denialText(result: PolicyResult): string;
