// The agentguard-mesh CLI against a real gateway, as a user runs it (a
// child process with AGENTGUARD_API_KEY), and the README's gateway
// walkthrough, extracted from README.md and run step by step.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { ADMIN, CLI, ROOT, call, freshGateway, keyOf, startServer, tempDir } from "./helpers.mjs";

const run = promisify(execFile);

/** Runs the CLI; resolves to {code, stdout, stderr} whatever the exit code. */
async function cli(args, env) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    if (typeof e.code !== "number") throw e;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("policies set / get / delete, audit, send and inbox through the CLI", async (t) => {
  const gw = await freshGateway(t);
  const admin = { AGENTGUARD_API_KEY: ADMIN };
  const set = await cli(
    ["policies", "set", "analytics-agent", "--direction", "receive", "--mode", "allowlist", "--patterns", "intent.data.read.*, intent.data.query.*", "--url", gw.url],
    admin,
  );
  assert.equal(set.code, 0, set.stderr);
  const setBody = JSON.parse(set.stdout);
  assert.equal(setBody.ok, true);
  assert.deepEqual(setBody.patterns, ["intent.data.read.*", "intent.data.query.*"]);

  const get = await cli(["policies", "get", "analytics-agent", "--url", gw.url], admin);
  assert.equal(get.code, 0);
  assert.equal(JSON.parse(get.stdout).policies.receive.policy_id, setBody.policy_id);

  // AGENTGUARD_URL instead of --url; an agent's key sends.
  const env = { AGENTGUARD_URL: gw.url, AGENTGUARD_API_KEY: keyOf("ops-agent") };
  const blocked = await cli(["send", "--to", "agent://myorg/production/analytics-agent", "--type", "intent.data.delete.v1", "--payload", '{"table":"customers"}'], env);
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /^403 action_policy_violation: Intent type 'intent.data.delete.v1' not in receive allowlist/);
  const sent = await cli(["send", "--to", "analytics-agent", "--type", "intent.data.read.v1"], env);
  assert.equal(sent.code, 0, sent.stderr);
  const inbox = await cli(["inbox"], { ...env, AGENTGUARD_API_KEY: keyOf("analytics-agent") });
  assert.deepEqual(JSON.parse(inbox.stdout).intents.map((i) => i.intent_id), [JSON.parse(sent.stdout).intent_id]);

  const audit = await cli(["audit", "--decision", "blocked", "--url", gw.url], admin);
  assert.deepEqual(JSON.parse(audit.stdout).records.map((r) => r.intent_type), ["intent.data.delete.v1"]);

  // An agent cannot widen its own policy through the CLI either.
  const widen = await cli(["policies", "set", "analytics-agent", "--direction", "receive", "--mode", "open", "--url", gw.url], { AGENTGUARD_API_KEY: keyOf("analytics-agent") });
  assert.equal(widen.code, 1);
  assert.match(widen.stderr, /^403 forbidden: only admin keys can manage action policies/);

  const del = await cli(["policies", "delete", "analytics-agent", "--direction", "receive", "--url", gw.url], admin);
  assert.equal(del.code, 0);
  assert.equal(JSON.parse(del.stdout).removed_policy_id, setBody.policy_id);
  const after = await call(gw.url, "GET", "/v1/mesh/agents/analytics-agent/policies/action", { key: ADMIN });
  assert.equal(after.body.policies.receive.mode, "open");
});

test("CLI usage errors exit 2 with a message; an unreachable gateway exits 1", async () => {
  const cases = [
    [["policies", "set", "a", "--mode", "allowlist"], { AGENTGUARD_API_KEY: "k" }, /--direction is required/],
    [["policies", "frobnicate", "a"], { AGENTGUARD_API_KEY: "k" }, /policies takes set, get or delete/],
    [["policies", "get", "a"], {}, /set AGENTGUARD_API_KEY/],
    [["nonsense"], { AGENTGUARD_API_KEY: "k" }, /unknown command "nonsense"/],
    [["send", "--to", "a", "--type", "t", "--payload", "{"], { AGENTGUARD_API_KEY: "k" }, /--payload is not valid JSON/],
    [["policies", "get", "a", "--bogus"], { AGENTGUARD_API_KEY: "k" }, /Unknown option '--bogus'/],
    [[], {}, /usage:/],
  ];
  for (const [args, env, message] of cases) {
    const r = await cli(args, env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const help = await cli(["--help"], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /agentguard-mesh policies set AGENT/);
  const down = await cli(["policies", "get", "a", "--url", "http://127.0.0.1:9"], { AGENTGUARD_API_KEY: "k" });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:9/);
});

/** The shell commands of the README's gateway section, in order. */
function readmeCommands() {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /<!-- BEGIN gateway -->([\s\S]*?)<!-- END gateway -->/.exec(readme)?.[1];
  assert.ok(section, "README.md has a gateway section");
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const lines = blocks.join("\n").replace(/\\\n\s*/g, "").split("\n");
  return lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

test("the README walkthrough runs as written", async (t) => {
  const commands = readmeCommands();
  assert.ok(commands.length >= 5, `found ${commands.length} commands`);
  // `make gateway` starts the demo; here the same server, on a free port.
  assert.equal(commands[0], "make gateway");
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(ROOT, "examples/gateway/demo/keys.json") });
  t.after(() => gw.stop());
  let env = { AGENTGUARD_URL: gw.url };
  const outputs = [];
  for (const command of commands.slice(1)) {
    const exportMatch = /^export (\w+)=(\S+)$/.exec(command);
    if (exportMatch) {
      let [, name, value] = exportMatch;
      if (name === "AGENTGUARD_URL") {
        // make gateway listens on 8787; this server is on a free port.
        assert.equal(value, "http://127.0.0.1:8787");
        value = gw.url;
      }
      env = { ...env, [name]: value };
      continue;
    }
    const m = /^node examples\/gateway\/cli\.mjs (.*)$/.exec(command);
    assert.ok(m, `unexpected README command: ${command}`);
    const args = [...m[1].matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((x) => x[1] ?? x[2] ?? x[3]);
    const r = await cli(args, env);
    outputs.push({ command, ...r });
  }
  const [set, get, ...rest] = outputs;
  assert.equal(set.code, 0, set.stderr);
  assert.equal(JSON.parse(set.stdout).mode, "allowlist");
  assert.equal(get.code, 0);
  const blocked = rest.find((o) => o.command.includes("intent.data.delete.v1"));
  assert.ok(blocked, "the README sends a blocked intent");
  assert.equal(blocked.code, 1);
  assert.match(blocked.stderr, /403 action_policy_violation: Intent type 'intent\.data\.delete\.v1' not in receive allowlist/);
  const violations = await call(gw.url, "GET", "/v1/mesh/audit?decision=blocked", { key: "demo-admin-key" });
  assert.equal(violations.body.records.length, 1, "the violation is on the dashboard's feed");
});

test("the README's JavaScript example prints what its comment says", async (t) => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /<!-- BEGIN gateway -->([\s\S]*?)<!-- END gateway -->/.exec(readme)[1];
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "the gateway section has a js example");
  const expected = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  assert.equal(expected.length, 1);
  const dir = tempDir(t);
  const { mkdirSync, symlinkSync, writeFileSync } = await import("node:fs");
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(join(ROOT, "examples/gateway/node_modules/agentguard"), join(dir, "node_modules/agentguard"));
  writeFileSync(join(dir, "example.mjs"), code);
  const { stdout } = await run(process.execPath, [join(dir, "example.mjs")], { cwd: dir });
  assert.deepEqual(stdout.trim().split("\n"), expected);
});
