// agentguard/langchain against the real langchain 1 / @langchain/core /
// @langchain/langgraph (pinned in the root dev dependencies), with
// langchain's own FakeToolCallingModel scripting the tool calls: a
// createAgent agent with the middleware, and single guarded tools.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { tool } from "@langchain/core/tools";
import { Command, MemorySaver } from "@langchain/langgraph";
import { FakeToolCallingModel, createAgent } from "langchain";
import { z } from "zod";
import { GatewayClient, Policy, ToolDenied } from "agentguard";
import { agentguardMiddleware, guardTool, guardTools, isApproval } from "agentguard/langchain";

const SPEC = {
  allow: ["read_file"],
  deny: ["drop_*"],
  require_approval: ["send_email"],
  rules: [{ id: "workspace-writes", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" }],
};

function makeTools(ran) {
  const t = (name, schema) =>
    tool(
      async (input) => {
        ran.push([name, input]);
        return `${name} ok`;
      },
      { name, description: name, schema },
    );
  return [
    t("read_file", z.object({ path: z.string() })),
    t("write_file", z.object({ path: z.string(), text: z.string() })),
    t("drop_table", z.object({ table: z.string() })),
    t("send_email", z.object({ to: z.string() })),
  ];
}

const calls = (list) => list.map(([name, args], i) => ({ name, args, id: `call-${i}` }));
const toolMessages = (state) =>
  Object.fromEntries(state.messages.filter((m) => m.getType() === "tool").map((m) => [m.tool_call_id, m.content]));
const byKey = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b));

