// A duplicate key anywhere in the keys file stops the gateway at startup
// with a message that says which key and where (JSON.parse alone would keep
// the last one silently: an entry or a field lost). A repeated API key is a
// secret, so it is located but never printed.

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { GATEWAY, runServerToExit, startServer, tempDir } from "./helpers.mjs";

const { loadKeys } = await import(join(GATEWAY, "server.mjs"));

/** Starts the real gateway on `text` as its keys file; resolves to how it ended. */
async function startWith(t, text) {
  const dir = tempDir(t);
  const keysFile = join(dir, "keys.json");
  writeFileSync(keysFile, text);
  const r = await runServerToExit({ dataDir: join(dir, "data"), keysFile, timeoutMs: 10_000 });
  return { ...r, keysFile };
}

test("a repeated field in an entry: exit 1, the key, the entry, line and column on stderr", async (t) => {
  const text = `{
  "keys": {
    "test-admin-key-0001": { "role": "admin" },
    "test-agent-key-0001": { "role": "admin", "agent": "ops-agent", "role": "agent" }
  }
}
`;
  const r = await startWith(t, text);
  assert.equal(r.signal, null);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "", "it never listened");
  assert.equal(
    r.stderr,
    `gateway: keys file ${r.keysFile}: duplicate key "role" in keys entry 2 (line 4, column 69; first at line 4, column 30)\n`,
  );
});

test("a repeated API key is located by entry and line, and never printed", async (t) => {
  const secret = "s3cret-admin-key-0042";
  const text = `{"keys": {\n "${secret}": {"role": "admin"},\n "other-key-0001": {"role": "agent", "agent": "ops-agent"},\n "${secret}": {"role": "agent", "agent": "ops-agent"}\n}}\n`;
  const r = await startWith(t, text);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /keys file .*: duplicate key in "keys": entry 3 \(line 4, column 2\) is the same API key as entry 1 \(line 2, column 2\); the key itself is not printed\n$/,
  );
  assert.ok(!r.stderr.includes(secret), "the secret stays out of the log");
  assert.ok(!r.stderr.includes("s3cret"), "no part of it either");
});

test("a repeated top-level key, and repeats spelled with escapes", async (t) => {
  let r = await startWith(t, '{"keys": {}, "keys": {"test-admin-key-0001": {"role": "admin"}}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /duplicate key "keys" at the top level \(line 1, column 14; first at line 1, column 2\)\n$/);
  // "\u0072ole" is "role": JSON.parse would keep the second, an admin.
  r = await startWith(t, '{"keys": {"test-agent-key-0001": {"role": "agent", "agent": "ops-agent", "\\u0072ole": "admin"}}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /duplicate key "role" in keys entry 1 \(line 1, column 74; first at line 1, column 35\)\n$/);
});

test("a keys file that is not JSON still says why, before any duplicate check", async (t) => {
  const r = await startWith(t, '{"keys": {"a": 1,}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^gateway: keys file .*: .*JSON/);
});

test("loadKeys: duplicates are refused in any order of the checks; good files load", (t) => {
  const dir = tempDir(t);
  const write = (name, text) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  // The duplicate is reported even where the rest is also wrong (an unknown key after it).
  assert.throws(
    () => loadKeys(write("a.json", '{"keys": {"test-admin-key-0001": {"role": "admin", "role": "admin"}}, "extra": 1}')),
    /^Error: keys file .*a\.json: duplicate key "role" in keys entry 1 \(line 1, column 52; first at line 1, column 35\)$/,
  );
  // A same value twice is still a duplicate: the file says something twice, one of which nobody reads.
  assert.throws(() => loadKeys(write("b.json", '{"keys": {"k-000000001": {"role": "admin"}, "k-000000001": {"role": "admin"}}}')), /entry 2 .* same API key as entry 1/);
  const demo = loadKeys(join(GATEWAY, "demo", "keys.json"));
  assert.equal(demo.size, 4);
  assert.deepEqual([...demo.values()].map((v) => v.role).sort(), ["admin", "agent", "agent", "agent"]);
  const keys = loadKeys(write("c.json", JSON.stringify({ keys: { "k-000000001": { role: "admin" }, "k-000000002": { role: "agent", agent: "ops-agent" } } })));
  assert.equal(keys.size, 2);
});

test("the demo keys file starts a gateway", async (t) => {
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(GATEWAY, "demo", "keys.json") });
  const { code } = await gw.stop();
  assert.equal(code, 0);
  assert.ok(readFileSync(join(GATEWAY, "demo", "keys.json"), "utf8").includes("demo-admin-key"));
});
