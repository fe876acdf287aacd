import { Agent, run, setTracingDisabled, tool } from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents/testing"; // or a real model
import { z } from "zod";
import { Policy } from "agentguard";
import { guardTools, reject } from "agentguard/openai-agents";

setTracingDisabled(true); // offline: no trace export
const policy = new Policy({ allow: ["get_weather"], require_approval: ["refund"] });
const tools = [
  tool({ name: "get_weather", description: "weather", parameters: z.object({}), execute: async () => "sunny" }),
  tool({ name: "refund", description: "refund", parameters: z.object({ amount: z.number() }), execute: async () => "refunded" }),
];

// A scripted model: it asks for a refund, then answers.
const model = new ScriptedModel([[functionCall("refund", { amount: 20 }, { callId: "c1" })], [assistantMessage("Refunded.")]]);
const agent = new Agent({ name: "support", model, tools: guardTools(tools, policy, { context: { agentId: "support-1" } }) });

let result = await run(agent, "Refund my order.");
for (const item of result.interruptions) {
  console.log("approve?", item.name, item.arguments); // approve? refund {"amount":20}
  result.state.approve(item); // or: await reject(result.state, item, policy) (records the rejection)
}
result = await run(agent, result.state);
console.log(result.finalOutput); // Refunded.
console.log(policy.auditLog.map((e) => `${e.decision} ${e.tool}: ${e.reason}`)); // [ 'allow refund: approved via callback (pattern: refund)' ]
