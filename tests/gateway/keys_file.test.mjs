// A duplicate key anywhere in the keys file stops the gateway at startup
// with a message that says which key and where (a lenient reader would keep
// the last one silently: an entry or a field lost). A repeated API key is a
// secret, so it is located but never printed. (The place is where the
// repeat was read: the end of the repeated key.)

import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ROOT, runServerToExit, startServer, tempDir } from "./helpers.mjs";

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
    `gateway: keys file ${r.keysFile}: duplicate key "role" in keys entry 2 at line 4 column 74\n`,
  );
});

test("a repeated API key is located by entry and line, and never printed", async (t) => {
  const secret = "s3cret-admin-key-0042";
  const text = `{"keys": {\n "${secret}": {"role": "admin"},\n "other-key-0001": {"role": "agent", "agent": "ops-agent"},\n "${secret}": {"role": "agent", "agent": "ops-agent"}\n}}\n`;
  const r = await startWith(t, text);
  assert.equal(r.code, 1, r.stderr);
  assert.match(
    r.stderr,
    /keys file .*: duplicate key in "keys": entry 3 is the same API key as entry 1; the key itself is not printed at line 4 column 24\n$/,
  );
  assert.ok(!r.stderr.includes(secret), "the secret stays out of the log");
  assert.ok(!r.stderr.includes("s3cret"), "no part of it either");
});

test("a repeated top-level key, and repeats spelled with escapes", async (t) => {
  let r = await startWith(t, '{"keys": {}, "keys": {"test-admin-key-0001": {"role": "admin"}}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /duplicate key "keys" at the top level at line 1 column 19\n$/);
  // "\u0072ole" is "role": JSON.parse would keep the second, an admin.
  r = await startWith(t, '{"keys": {"test-agent-key-0001": {"role": "agent", "agent": "ops-agent", "\\u0072ole": "admin"}}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /duplicate key "role" in keys entry 1 at line 1 column 84\n$/);
});

test("a keys file that is not JSON still says why, before any duplicate check", async (t) => {
  const r = await startWith(t, '{"keys": {"a": 1,}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^gateway: keys file .*: .*JSON/);
});

test("duplicates are refused before other problems; a same value twice is still a duplicate", async (t) => {
  let r = await startWith(t, '{"keys": {"test-admin-key-0001": {"role": "admin", "role": "admin"}}, "extra": 1}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /duplicate key "role" in keys entry 1 at line 1/);
  r = await startWith(t, '{"keys": {"k-000000001": {"role": "admin"}, "k-000000001": {"role": "admin"}}}');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /entry 2 is the same API key as entry 1/);
});

test("the demo keys file starts a gateway", async (t) => {
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(ROOT, "examples/mesh/keys.json") });
  const { code } = await gw.stop();
  assert.equal(code, 0);
  assert.ok(readFileSync(join(ROOT, "examples/mesh/keys.json"), "utf8").includes("demo-admin-key"));
});
