// The package with no framework installed (this project, outside the
// repository so that no node_modules above it has one either): the main
// entry imports and decides, and each adapter entry loads (it imports its
// framework only for what it must, never at load).
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

import { Policy } from "agentguard";

const require = createRequire(import.meta.url);

test("no framework is installed here", () => {
  for (const name of ["ai", "@modelcontextprotocol/sdk", "@openai/agents", "@langchain/core"]) {
    assert.throws(() => require.resolve(name), { code: "MODULE_NOT_FOUND" }, name);
  }
});

test("the main entry imports and works with no framework installed", () => {
  const policy = new Policy({ deny: ["drop_*"], default: "allow" });
  assert.equal(policy.check("drop_table").decision, "deny");
  assert.equal(policy.check("read").decision, "allow");
});

test("agentguard/ai-sdk loads without `ai` (ESM and CommonJS) and guards plain tools", async () => {
  const esm = await import("agentguard/ai-sdk");
  const cjs = require("agentguard/ai-sdk");
  assert.equal(typeof esm.guardTools, "function");
  assert.equal(typeof cjs.guardTools, "function");
  const policy = new Policy({ deny: ["drop_*"] });
  const tools = esm.guardTools({ drop_table: { execute: async () => "dropped" } }, policy);
  assert.equal(await tools.drop_table.execute({}, {}), "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.equal(policy.auditLog.length, 1);
});

test("agentguard/mcp loads without the MCP SDK (ESM and CommonJS) and guards a client-shaped object", async () => {
  const esm = await import("agentguard/mcp");
  const cjs = require("agentguard/mcp");
  assert.equal(typeof cjs.guardClient, "function");
  const sent = [];
  const client = { listTools: async () => ({ tools: [{ name: "a" }, { name: "drop_x" }] }), callTool: async (p) => (sent.push(p.name), { content: [] }) };
  const policy = new Policy({ deny: ["drop_*"], default: "allow" });
  const guarded = esm.guardClient(client, policy);
  assert.deepEqual((await guarded.listTools()).tools.map((t) => t.name), ["a"]);
  assert.equal((await guarded.callTool({ name: "drop_x", arguments: {} })).isError, true);
  await guarded.callTool({ name: "a" });
  assert.deepEqual(sent, ["a"]);
});

test("agentguard/openai-agents loads without the SDK (ESM and CommonJS) and guards a function-tool-shaped object", async () => {
  const esm = await import("agentguard/openai-agents");
  const cjs = require("agentguard/openai-agents");
  assert.equal(typeof cjs.guardTools, "function");
  const policy = new Policy({ deny: ["drop_*"], default: "allow" });
  const [t] = esm.guardTools([{ type: "function", name: "drop_x" }], policy);
  const out = await t.inputGuardrails.at(-1).run({ context: {}, toolCall: { callId: "c", arguments: "{}" } });
  assert.deepEqual(out.behavior, { type: "rejectContent", message: "Tool 'drop_x' denied: denied by pattern: drop_*" });
  assert.equal(await t.needsApproval({}, {}, "c"), false);
});

test("agentguard/langchain loads without LangChain (ESM and CommonJS): the frameworks are imported on first use", async () => {
  const esm = await import("agentguard/langchain");
  const cjs = require("agentguard/langchain");
  assert.equal(typeof cjs.agentguardMiddleware, "function");
  const policy = new Policy({ deny: ["drop_*"], default: "allow" });
  const mw = esm.agentguardMiddleware(policy);
  assert.equal(mw.name, "agentguard");
  // A call needs @langchain/langgraph: without it, a clear error, and nothing runs.
  let ran = false;
  await assert.rejects(
    mw.wrapToolCall({ toolCall: { name: "x", args: {}, id: "1" } }, () => (ran = true)),
    (e) => e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND",
  );
  assert.equal(ran, false);
});
