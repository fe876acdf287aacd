// The adapters' declarations under strict settings (tsc --noEmit, nodenext).
import { GatewayClient, Policy, ToolDenied } from "agentguard";
import { denialText, guardTools, recordRejections, type GuardToolsOptions } from "agentguard/ai-sdk";

const policy = new Policy({ allow: ["a"] });
const tools = {
  a: { description: "a", execute: async (input: { x: number }) => input.x },
};
const guarded: typeof tools = guardTools(tools, policy, { context: { agentId: "bot" }, onDeny: "throw" });
void guarded.a.execute({ x: 1 });
const perCall: GuardToolsOptions = { context: (call) => ({ tool: call.toolName, id: call.toolCallId ?? null }) };
guardTools(tools, policy, perCall);
const text: string = denialText(policy.evaluate("b"));
void text;
void ToolDenied;
// @ts-expect-error onDeny is "result" or "throw"
guardTools(tools, policy, { onDeny: "maybe" });
const rejectedNow: Promise<Array<{ decision: string }>> = recordRejections(guarded, []);
void rejectedNow;
const approves: boolean = policy.hasOnApproval;
void approves;
// @ts-expect-error a policy has evaluate and checkAsync
guardTools(tools, {});

import { alwaysDenied, guardClient, type GuardClientOptions } from "agentguard/mcp";

const client = {
  listTools: async () => ({ tools: [{ name: "a" }] }),
  callTool: async (p: { name: string; arguments?: Record<string, unknown> | undefined }) => ({ content: [], name: p.name }),
  ping: async () => ({}),
};
const gc: typeof client = guardClient(client, policy, { onDeny: "result" });
void gc.ping();
const mcpOptions: GuardClientOptions = { context: (c) => ({ tool: c.toolName, n: Object.keys(c.arguments ?? {}).length }) };
guardClient(client, policy, mcpOptions);
const hidden: boolean = alwaysDenied(policy)("drop_x");
void hidden;
// @ts-expect-error not a client
guardClient({}, policy);

import { guardTools as guardAgentsTools, reject as rejectAgentsCall, type GuardAgentsToolsOptions } from "agentguard/openai-agents";

const rejection: Promise<{ decision: string }> = rejectAgentsCall({ reject: () => {} }, {}, policy, { context: { user: "u" } });
void rejection;

const agentTools = [{ type: "function" as const, name: "a" }];
const guardedAgentTools: Array<{ type: "function"; name: string }> = guardAgentsTools(agentTools, policy);
void guardedAgentTools;
const agentsOptions: GuardAgentsToolsOptions = { onDeny: "throw", context: (c) => ({ id: c.callId, tool: c.toolName }) };
guardAgentsTools(agentTools, policy, agentsOptions);
// @ts-expect-error tools are an array
guardAgentsTools({}, policy);

import { agentguardMiddleware, guardTool, isApproval, type ApprovalInterrupt, type GuardLangChainOptions } from "agentguard/langchain";

const mw = agentguardMiddleware(policy, { onDeny: "throw", name: "policy" });
const mwName: string = mw.name;
void mwName;
const lcTool = { name: "a", invoke: async (input: { x: number }) => String(input.x) };
const guardedLc: typeof lcTool = guardTool(lcTool, policy, { context: (c) => ({ tool: c.toolName, id: c.toolCallId ?? null }) });
void guardedLc;
const lcOptions: GuardLangChainOptions = { onDeny: "result" };
void lcOptions;
const approvedAnswer: boolean = isApproval({ type: "approve" });
void approvedAnswer;
const interruptValue: ApprovalInterrupt = {
  agentguard: { tool: "a", args: null, toolCallId: null, reason: "r", matched_rule: null },
};
void interruptValue;
// @ts-expect-error not a tool
guardTool({}, policy);

// Every adapter takes a GatewayClient wherever it takes a Policy.
const remotePolicy = new GatewayClient("http://127.0.0.1:8787", "agent-key-0001", { approvalTimeout: 60 });
const remoteTools: typeof tools = guardTools(tools, remotePolicy, { context: { agentId: "bot" } });
void remoteTools;
void recordRejections(guardTools(tools, remotePolicy), []);
const remoteClient: typeof client = guardClient(client, remotePolicy);
void remoteClient;
const remoteHidden: boolean = alwaysDenied(remotePolicy)("drop_x");
void remoteHidden;
const remoteAgentTools: Array<{ type: "function"; name: string }> = guardAgentsTools(agentTools, remotePolicy);
void remoteAgentTools;
void rejectAgentsCall({ reject: () => {} }, {}, remotePolicy);
const remoteMiddleware = agentguardMiddleware(remotePolicy, { onDeny: "result" });
void remoteMiddleware;
const remoteLc: typeof lcTool = guardTool(lcTool, remotePolicy);
void remoteLc;
// A policy-like object: evaluate may answer at once or with a Promise.
const custom = {
  evaluate: async (tool: string) => policy.evaluate(tool),
  checkAsync: (tool: string) => policy.checkAsync(tool),
  hasOnApproval: true,
};
guardTools(tools, custom);
// @ts-expect-error evaluate must give a result
guardTools(tools, { evaluate: () => 5, checkAsync: (tool: string) => policy.checkAsync(tool) });
