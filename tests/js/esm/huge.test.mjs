// Huge inputs (issue 9, item 4): a tool name over 1 MiB of UTF-8 is a
// RangeError before anything is copied into wasm memory; a long name's
// scratch memory is given back; nothing breaks afterwards.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Policy } from "agentguard";

const MIB = 1 << 20;
const LIMIT_MESSAGE = (bytes) => `tool name is ${bytes} bytes of UTF-8; the limit is ${MIB} (1 MiB)`;

function recorder() {
  const calls = [];
  const policy = new Policy(
    { allow: ["*"], deny: ["drop_*"], require_approval: ["write_*"] },
    {
      onApproval: () => calls.push("approve") > 0,
      onDecision: () => calls.push("decision"),
      onDeny: () => calls.push("deny"),
    },
  );
  return { policy, calls };
}

test("names up to 1 MiB of UTF-8 are decided; one byte more is a RangeError from the core", async () => {
  const { policy, calls } = recorder();
  const cases = [
    ["a".repeat(MIB), "a".repeat(MIB + 1), MIB + 1],
    // 2-byte characters: the limit counts bytes, not UTF-16 units.
    ["é".repeat(MIB / 2), `${"é".repeat(MIB / 2)}x`, MIB + 1],
    // 3-byte and 4-byte (a surrogate pair) characters.
    [`${"€".repeat((MIB - 4) / 3)}😀`, `${"€".repeat((MIB - 4) / 3)}😀x`, MIB + 1],
    [`w${"€".repeat((MIB - 1) / 3)}`, `w${"€".repeat((MIB - 1) / 3 + 1)}`, MIB + 3],
  ];
  for (const [fits, over, bytes] of cases) {
    assert.ok(Buffer.byteLength(fits) <= MIB && Buffer.byteLength(fits) > MIB - 4, "test data");
    assert.equal(Buffer.byteLength(over), bytes, "test data");
    assert.equal(policy.check(fits).decision, "allow");
    assert.equal(policy.evaluate(fits).tool, fits);
    const before = calls.length;
    const isRange = (e) => {
      assert.ok(e instanceof RangeError, String(e));
      assert.equal(e.kind, "too_long");
      assert.equal(e.message, LIMIT_MESSAGE(bytes));
      return true;
    };
    assert.throws(() => policy.check(over), isRange);
    assert.throws(() => policy.evaluate(over), isRange);
    assert.throws(() => policy.enforce(over), isRange);
    await assert.rejects(policy.checkAsync(over), isRange);
    assert.equal(calls.length, before, "no callback ran for a refused name");
  }
  // The approval-gated and denied names near the limit still go through the flow.
  assert.equal(policy.check(`write_${"x".repeat(MIB - 6)}`).decision, "allow");
  assert.equal(policy.check(`drop_${"x".repeat(MIB - 5)}`).decision, "deny");
  assert.equal(policy.auditLog.length, 6);
});

