// agentguard/ai-sdk: guards the tools of the Vercel AI SDK (`ai`). Imports
// nothing from `ai`: a tool is a plain object, and the SDK asks it two
// things this module answers from the policy:
//
//   needsApproval(input)  evaluate (pure): true exactly for require_approval;
//   execute(input, opts)  the one audit entry: check (the approver, the
//                         audit, onDecision, onDeny), then the tool or the
//                         denial text the model reads.
//
// A require_approval call is recorded once, when it is answered, with the
// answer. A policy's own onApproval settles it when the SDK asks
// (needsApproval calls checkAsync there: the one entry, no question);
// otherwise the person's answer is the SDK's, and nothing is recorded when
// it asks: approved, execute finds the approval in the call's messages and
// records the entry with it (checkAsync with `approved: true`: allow,
// "approved via callback (...)") before running the tool; rejected, the SDK
// runs nothing of the tool, so recordRejections(tools, messages), given the
// messages that carry the answers, records the entry (a deny, "approval
// denied via callback (...)") of each rejected call not recorded yet.
//
// A GatewayClient in place of the policy (remote decisions): evaluate and
// checkAsync are the gateway's, and it answers approvals itself
// (hasOnApproval), as a policy's own onApproval does: needsApproval's
// checkAsync waits on the gateway's queue, and the SDK never asks. What it
// returns is final: a require_approval nobody granted in time never runs.
import { ApprovalRequired, ToolDenied } from "agentguard";

import { contextFor, denialText, isPolicy } from "./common.js";

const GUARDED = Symbol.for("agentguard.ai-sdk.guarded");
/** A guarded tool's recorder of a rejected call (input, toolCallId). */
const REJECTED = Symbol("agentguard.ai-sdk.rejected");

/** The parts of `messages`, in order. */
function* partsOf(messages) {
  if (!Array.isArray(messages)) return;
  for (const m of messages) {
    if (!m || !Array.isArray(m.content)) continue;
    for (const p of m.content) if (p) yield p;
  }
}

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
 * @param {object} policy a Policy or a GatewayClient (evaluate, checkAsync)
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null, onDeny?: "result" | "throw" }} [options]
 */
export function guardTools(tools, policy, options = {}) {
  if (tools === null || typeof tools !== "object") throw new TypeError("guardTools: tools must be an object of tools");
  if (!isPolicy(policy)) throw new TypeError("guardTools: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
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
    const r = await policy.evaluate(name, { args: args(input) });
    if (r.decision !== "require_approval") {
      // The tool's own needsApproval still applies to what the policy allows.
      if (r.decision === "allow" && own !== undefined) return typeof own === "function" ? own(input, opts) : own;
      return false;
    }
    // The SDK asks again when a person's approval comes back (ai 7
    // revalidates it): execute records it.
    if (approvedIn(opts.messages, opts.toolCallId)) return true;
    // Asked of a person through the SDK: recorded once answered.
    if (policy.hasOnApproval !== true) return true;
    const ctx = contextFor(context, { toolName: name, toolCallId: opts.toolCallId, input });
    const checked = await policy.checkAsync(name, { args: args(input), context: ctx });
    // The policy's own approver (or a gateway's queue) settled it: no
    // question, and execute answers from this entry. A require_approval
    // here was not granted in time (a gateway's): it never runs, and an
    // answer given through the SDK could not reach the gateway.
    if (opts.toolCallId !== undefined) decided.set(opts.toolCallId, checked);
    return false;
  }

  async function guardedExecute(input, opts = {}) {
    let r = opts.toolCallId !== undefined ? decided.get(opts.toolCallId) : undefined;
    if (r !== undefined) decided.delete(opts.toolCallId);
    else {
      const ctx = contextFor(context, { toolName: name, toolCallId: opts.toolCallId, input });
      // Approved by a person through the SDK: the one entry, with the
      // answer. (A policy that answers approvals itself, a gateway's
      // included, was never asked through the SDK: checkAsync asks it.)
      let approved;
      if (policy.hasOnApproval !== true) {
        const pure = await policy.evaluate(name, { args: args(input) });
        approved = pure.decision === "require_approval" && approvedIn(opts.messages, opts.toolCallId) ? true : undefined;
      }
      r = await policy.checkAsync(name, { args: args(input), context: ctx, approved });
    }
    if (r.decision === "allow") return execute.call(tool, input, opts);
    return deny(r, onDeny);
  }

  // Rejected calls recorded by recordRejections, by tool call id.
  const rejected = new Set();
  async function recordRejected(input, toolCallId) {
    if (rejected.has(toolCallId)) return null;
    rejected.add(toolCallId);
    const ctx = contextFor(context, { toolName: name, toolCallId, input });
    try {
      return await policy.checkAsync(name, { args: args(input), context: ctx, approved: false });
    } catch (e) {
      rejected.delete(toolCallId);
      throw e;
    }
  }

  const guarded = { ...tool, needsApproval, [GUARDED]: true, [REJECTED]: recordRejected };
  if (typeof execute === "function") guarded.execute = guardedExecute;
  return guarded;
}

/**
 * Records the one audit entry of each call in `messages` that a person
 * rejected (a tool-approval-response with `approved: false` for a call of
 * one of `tools`, as guardTools returned them), once per call: a deny,
 * "approval denied via callback (...)". Call it with the messages that
 * carry the answers (before or after handing them back to the SDK).
 * Returns the results recorded now.
 * @param {Record<string, object>} tools
 * @param {unknown[]} messages
 */
export async function recordRejections(tools, messages) {
  if (tools === null || typeof tools !== "object") throw new TypeError("recordRejections: tools must be the object guardTools returned");
  if (!Array.isArray(messages)) throw new TypeError("recordRejections: messages must be an array of messages");
  const calls = new Map();
  const requests = new Map();
  for (const p of partsOf(messages)) {
    if (p.type === "tool-call") calls.set(p.toolCallId, p);
    else if (p.type === "tool-approval-request") requests.set(p.approvalId, p.toolCallId);
  }
  const out = [];
  for (const p of partsOf(messages)) {
    if (p.type !== "tool-approval-response" || p.approved !== false || !requests.has(p.approvalId)) continue;
    const call = calls.get(requests.get(p.approvalId));
    const t = call === undefined ? undefined : Object.hasOwn(tools, call.toolName) ? tools[call.toolName] : undefined;
    if (t === undefined || t === null || typeof t[REJECTED] !== "function") continue;
    const r = await t[REJECTED](call.input, call.toolCallId);
    if (r !== null) out.push(r);
  }
  return out;
}

function deny(r, onDeny) {
  if (onDeny === "throw") {
    throw r.decision === "require_approval" ? new ApprovalRequired(r) : new ToolDenied(r);
  }
  return denialText(r);
}

export { denialText };
