// agentguard/mcp: a policy on an MCP client (@modelcontextprotocol/sdk's
// Client), in process: the sibling of `agentguard mcp`, the proxy. Imports
// nothing from the SDK: it wraps the client's own listTools and callTool.
//
//   listTools   drops the tools every call of which the policy denies;
//   callTool    decides on the name and the arguments (checkAsync: the
//               approver, the one audit entry); a call the policy stops is
//               never sent, and its result is an isError result that
//               names the rule and the reason.
//
// A GatewayClient in place of the policy (remote decisions): callTool's
// checkAsync is the gateway's decision, waiting on its approval queue for a
// require_approval (one not granted in time is never sent); listTools
// drops nothing (the client has no alwaysDenied: the gateway decides each
// call).
import { ApprovalRequired, ToolDenied } from "agentguard";

import { contextFor, denialText, isPolicy } from "./common.js";

const GUARDED = Symbol.for("agentguard.mcp.guarded");

/**
 * A function of a tool name: whether every call of it is denied whatever
 * its arguments, the core's answer (`Policy#alwaysDenied`: `true` only when
 * shown). A policy without `alwaysDenied` (not a Policy) drops nothing.
 */
export function alwaysDenied(policy) {
  if (!isPolicy(policy)) throw new TypeError("alwaysDenied: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  if (typeof policy.alwaysDenied !== "function") return () => false;
  return (name) => policy.alwaysDenied(name);
}

/**
 * `client`, guarded by `policy`: a Proxy whose listTools and callTool ask
 * the policy; everything else is the client's own.
 * @param {object} client an MCP Client (listTools, callTool)
 * @param {object} policy a Policy or a GatewayClient (evaluate, checkAsync)
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null, onDeny?: "result" | "throw" }} [options]
 */
export function guardClient(client, policy, options = {}) {
  if (client === null || typeof client !== "object" || typeof client.callTool !== "function" || typeof client.listTools !== "function") {
    throw new TypeError("guardClient: client must be an MCP Client (listTools, callTool)");
  }
  if (client[GUARDED]) throw new TypeError("guardClient: the client is guarded already (every call would be audited twice)");
  if (!isPolicy(policy)) throw new TypeError("guardClient: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  const { context = null, onDeny = "result" } = options ?? {};
  if (onDeny !== "result" && onDeny !== "throw") throw new TypeError(`guardClient: onDeny must be "result" or "throw", not ${String(onDeny)}`);
  const denied = alwaysDenied(policy);

  async function listTools(...a) {
    const result = await client.listTools(...a);
    return { ...result, tools: result.tools.filter((t) => !denied(t.name)) };
  }

  async function callTool(params, ...rest) {
    // A copy, read once: the call sent is the call decided, whatever the
    // caller changes in its objects while the decision (an approver) runs.
    const sent = params !== null && typeof params === "object" ? { ...params } : params;
    const name = sent?.name;
    if (typeof name !== "string") throw new TypeError("callTool: params.name must be a string");
    if (sent.arguments !== undefined && sent.arguments !== null) sent.arguments = JSON.parse(JSON.stringify(sent.arguments));
    const args = sent.arguments ?? null;
    const ctx = contextFor(context, { toolName: name, arguments: args });
    const r = await policy.checkAsync(name, { args, context: ctx });
    if (r.decision === "allow") return client.callTool(sent, ...rest);
    if (onDeny === "throw") throw r.decision === "require_approval" ? new ApprovalRequired(r) : new ToolDenied(r);
    return {
      content: [{ type: "text", text: denialText(r) }],
      isError: true,
      _meta: { agentguard: r.toJSON ? r.toJSON() : { tool: r.tool, decision: r.decision, reason: r.reason } },
    };
  }

  const own = { listTools, callTool, [GUARDED]: true };
  return new Proxy(client, {
    get(target, key) {
      if (Object.prototype.hasOwnProperty.call(own, key)) return own[key];
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

export { denialText };
