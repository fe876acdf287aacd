// agentguard/openai-agents against the real OpenAI Agents SDK (pinned in the
// root dev dependencies) and its own ScriptedModel (@openai/agents/testing):
// the scripted model calls tools; the tools record whether they ran.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { Agent, run, setTracingDisabled, tool, ToolInputGuardrailTripwireTriggered } from "@openai/agents";
import { ScriptedModel, assistantMessage, functionCall } from "@openai/agents/testing";
import { z } from "zod";
import { GatewayClient, Policy } from "agentguard";
import { guardTools, reject } from "agentguard/openai-agents";

setTracingDisabled(true);

const SPEC = {
  allow: ["read_file"],
  deny: ["drop_*"],
  require_approval: ["send_email"],
  rules: [{ id: "workspace-writes", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" }],
};

function makeTools(ran) {
  const t = (name, parameters) =>
    tool({
      name,
      description: name,
      parameters,
      execute: async (input) => {
        ran.push([name, input]);
        return `${name} ok`;
      },
    });
  return [
    t("read_file", z.object({ path: z.string() })),
    t("write_file", z.object({ path: z.string(), text: z.string() })),
    t("drop_table", z.object({ table: z.string() })),
    t("send_email", z.object({ to: z.string() })),
  ];
}

/** The function call outputs the model received, by call id (text). */
function outputsIn(model) {
  const out = {};
  for (const call of model.calls ?? []) {
    const input = call.request.input;
    if (!Array.isArray(input)) continue;
    for (const item of input) {
      if (item.type === "function_call_result") out[item.callId] = typeof item.output === "string" ? item.output : item.output?.text ?? JSON.stringify(item.output);
    }
  }
  return out;
}

const calls = (list) => list.map(([n, a], i) => functionCall(n, a, { callId: `call-${i}` }));

test("allowed runs; denied and a broken condition never run, the model reads why; one entry each", async () => {
  const policy = new Policy(SPEC);
  const ran = [];
  const model = new ScriptedModel([
    calls([
      ["read_file", { path: "/workspace/a" }],
      ["drop_table", { table: "users" }],
      ["write_file", { path: "/workspace/b", text: "x" }],
      ["write_file", { path: "/etc/passwd", text: "x" }],
    ]),
    [assistantMessage("done")],
  ]);
  const agent = new Agent({ name: "a", model, tools: guardTools(makeTools(ran), policy, { context: { agentId: "bot-1" } }) });
  const result = await run(agent, "go");
  assert.equal(result.finalOutput, "done");
  assert.deepEqual(ran.map(([n, i]) => [n, i.path]), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
  const seen = outputsIn(model);
  assert.equal(seen["call-1"], "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.match(seen["call-3"], /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
  // The SDK runs a turn's tool calls concurrently: the entries in any order.
  const key = (e) => JSON.stringify(e);
  assert.deepEqual(policy.auditLog.map((e) => [e.tool, e.decision, e.context]).sort((a, b) => key(a).localeCompare(key(b))), [
    ["read_file", "allow", { agentId: "bot-1" }],
    ["drop_table", "deny", { agentId: "bot-1" }],
    ["write_file", "allow", { agentId: "bot-1" }],
    ["write_file", "deny", { agentId: "bot-1" }],
  ].sort((a, b) => key(a).localeCompare(key(b))));
});

for (const approved of [true, false]) {
  test(`require_approval is the SDK's interruption; ${approved ? "approved runs" : "rejected never runs"}; one entry`, async () => {
    const policy = new Policy(SPEC);
    const ran = [];
    const model = new ScriptedModel([calls([["send_email", { to: "a@b.c" }]]), [assistantMessage("done")]]);
    const agent = new Agent({ name: "a", model, tools: guardTools(makeTools(ran), policy) });
    let result = await run(agent, "go");
    assert.equal(result.interruptions.length, 1);
    assert.equal(result.interruptions[0].name ?? result.interruptions[0].rawItem.name, "send_email");
    assert.deepEqual(ran, []);
    assert.deepEqual(policy.auditLog, [], "recorded when answered, with the answer");
    const state = result.state;
    if (approved) state.approve(result.interruptions[0]);
    else {
      const r = await reject(state, result.interruptions[0], policy, { context: (call) => ({ call: call.callId }) });
      assert.equal(r.decision, "deny");
    }
    result = await run(agent, state);
    assert.equal(result.finalOutput, "done");
    assert.deepEqual(ran.map(([n]) => n), approved ? ["send_email"] : []);
    assert.deepEqual(
      policy.auditLog.map((e) => [e.tool, e.decision, e.reason]),
      [["send_email", ...(approved ? ["allow", "approved via callback (pattern: send_email)"] : ["deny", "approval denied via callback (pattern: send_email)"])]],
      "exactly one entry, carrying the answer",
    );
    if (!approved) {
      assert.equal(typeof policy.auditLog[0].context?.call, "string");
      const items = result.newItems ?? [];
      const out = JSON.stringify(items.map((i) => i.rawItem?.output ?? null));
      assert.match(out, /Tool 'send_email' denied: approval denied via callback \(pattern: send_email\)/);
    }
  });
}

test("a policy's own onApproval settles require_approval without an interruption; recorded once", async () => {
  for (const answer of [true, false]) {
    const policy = new Policy(SPEC, { onApproval: async () => answer });
    const ran = [];
    const model = new ScriptedModel([calls([["send_email", { to: "a@b.c" }]]), [assistantMessage("done")]]);
    const agent = new Agent({ name: "a", model, tools: guardTools(makeTools(ran), policy) });
    const result = await run(agent, "go");
    assert.equal(result.interruptions.length, 0);
    assert.deepEqual(ran.map(([n]) => n), answer ? ["send_email"] : []);
    assert.deepEqual(policy.auditLog.map((e) => e.decision), [answer ? "allow" : "deny"]);
  }
});

test("onDeny: throw stops the run with the SDK's tripwire; context per call", async () => {
  const policy = new Policy(SPEC);
  const ran = [];
  const model = new ScriptedModel([calls([["drop_table", { table: "t" }]]), [assistantMessage("done")]]);
  const tools = guardTools(makeTools(ran), policy, { onDeny: "throw", context: (c) => ({ call: c.callId, user: c.runContext?.user }) });
  const agent = new Agent({ name: "a", model, tools });
  // The SDK's tripwire, as the run's error or inside its ToolCallError (.error).
  await assert.rejects(run(agent, "go", { context: { user: "u1" } }), (e) => {
    assert.ok(e instanceof ToolInputGuardrailTripwireTriggered || e.error instanceof ToolInputGuardrailTripwireTriggered, String(e));
    return true;
  });
  assert.deepEqual(ran, []);
  assert.deepEqual(policy.auditLog.map((e) => [e.decision, e.context]), [["deny", { call: "call-0", user: "u1" }]]);
});

test("bad input", () => {
  const policy = new Policy(SPEC);
  assert.throws(() => guardTools({}, policy), TypeError);
  assert.throws(() => guardTools([], {}), TypeError);
  assert.throws(() => guardTools([], policy, { onDeny: "maybe" }), TypeError);
  assert.throws(() => guardTools(guardTools(makeTools([]), policy), policy), /guarded already/);
});

// ---------------------------------------------------------------- remote mode
// The same scripted agents with a GatewayClient in place of the policy: the
// policy lives on a real gateway (`agentguard serve`, started on first use
// for this file, stopped after), which decides, audits and holds approvals;
// a person answers through its API while the agent waits: no interruption.

const remote = await import(
  process.env.AGENTGUARD_JS_GATEWAY ? pathToFileURL(process.env.AGENTGUARD_JS_GATEWAY).href : new URL("../gateway.mjs", import.meta.url).href
);
const { gw, clientOf } = remote.remoteGateway(["oa-allow", "oa-grant", "oa-deny", "oa-timeout"], SPEC, GatewayClient);
const byJson = (a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b));

test("remote: allowed runs; denied and a broken condition never run, the model reads why; the gateway audits each once", async () => {
  const ran = [];
  const model = new ScriptedModel([
    calls([
      ["read_file", { path: "/workspace/a" }],
      ["drop_table", { table: "users" }],
      ["write_file", { path: "/workspace/b", text: "x" }],
      ["write_file", { path: "/etc/passwd", text: "x" }],
    ]),
    [assistantMessage("done")],
  ]);
  const tools = guardTools(makeTools(ran), await clientOf("oa-allow"), { context: (c) => ({ agentId: "bot-1", user: c.runContext?.user }) });
  const result = await run(new Agent({ name: "a", model, tools }), "go", { context: { user: "u1" } });
  assert.equal(result.finalOutput, "done");
  assert.deepEqual(ran.map(([n, i]) => [n, i.path]).sort(byJson), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
  const seen = outputsIn(model);
  assert.equal(seen["call-1"], "Tool 'drop_table' denied: denied by pattern: drop_*");
  assert.match(seen["call-3"], /^Tool 'write_file' denied: not in allow list \(default: deny\)/);
  assert.deepEqual(
    (await (await gw()).audit("oa-allow")).map((r) => [r.tool, r.decision, r.context]).sort(byJson),
    [
      ["read_file", "allow", { agentId: "bot-1", user: "u1" }],
      ["drop_table", "deny", { agentId: "bot-1", user: "u1" }],
      ["write_file", "allow", { agentId: "bot-1", user: "u1" }],
      ["write_file", "deny", { agentId: "bot-1", user: "u1" }],
    ].sort(byJson),
  );
});

for (const granted of [true, false]) {
  test(`remote: require_approval waits on the gateway, no interruption; ${granted ? "granted through its API: runs" : "denied: never runs, the model reads why"}`, async () => {
    const g = await gw();
    const agentId = granted ? "oa-grant" : "oa-deny";
    const ran = [];
    const model = new ScriptedModel([calls([["send_email", { to: "a@b.c" }]]), [assistantMessage("done")]]);
    const agent = new Agent({ name: "a", model, tools: guardTools(makeTools(ran), await clientOf(agentId, { approvalTimeout: 60 })) });
    const running = run(agent, "go");
    const approval = await g.pending(agentId, "send_email");
    await g.decide(approval.id, granted);
    const result = await running;
    assert.equal(result.interruptions.length, 0);
    assert.equal(result.finalOutput, "done");
    assert.deepEqual(ran.map(([n]) => n), granted ? ["send_email"] : []);
    const seen = outputsIn(model);
    if (granted) assert.equal(seen["call-0"], "send_email ok");
    else assert.equal(seen["call-0"], "Tool 'send_email' denied: approval denied via callback (pattern: send_email)");
    assert.deepEqual((await g.audit(agentId)).map((r) => [r.decision, r.approval_id]), [["require_approval", approval.id], [granted ? "allow" : "deny", approval.id]]);
  });
}

test("remote: nobody answers in time: the call never runs; the model reads that it needs approval", async () => {
  const ran = [];
  const model = new ScriptedModel([calls([["send_email", { to: "a@b.c" }]]), [assistantMessage("done")]]);
  const agent = new Agent({ name: "a", model, tools: guardTools(makeTools(ran), await clientOf("oa-timeout", { approvalTimeout: 1 })) });
  const result = await run(agent, "go");
  assert.equal(result.interruptions.length, 0);
  assert.deepEqual(ran, []);
  assert.equal(outputsIn(model)["call-0"], "Tool 'send_email' was not run: requires approval per pattern: send_email; it needs a person's approval.");
});
