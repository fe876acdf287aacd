// agentguard/mcp against the real MCP TypeScript SDK (a root dev
// dependency): an in-process McpServer over InMemoryTransport records every
// call it receives, so "never sent" is what the server saw.
import assert from "node:assert/strict";
import { test } from "node:test";
import { pathToFileURL } from "node:url";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { ApprovalRequired, GatewayClient, Policy, ToolDenied } from "agentguard";
import { alwaysDenied, guardClient } from "agentguard/mcp";

const SPEC = {
  allow: ["read_file", "list_*"],
  deny: ["drop_*"],
  require_approval: ["send_email"],
  rules: [
    { id: "workspace-writes", tool: "write_file", when: { path: { path_under: "/workspace" } }, decision: "allow" },
  ],
};

async function connect() {
  const received = [];
  const server = new McpServer({ name: "test-server", version: "1.0.0" });
  const reg = (name, shape) =>
    server.registerTool(name, { description: name, inputSchema: shape }, async (args) => {
      received.push([name, args]);
      return { content: [{ type: "text", text: `${name} ok` }] };
    });
  reg("read_file", { path: z.string() });
  reg("write_file", { path: z.string(), text: z.string() });
  reg("drop_table", { table: z.string() });
  reg("send_email", { to: z.string() });
  reg("delete_user", { id: z.string() });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: "test-client", version: "1.0.0" });
  await client.connect(b);
  return { client, received, close: () => client.close() };
}

test("listTools drops the tools every call of which is denied; keeps the ones arguments may allow", async () => {
  const { client, close } = await connect();
  try {
    const policy = new Policy(SPEC);
    const guarded = guardClient(client, policy);
    const { tools } = await guarded.listTools();
    // drop_table: a deny pattern; delete_user: not in the allow list and no
    // rule; write_file: denied without arguments, but a rule reads them.
    assert.deepEqual(tools.map((t) => t.name).sort(), ["read_file", "send_email", "write_file"]);
    assert.equal(policy.auditLog.length, 0, "listing records nothing");
    assert.equal((await client.listTools()).tools.length, 5, "the client itself is unchanged");
  } finally {
    await close();
  }
});

