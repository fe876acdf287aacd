// agentguard/langchain: a policy on LangChain tool calls (langchain 1,
// @langchain/core, @langchain/langgraph), as agent middleware for
// createAgent (its wrapToolCall hook) and as a wrapper of single tools.
// Both decide each call on its name and arguments; require_approval raises
// LangGraph's human-in-the-loop interrupt. The frameworks are imported on
// first use, never at load.
//
//   allow / deny          checkAsync: the call's one audit entry; a denied
//                         call never runs, the model reads a ToolMessage
//                         (status "error") naming the reason and the rule;
//   require_approval      a policy's own onApproval settles it (checkAsync:
//                         the one entry); otherwise interrupt({ agentguard:
//                         ... }) pauses the graph, nothing recorded yet, and
//                         the resume value decides: the one entry is made
//                         then, with the answer (checkAsync with `approved`:
//                         allow, "approved via callback (...)", and the tool
//                         runs; deny, "approval denied via callback (...)",
//                         and it never runs). Outside a graph that can
//                         pause, nobody can be asked: recorded as
//                         require_approval, never run.
//
// A GatewayClient in place of the policy (remote decisions) answers
// approvals itself (hasOnApproval), as a policy's own onApproval does:
// checkAsync waits on the gateway's queue, with no interrupt; a
// require_approval nobody granted in time never runs.
import { ApprovalRequired, ToolDenied } from "agentguard";

import { contextFor, denialText, isPolicy } from "./common.js";

let frameworks;
async function load() {
  frameworks ??= Promise.all([import("@langchain/langgraph"), import("@langchain/core/messages")]).then(([graph, messages]) => ({
    interrupt: graph.interrupt,
    isGraphInterrupt: graph.isGraphInterrupt,
    ToolMessage: messages.ToolMessage,
  }));
  return frameworks;
}

/** Whether a resume value approves: `true`, `"approve"`, `{ approved: true }` or `{ type|decision: "approve" }`. */
export function isApproval(answer) {
  if (answer === true || answer === "approve") return true;
  if (answer !== null && typeof answer === "object") {
    return answer.approved === true || answer.type === "approve" || answer.decision === "approve";
  }
  return false;
}

/**
 * The decision for one call: `{ run: true }`, or `{ run: false, result,
 * text }` (the text the model reads), recording the call's one entry.
 */
async function decide(policy, name, args, callId, context, runContext) {
  const f = await load();
  const ctx = () => contextFor(context, { toolName: name, toolCallId: callId, args, runContext });
  if (policy.hasOnApproval === true) {
    // The policy's own approver (or a gateway's queue) settles what needs
    // approval: the one entry, no interrupt, whatever the decision.
    const r = await policy.checkAsync(name, { args, context: ctx() });
    return { run: r.decision === "allow", result: r };
  }
  const pure = await policy.evaluate(name, { args });
  if (pure.decision !== "require_approval") {
    const r = await policy.checkAsync(name, { args, context: ctx() });
    return r.decision === "allow" ? { run: true, result: r } : { run: false, result: r };
  }
  let answer;
  try {
    answer = f.interrupt({
      agentguard: { tool: name, args, toolCallId: callId ?? null, reason: pure.reason, matched_rule: pure.matchedRule ?? null },
    });
  } catch (e) {
    // First met: the graph pauses, and the entry is made when it resumes
    // with the answer. Outside a graph, or in one without a checkpointer,
    // interrupt() cannot pause: nobody can be asked, the call is recorded
    // as require_approval and never runs.
    if (f.isGraphInterrupt(e)) throw e;
    const r = await policy.checkAsync(name, { args, context: ctx() });
    return { run: r.decision === "allow", result: r };
  }
  // Resumed with a person's answer: the call's one entry, with it.
  const r = await policy.checkAsync(name, { args, context: ctx(), approved: isApproval(answer) });
  if (r.decision === "allow") return { run: true, result: r };
  if (r.decision !== "deny") return { run: false, result: r };
  const why = answer !== null && typeof answer === "object" && typeof answer.reason === "string" ? `: ${answer.reason}` : "";
  return {
    run: false,
    result: r,
    text: `Tool '${name}' was not run: a person rejected it (${pure.reason})${why}`,
  };
}

