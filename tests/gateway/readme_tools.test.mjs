// The README's "Tool calls over HTTP, with a person in the loop"
// walkthrough, run as written: its shell lines (curl and the agentguard
// command) against a gateway with the demo keys, the approval id of the
// waiting call put where the README writes `apr_…`, and each answer checked
// against what the README says.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { BIN, ROOT, startServer, tempDir } from "./helpers.mjs";

const run = promisify(execFile);

function section(name = "gateway-tools") {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const s = new RegExp(`<!-- BEGIN ${name} -->([\\s\\S]*?)<!-- END ${name} -->`).exec(readme)?.[1];
  assert.ok(s, `README.md has a ${name} section`);
  return s;
}

/** The shell lines of the section, in order. */
function commands(text) {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .join("\n")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** Splits a command line as sh does for the quoting the README uses. */
function words(line) {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((x) => x[1] ?? x[2] ?? x[3]);
}

test("the README's tool-call walkthrough runs as written and answers what it says", { timeout: 120_000 }, async (t) => {
  const text = section();
  const lines = commands(text);
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(ROOT, "examples/mesh/keys.json") });
  t.after(() => gw.stop());
  let env = { PATH: `${dirname(BIN)}:${process.env.PATH}`, HOME: process.env.HOME ?? dir };
  let approval = null;
  const outputs = [];
  for (const line of lines) {
    const exp = /^export (\w+)=(.+)$/.exec(line);
    if (exp) {
      env = { ...env, [exp[1]]: words(exp[2]).join("").replaceAll("http://127.0.0.1:8787", gw.url) };
      continue;
    }
    const argv = words(line).map((w) =>
      w
        .replaceAll("$AGENTGUARD_URL", env.AGENTGUARD_URL ?? "")
        .replaceAll("apr_…", approval ?? "apr_missing"),
    );
    const [program, ...args] = argv;
    assert.ok(["curl", "agentguard"].includes(program), `unexpected README command: ${line}`);
    const r = await run(program, args, { cwd: ROOT, env, timeout: 30_000 }).catch((e) => ({ stdout: e.stdout, stderr: e.stderr, code: e.code }));
    outputs.push({ line, stdout: r.stdout, stderr: r.stderr, code: r.code ?? 0 });
    if (program === "curl") {
      const body = JSON.parse(r.stdout);
      if (body.approval?.status === "pending") approval = body.approval.id;
    }
  }
  assert.equal(outputs.length, 7, outputs.map((o) => o.line).join("\n"));
  const [put, drop, small, large, list, grant, again] = outputs;
  assert.equal(JSON.parse(put.stdout).version, 1);
  assert.equal(JSON.parse(drop.stdout).decision, "deny");
  assert.equal(JSON.parse(small.stdout).decision, "allow");
  // The waiting call, exactly as the README shows it (id and time aside).
  const shown = /```json\n(\{"tool":"refund","decision":"require_approval"[\s\S]*?)\n```/.exec(text)?.[1];
  assert.ok(shown, "the README shows the waiting answer");
  const got = JSON.parse(large.stdout);
  assert.match(got.approval.id, /^apr_[0-9a-f]{24}$/);
  assert.equal(
    shown.replace('"apr_…"', JSON.stringify(got.approval.id)).replace('"expires_at":…', `"expires_at":${got.approval.expires_at}`),
    large.stdout.trim(),
  );
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).approvals.map((a) => a.id), [got.approval.id]);
  assert.equal(grant.code, 0, grant.stderr);
  assert.equal(JSON.parse(grant.stdout).approval.status, "granted");
  const allowed = JSON.parse(again.stdout);
  assert.equal(allowed.decision, "allow");
  assert.equal(allowed.approval.status, "used");
  assert.equal(allowed.approval.decided_by, "demo approver");
  // "the same id a second time is 409 approval_used"
  const twice = await run("curl", ["-s", "-w", "\n%{http_code}", ...words(again.line).slice(2).map((w) => w.replaceAll("$AGENTGUARD_URL", gw.url).replaceAll("apr_…", got.approval.id))], { env, timeout: 30_000 });
  const [body, status] = twice.stdout.trim().split("\n");
  assert.equal(status, "409");
  assert.equal(JSON.parse(body).error, "approval_used");
});

test("the README's gateway quickstart runs as written and prints what it shows", { timeout: 120_000 }, async (t) => {
  const text = section("gateway-quickstart");
  const lines = commands(text);
  // `make gateway`: the same server with the demo keys, on a free port.
  assert.match(lines[0], /^make gateway\b/);
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(ROOT, "examples/mesh/keys.json") });
  t.after(() => gw.stop());
  let last = null;
  for (const line of lines.slice(1)) {
    const [program, ...args] = words(line).map((w) => w.replaceAll("http://127.0.0.1:8787", gw.url));
    assert.equal(program, "curl", `unexpected README command: ${line}`);
    last = await run(program, args, { cwd: ROOT, timeout: 30_000 });
  }
  assert.equal(lines.length, 3, lines.join("\n"));
  const shown = /```json\n([\s\S]*?)\n```/.exec(text)?.[1];
  assert.ok(shown, "the quickstart shows the answer");
  assert.equal(last.stdout.trimEnd(), shown);
  // The policy was set by the first curl (its answer sent to /dev/null).
  const policy = await fetch(`${gw.url}/v1/agents/ops-agent/policies/tools`, { headers: { "x-api-key": "demo-admin-key" } });
  assert.equal((await policy.json()).version, 1);
});
