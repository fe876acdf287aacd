/**
 * agentguard/mcp: a policy on an MCP client (`@modelcontextprotocol/sdk`),
 * in process: the sibling of the `agentguard mcp` proxy.
 *
 * @example
 * import { Client } from "@modelcontextprotocol/sdk/client/index.js";
 * import { Policy } from "agentguard";
 * import { guardClient } from "agentguard/mcp";
 *
 * const client = guardClient(new Client({ name: "agent", version: "1.0.0" }), new Policy(spec));
 */
import type { Context, GatewayClient, PolicyResult } from "./index.js";
import type { GuardPolicy } from "./ai-sdk.js";

export type { GuardPolicy };

/** The call a context function is asked about. */
export interface McpCallInfo {
  toolName: string;
  /** The call's `arguments`, or `null` when it has none. */
  arguments: Record<string, unknown> | null;
}

export interface GuardClientOptions {
  /** The context recorded with each call's audit entry, or a function of the call that returns it. */
  context?: Context | ((call: McpCallInfo) => Context | null | undefined) | null | undefined;
  /**
   * `"result"` (the default): a call the policy stops is not sent and
   * returns `{ content: [{ type: "text", text }], isError: true, _meta: {
   * agentguard: <the result's JSON> } }`, the text naming the tool, the
   * reason and the deciding rule; `"throw"`: it throws {@link ToolDenied}
   * (or {@link ApprovalRequired}).
   */
  onDeny?: "result" | "throw" | undefined;
}

/** What {@link guardClient} needs of a client: the SDK's `Client`, or anything with its `listTools` and `callTool`. */
export interface McpToolClient {
  listTools(...args: any[]): Promise<{ tools: Array<{ name: string }> }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> | undefined }, ...rest: any[]): Promise<unknown>;
}

/**
 * `client`, guarded by `policy` (a Proxy; the client itself is unchanged):
 *
 * - `listTools()` leaves out every tool {@link alwaysDenied} by the policy;
 * - `callTool(params)` decides on `params.name` and `params.arguments`
 *   (`checkAsync` with `context`: the policy's `onApproval` may ask a person,
 *   and the call gets exactly one audit entry); only an allowed call is sent.
 *   A `require_approval` that no approver granted is not sent.
 *
 * With a {@link GatewayClient} as `policy`, the gateway decides and audits
 * each call (`listTools` then drops nothing), and a `require_approval` waits
 * for the gateway's approval: granted, it is sent; refused, or not answered
 * within the client's `approvalTimeout`, it is not.
 *
 * Every other member is the client's own.
 *
 * @throws TypeError when `client` has no `listTools`/`callTool`, is guarded
 *   already, or `policy` is not a policy
 */
export declare function guardClient<C extends McpToolClient>(client: C, policy: GuardPolicy, options?: GuardClientOptions): C;

/**
 * The listing rule, as a function of a tool's name: `true` when every call
 * of the tool is denied whatever its arguments, as the core shows it
 * (`Policy#alwaysDenied`: a `deny` pattern or an unconditional deny rule
 * decides it, or it is denied and no enforced rule with conditions applies
 * to it). A policy without `alwaysDenied` (not a {@link Policy}) lists every
 * tool.
 */
export declare function alwaysDenied(policy: GuardPolicy & { alwaysDenied?: (tool: string) => boolean }): (name: string) => boolean;

/** The text a model reads for a call the policy stopped. */
export declare function denialText(result: PolicyResult): string;