test("a long name's memory is given back, and every policy still works afterwards", () => {
  // In a child process, to see the module's WebAssembly.Memory: the test
  // wraps WebAssembly.Instance before the package loads.
  const script = `
    let memory = null;
    const Instance = WebAssembly.Instance;
    WebAssembly.Instance = new Proxy(Instance, {
      construct(target, args) {
        const instance = Reflect.construct(target, args);
        memory = instance.exports.memory;
        return instance;
      },
    });
    const { Policy } = require("agentguard");
    const MIB = 1 << 20;
    const small = new Policy({ allow: ["read_*"], deny: ["drop_*"] });
    small.check("read_x");
    const quiet = new Policy({ allow: ["*"], audit: false });
    const kept = new Policy({ allow: ["*"] }, { auditCapacity: 1, onDecision: () => {} });
    const sizes = [];
    for (let round = 0; round < 40; round++) {
      // A different 1 MiB name each time (no cache can keep it), through
      // every path: pure, the flow with callbacks, an over-long name.
      const name = String.fromCharCode(97 + (round % 26)).repeat(MIB - 1) + (round % 10);
      if (quiet.check(name).decision !== "allow") throw new Error("quiet");
      if (kept.check(name).decision !== "allow") throw new Error("kept");
      if (kept.evaluate("é" + name.slice(2)).decision !== "allow") throw new Error("evaluate");
      try { kept.check(name + "xx"); throw new Error("no RangeError"); } catch (e) { if (!(e instanceof RangeError)) throw e; }
      sizes.push(memory.buffer.byteLength);
    }
    let huge = null;
    let hugeError = null;
    try {
      huge = "x".repeat(358_000_000);
    } catch (e) {
      huge = "x".repeat(2 * MIB); // the stand-in when this process cannot hold the big one
    }
    const t0 = Date.now();
    try { small.check(huge); } catch (e) { hugeError = { name: e.name, kind: e.kind, message: e.message }; }
    const hugeMs = Date.now() - t0;
    const after = [small.check("read_x").decision, small.check("drop_x").decision, quiet.check("x").decision,
      new Policy({ deny: ["a*"] }).check("ab").decision, kept.auditLog.length];
    console.log(JSON.stringify({ sizes, hugeLength: huge.length, hugeError, hugeMs, after, finalBytes: memory.buffer.byteLength }));
  `;
  const file = fileURLToPath(new URL("./memory-probe.cjs", import.meta.url));
  writeFileSync(file, script);
  const p = spawnSync(process.execPath, ["--max-old-space-size=4096", file], { encoding: "utf8" });
  assert.equal(p.status, 0, p.stderr);
  const out = JSON.parse(p.stdout);
  // Memory grows during the first rounds (the log keeps one entry of 1 MiB,
  // the allocator settles), then stays put: every round gave its memory back.
  const settled = out.sizes.slice(10);
  assert.ok(settled.every((s) => s === settled[0]), `wasm memory kept growing: ${out.sizes.join(", ")}`);
  assert.ok(settled[0] < 32 * MIB, `wasm memory ${settled[0]} bytes after 1 MiB names`);
  assert.deepEqual(out.hugeError, {
    name: "RangeError",
    kind: "too_long",
    message: LIMIT_MESSAGE(out.hugeLength),
  });
  assert.equal(out.finalBytes, settled[0], "the huge name was refused before anything was copied");
  assert.deepEqual(out.after, ["allow", "deny", "allow", "deny", 1]);
  console.log(`huge name: ${out.hugeLength} characters refused in ${out.hugeMs} ms; wasm memory ${settled[0]} bytes`);
});

test("after a 1 MiB name the scratch memory goes back to the allocator for other uses", () => {
  // Two fresh processes make the same ~1 MiB allocation (an audit entry with
  // a 1 MiB context); one checks a 1 MiB name first. If that name's buffer
  // were kept, the second would need about 1 MiB more wasm memory.
  const script = `
    let memory = null;
    const Instance = WebAssembly.Instance;
    WebAssembly.Instance = new Proxy(Instance, {
      construct(target, args) {
        const instance = Reflect.construct(target, args);
        memory = instance.exports.memory;
        return instance;
      },
    });
    const { Policy } = require("agentguard");
    const MIB = 1 << 20;
    const p = new Policy({ allow: ["*"], audit: false });
    p.check("warm");
    if (process.argv[2] === "long") p.check("y".repeat(MIB - 7));
    const q = new Policy({ allow: ["*"] }, { auditCapacity: 1 });
    q.check("x", { context: { s: "z".repeat(MIB - 100) } });
    console.log(memory.buffer.byteLength);
  `;
  const file = fileURLToPath(new URL("./scratch-probe.cjs", import.meta.url));
  writeFileSync(file, script);
  const bytes = (arg) => {
    const p = spawnSync(process.execPath, [file, arg], { encoding: "utf8" });
    assert.equal(p.status, 0, p.stderr);
    return Number(p.stdout);
  };
  const without = bytes("short");
  const after = bytes("long");
  assert.ok(after - without < MIB / 2, `${after - without} more bytes of wasm memory after a 1 MiB name`);
});