test("createAgent + middleware: allowed runs; denied and a broken condition never run, the model reads why; one entry each", async () => {
  const policy = new Policy(SPEC);
  const ran = [];
  const agent = createAgent({
    model: new FakeToolCallingModel({
      toolCalls: [
        calls([
          ["read_file", { path: "/workspace/a" }],
          ["drop_table", { table: "users" }],
          ["write_file", { path: "/workspace/b", text: "x" }],
          ["write_file", { path: "/etc/passwd", text: "x" }],
        ]),
        [],
      ],
    }),
    tools: makeTools(ran),
    middleware: [agentguardMiddleware(policy, { context: { agentId: "bot-1" } })],
  });
  const state = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
  assert.deepEqual(ran.map(([n, i]) => [n, i.path]).sort(byKey), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
  const seen = toolMessages(state);
  assert.equal(seen["call-0"], "read_file ok");
  assert.equal(seen["call-1"], "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.match(seen["call-3"], /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
  // The model's next turn saw them (FakeToolCallingModel echoes its input).
  assert.match(state.messages.at(-1).content, /denied by pattern: drop_\*/);
  assert.deepEqual(
    policy.auditLog.map((e) => [e.tool, e.decision, e.context]).sort(byKey),
    [
      ["read_file", "allow", { agentId: "bot-1" }],
      ["drop_table", "deny", { agentId: "bot-1" }],
      ["write_file", "allow", { agentId: "bot-1" }],
      ["write_file", "deny", { agentId: "bot-1" }],
    ].sort(byKey),
  );
});

for (const answer of [true, { type: "reject", reason: "not today" }]) {
  const approved = isApproval(answer);
  test(`require_approval raises LangGraph's interrupt; resumed ${approved ? "approved: runs" : "rejected: never runs"}; one entry`, async () => {
    const policy = new Policy(SPEC);
    const ran = [];
    const agent = createAgent({
      model: new FakeToolCallingModel({ toolCalls: [calls([["send_email", { to: "a@b.c" }]]), []] }),
      tools: makeTools(ran),
      middleware: [agentguardMiddleware(policy)],
      checkpointer: new MemorySaver(),
    });
    const config = { configurable: { thread_id: `t-${approved}` } };
    const first = await agent.invoke({ messages: [{ role: "user", content: "go" }] }, config);
    assert.equal(first.__interrupt__?.length, 1);
    assert.deepEqual(first.__interrupt__[0].value.agentguard, {
      tool: "send_email",
      args: { to: "a@b.c" },
      toolCallId: "call-0",
      reason: "requires approval per pattern: send_email",
      matched_rule: "send_email",
    });
    assert.deepEqual(ran, []);
    assert.deepEqual(policy.auditLog, [], "recorded when answered, with the answer");
    const state = await agent.invoke(new Command({ resume: answer }), config);
    assert.deepEqual(ran.map(([n]) => n), approved ? ["send_email"] : []);
    const seen = toolMessages(state);
    if (approved) assert.equal(seen["call-0"], "send_email ok");
    else assert.equal(seen["call-0"], "Tool 'send_email' was not run: a person rejected it (requires approval per pattern: send_email): not today");
    assert.deepEqual(
      policy.auditLog.map((e) => [e.tool, e.decision, e.reason]),
      [["send_email", ...(approved ? ["allow", "approved via callback (pattern: send_email)"] : ["deny", "approval denied via callback (pattern: send_email)"])]],
      "exactly one entry, carrying the answer",
    );
  });
}

test("a policy's own onApproval settles require_approval with no interrupt; recorded once", async () => {
  for (const answer of [true, false]) {
    const policy = new Policy(SPEC, { onApproval: async () => answer });
    const ran = [];
    const agent = createAgent({
      model: new FakeToolCallingModel({ toolCalls: [calls([["send_email", { to: "a@b.c" }]]), []] }),
      tools: makeTools(ran),
      middleware: [agentguardMiddleware(policy)],
      checkpointer: new MemorySaver(),
    });
    const state = await agent.invoke({ messages: [{ role: "user", content: "go" }] }, { configurable: { thread_id: `a-${answer}` } });
    assert.equal(state.__interrupt__, undefined);
    assert.deepEqual(ran.map(([n]) => n), answer ? ["send_email"] : []);
    assert.deepEqual(policy.auditLog.map((e) => e.decision), [answer ? "allow" : "deny"]);
  }
});

test("guardTool: a single tool, invoked with arguments or a ToolCall; onDeny: throw", async () => {
  const policy = new Policy(SPEC);
  const ran = [];
  const [read, , drop] = guardTools(makeTools(ran), policy, { context: (c) => ({ tool: c.toolName }) });
  assert.equal(await read.invoke({ path: "/a" }), "read_file ok");
  assert.equal(await drop.invoke({ table: "t" }), "Tool 'drop_table' denied: denied by pattern: drop_*");
  const msg = await drop.invoke({ type: "tool_call", name: "drop_table", args: { table: "t" }, id: "c9" });
  assert.equal(msg.getType(), "tool");
  assert.equal(msg.tool_call_id, "c9");
  assert.equal(msg.status, "error");
  assert.deepEqual(ran.map(([n]) => n), ["read_file"]);
  // require_approval outside a graph: nobody can be asked; it never runs.
  const mail = guardTool(makeTools(ran)[3], policy);
  assert.equal(await mail.invoke({ to: "a@b.c" }), "Tool 'send_email' was not run: requires approval per pattern: send_email; it needs a person's approval.");
  const throwing = guardTool(makeTools(ran)[2], policy, { onDeny: "throw" });
  await assert.rejects(throwing.invoke({ table: "t" }), ToolDenied);
  assert.deepEqual(policy.auditLog.map((e) => [e.tool, e.decision, e.context]), [
    ["read_file", "allow", { tool: "read_file" }],
    ["drop_table", "deny", { tool: "drop_table" }],
    ["drop_table", "deny", { tool: "drop_table" }],
    ["send_email", "require_approval", null],
    ["drop_table", "deny", null],
  ]);
});

test("bad input", () => {
  const policy = new Policy(SPEC);
  assert.throws(() => agentguardMiddleware({}), TypeError);
  assert.throws(() => agentguardMiddleware(policy, { onDeny: "maybe" }), TypeError);
  assert.throws(() => guardTool({}, policy), TypeError);
  assert.throws(() => guardTools({}, policy), TypeError);
});

// ---------------------------------------------------------------- remote mode
// The same scripted agents with a GatewayClient in place of the policy: the
// policy lives on a real gateway (`agentguard serve`, started on first use
// for this file, stopped after), which decides, audits and holds approvals;
// a person answers through its API while the agent waits: no interrupt.

const remote = await import(
  process.env.AGENTGUARD_JS_GATEWAY ? pathToFileURL(process.env.AGENTGUARD_JS_GATEWAY).href : new URL("../gateway.mjs", import.meta.url).href
);
const { gw, clientOf } = remote.remoteGateway(["lc-allow", "lc-grant", "lc-deny", "lc-timeout", "lc-tool"], SPEC, GatewayClient);

test("remote, createAgent + middleware: allowed runs; denied and a broken condition never run, the model reads why; audited once each", async () => {
  const ran = [];
  const agent = createAgent({
    model: new FakeToolCallingModel({
      toolCalls: [
        calls([
          ["read_file", { path: "/workspace/a" }],
          ["drop_table", { table: "users" }],
          ["write_file", { path: "/workspace/b", text: "x" }],
          ["write_file", { path: "/etc/passwd", text: "x" }],
        ]),
        [],
      ],
    }),
    tools: makeTools(ran),
    middleware: [agentguardMiddleware(await clientOf("lc-allow"), { context: (c) => ({ agentId: "bot-1", user: c.runContext?.user ?? null }) })],
  });
  const state = await agent.invoke({ messages: [{ role: "user", content: "go" }] }, { context: { user: "u1" } });
  assert.deepEqual(ran.map(([n, i]) => [n, i.path]).sort(byKey), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
  const seen = toolMessages(state);
  assert.equal(seen["call-0"], "read_file ok");
  assert.equal(seen["call-1"], "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.match(seen["call-3"], /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
  assert.match(state.messages.at(-1).content, /denied by pattern: drop_\*/);
  const records = await (await gw()).audit("lc-allow");
  assert.deepEqual(
    records.map((r) => [r.tool, r.decision]).sort(byKey),
    [["read_file", "allow"], ["drop_table", "deny"], ["write_file", "allow"], ["write_file", "deny"]].sort(byKey),
  );
  assert.equal(records[0].context.agentId, "bot-1");
});

for (const granted of [true, false]) {
  test(`remote: require_approval waits on the gateway, no interrupt; ${granted ? "granted through its API: runs" : "denied: never runs, the model reads why"}`, async () => {
    const g = await gw();
    const agentId = granted ? "lc-grant" : "lc-deny";
    const ran = [];
    const agent = createAgent({
      model: new FakeToolCallingModel({ toolCalls: [calls([["send_email", { to: "a@b.c" }]]), []] }),
      tools: makeTools(ran),
      middleware: [agentguardMiddleware(await clientOf(agentId, { approvalTimeout: 60 }))],
    });
    const running = agent.invoke({ messages: [{ role: "user", content: "go" }] });
    const approval = await g.pending(agentId, "send_email");
    await g.decide(approval.id, granted);
    const state = await running;
    assert.equal(state.__interrupt__, undefined);
    assert.deepEqual(ran.map(([n]) => n), granted ? ["send_email"] : []);
    const seen = toolMessages(state);
    assert.equal(seen["call-0"], granted ? "send_email ok" : "Tool 'send_email' denied: approval denied via callback (pattern: send_email)");
    assert.deepEqual((await g.audit(agentId)).map((r) => [r.decision, r.approval_id]), [["require_approval", approval.id], [granted ? "allow" : "deny", approval.id]]);
  });
}

test("remote: nobody answers in time, or a single guarded tool: never runs; the model reads why", async () => {
  const ran = [];
  const agent = createAgent({
    model: new FakeToolCallingModel({ toolCalls: [calls([["send_email", { to: "a@b.c" }]]), []] }),
    tools: makeTools(ran),
    middleware: [agentguardMiddleware(await clientOf("lc-timeout", { approvalTimeout: 1 }))],
  });
  const state = await agent.invoke({ messages: [{ role: "user", content: "go" }] });
  assert.deepEqual(ran, []);
  assert.equal(toolMessages(state)["call-0"], "Tool 'send_email' was not run: requires approval per pattern: send_email; it needs a person's approval.");

  const client = await clientOf("lc-tool", { approvalTimeout: 0 });
  const [read, write, drop, mail] = guardTools(makeTools(ran), client, { context: { agentId: "single" } });
  assert.equal(await read.invoke({ path: "/a" }), "read_file ok");
  assert.equal(await write.invoke({ path: "/etc/x", text: "x" }), "Tool 'write_file' denied: not in allow list (default: deny)");
  assert.equal(await drop.invoke({ table: "t" }), "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.match(await mail.invoke({ to: "a@b.c" }), /^Tool 'send_email' was not run: requires approval/);
  await assert.rejects(guardTool(makeTools(ran)[2], client, { onDeny: "throw" }).invoke({ table: "t" }), ToolDenied);
  assert.deepEqual(ran.map(([n]) => n), ["read_file"]);
  assert.deepEqual(
    (await (await gw()).audit("lc-tool")).map((r) => [r.tool, r.decision]),
    [["read_file", "allow"], ["write_file", "deny"], ["drop_table", "deny"], ["send_email", "require_approval"], ["drop_table", "deny"]],
  );
});
