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
import type { Context, PolicyResult } from "./index.js";
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
 *   `require_approval` call is recorded there, once (`checkAsync`: a policy's
 *   own `onApproval` may settle it), and an unsettled one becomes the SDK's
 *   interruption, approved or rejected on the run state
 *   (`result.state.approve(item)` / `reject(item)`, then `run(agent, state)`):
 *   approved, it runs without a second entry; rejected, it never runs. A
 *   tool's own `needsApproval` still applies to what the policy allows.
 * - a tool input guardrail (name `agentguard`, after the tool's own) records
 *   the one audit entry of every other call and lets only an allowed call run.
 *
 * @throws TypeError when `tools` is not an array, `policy` is not a policy,
 *   or a tool is guarded already (its calls would be audited twice)
 */
export declare function guardTools<T extends object>(tools: readonly T[], policy: GuardPolicy, options?: GuardAgentsToolsOptions): T[];

/** The text a model reads for a call the policy stopped. */
export declare function denialText(result: PolicyResult): string;
