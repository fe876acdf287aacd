// agentguard/ai-sdk: guards the tools of the Vercel AI SDK (`ai`). Imports
// nothing from `ai`: a tool is a plain object, and the SDK asks it two
// things this module answers from the policy:
//
//   needsApproval(input)  evaluate (pure): true exactly for require_approval;
//   execute(input, opts)  the one audit entry: check (the approver, the
//                         audit, onDecision, onDeny), then the tool or the
//                         denial text the model reads.
//
// A require_approval call is recorded once, when the SDK asks its question
// (needsApproval calls checkAsync there, so a policy's own onApproval may
// still settle it without asking anyone). The person's answer is the SDK's:
// rejected, execute never runs; approved, execute finds the approval in the
// call's messages and runs the tool without a second entry.
import { ApprovalRequired, ToolDenied } from "agentguard";

import { contextFor, denialText, isPolicy } from "./common.js";

const GUARDED = Symbol.for("agentguard.ai-sdk.guarded");

/** Whether `messages` hold an approved tool-approval-response for `toolCallId`. */
function approvedIn(messages, toolCallId) {
  if (!Array.isArray(messages)) return false;
  const ids = new Set();
  for (const m of messages) {
    if (!m || !Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p && p.type === "tool-approval-request" && p.toolCallId === toolCallId) ids.add(p.approvalId);
    }
  }
  for (const m of messages) {
    if (!m || !Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p && p.type === "tool-approval-response" && ids.has(p.approvalId) && p.approved === true) return true;
    }
  }
  return false;
}

/**
 * The tools, each guarded by `policy`.
 * @param {Record<string, object>} tools
 * @param {object} policy a Policy (evaluate, checkAsync, enforceAsync)
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null, onDeny?: "result" | "throw" }} [options]
 */
export function guardTools(tools, policy, options = {}) {
  if (tools === null || typeof tools !== "object") throw new TypeError("guardTools: tools must be an object of tools");
  if (!isPolicy(policy)) throw new TypeError("guardTools: policy must have evaluate and checkAsync (an agentguard Policy)");
  const { context = null, onDeny = "result" } = options ?? {};
  if (onDeny !== "result" && onDeny !== "throw") throw new TypeError(`guardTools: onDeny must be "result" or "throw", not ${String(onDeny)}`);
  const out = {};
  for (const [name, tool] of Object.entries(tools)) {
    if (tool === null || typeof tool !== "object") throw new TypeError(`guardTools: tool '${name}' is not an object`);
    if (tool[GUARDED]) throw new TypeError(`guardTools: tool '${name}' is guarded already (every call would be audited twice)`);
    out[name] = guard(name, tool, policy, context, onDeny);
  }
  return out;
}

function guard(name, tool, policy, context, onDeny) {
  // Decisions already recorded by needsApproval, by tool call id, for
  // execute in the same generateText/streamText call.
  const decided = new Map();
  const { needsApproval: own, execute } = tool;
  const args = (input) => (input !== null && typeof input === "object" && !Array.isArray(input) ? input : null);

  async function needsApproval(input, opts = {}) {
    const r = policy.evaluate(name, { args: args(input) });
    if (r.decision !== "require_approval") {
      // The tool's own needsApproval still applies to what the policy allows.
      if (r.decision === "allow" && own !== undefined) return typeof own === "function" ? own(input, opts) : own;
      return false;
    }
    // The SDK asks again when a person's approval comes back (ai 7
    // revalidates it): recorded already, when it first asked.
    if (approvedIn(opts.messages, opts.toolCallId)) return true;
    const ctx = contextFor(context, { toolName: name, toolCallId: opts.toolCallId, input });
    const checked = await policy.checkAsync(name, { args: args(input), context: ctx });
    if (checked.decision === "require_approval") return true;
    // The policy's own approver settled it: no question, and execute
    // answers from this entry.
    if (opts.toolCallId !== undefined) decided.set(opts.toolCallId, checked);
    return false;
  }

  async function guardedExecute(input, opts = {}) {
    let r = opts.toolCallId !== undefined ? decided.get(opts.toolCallId) : undefined;
    if (r !== undefined) decided.delete(opts.toolCallId);
    else {
      const pure = policy.evaluate(name, { args: args(input) });
      if (pure.decision === "require_approval" && approvedIn(opts.messages, opts.toolCallId)) {
        // Approved by a person through the SDK; recorded when it asked.
        return execute.call(tool, input, opts);
      }
      const ctx = contextFor(context, { toolName: name, toolCallId: opts.toolCallId, input });
      r = await policy.checkAsync(name, { args: args(input), context: ctx });
    }
    if (r.decision === "allow") return execute.call(tool, input, opts);
    return deny(r, onDeny);
  }

  const guarded = { ...tool, needsApproval, [GUARDED]: true };
  if (typeof execute === "function") guarded.execute = guardedExecute;
  return guarded;
}

function deny(r, onDeny) {
  if (onDeny === "throw") {
    throw r.decision === "require_approval" ? new ApprovalRequired(r) : new ToolDenied(r);
  }
  return denialText(r);
}

export { denialText };
