/**
 * agentguard/langchain: a policy on LangChain tool calls (`langchain` 1,
 * `@langchain/core`, `@langchain/langgraph`): middleware for `createAgent`
 * and a wrapper of single tools. `require_approval` raises LangGraph's
 * human-in-the-loop interrupt.
 *
 * @example
 * import { createAgent } from "langchain";
 * import { MemorySaver } from "@langchain/langgraph";
 * import { Policy } from "agentguard";
 * import { agentguardMiddleware } from "agentguard/langchain";
 *
 * const agent = createAgent({ model, tools, middleware: [agentguardMiddleware(new Policy(spec))], checkpointer: new MemorySaver() });
 */
import type { Context, GatewayClient, PolicyResult } from "./index.js";
import type { GuardPolicy } from "./ai-sdk.js";

export type { GuardPolicy };

/** The call a context function is asked about. */
export interface LangChainCallInfo {
  toolName: string;
  /** The tool call's id, when there is one. */
  toolCallId: string | undefined;
  /** The call's arguments, or `null` when they are not an object. */
  args: Record<string, unknown> | null;
  /** The run's context (`runtime.context` of the agent, `config.context` of a tool), if any. */
  runContext: unknown;
}

export interface GuardLangChainOptions {
  /** The context recorded with each call's audit entry, or a function of the call that returns it. */
  context?: Context | ((call: LangChainCallInfo) => Context | null | undefined) | null | undefined;
  /**
   * `"result"` (the default): a stopped call returns a `ToolMessage`
   * (`status: "error"`) whose text names the tool, the reason and the rule;
   * `"throw"`: it throws {@link ToolDenied} (or {@link ApprovalRequired}).
   */
  onDeny?: "result" | "throw" | undefined;
}

/** The value of the interrupt a `require_approval` call raises (`result.__interrupt__[i].value`). */
export interface ApprovalInterrupt {
  agentguard: {
    tool: string;
    args: Record<string, unknown> | null;
    toolCallId: string | null;
    reason: string;
    matched_rule: string | null;
  };
}

/**
 * Middleware for `createAgent` (its `wrapToolCall` hook): each tool call is
 * decided on its name and arguments before it runs, with exactly one audit
 * entry. `allow` runs; `deny` never runs (the model reads why). A
 * `require_approval` call is settled by a policy's own `onApproval` when it
 * has one (its one entry); otherwise it raises LangGraph's interrupt with an
 * {@link ApprovalInterrupt} (the agent needs a checkpointer), recording
 * nothing yet; resume with `new Command({ resume: answer })`: the call's one
 * entry is recorded then, with the answer (`checkAsync` with `approved`): an
 * approval ({@link isApproval}) is an `allow` (`approved via callback
 * (...)`) and runs the call; anything else is a `deny` (`approval denied
 * via callback (...)`) and never runs it (a `reason` in the answer reaches
 * the model). With no checkpointer, nobody can be asked: the call is
 * recorded as `require_approval` and never runs.
 *
 * With a {@link GatewayClient} as `policy`, the gateway decides and audits,
 * and a `require_approval` waits for the gateway's approval instead of an
 * interrupt (no checkpointer needed): granted, it runs; refused, or not
 * answered within the client's `approvalTimeout`, it never runs.
 */
export declare function agentguardMiddleware(
  policy: GuardPolicy,
  options?: GuardLangChainOptions & { name?: string | undefined },
): { readonly name: string; wrapToolCall(request: any, handler: (request: any) => any): Promise<any> };

/**
 * A copy of a LangChain tool whose `invoke` is decided first, as the
 * middleware does (invoked with a `ToolCall`, a stopped call gives a
 * `ToolMessage`; with plain arguments, the text). The original is unchanged.
 */
export declare function guardTool<T extends { name: string; invoke(...args: any[]): any }>(
  tool: T,
  policy: GuardPolicy,
  options?: GuardLangChainOptions,
): T;

/** {@link guardTool} over an array of tools. */
export declare function guardTools<T extends { name: string; invoke(...args: any[]): any }>(
  tools: readonly T[],
  policy: GuardPolicy,
  options?: GuardLangChainOptions,
): T[];

/** Whether a resume value approves: `true`, `"approve"`, `{ approved: true }`, or `{ type: "approve" }` / `{ decision: "approve" }`. */
export declare function isApproval(answer: unknown): boolean;

/** The text a model reads for a call the policy stopped. */
export declare function denialText(result: PolicyResult): string;
