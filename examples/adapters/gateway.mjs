import { generateText, isStepCount, jsonSchema, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test"; // any model: openai("gpt-5"), anthropic(...)
import { GatewayClient } from "agentguard";
import { guardTools } from "agentguard/ai-sdk";

// A running `agentguard serve`, with an admin, an approver and this agent's key in its keys file.
const { AGENTGUARD_URL: url, AGENTGUARD_ADMIN_KEY: admin, AGENTGUARD_APPROVER_KEY: approver, AGENTGUARD_KEY: key } = process.env;
const api = async (path, apiKey, init = {}) => (await fetch(`${url}${path}`, { ...init, headers: { "x-api-key": apiKey } })).json();

// Once, as the admin (or on the dashboard): the agent's tool policy lives on the gateway.
const policy = { allow: ["get_weather"], deny: ["delete_*"], require_approval: ["send_email"] };
await api("/v1/agents/support-bot/policies/tools", admin, { method: "PUT", body: JSON.stringify(policy) });

// The agent: the same adapter, with the gateway's client in place of a local Policy.
const gateway = new GatewayClient(url, key, { approvalTimeout: 120 }); // wait up to 2 minutes for a person
const tools = {
  get_weather: tool({ inputSchema: jsonSchema({ type: "object" }), execute: async () => "sunny" }),
  delete_repo: tool({ inputSchema: jsonSchema({ type: "object" }), execute: async () => "deleted!" }),
  send_email: tool({ inputSchema: jsonSchema({ type: "object" }), execute: async ({ to }) => `sent to ${to}` }),
};
const call = (id, toolName, input = {}) => ({ type: "tool-call", toolCallId: id, toolName, input: JSON.stringify(input) });
const usage = { inputTokens: { total: 1, noCache: 1 }, outputTokens: { total: 1, text: 1 } };
const model = new MockLanguageModelV4({
  doGenerate: [
    { content: [call("1", "get_weather"), call("2", "delete_repo"), call("3", "send_email", { to: "ann@example.com" })], finishReason: { unified: "tool-calls" }, usage, warnings: [] },
    { content: [{ type: "text", text: "Done." }], finishReason: { unified: "stop" }, usage, warnings: [] },
  ],
});

// Meanwhile a person answers the pending approval: on the dashboard, with
// `agentguard approvals grant apr_...`, or, as here, through the API.
const person = (async () => {
  for (;;) {
    const { approvals } = await api("/v1/approvals?status=pending", approver);
    if (approvals.length > 0) return api(`/v1/approvals/${approvals[0].id}/grant`, approver, { method: "POST" });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
})();

const result = await generateText({
  model,
  tools: guardTools(tools, gateway, { context: { user: "ann" } }),
  stopWhen: isStepCount(5),
  prompt: "Weather, delete the repo, mail Ann.",
});
await person;

for (const r of result.steps[0].toolResults) console.log(r.toolName, "->", r.output);
// get_weather -> sunny
// delete_repo -> Tool 'delete_repo' denied: denied by pattern: delete_*
// send_email -> sent to ann@example.com
const { records } = await api("/v1/mesh/audit?agent=support-bot", admin);
console.log(records.filter((r) => r.kind === "tool").map((r) => `${r.decision} ${r.tool}: ${r.message}`).sort());
// [ 'allow get_weather: allowed by pattern: get_weather',
//   'allow send_email: approved via callback (pattern: send_email)',
//   'deny delete_repo: denied by pattern: delete_*',
//   'require_approval send_email: requires approval per pattern: send_email' ]
