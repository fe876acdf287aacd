// agentguard/ai-sdk against the real `ai` package (pinned in the root dev
// dependencies) and its own mock language model (ai/test): a scripted model
// calls tools; the policy decides; the tools record whether they ran.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { generateText, jsonSchema, streamText, tool } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { ApprovalRequired, GatewayClient, Policy, ToolDenied } from "agentguard";
import { guardTools, recordRejections } from "agentguard/ai-sdk";

const SPEC = {
  name: "ai-sdk-test",
  allow: ["read_file"],
  deny: ["drop_*"],
  require_approval: ["send_email"],
  rules: [{ id: "workspace-writes", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" }],
};

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

function makeTools(ran) {
  const t = (name, props) =>
    tool({
      description: name,
      inputSchema: jsonSchema({ type: "object", properties: props, additionalProperties: true }),
      execute: async (input) => {
        ran.push([name, input]);
        return `${name} ok`;
      },
    });
  return {
    read_file: t("read_file", { path: { type: "string" } }),
    write_file: t("write_file", { path: { type: "string" }, text: { type: "string" } }),
    drop_table: t("drop_table", { table: { type: "string" } }),
    send_email: t("send_email", { to: { type: "string" } }),
  };
}

/** The tool results the model received in its prompt, by tool call id. */
function resultsIn(prompt) {
  const out = {};
  for (const m of prompt) {
    if (m.role !== "tool") continue;
    for (const p of m.content) if (p.type === "tool-result") out[p.toolCallId] = p.output;
  }
  return out;
}

/**
 * A model that makes `calls` (tool name, input) on its first step and then
 * answers with text; `seen` gets the tool results of every later prompt.
 */
function scripted(calls, seen, { stream = false } = {}) {
  const toolCalls = calls.map(([toolName, input], i) => ({
    type: "tool-call",
    toolCallId: `call-${i}`,
    toolName,
    input: JSON.stringify(input),
  }));
  const respond = (options) => {
    const results = resultsIn(options.prompt);
    const first = Object.keys(results).length === 0 && !options.prompt.some((m) => m.role === "tool");
    if (!first) Object.assign(seen, results);
    return first
      ? { content: toolCalls, finishReason: { unified: "tool-calls", raw: "tool_calls" } }
      : { content: [{ type: "text", text: "done" }], finishReason: { unified: "stop", raw: "stop" } };
  };
  if (!stream) {
    return new MockLanguageModelV4({ doGenerate: async (options) => ({ ...respond(options), usage, warnings: [] }) });
  }
  return new MockLanguageModelV4({
    doStream: async (options) => {
      const r = respond(options);
      const parts = [{ type: "stream-start", warnings: [] }];
      for (const c of r.content) {
        if (c.type === "text") {
          parts.push({ type: "text-start", id: "t" }, { type: "text-delta", id: "t", delta: c.text }, { type: "text-end", id: "t" });
        } else parts.push(c);
      }
      parts.push({ type: "finish", finishReason: r.finishReason, usage });
      return {
        stream: new ReadableStream({
          start(controller) {
            for (const p of parts) controller.enqueue(p);
            controller.close();
          },
        }),
      };
    },
  });
}

const byJson = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b));
const outputText = (o) => (o?.type === "text" || o?.type === "error-text" ? o.value : JSON.stringify(o));

async function run(mode, { calls, policy, options, messages }) {
  const ran = [];
  const seen = {};
  const model = scripted(calls, seen, { stream: mode === "streamText" });
  const tools = guardTools(makeTools(ran), policy, options);
  const args = {
    model,
    tools,
    stopWhen: ({ steps }) => steps.length >= 3,
    ...(messages ? { messages } : { prompt: "go" }),
  };
  let result;
  if (mode === "generateText") result = await generateText(args);
  else {
    const s = streamText({ ...args, onError: ({ error }) => { throw error; } });
    await s.consumeStream();
    result = { content: await s.content, response: await s.response, steps: await s.steps };
  }
  return { ran, seen, result, tools };
}

