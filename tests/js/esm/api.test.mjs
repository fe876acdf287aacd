// The documented API, through the installed package (ESM).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { ApprovalRequired, AuditEntry, Policy, PolicyError, ToolDenied, fnmatch, init, initSync } from "agentguard";

const DB = {
  name: "database-safety",
  allow: ["read_database", "generate_report", "list_tables", "describe_schema"],
  deny: ["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
  require_approval: ["write_database", "create_table", "create_index"],
};

test("results are frozen, with camelCase fields, the structured rule and shadow", () => {
  const policy = new Policy(DB);
  const r = policy.check("drop_table");
  assert.deepEqual({ ...r }, {
    decision: "deny",
    tool: "drop_table",
    reason: "denied by pattern: drop_*",
    matchedRule: "drop_*",
    rule: { list: "deny", index: 1 },
    shadow: [],
    allowed: false,
    denied: true,
    needsApproval: false,
  });
  assert.ok(Object.isFrozen(r));
  assert.ok(Object.isFrozen(r.rule) && Object.isFrozen(r.shadow));
  assert.deepEqual({ ...policy.check("read_database") }, {
    decision: "allow",
    tool: "read_database",
    reason: "allowed by pattern: read_database",
    matchedRule: "read_database",
    rule: { list: "allow", index: 0 },
    shadow: [],
    allowed: true,
    denied: false,
    needsApproval: false,
  });
  const w = policy.check("write_database");
  assert.equal(w.decision, "require_approval");
  assert.equal(w.needsApproval, true);
  assert.deepEqual(w.rule, { list: "require_approval", index: 0 });
  const none = policy.check("send_email");
  assert.equal(none.reason, "not in allow list (default: deny)");
  assert.equal(none.matchedRule, null);
  assert.equal(none.rule, null, "no rule when the default decided");
});

test("result.toJSON() is the cross-language JSON, key for key", () => {
  const policy = new Policy(DB, { onApproval: () => true });
  assert.equal(
    JSON.stringify(policy.check("drop_table")),
    '{"tool":"drop_table","decision":"deny","reason":"denied by pattern: drop_*","matched_rule":"drop_*","rule":{"list":"deny","index":1},"shadow":[]}',
  );
  assert.equal(
    JSON.stringify(policy.check("send_email")),
    '{"tool":"send_email","decision":"deny","reason":"not in allow list (default: deny)","matched_rule":null,"rule":null,"shadow":[]}',
  );
  assert.equal(
    JSON.stringify(policy.check("create_index")),
    '{"tool":"create_index","decision":"allow","reason":"approved via callback (pattern: create_index)","matched_rule":"create_index","rule":{"list":"require_approval","index":2},"shadow":[]}',
  );
  // A fresh object each call, with the result's own tool name.
  const r = policy.evaluate("drop_x");
  const a = r.toJSON();
  a.decision = "allow";
  assert.equal(r.toJSON().decision, "deny");
  assert.equal(policy.evaluate("drop_y").toJSON().tool, "drop_y");
});

test("evaluate() is the pure step: no approver, no audit entry, no callback", () => {
  const calls = [];
  const policy = new Policy(DB, {
    onApproval: () => calls.push("approve") > 0,
    onDecision: () => calls.push("decision"),
    onDeny: () => calls.push("deny"),
  });
  assert.equal(policy.evaluate("write_database").decision, "require_approval");
  assert.equal(policy.evaluate("drop_table").reason, "denied by pattern: drop_*");
  assert.equal(policy.evaluate("read_database").allowed, true);
  assert.deepEqual(calls, []);
  assert.deepEqual(policy.auditLog, []);
  // check() is evaluate() plus the flow.
  assert.equal(policy.check("write_database").decision, "allow");
  assert.deepEqual(calls, ["approve", "decision"]);
  assert.throws(() => policy.evaluate(5), TypeError);
});

test("repeated checks agree, whatever the cache holds", () => {
  const policy = new Policy(DB);
  // Every decision and reason: a deny pattern, the default deny, an allow
  // pattern and an approval pattern, repeated and unique names mixed.
  const names = Array.from({ length: 10_000 }, (_, i) =>
    i % 3 === 0 ? `drop_${i % 50}` : i % 3 === 1 ? `read_${i}` : i % 2 ? "write_database" : "read_database",
  );
  const want = (n) =>
    n.startsWith("drop_")
      ? ["deny", "denied by pattern: drop_*"]
      : n === "read_database"
        ? ["allow", "allowed by pattern: read_database"]
        : n === "write_database"
          ? ["require_approval", "requires approval per pattern: write_database"]
          : ["deny", "not in allow list (default: deny)"];
  const seen = new Set();
  for (let round = 0; round < 2; round++) {
    for (const n of names) {
      const r = policy.check(n);
      assert.equal(r.tool, n);
      assert.deepEqual([r.decision, r.reason], want(n), n);
      seen.add(r.decision);
    }
  }
  assert.deepEqual([...seen].sort(), ["allow", "deny", "require_approval"]);
  assert.equal(policy.auditLog.length, 10_000);
  assert.equal(policy.auditDropped, 10_000);
});

test("the result cache stays correct and keeps hot names when names stop repeating", () => {
  const policy = new Policy(DB, { auditCapacity: 0 });
  // A long run of unique names (the cache switches to sampling) ...
  for (let i = 0; i < 50_000; i++) {
    const r = policy.check(`drop_${i}`);
    assert.equal(r.tool, `drop_${i}`);
  }
  // ... then a hot name is still decided right, and soon cached again.
  const seen = new Set();
  for (let i = 0; i < 64; i++) seen.add(policy.check("read_database"));
  assert.ok(seen.size < 64, "a repeated name gets cached");
  for (const r of seen) assert.equal(r.reason, "allowed by pattern: read_database");
  assert.equal(policy.check("write_database").decision, "require_approval");
});

test("the audit log: entries, toJSON in tokenfence's to_dict() form, context", () => {
  const policy = new Policy(DB);
  const before = Date.now() / 1000;
  const ctx = { agentId: "bot-1", nested: { a: [1, 2] } };
  policy.check("drop_table", { context: ctx });
  policy.check("read_database");
  policy.check("send_email", { context: {} });
  policy.check("list_tables", { context: null });
  const log = policy.auditLog;
  assert.equal(log.length, 4);
  assert.ok(log[0] instanceof AuditEntry);
  assert.ok(Object.isFrozen(log[0]));
  assert.ok(log[0].timestamp >= before - 1 && log[0].timestamp <= Date.now() / 1000 + 1);
  assert.deepEqual(log[0].context, ctx, "the context, as it was");
  assert.notEqual(log[0].context, ctx, "a copy, not the caller's object");
  assert.equal(log[0].matchedRule, "drop_*");
  assert.equal(log[2].context, null, "empty context is no context");
  const d = log[0].toJSON();
  assert.deepEqual(Object.keys(d), ["timestamp", "tool", "decision", "reason", "matched_rule", "context"]);
  assert.deepEqual(d.context, ctx);
  assert.deepEqual(Object.keys(log[2].toJSON()), ["timestamp", "tool", "decision", "reason"]);
  assert.equal(JSON.parse(JSON.stringify(log))[1].matched_rule, "read_database");
  // auditLog is a copy.
  log.length = 0;
  assert.equal(policy.auditLog.length, 4);
  policy.clearAudit();
  assert.deepEqual(policy.auditLog, []);
});

test("an empty matched rule is left out of to_dict(), as tokenfence does", () => {
  const policy = new Policy({ deny: [""], allow: ["*"] });
  const r = policy.check("");
  assert.equal(r.matchedRule, "");
  assert.equal(r.reason, "denied by pattern: ");
  assert.deepEqual(Object.keys(policy.auditLog[0].toJSON()), ["timestamp", "tool", "decision", "reason"]);
});

test("auditCapacity bounds the log; auditDropped counts; onDecision sees everything", () => {
  const seen = [];
  const policy = new Policy(DB, { auditCapacity: 3, onDecision: (e) => seen.push(e) });
  for (let i = 0; i < 5; i++) policy.check(`tool_${i}`);
  assert.deepEqual(
    policy.auditLog.map((e) => e.tool),
    ["tool_2", "tool_3", "tool_4"],
  );
  assert.equal(policy.auditDropped, 2);
  assert.equal(seen.length, 5);
  assert.deepEqual(seen[4].toJSON(), policy.auditLog[2].toJSON(), "onDecision gets the logged entry");
  policy.clearAudit();
  assert.equal(policy.auditDropped, 0);
  policy.check("x");
  assert.deepEqual(policy.auditLog.map((e) => e.tool), ["x"]);

  const none = new Policy(DB, { auditCapacity: 0 });
  none.check("a");
  none.check("b");
  assert.equal(none.auditLog.length, 0);
  assert.equal(none.auditDropped, 2);

  const fresh = new Policy(DB);
  for (let i = 0; i < 10_001; i++) fresh.check("read_database");
  assert.equal(fresh.auditLog.length, 10_000, "default capacity is 10 000");
  assert.equal(fresh.auditDropped, 1);
});

test("audit: false records nothing and calls no onDecision, but onDeny still runs", () => {
  const calls = [];
  const policy = new Policy(
    { ...DB, audit: false },
    { onDecision: () => calls.push("decision"), onDeny: (r) => calls.push(`deny ${r.tool}`) },
  );
  policy.check("drop_table");
  policy.check("read_database");
  assert.deepEqual(policy.auditLog, []);
  assert.deepEqual(calls, ["deny drop_table"]);
  assert.equal(policy.toJSON().audit, false);
});

test("onDeny runs after each deny, after the entry is recorded", () => {
  const calls = [];
  const policy = new Policy(DB, {
    onDecision: (e) => calls.push(`decision ${e.tool}`),
    onDeny: (r, context) => calls.push(`deny ${r.tool} ${r.reason} ${JSON.stringify(context)}`),
  });
  policy.check("drop_table", { context: { a: 1 } });
  policy.check("read_database");
  policy.check("ls");
  assert.deepEqual(calls, [
    "decision drop_table",
    'deny drop_table denied by pattern: drop_* {"a":1}',
    "decision read_database",
    "decision ls",
    "deny ls not in allow list (default: deny) null",
  ]);
});

test("enforce: returns allowed results, throws ToolDenied and ApprovalRequired", () => {
  const policy = new Policy(DB);
  assert.equal(policy.enforce("read_database").decision, "allow");
  assert.throws(
    () => policy.enforce("drop_table", { context: { agentId: "x" } }),
    (e) => {
      assert.ok(e instanceof ToolDenied);
      assert.ok(e instanceof Error);
      assert.ok(!(e instanceof ApprovalRequired));
      assert.equal(e.name, "ToolDenied");
      assert.equal(e.message, "Tool 'drop_table' denied: denied by pattern: drop_*");
      assert.equal(e.tool, "drop_table");
      assert.equal(e.reason, "denied by pattern: drop_*");
      assert.equal(e.matchedRule, "drop_*");
      assert.equal(e.result.decision, "deny");
      assert.ok(e.stack.includes("ToolDenied"));
      return true;
    },
  );
  assert.throws(
    () => policy.enforce("write_database"),
    (e) => {
      assert.ok(e instanceof ApprovalRequired);
      assert.ok(e instanceof ToolDenied);
      assert.equal(e.name, "ApprovalRequired");
      assert.equal(e.message, "Tool 'write_database' denied: requires approval per pattern: write_database");
      assert.equal(e.matchedRule, "write_database");
      return true;
    },
  );
  assert.throws(() => policy.enforce("nope"), (e) => e instanceof ToolDenied && e.matchedRule === null);
  // Every enforce was recorded.
  assert.equal(policy.auditLog.length, 4);
});

test("onApproval decides approval-gated tools, with the core's reasons", () => {
  const asked = [];
  const policy = new Policy(DB, {
    onApproval: (pending, context) => {
      asked.push([pending.tool, pending.decision, pending.reason, context]);
      return pending.tool === "write_database";
    },
  });
  const yes = policy.check("write_database", { context: { who: "me" } });
  assert.deepEqual(
    [yes.decision, yes.reason, yes.matchedRule],
    ["allow", "approved via callback (pattern: write_database)", "write_database"],
  );
  const no = policy.check("create_table");
  assert.deepEqual(
    [no.decision, no.reason, no.matchedRule],
    ["deny", "approval denied via callback (pattern: create_table)", "create_table"],
  );
  assert.deepEqual(asked, [
    ["write_database", "require_approval", "requires approval per pattern: write_database", { who: "me" }],
    ["create_table", "require_approval", "requires approval per pattern: create_table", null],
  ]);
  assert.throws(() => policy.enforce("create_index"), (e) => e instanceof ToolDenied && !(e instanceof ApprovalRequired));
  assert.equal(policy.enforce("write_database").allowed, true);
  // Not asked for tools that do not need approval.
  policy.check("read_database");
  policy.check("drop_table");
  assert.equal(asked.length, 4);
  assert.deepEqual(
    policy.auditLog.map((e) => e.decision),
    ["allow", "deny", "deny", "allow", "allow", "deny"],
  );
});

test("checkAsync / enforceAsync await an asynchronous approver", async () => {
  const policy = new Policy(DB, {
    onApproval: async (pending) => {
      await new Promise((r) => setTimeout(r, 1));
      return pending.tool !== "create_table";
    },
  });
  const r = await policy.checkAsync("write_database");
  assert.equal(r.reason, "approved via callback (pattern: write_database)");
  await assert.rejects(policy.enforceAsync("create_table"), ToolDenied);
  assert.equal((await policy.enforceAsync("read_database")).allowed, true);
  await assert.rejects(policy.enforceAsync("drop_table"), (e) => e instanceof ToolDenied && e.matchedRule === "drop_*");
  // A synchronous approver works in the async methods too.
  const sync = new Policy(DB, { onApproval: () => true });
  assert.equal((await sync.checkAsync("create_index")).allowed, true);
  // Without an approver, enforceAsync throws ApprovalRequired.
  await assert.rejects(new Policy(DB).enforceAsync("write_database"), ApprovalRequired);
});

test("checkAsync awaits the promises onDecision and onDeny return", async () => {
  const order = [];
  const policy = new Policy(DB, {
    onDecision: async (e) => {
      await new Promise((r) => setTimeout(r, 2));
      order.push(`stored ${e.tool}`);
    },
    onDeny: async () => {
      throw new Error("alert failed");
    },
  });
  await policy.checkAsync("read_database");
  assert.deepEqual(order, ["stored read_database"]);
  await assert.rejects(policy.checkAsync("drop_table"), /alert failed/);
  assert.deepEqual(order, ["stored read_database", "stored drop_table"]);
  assert.equal(policy.auditLog.length, 2);
});

test("name, toJSON and fromJSON round-trip in tokenfence's to_dict() form", () => {
  const policy = new Policy(DB);
  assert.equal(policy.name, "database-safety");
  const spec = policy.toJSON();
  assert.deepEqual(spec, { ...DB, default: "deny", audit: true });
  assert.deepEqual(Object.keys(spec), ["name", "allow", "deny", "require_approval", "default", "audit"]);
  assert.notEqual(policy.toJSON(), spec, "a fresh object each call");
  spec.deny.push("x");
  assert.equal(policy.toJSON().deny.length, 6);
  assert.equal(JSON.stringify(policy), JSON.stringify(policy.toJSON()));
  const again = Policy.fromJSON(JSON.stringify(policy));
  assert.deepEqual(again.toJSON(), policy.toJSON());
  assert.deepEqual(Policy.fromJSON(policy.toJSON()).toJSON(), policy.toJSON());
  assert.equal(new Policy().name, "default");
  assert.equal(new Policy({ name: "" }).name, "default");
  assert.deepEqual(new Policy().toJSON(), {
    name: "default",
    allow: [],
    deny: [],
    require_approval: [],
    default: "deny",
    audit: true,
  });
  assert.equal(new Policy().check("anything").reason, "no matching rule (default: deny)");
  assert.equal(new Policy({ default: "allow" }).check("anything").reason, "no matching rule (default: allow)");
  // A tokenfence file with nulls (to_dict never writes them, but from_dict accepts them).
  assert.equal(Policy.fromJSON('{"allow": null, "name": null}').name, "default");
  // fromJSON takes options too.
  const withOpts = Policy.fromJSON(JSON.stringify(DB), { onApproval: () => true, auditCapacity: 1 });
  assert.equal(withOpts.check("write_database").allowed, true);
});

test("console.log shows the policy file", async () => {
  const { inspect } = await import("node:util");
  const policy = new Policy({ deny: ["drop_*"], name: "db" });
  assert.match(inspect(policy), /^Policy \{[\s\S]*name: 'db'[\s\S]*deny: \[ 'drop_\*' \]/);
  policy.free();
  assert.equal(inspect(policy), 'Policy <freed "db">');
});

test("fnmatch is CPython's fnmatchcase", () => {
  assert.equal(fnmatch("drop_table", "drop_*"), true);
  assert.equal(fnmatch("Drop_table", "drop_*"), false);
  assert.equal(fnmatch("😀", "?"), true);
  assert.equal(fnmatch("a\nb", "a*b"), true);
  assert.equal(fnmatch("^", "[^a]"), true);
  assert.equal(fnmatch("{a,b}", "{a,b}"), true);
  assert.equal(fnmatch("[", "["), true);
  assert.equal(fnmatch("a".repeat(100_000), "*a*a*a*a*a*b"), false);
});

test("free() releases the policy; Symbol.dispose is free()", () => {
  const policy = new Policy(DB);
  policy.check("drop_table");
  policy.free();
  policy.free(); // idempotent
  assert.throws(() => policy.check("drop_table"), /freed/);
  assert.throws(() => policy.toJSON(), /freed/);
  assert.equal(policy.name, "database-safety");
  assert.equal(policy.auditLog.length, 1, "the log outlives the wasm memory");
  if (typeof Symbol.dispose === "symbol") {
    const p = new Policy(DB);
    p[Symbol.dispose]();
    assert.throws(() => p.check("x"), /freed/);
  }
});

test("wasm memory is released by the garbage collector without free()", () => {
  // 300 policies of 3 000 patterns each would hold hundreds of MB if leaked.
  const script = `
    const { Policy } = require("agentguard");
    const deny = Array.from({ length: 3000 }, (_, i) => "tool_" + i + "_*");
    const rss0 = process.memoryUsage().rss;
    let i = 0;
    function round() {
      for (let k = 0; k < 20; k++, i++) new Policy({ deny }).check("tool_1_x");
      global.gc();
      if (i < 300) setTimeout(round, 5);
      else console.log(JSON.stringify({ mb: (process.memoryUsage().rss - rss0) / 2 ** 20 }));
    }
    round();
  `;
  const file = fileURLToPath(new URL("./gc-probe.cjs", import.meta.url));
  writeFileSync(file, script);
  const p = spawnSync(process.execPath, ["--expose-gc", file], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const { mb } = JSON.parse(p.stdout);
  assert.ok(mb < 150, `rss grew by ${mb.toFixed(0)} MB`);
});

test("init() and initSync() are no-ops once loaded", async () => {
  initSync(new Uint8Array(0));
  await init();
  assert.equal(new Policy(DB).check("drop_x").denied, true);
});

test("PolicyError is a real Error with kind, field and index", () => {
  assert.throws(
    () => new Policy({ allow: ["read_*", 5] }),
    (e) => {
      assert.ok(e instanceof PolicyError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, "PolicyError");
      assert.equal(e.kind, "wrong_type");
      assert.equal(e.field, "allow");
      assert.equal(e.index, 1);
      assert.equal(e.message, "allow[1]: expected a string pattern, got number 5");
      return true;
    },
  );
});

test("rules on the name alone: rule {id} and shadow rules in results, entries and the flow", async () => {
  const spec = {
    allow: ["read_*"],
    deny: ["drop_*"],
    rules: [
      { id: "watch-reads", tool: "read_*", decision: "deny", mode: "shadow" },
      { id: "watch-all", tool: "*", decision: "require_approval", mode: "shadow" },
      { id: "gate-send", tool: "send_*", decision: "require_approval" },
    ],
  };
  const shadow2 = [
    { id: "watch-reads", decision: "deny" },
    { id: "watch-all", decision: "require_approval" },
  ];
  const denied = [];
  const policy = new Policy(spec, { onApproval: (pending) => pending.tool === "send_ok", onDeny: (r) => denied.push(r) });
  const read = policy.evaluate("read_x");
  assert.equal(read.decision, "allow", "shadow rules never change the decision");
  assert.deepEqual(read.shadow, shadow2);
  assert.deepEqual(read.rule, { list: "allow", index: 0 });
  assert.deepEqual(read.toJSON().shadow, shadow2);
  const pending = policy.evaluate("send_x");
  assert.deepEqual([pending.decision, pending.rule, pending.reason], ["require_approval", { id: "gate-send" }, "requires approval per rule: gate-send"]);
  assert.deepEqual(pending.shadow, [{ id: "watch-all", decision: "require_approval" }]);
  // Through the flow (sync and async): the approval's outcome keeps its rule and shadow.
  const yes = policy.check("send_ok");
  assert.deepEqual([yes.decision, yes.reason, yes.rule, yes.shadow], ["allow", "approved via callback (rule: gate-send)", { id: "gate-send" }, [{ id: "watch-all", decision: "require_approval" }]]);
  const no = await policy.checkAsync("send_no");
  assert.deepEqual([no.decision, no.reason, no.matchedRule], ["deny", "approval denied via callback (rule: gate-send)", "gate-send"]);
  assert.equal(denied[0].reason, "approval denied via callback (rule: gate-send)");
  assert.deepEqual(denied[0].shadow, [{ id: "watch-all", decision: "require_approval" }]);
  policy.check("read_x");
  policy.check("read_x");
  const log = policy.auditLog;
  assert.deepEqual(log.map((e) => e.toJSON().shadow), [
    [{ id: "watch-all", decision: "require_approval" }],
    [{ id: "watch-all", decision: "require_approval" }],
    shadow2,
    shadow2,
  ]);
  assert.deepEqual(log[2].shadow, shadow2);
  // No shadow rule fired: no shadow key in the entry, [] on the result.
  const plain = new Policy({ deny: ["drop_*"] });
  plain.check("drop_x");
  assert.deepEqual(plain.auditLog[0].shadow, []);
  assert.equal("shadow" in plain.auditLog[0].toJSON(), false);
});