test("callTool: allowed is sent; denied, a broken condition and unapproved are never sent; one entry each", async () => {
  const { client, received, close } = await connect();
  try {
    const policy = new Policy(SPEC);
    const guarded = guardClient(client, policy, { context: { agentId: "bot-1" } });
    const text = (r) => r.content[0].text;
    const ok = await guarded.callTool({ name: "read_file", arguments: { path: "/workspace/a" } });
    assert.equal(text(ok), "read_file ok");
    assert.equal(ok.isError, undefined);
    const drop = await guarded.callTool({ name: "drop_table", arguments: { table: "users" } });
    assert.equal(drop.isError, true);
    assert.equal(text(drop), "Tool 'drop_table' denied: denied by pattern: drop_*");
    assert.equal(drop._meta.agentguard.matched_rule, "drop_*");
    const inside = await guarded.callTool({ name: "write_file", arguments: { path: "/workspace/b", text: "x" } });
    assert.equal(text(inside), "write_file ok");
    const outside = await guarded.callTool({ name: "write_file", arguments: { path: "/etc/passwd", text: "x" } });
    assert.equal(outside.isError, true);
    assert.match(text(outside), /^Tool 'write_file' denied: not in allow list/);
    const mail = await guarded.callTool({ name: "send_email", arguments: { to: "a@b.c" } });
    assert.equal(mail.isError, true);
    assert.match(text(mail), /requires approval per pattern: send_email; it needs a person's approval/);
    assert.deepEqual(received.map(([n, a]) => [n, a.path ?? null]), [
      ["read_file", "/workspace/a"],
      ["write_file", "/workspace/b"],
    ]);
    assert.deepEqual(
      policy.auditLog.map((e) => [e.tool, e.decision, e.context]),
      [
        ["read_file", "allow", { agentId: "bot-1" }],
        ["drop_table", "deny", { agentId: "bot-1" }],
        ["write_file", "allow", { agentId: "bot-1" }],
        ["write_file", "deny", { agentId: "bot-1" }],
        ["send_email", "require_approval", { agentId: "bot-1" }],
      ],
    );
  } finally {
    await close();
  }
});

test("callTool: the policy's approver (async) decides require_approval: approved is sent, rejected is not", async () => {
  const { client, received, close } = await connect();
  try {
    const answers = [true, false];
    const policy = new Policy(SPEC, { onApproval: async () => answers.shift() });
    const guarded = guardClient(client, policy, { context: (c) => ({ tool: c.toolName, to: c.arguments.to }) });
    const yes = await guarded.callTool({ name: "send_email", arguments: { to: "a@b.c" } });
    assert.equal(yes.content[0].text, "send_email ok");
    const no = await guarded.callTool({ name: "send_email", arguments: { to: "x@y.z" } });
    assert.equal(no.isError, true);
    assert.equal(no.content[0].text, "Tool 'send_email' denied: approval denied via callback (pattern: send_email)");
    assert.deepEqual(received.map(([, a]) => a.to), ["a@b.c"]);
    assert.deepEqual(
      policy.auditLog.map((e) => [e.decision, e.context]),
      [
        ["allow", { tool: "send_email", to: "a@b.c" }],
        ["deny", { tool: "send_email", to: "x@y.z" }],
      ],
    );
  } finally {
    await close();
  }
});

test("onDeny: throw; other client methods pass through; guarded twice is refused", async () => {
  const { client, received, close } = await connect();
  try {
    const policy = new Policy(SPEC);
    const guarded = guardClient(client, policy, { onDeny: "throw" });
    await assert.rejects(guarded.callTool({ name: "drop_table", arguments: { table: "t" } }), ToolDenied);
    await assert.rejects(guarded.callTool({ name: "send_email", arguments: { to: "t" } }), ApprovalRequired);
    assert.deepEqual(received, []);
    assert.equal(guarded.getServerVersion().name, "test-server");
    await guarded.ping();
    assert.throws(() => guardClient(guarded, policy), /guarded already/);
    assert.throws(() => guardClient({}, policy), TypeError);
    assert.throws(() => guardClient(client, {}), TypeError);
  } finally {
    await close();
  }
});

test("alwaysDenied: the listing rule, exactly (the core's Policy#alwaysDenied)", () => {
  const policy = new Policy({
    ...SPEC,
    rules: [
      ...SPEC.rules,
      { id: "shadow-only", tool: "list_*", mode: "shadow", when: { x: { gt: 1 } }, decision: "deny" },
      { id: "name-only", tool: "read_file", decision: "deny" },
    ],
  });
  const denied = alwaysDenied(policy);
  for (const name of ["drop_x", "other", "read_file", "write_file", "list_files", "send_email"]) {
    assert.equal(denied(name), policy.alwaysDenied(name), name);
  }
  assert.throws(() => policy.alwaysDenied(5), TypeError);
  assert.equal(denied("drop_x"), true); // deny pattern
  assert.equal(denied("other"), true); // default deny, no rule
  assert.equal(denied("read_file"), true); // a rule without conditions decides on the name
  assert.equal(denied("write_file"), false); // a rule with conditions may allow
  assert.equal(denied("list_files"), false); // allowed (a shadow rule changes nothing)
  assert.equal(denied("send_email"), false); // require_approval
});

test("callTool: what is sent is what was decided, even when the caller changes its objects while the call waits", async () => {
  const { client, received, close } = await connect();
  try {
    const policy = new Policy(SPEC);
    const guarded = guardClient(client, policy);
    const args = { path: "/workspace/a", text: "x" };
    const params = { name: "write_file", arguments: args };
    const pending = guarded.callTool(params);
    // Decided on /workspace/a; changed before the decision's await ends.
    args.path = "/etc/passwd";
    params.name = "drop_table";
    const r = await pending;
    assert.equal(r.content[0].text, "write_file ok");
    assert.deepEqual(received, [["write_file", { path: "/workspace/a", text: "x" }]]);
    assert.deepEqual(policy.auditLog.map((e) => [e.tool, e.decision]), [["write_file", "allow"]]);
  } finally {
    await close();
  }
});

// ---------------------------------------------------------------- remote mode
// The same in-process server and client with a GatewayClient in place of the
// policy: the policy lives on a real gateway (`agentguard serve`, started on
// first use for this file, stopped after), which decides, audits and holds
// approvals; a person answers through its API while the call waits.

const remote = await import(
  process.env.AGENTGUARD_JS_GATEWAY ? pathToFileURL(process.env.AGENTGUARD_JS_GATEWAY).href : new URL("../gateway.mjs", import.meta.url).href
);
const { gw, clientOf } = remote.remoteGateway(["mcp-allow", "mcp-grant", "mcp-deny", "mcp-timeout"], SPEC, GatewayClient);

test("remote: listTools drops nothing (the gateway decides each call); allowed is sent; denied and a broken condition are not; audited once each", async () => {
  const { client, received, close } = await connect();
  try {
    const guarded = guardClient(client, await clientOf("mcp-allow"), { context: (c) => ({ agentId: "bot-1", tool: c.toolName }) });
    assert.equal((await guarded.listTools()).tools.length, 5);
    const text = (r) => r.content[0].text;
    assert.equal(text(await guarded.callTool({ name: "read_file", arguments: { path: "/workspace/a" } })), "read_file ok");
    const drop = await guarded.callTool({ name: "drop_table", arguments: { table: "users" } });
    assert.deepEqual([drop.isError, text(drop)], [true, "Tool 'drop_table' denied: denied by pattern: drop_*"]);
    assert.deepEqual(drop._meta.agentguard, { tool: "drop_table", decision: "deny", reason: "denied by pattern: drop_*", matched_rule: "drop_*", rule: { list: "deny", index: 0 }, shadow: [] });
    assert.equal(text(await guarded.callTool({ name: "write_file", arguments: { path: "/workspace/b", text: "x" } })), "write_file ok");
    const outside = await guarded.callTool({ name: "write_file", arguments: { path: "/etc/passwd", text: "x" } });
    assert.match(text(outside), /^Tool 'write_file' denied: not in allow list/);
    assert.deepEqual(received.map(([n, a]) => [n, a.path]), [["read_file", "/workspace/a"], ["write_file", "/workspace/b"]]);
    assert.deepEqual(
      (await (await gw()).audit("mcp-allow")).map((r) => [r.tool, r.decision, r.context]),
      [
        ["read_file", "allow", { agentId: "bot-1", tool: "read_file" }],
        ["drop_table", "deny", { agentId: "bot-1", tool: "drop_table" }],
        ["write_file", "allow", { agentId: "bot-1", tool: "write_file" }],
        ["write_file", "deny", { agentId: "bot-1", tool: "write_file" }],
      ],
    );
  } finally {
    await close();
  }
});

for (const granted of [true, false]) {
  test(`remote: require_approval waits on the gateway; ${granted ? "granted through its API: sent" : "denied: never sent, the model reads why"}`, async () => {
    const g = await gw();
    const agentId = granted ? "mcp-grant" : "mcp-deny";
    const { client, received, close } = await connect();
    try {
      const guarded = guardClient(client, await clientOf(agentId, { approvalTimeout: 60 }));
      const calling = guarded.callTool({ name: "send_email", arguments: { to: "a@b.c" } });
      const approval = await g.pending(agentId, "send_email");
      await g.decide(approval.id, granted);
      const r = await calling;
      assert.deepEqual(received.map(([n]) => n), granted ? ["send_email"] : []);
      if (granted) assert.equal(r.content[0].text, "send_email ok");
      else assert.deepEqual([r.isError, r.content[0].text], [true, "Tool 'send_email' denied: approval denied via callback (pattern: send_email)"]);
      assert.deepEqual((await g.audit(agentId)).map((x) => [x.decision, x.approval_id]), [["require_approval", approval.id], [granted ? "allow" : "deny", approval.id]]);
    } finally {
      await close();
    }
  });
}

test("remote: nobody answers in time: never sent (a result, or ApprovalRequired)", async () => {
  const { client, received, close } = await connect();
  try {
    const r = await guardClient(client, await clientOf("mcp-timeout", { approvalTimeout: 1 })).callTool({ name: "send_email", arguments: { to: "a@b.c" } });
    assert.deepEqual([r.isError, r.content[0].text], [true, "Tool 'send_email' was not run: requires approval per pattern: send_email; it needs a person's approval."]);
    assert.equal(r._meta.agentguard.decision, "require_approval");
    assert.equal("approval" in r._meta.agentguard, false);
    const throwing = guardClient(client, await clientOf("mcp-timeout", { approvalTimeout: 0 }), { onDeny: "throw" });
    await assert.rejects(throwing.callTool({ name: "send_email", arguments: { to: "b@b.c" } }), ApprovalRequired);
    assert.deepEqual(received, []);
  } finally {
    await close();
  }
});
