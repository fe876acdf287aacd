import { tool } from "@langchain/core/tools";
import { Command, MemorySaver } from "@langchain/langgraph";
import { FakeToolCallingModel, createAgent } from "langchain"; // or a real chat model
import { z } from "zod";
import { Policy } from "agentguard";
import { agentguardMiddleware } from "agentguard/langchain";

const policy = new Policy({ allow: ["search"], deny: ["drop_*"], require_approval: ["send_email"] });
const send = tool(async ({ to }) => `sent to ${to}`, { name: "send_email", description: "mail", schema: z.object({ to: z.string() }) });
const drop = tool(async () => "dropped!", { name: "drop_table", description: "drop", schema: z.object({}) });

const agent = createAgent({
  // A scripted model: it sends a mail and drops a table, then answers.
  model: new FakeToolCallingModel({ toolCalls: [[{ name: "send_email", args: { to: "ann@example.com" }, id: "1" }, { name: "drop_table", args: {}, id: "2" }], []] }),
  tools: [send, drop],
  middleware: [agentguardMiddleware(policy, { context: { agentId: "mailer" } })],
  checkpointer: new MemorySaver(), // interrupts need one
});
const config = { configurable: { thread_id: "demo" } };

let state = await agent.invoke({ messages: [{ role: "user", content: "Mail Ann, drop the table." }] }, config);
const { tool: name, args } = state.__interrupt__[0].value.agentguard;
console.log("approve?", name, args); // approve? send_email { to: 'ann@example.com' }
state = await agent.invoke(new Command({ resume: true }), config); // or { type: "reject", reason: "..." }

for (const m of state.messages.filter((m) => m.getType() === "tool")) console.log(m.name, "->", m.content);
// send_email -> sent to ann@example.com
// drop_table -> Tool 'drop_table' denied: denied by pattern: drop_*
