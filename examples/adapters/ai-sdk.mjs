import { generateText, isStepCount, jsonSchema, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test"; // any model: openai("gpt-5"), anthropic(...)
import { Policy } from "agentguard";
import { guardTools } from "agentguard/ai-sdk";

const policy = new Policy({ allow: ["get_weather"], deny: ["delete_*"], require_approval: ["send_email"] });
const tools = {
  get_weather: tool({ inputSchema: jsonSchema({ type: "object" }), execute: async () => "sunny" }),
  delete_repo: tool({ inputSchema: jsonSchema({ type: "object" }), execute: async () => "deleted!" }),
};

// A scripted model: it calls both tools, then reads what came back.
const call = (id, toolName) => ({ type: "tool-call", toolCallId: id, toolName, input: "{}" });
const usage = { inputTokens: { total: 1, noCache: 1 }, outputTokens: { total: 1, text: 1 } };
const model = new MockLanguageModelV4({
  doGenerate: [
    { content: [call("1", "get_weather"), call("2", "delete_repo")], finishReason: { unified: "tool-calls" }, usage, warnings: [] },
    { content: [{ type: "text", text: "It is sunny; I may not delete the repo." }], finishReason: { unified: "stop" }, usage, warnings: [] },
  ],
});

const result = await generateText({
  model,
  tools: guardTools(tools, policy, { context: { agentId: "bot-1" } }),
  stopWhen: isStepCount(5),
  prompt: "Weather, then delete the repo.",
});

for (const r of result.steps[0].toolResults) console.log(r.toolName, "->", r.output);
// get_weather -> sunny
// delete_repo -> Tool 'delete_repo' denied: denied by pattern: delete_*
console.log(policy.auditLog.map((e) => `${e.decision} ${e.tool}`)); // [ 'allow get_weather', 'deny delete_repo' ]