function options(opts, who) {
  const { context = null, onDeny = "result" } = opts ?? {};
  if (onDeny !== "result" && onDeny !== "throw") throw new TypeError(`${who}: onDeny must be "result" or "throw", not ${String(onDeny)}`);
  return { context, onDeny };
}

function stopped(d, onDeny) {
  if (onDeny === "throw") {
    throw d.result.decision === "deny" ? new ToolDenied(d.result) : new ApprovalRequired(d.result);
  }
  return d.text ?? denialText(d.result);
}

/**
 * Agent middleware for langchain's createAgent: every tool call is decided
 * by `policy` in its wrapToolCall hook.
 * @param {object} policy a Policy or a GatewayClient (evaluate, checkAsync)
 * @param {{ context?: object | ((call: object) => object | null | undefined) | null, onDeny?: "result" | "throw", name?: string }} [opts]
 */
export function agentguardMiddleware(policy, opts = {}) {
  if (!isPolicy(policy)) throw new TypeError("agentguardMiddleware: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  const { context, onDeny } = options(opts, "agentguardMiddleware");
  return {
    // createMiddleware's brand, so createAgent takes this plain object.
    [Symbol.for("AgentMiddleware")]: true,
    name: opts?.name ?? "agentguard",
    async wrapToolCall(request, handler) {
      const call = request.toolCall;
      const args = call.args !== null && typeof call.args === "object" && !Array.isArray(call.args) ? call.args : null;
      const d = await decide(policy, call.name, args, call.id, context, request.runtime?.context);
      if (d.run) return handler(request);
      const { ToolMessage } = await load();
      return new ToolMessage({ content: stopped(d, onDeny), tool_call_id: call.id, name: call.name, status: "error" });
    },
  };
}

/**
 * A LangChain tool (StructuredTool, DynamicStructuredTool, tool()) guarded
 * by `policy`: a copy whose invocations are decided first. The original is
 * unchanged.
 */
export function guardTool(tool, policy, opts = {}) {
  if (tool === null || typeof tool !== "object" || typeof tool.invoke !== "function" || typeof tool.name !== "string") {
    throw new TypeError("guardTool: tool must be a LangChain tool (name, invoke)");
  }
  if (!isPolicy(policy)) throw new TypeError("guardTool: policy must have evaluate and checkAsync (an agentguard Policy or GatewayClient)");
  const { context, onDeny } = options(opts, "guardTool");
  const guarded = Object.create(tool);
  const invoke = tool.invoke;
  guarded.invoke = async function (input, config) {
    // A ToolCall ({ name, args, id, type: "tool_call" }) or the arguments.
    const isCall = input !== null && typeof input === "object" && input.type === "tool_call";
    const args = isCall ? input.args : input;
    const callId = isCall ? input.id : config?.toolCall?.id;
    const plain = args !== null && typeof args === "object" && !Array.isArray(args) ? args : null;
    const d = await decide(policy, tool.name, plain, callId, context, config?.context);
    if (d.run) return invoke.call(tool, input, config);
    const text = stopped(d, onDeny);
    if (!isCall) return text;
    const { ToolMessage } = await load();
    return new ToolMessage({ content: text, tool_call_id: callId, name: tool.name, status: "error" });
  };
  return guarded;
}

/** {@link guardTool} over an array of tools. */
export function guardTools(tools, policy, opts = {}) {
  if (!Array.isArray(tools)) throw new TypeError("guardTools: tools must be an array of LangChain tools");
  return tools.map((t) => guardTool(t, policy, opts));
}

export { denialText };
