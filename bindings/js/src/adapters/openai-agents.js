// agentguard/openai-agents: a policy on the function tools of the OpenAI
// Agents SDK (@openai/agents). Imports nothing from the SDK: it gives each
// tool a needsApproval and a tool input guardrail (plain objects the SDK
// takes as they are).
//
//   needsApproval   evaluate (pure): a require_approval call is the SDK's
//                   interruption, approved or rejected on the run state,
//                   and nothing is recorded yet (unless the policy's own
//                   onApproval settles it here: checkAsync, the one entry);
//   guardrail       the one audit entry of every call (checkAsync); for an
//                   approved interruption, with the answer (`approved`:
//                   allow, "approved via callback (...)"); a call the
//                   policy stops never runs: rejectContent with the text
//                   the model reads, or throwException by option;
//   reject()        rejects an interruption on the run state, recording the
//                   call's one entry with the answer (deny, "approval
//                   denied via callback (...)") and giving the model its
//                   text: the SDK runs nothing of a rejected call, so a
//                   rejection made with state.reject alone is not recorded.
//
// A GatewayClient in place of the policy (remote decisions) answers
// approvals itself (hasOnApproval), as a policy's own onApproval does:
// needsApproval's checkAsync waits on the gateway's queue and there is no
// interruption; what it returns is final (a require_approval nobody
// granted in time is rejected by the guardrail, never run).
import { contextFor, denialText, isPolicy } from "./common.js";


const GUARDED = Symbol.for("agentguard.openai-agents.guarded");

const parse = (text) => {
  if (text !== null && typeof text === "object") return text;
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
};
const argsOf = (input) => (input !== null && typeof input === "object" && !Array.isArray(input) ? input : parse(input));

/**
 * Guarded copies of `tools` (function tools; other tools are returned as
 * they are).
 * @param {object[]} tools
 * @param {object} policy a Policy or a GatewayClient (evaluate, checkAsync)
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null, onDeny?: "result" | "throw" }} [options]
 */
export function guardTools(tools, policy, options = {}) {
  if (!Array.isArray(tools)) throw new TypeError("guardTools: tools must be an array of tools");
  if (!isPolicy(policy)) throw new TypeError("guardTools: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  const { context = null, onDeny = "result" } = options ?? {};
  if (onDeny !== "result" && onDeny !== "throw") throw new TypeError(`guardTools: onDeny must be "result" or "throw", not ${String(onDeny)}`);
  return tools.map((t) => {
    if (t === null || typeof t !== "object") throw new TypeError("guardTools: a tool is not an object");
    if (t.type !== "function") return t;
    if (t[GUARDED]) throw new TypeError(`guardTools: tool '${t.name}' is guarded already (every call would be audited twice)`);
    return guard(t, policy, context, onDeny);
  });
}

function guard(tool, policy, context, onDeny) {
  const name = tool.name;
  const own = tool.needsApproval;
  // Decisions recorded by needsApproval, by call id, for the guardrail.
  const decided = new Map();
  const callContext = (runContext, callId, args) =>
    contextFor(context, { toolName: name, callId, arguments: args, runContext: runContext?.context });

  async function needsApproval(runContext, input, callId) {
    const args = argsOf(input);
    const pure = await policy.evaluate(name, { args });
    // The tool's own needsApproval still applies to what the policy allows.
    if (pure.decision === "allow" && typeof own === "function") return own(runContext, input, callId);
    if (pure.decision === "allow" && own === true) return true;
    if (pure.decision !== "require_approval") return false;
    // The person's answer comes back on the run state; recorded then.
    if (policy.hasOnApproval !== true) return true;
    // Settled by the policy's own approver (or a gateway's queue): the
    // guardrail answers from this entry; a require_approval here was not
    // granted in time, and the guardrail rejects it.
    const r = await policy.checkAsync(name, { args, context: callContext(runContext, callId, args) });
    decided.set(callId, r);
    return false;
  }

  const guardrail = {
    type: "tool_input",
    name: "agentguard",
    async run({ context: runContext, toolCall }) {
      const callId = toolCall.callId;
      const args = argsOf(toolCall.arguments);
      let r = decided.get(callId);
      if (r !== undefined) decided.delete(callId);
      else if (policy.hasOnApproval !== true && (await policy.evaluate(name, { args })).decision === "require_approval") {
        // Answered on the run state: the call's one entry, with the answer.
        // (Run before the question, with preApprovalInputGuardrails, the
        // interruption follows, and this runs again once it is approved.)
        const approved = runContext?.isToolApproved?.({ toolName: name, callId });
        if (approved === undefined) return { behavior: { type: "allow" } };
        r = await policy.checkAsync(name, { args, context: callContext(runContext, callId, args), approved: approved === true });
      } else {
        r = await policy.checkAsync(name, { args, context: callContext(runContext, callId, args) });
      }
      const outputInfo = typeof r.toJSON === "function" ? r.toJSON() : undefined;
      if (r.decision === "allow") return { outputInfo, behavior: { type: "allow" } };
      if (onDeny === "throw") return { outputInfo, behavior: { type: "throwException" } };
      return { outputInfo, behavior: { type: "rejectContent", message: denialText(r) } };
    },
  };

  return {
    ...tool,
    needsApproval,
    inputGuardrails: [...(tool.inputGuardrails ?? []), guardrail],
    [GUARDED]: true,
  };
}

/**
 * Rejects an interruption on the run state for a person: records the
 * call's one audit entry with the answer (`policy.checkAsync` with
 * `approved: false`: a deny, "approval denied via callback (...)") and
 * gives the model its text as the rejection message. Returns the result.
 * @param {object} state the run state (`result.state`)
 * @param {object} item the interruption (`result.interruptions[i]`)
 * @param {object} policy the policy the tools were guarded with
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null }} [options]
 */
export async function reject(state, item, policy, options = {}) {
  if (!isPolicy(policy)) throw new TypeError("reject: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  if (state === null || typeof state !== "object" || typeof state.reject !== "function") throw new TypeError("reject: state must be a run state");
  if (item === null || typeof item !== "object") throw new TypeError("reject: item must be an interruption of the run");
  const raw = item.rawItem ?? {};
  const name = item.toolName ?? item.name ?? raw.name;
  const callId = raw.callId ?? raw.id;
  const args = argsOf(raw.arguments);
  const { context = null } = options ?? {};
  const ctx = contextFor(context, { toolName: name, callId, arguments: args, runContext: state._context?.context });
  const r = await policy.checkAsync(name, { args, context: ctx, approved: false });
  state.reject(item, { message: denialText(r) });
  return r;
}

export { denialText };
