#!/usr/bin/env node
// An agent loop without an LLM. The "model" is a script of assistant turns
// in the OpenAI function-calling format; every tool call it makes goes
// through a tool registry guarded by an agentguard policy:
//   - allowed calls run, and their result goes back as a `tool` message;
//   - denied calls never run: the model gets the denial as an error;
//   - approval-gated calls go to an approver: auto-answered here, or asked
//     on the terminal with --interactive.
// The audit trail prints at the end.
//
//   node agent.mjs [--interactive] [--json]

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { ApprovalRequired, Policy, ToolDenied } from "agentguard";

const { values: args } = parseArgs({
  options: { interactive: { type: "boolean", default: false }, json: { type: "boolean", default: false } },
});
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const red = (s) => paint(31, s);
const green = (s) => paint(32, s);
const yellow = (s) => paint(33, s);
const dim = (s) => paint(2, s);

// ---- the tools the agent framework offers --------------------------------

const db = {
  customers: [
    { id: 1, name: "Ada", plan: "pro", mrr: 490 },
    { id: 2, name: "Grace", plan: "team", mrr: 1290 },
    { id: 3, name: "Linus", plan: "free", mrr: 0 },
  ],
  orders: [
    { id: 10, customer: 1, total: 490 },
    { id: 11, customer: 2, total: 1290 },
  ],
  notes: [],
};

const tools = {
  list_tables: () => Object.keys(db),
  describe_schema: ({ table }) => Object.keys(db[table]?.[0] ?? { id: 0, text: "" }),
  read_database: ({ table, where = {} }) =>
    (db[table] ?? []).filter((row) => Object.entries(where).every(([k, v]) => row[k] === v)),
  generate_report: ({ title }) => {
    const mrr = db.customers.reduce((s, c) => s + c.mrr, 0);
    return `${title}: ${db.customers.length} customers, MRR $${mrr}`;
  },
  write_database: ({ table, row }) => {
    db[table].push(row);
    return { inserted: 1 };
  },
  create_index: ({ table, column }) => ({ index: `${table}_${column}` }),
  drop_table: ({ table }) => {
    delete db[table];
    return { dropped: table };
  },
  delete_users: () => {
    db.customers = [];
    return { deleted: "all" };
  },
  send_email: ({ to }) => ({ sent: to }),
};

// ---- the scripted "model" -------------------------------------------------

const call = (id, name, args) => ({ id, type: "function", function: { name, arguments: JSON.stringify(args) } });
const script = [
  { role: "assistant", content: "Let me look at the database first.", tool_calls: [call("call_1", "list_tables", {})] },
  {
    role: "assistant",
    content: null,
    tool_calls: [
      call("call_2", "describe_schema", { table: "customers" }),
      call("call_3", "read_database", { table: "customers", where: { plan: "pro" } }),
    ],
  },
  {
    role: "assistant",
    content: "I'll record a note about this customer, and index customers by plan.",
    tool_calls: [
      call("call_4", "write_database", { table: "notes", row: { id: 1, text: "Ada: upsell to team" } }),
      call("call_4b", "create_index", { table: "customers", column: "plan" }),
    ],
  },
  {
    role: "assistant",
    content: "The orders table looks stale. Cleaning it up.",
    tool_calls: [call("call_5", "drop_table", { table: "orders" })],
  },
  {
    role: "assistant",
    content: "Then I'll remove the free users and tell them.",
    tool_calls: [call("call_6", "delete_users", { where: { plan: "free" } }), call("call_7", "send_email", { to: "linus@example.com" })],
  },
  { role: "assistant", content: "Understood. A report instead.", tool_calls: [call("call_8", "generate_report", { title: "Weekly revenue" })] },
  { role: "assistant", content: "Done: the report is ready, and no data was removed." },
];

// ---- the policy and the approver -----------------------------------------

// Terminal answers, queued line by line (so piped input works too); when
// the input ends, every further question is answered "no": fail closed.
const lines = [];
const waiting = [];
let closed = false;
const rl = args.interactive ? createInterface({ input: process.stdin, terminal: false }) : null;
rl?.on("line", (line) => (waiting.length > 0 ? waiting.shift()(line) : lines.push(line)));
rl?.on("close", () => {
  closed = true;
  for (const resolve of waiting.splice(0)) resolve("");
});
const nextLine = () =>
  lines.length > 0 ? Promise.resolve(lines.shift()) : closed ? Promise.resolve("") : new Promise((r) => waiting.push(r));

async function approve(pending, context) {
  const callArgs = context.args;
  if (args.interactive) {
    process.stdout.write(yellow(`  ? approve ${pending.tool}(${callArgs})  [${pending.reason}] [y/N] `));
    const answer = await nextLine();
    if (!process.stdin.isTTY) process.stdout.write(`${answer}\n`);
    return /^y(es)?$/i.test(answer.trim());
  }
  // Auto-answered for the demo: notes may be written, nothing else.
  const ok = pending.tool === "write_database" && JSON.parse(callArgs).table === "notes";
  console.log(yellow(`  ? approval for ${pending.tool}(${callArgs}): auto-${ok ? "approved" : "denied"}`));
  return ok;
}

const policy = Policy.fromJSON(readFileSync(new URL("./policy.json", import.meta.url), "utf8"), {
  onApproval: approve,
});

// The registry the framework calls: every call goes through the policy.
async function runTool(toolCall, agentId) {
  const { name, arguments: argText } = toolCall.function;
  try {
    await policy.enforceAsync(name, { context: { agentId, callId: toolCall.id, args: argText } });
  } catch (e) {
    if (e instanceof ApprovalRequired) return { error: `${e.message} (no approver granted it)` };
    if (e instanceof ToolDenied) return { error: e.message };
    throw e;
  }
  return { result: tools[name](JSON.parse(argText)) };
}

// ---- the loop -------------------------------------------------------------

const messages = [
  { role: "system", content: "You are a helpful database assistant. Never delete, drop or modify data." },
  { role: "user", content: "Tidy up our customer database and give me a revenue report." },
];
console.log(`policy ${green(policy.name)}: ${JSON.stringify(policy.toJSON())}\n`);
console.log(`user: ${messages[1].content}`);
let stopped = 0;
for (const turn of script) {
  messages.push(turn);
  if (turn.content) console.log(`\nmodel: ${turn.content}`);
  for (const toolCall of turn.tool_calls ?? []) {
    const { name, arguments: argText } = toolCall.function;
    console.log(`  -> ${name}(${argText})`);
    const out = await runTool(toolCall, "db-assistant");
    if ("error" in out) {
      stopped++;
      console.log(red(`  x  ${out.error}`));
    } else {
      console.log(green(`  <- ${JSON.stringify(out.result)}`));
    }
    messages.push({ role: "tool", tool_call_id: toolCall.id, content: JSON.stringify(out) });
  }
}
rl?.close();

console.log(`\n${stopped} tool calls stopped; tables left: ${Object.keys(db).join(", ")}`);
console.log("\naudit trail:");
for (const entry of policy.auditLog) {
  if (args.json) {
    console.log(JSON.stringify(entry));
    continue;
  }
  const mark = entry.decision === "allow" ? green("allow") : red(entry.decision.padEnd(5));
  console.log(`  ${new Date(entry.timestamp * 1000).toISOString()}  ${mark}  ${entry.tool.padEnd(16)} ${dim(entry.reason)}`);
}
if (!("orders" in db) || db.customers.length === 0) {
  console.error(red("the agent destroyed data: the policy failed"));
  process.exit(1);
}