for (const mode of ["generateText", "streamText"]) {
  test(`${mode}: allowed runs, denied never runs and the model reads why, a broken condition never runs`, async () => {
    const policy = new Policy(SPEC);
    const { ran, seen } = await run(mode, {
      policy,
      options: { context: { agentId: "bot-1" } },
      calls: [
        ["read_file", { path: "/workspace/a" }],
        ["drop_table", { table: "users" }],
        ["write_file", { path: "/workspace/b", text: "x" }],
        ["write_file", { path: "/etc/passwd", text: "x" }],
      ],
    });
    assert.deepEqual(
      ran.map(([n, i]) => [n, i.path]),
      [
        ["read_file", "/workspace/a"],
        ["write_file", "/workspace/b"],
      ],
    );
    assert.equal(outputText(seen["call-0"]), "read_file ok");
    assert.equal(outputText(seen["call-1"]), "Tool 'drop_table' denied: denied by pattern: drop_*");
    assert.equal(outputText(seen["call-2"]), "write_file ok");
    assert.match(outputText(seen["call-3"]), /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
    // Exactly one audit entry per attempted call, with the context.
    assert.deepEqual(
      policy.auditLog.map((e) => [e.tool, e.decision, e.context]),
      [
        ["read_file", "allow", { agentId: "bot-1" }],
        ["drop_table", "deny", { agentId: "bot-1" }],
        ["write_file", "allow", { agentId: "bot-1" }],
        ["write_file", "deny", { agentId: "bot-1" }],
      ],
    );
  });

  test(`${mode}: require_approval asks through the SDK; approved runs, rejected never runs; one entry each`, async () => {
    const policy = new Policy(SPEC);
    const first = await run(mode, { policy, calls: [["send_email", { to: "a@example.com" }]] });
    assert.deepEqual(first.ran, []);
    const request = first.result.content.find((p) => p.type === "tool-approval-request");
    assert.ok(request, "the SDK asks for approval");
    assert.equal(request.toolCall.toolName, "send_email");
    assert.deepEqual(policy.auditLog, [], "recorded when answered, with the answer");

    for (const approved of [true, false]) {
      policy.clearAudit();
      const messages = [
        { role: "user", content: "go" },
        ...first.result.response.messages,
        {
          role: "tool",
          content: [{ type: "tool-approval-response", approvalId: request.approvalId, approved, reason: approved ? "ok" : "no" }],
        },
      ];
      const next = await run(mode, { policy, calls: [], messages });
      assert.deepEqual(next.ran.map(([n]) => n), approved ? ["send_email"] : []);
      // The SDK runs nothing of a rejected call: recordRejections records it.
      const recorded = await recordRejections(next.tools, messages);
      assert.deepEqual(recorded.map((r) => r.decision), approved ? [] : ["deny"]);
      assert.deepEqual(await recordRejections(next.tools, messages), [], "once per call");
      assert.deepEqual(
        policy.auditLog.map((e) => [e.tool, e.decision, e.reason]),
        [["send_email", ...(approved ? ["allow", "approved via callback (pattern: send_email)"] : ["deny", "approval denied via callback (pattern: send_email)"])]],
        "exactly one entry, carrying the answer",
      );
    }
  });
}

test("a policy's own onApproval settles require_approval without asking; recorded once", async () => {
  for (const answer of [true, false]) {
    const policy = new Policy(SPEC, { onApproval: () => answer });
    const { ran, seen, result } = await run("generateText", { policy, calls: [["send_email", { to: "a@b.c" }]] });
    assert.equal(result.content.some((p) => p.type === "tool-approval-request"), false);
    assert.deepEqual(ran.map(([n]) => n), answer ? ["send_email"] : []);
    assert.equal(policy.auditLog.length, 1);
    assert.equal(policy.auditLog[0].decision, answer ? "allow" : "deny");
    if (!answer) assert.equal(outputText(seen["call-0"]), "Tool 'send_email' denied: approval denied via callback (pattern: send_email)");
  }
});

test("onDeny: throw gives ToolDenied (a tool error the model sees); context per call", async () => {
  const policy = new Policy(SPEC);
  const calls = [];
  const { ran, seen } = await run("generateText", {
    policy,
    options: { onDeny: "throw", context: (c) => (calls.push(c.toolName), { call: c.toolCallId }) },
    calls: [["drop_table", { table: "t" }], ["read_file", { path: "/x" }]],
  });
  assert.deepEqual(ran.map(([n]) => n), ["read_file"]);
  assert.equal(seen["call-0"].type, "error-text");
  assert.match(seen["call-0"].value, /denied by pattern: drop_\*/);
  assert.deepEqual(policy.auditLog.map((e) => e.context), [{ call: "call-0" }, { call: "call-1" }]);
  const tools = guardTools(makeTools([]), policy, { onDeny: "throw" });
  await assert.rejects(tools.drop_table.execute({ table: "t" }, { toolCallId: "x", messages: [] }), ToolDenied);
});

test("an approval-gated tool run outside the SDK's approval never runs", async () => {
  const policy = new Policy(SPEC);
  const ran = [];
  const tools = guardTools(makeTools(ran), policy);
  const out = await tools.send_email.execute({ to: "a@b.c" }, { toolCallId: "x", messages: [] });
  assert.deepEqual(ran, []);
  assert.match(out, /needs a person's approval/);
  assert.equal(policy.auditLog.length, 1);
});

test("bad input: not tools, not a policy, guarded twice", () => {
  const policy = new Policy(SPEC);
  assert.throws(() => guardTools(null, policy), TypeError);
  assert.throws(() => guardTools({}, {}), TypeError);
  assert.throws(() => guardTools({}, policy, { onDeny: "maybe" }), TypeError);
  const once = guardTools(makeTools([]), policy);
  assert.throws(() => guardTools(once, policy), /guarded already/);
});

test("ToolLoopAgent: the same guard in an agent's tool loop", async () => {
  const { ToolLoopAgent } = await import("ai");
  const policy = new Policy(SPEC);
  const ran = [];
  const seen = {};
  const agent = new ToolLoopAgent({
    model: scripted([["read_file", { path: "/a" }], ["drop_table", { table: "t" }]], seen),
    tools: guardTools(makeTools(ran), policy, { context: { agentId: "loop" } }),
  });
  const result = await agent.generate({ prompt: "go" });
  assert.equal(result.text, "done");
  assert.deepEqual(ran.map(([n]) => n), ["read_file"]);
  assert.equal(outputText(seen["call-1"]), "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.deepEqual(policy.auditLog.map((e) => [e.tool, e.decision]), [["read_file", "allow"], ["drop_table", "deny"]]);
});

// ---------------------------------------------------------------- remote mode
// The same scripted agents with a GatewayClient in place of the policy: the
// policy lives on a real gateway (`agentguard serve`, started on first use
// for this file, stopped after), which decides, audits and holds approvals;
// a person answers through its API while the agent waits.

const remote = await import(
  process.env.AGENTGUARD_JS_GATEWAY ? pathToFileURL(process.env.AGENTGUARD_JS_GATEWAY).href : new URL("../gateway.mjs", import.meta.url).href
);
const { gw, clientOf } = remote.remoteGateway(["ai-allow-generateText", "ai-allow-streamText", "ai-grant", "ai-deny", "ai-timeout", "ai-loop"], SPEC, GatewayClient);

for (const mode of ["generateText", "streamText"]) {
  test(`remote, ${mode}: allowed runs, denied never runs and the model reads why, a broken condition never runs; the gateway audits each once`, async () => {
    const agent = `ai-allow-${mode}`;
    const { ran, seen, result } = await run(mode, {
      policy: await clientOf(agent),
      options: { context: { agentId: "bot-1" } },
      calls: [
        ["read_file", { path: "/workspace/a" }],
        ["drop_table", { table: "users" }],
        ["write_file", { path: "/workspace/b", text: "x" }],
        ["write_file", { path: "/etc/passwd", text: "x" }],
      ],
    });
    // A step's tool calls run concurrently: in either order.
    assert.deepEqual(ran.map(([n, i]) => [n, i.path]).sort(byJson), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
    assert.equal(outputText(seen["call-0"]), "read_file ok");
    assert.equal(outputText(seen["call-1"]), "Tool 'drop_table' denied: denied by pattern: drop_*");
    assert.equal(outputText(seen["call-2"]), "write_file ok");
    assert.match(outputText(seen["call-3"]), /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
    assert.equal(result.content.some((p) => p.type === "tool-approval-request"), false);
    const records = await (await gw()).audit(agent);
    assert.deepEqual(
      records.map((r) => [r.tool, r.decision, r.context]).sort(byJson),
      [
        ["read_file", "allow", { agentId: "bot-1" }],
        ["drop_table", "deny", { agentId: "bot-1" }],
        ["write_file", "allow", { agentId: "bot-1" }],
        ["write_file", "deny", { agentId: "bot-1" }],
      ].sort(byJson),
    );
  });
}

for (const granted of [true, false]) {
  test(`remote: require_approval waits on the gateway; ${granted ? "granted through its API: runs" : "denied: never runs, the model reads why"}`, async () => {
    const g = await gw();
    const agent = granted ? "ai-grant" : "ai-deny";
    const pending = run("generateText", { policy: await clientOf(agent, { approvalTimeout: 60 }), calls: [["send_email", { to: "ann@example.com" }]] });
    const approval = await g.pending(agent, "send_email");
    assert.deepEqual(approval.args, { to: "ann@example.com" });
    await g.decide(approval.id, granted, granted ? "fine" : "not this one");
    const { ran, seen, result } = await pending;
    assert.equal(result.content.some((p) => p.type === "tool-approval-request"), false, "the SDK never asks: the gateway did");
    assert.deepEqual(ran.map(([n]) => n), granted ? ["send_email"] : []);
    assert.equal(
      outputText(seen["call-0"]),
      granted ? "send_email ok" : "Tool 'send_email' denied: approval denied via callback (pattern: send_email)",
    );
    assert.deepEqual(
      (await g.audit(agent)).map((r) => [r.tool, r.decision, r.approval_id]),
      [["send_email", "require_approval", approval.id], ["send_email", granted ? "allow" : "deny", approval.id]],
    );
  });
}

test("remote: nobody answers in time: the call never runs and the model reads that it needs approval", async () => {
  const { ran, seen } = await run("generateText", { policy: await clientOf("ai-timeout", { approvalTimeout: 1 }), calls: [["send_email", { to: "a@b.c" }]] });
  assert.deepEqual(ran, []);
  assert.equal(outputText(seen["call-0"]), "Tool 'send_email' was not run: requires approval per pattern: send_email; it needs a person's approval.");
  // With onDeny: "throw", ApprovalRequired: a tool error the model sees.
  const tools = guardTools(makeTools(ran), await clientOf("ai-timeout", { approvalTimeout: 0 }), { onDeny: "throw" });
  assert.equal(await tools.send_email.needsApproval({ to: "x@y.z" }, { toolCallId: "t1", messages: [] }), false);
  await assert.rejects(tools.send_email.execute({ to: "x@y.z" }, { toolCallId: "t1", messages: [] }), ApprovalRequired);
  assert.deepEqual(ran, []);
});

test("remote: ToolLoopAgent with the gateway's decisions", async () => {
  const { ToolLoopAgent } = await import("ai");
  const ran = [];
  const seen = {};
  const agent = new ToolLoopAgent({
    model: scripted([["read_file", { path: "/a" }], ["drop_table", { table: "t" }]], seen),
    tools: guardTools(makeTools(ran), await clientOf("ai-loop"), { context: { agentId: "loop" } }),
  });
  const result = await agent.generate({ prompt: "go" });
  assert.equal(result.text, "done");
  assert.deepEqual(ran.map(([n]) => n), ["read_file"]);
  assert.equal(outputText(seen["call-1"]), "Tool 'drop_table' denied: denied by pattern: drop_*");
  // The SDK runs a step's tool calls concurrently: their records come in either order.
  const records = (await (await gw()).audit("ai-loop")).map((r) => [r.tool, r.decision]);
  assert.deepEqual(records.sort(), [["drop_table", "deny"], ["read_file", "allow"]]);
});
