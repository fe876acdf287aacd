// `agentguard mesh` as a user runs it: the built binary found on PATH, with
// AGENTGUARD_API_KEY; and the README's gateway walkthrough, extracted from
// README.md and run step by step, with the dashboard it points to open in
// Chromium.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

import { launch, watchedPage } from "../browser/chromium.mjs";
import { ADMIN, BIN, ROOT, call, freshGateway, keyOf, startServer, tempDir } from "./helpers.mjs";

const run = promisify(execFile);

/**
 * Runs `agentguard mesh ARGS`, the binary found through PATH as a shell
 * finds it; resolves to {code, stdout, stderr} whatever the exit code.
 */
async function cli(args, env) {
  assert.ok(existsSync(BIN), `${BIN} is missing: run make build-cli`);
  const PATH = env.PATH ?? `${dirname(BIN)}${delimiter}${process.env.PATH}`;
  try {
    const { stdout, stderr } = await run("agentguard", ["mesh", ...args], { env: { ...env, PATH }, timeout: 20_000 });
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
  const reader = { ...env, AGENTGUARD_API_KEY: keyOf("analytics-agent") };
  const inbox = await cli(["inbox"], reader);
  const sentId = JSON.parse(sent.stdout).intent_id;
  assert.deepEqual(JSON.parse(inbox.stdout).intents.map((i) => i.intent_id), [sentId]);
  // Taken but not acknowledged: leased, so not handed out again yet.
  assert.deepEqual(JSON.parse((await cli(["inbox"], reader)).stdout).intents, []);
  const acked = await cli(["ack", sentId, "int_000000000000000000000000"], reader);
  assert.equal(acked.code, 0, acked.stderr);
  assert.deepEqual(JSON.parse(acked.stdout), { ok: true, acked: 1, unknown: ["int_000000000000000000000000"] });
  // inbox --ack takes and acknowledges in one step.
  const again = await cli(["send", "--to", "analytics-agent", "--type", "intent.data.query.v1"], env);
  const taken = await cli(["inbox", "--ack"], reader);
  assert.deepEqual(JSON.parse(taken.stdout).intents.map((i) => i.intent_id), [JSON.parse(again.stdout).intent_id]);
  const left = await call(gw.url, "GET", "/v1/mesh/agents", { key: ADMIN });
  assert.equal(left.body.agents.find((a) => a.agent === "analytics-agent").counts.queued, 0);

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
    [["policies", "set", "a", "--mode", "allowlist"], { AGENTGUARD_API_KEY: "k" }, /required arguments were not provided:\s+--direction/],
    [["policies", "set", "a", "--direction", "up", "--mode", "allowlist"], { AGENTGUARD_API_KEY: "k" }, /invalid value 'up' for '--direction <DIRECTION>'/],
    [["policies", "frobnicate", "a"], { AGENTGUARD_API_KEY: "k" }, /unrecognized subcommand 'frobnicate'/],
    [["policies", "get", "a"], {}, /set AGENTGUARD_API_KEY/],
    [["nonsense"], { AGENTGUARD_API_KEY: "k" }, /unrecognized subcommand 'nonsense'/],
    [["send", "--to", "a", "--type", "t", "--payload", "{"], { AGENTGUARD_API_KEY: "k" }, /--payload is not valid JSON/],
    [["policies", "get", "a", "--bogus"], { AGENTGUARD_API_KEY: "k" }, /unexpected argument '--bogus'/],
    [["ack"], { AGENTGUARD_API_KEY: "k" }, /required arguments were not provided/],
    [[], {}, /Usage: agentguard mesh/],
  ];
  for (const [args, env, message] of cases) {
    const r = await cli(args, env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const help = await cli(["--help"], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: agentguard mesh \[OPTIONS\] <COMMAND>/);
  assert.match(help.stdout, /AGENTGUARD_API_KEY/);
  const down = await cli(["policies", "get", "a", "--url", "http://127.0.0.1:9"], { AGENTGUARD_API_KEY: "k" });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the gateway at http:\/\/127\.0\.0\.1:9: .*refused/i);
});

/** The gateway section of README.md. */
function readmeSection() {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = /<!-- BEGIN gateway -->([\s\S]*?)<!-- END gateway -->/.exec(readme)?.[1];
  assert.ok(section, "README.md has a gateway section");
  return section;
}

/** The shell commands of the README's gateway section, in order. */
function readmeCommands() {
  const blocks = [...readmeSection().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  const lines = blocks.join("\n").replace(/\\\n\s*/g, "").split("\n");
  return lines.map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

/** Splits a command line as sh does for the quoting the README uses. */
function words(line) {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((x) => x[1] ?? x[2] ?? x[3]);
}

test("the README walkthrough runs as written, and the violation appears on its dashboard", { timeout: 120_000 }, async (t) => {
  const commands = readmeCommands();
  // `make gateway` starts the demo on 8787; here the same server and demo
  // keys on a free port, and every 8787 in the README points to it.
  assert.equal(commands[0], "make gateway");
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: join(ROOT, "examples/mesh/keys.json") });
  t.after(() => gw.stop());
  const here = (text) => text.replaceAll("http://127.0.0.1:8787", gw.url);

  // The dashboard, opened from the README's link before anything happens.
  const link = /<(http:\/\/127\.0\.0\.1:8787\/dashboard#key=[^>]+)>/.exec(readmeSection())?.[1];
  assert.ok(link, "the README links the dashboard with the demo admin key");
  const browser = await launch();
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);
  await page.goto(here(link));
  await page.locator('#agents tr[data-agent="analytics-agent"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("#violations tbody tr[data-audit-id]").count(), 0);

  // A shell's environment: no AGENTGUARD_* and no agentguard on PATH
  // until the README's own steps put them there.
  const shellPath = process.env.PATH.split(delimiter)
    .filter((d) => !existsSync(join(d, "agentguard")))
    .join(delimiter);
  let env = { PATH: shellPath, HOME: process.env.HOME ?? dir };
  const outputs = [];
  for (const command of commands.slice(1)) {
    const exportMatch = /^export (\w+)=(.+)$/.exec(command);
    if (exportMatch) {
      const [, name, raw] = exportMatch;
      const value = here(words(raw).join(""))
        .replaceAll("$PWD", ROOT.replace(/\/$/, ""))
        .replaceAll("$PATH", env.PATH);
      env = { ...env, [name]: value };
      continue;
    }
    const [program, ...args] = words(command);
    if (program === "make") {
      // Literally, at the repository root (without an outer make's flags).
      const { MAKEFLAGS, MAKELEVEL, MFLAGS, ...outer } = process.env;
      const r = await run("make", args, { cwd: ROOT, env: outer, timeout: 120_000 });
      outputs.push({ command, code: 0, stdout: r.stdout, stderr: r.stderr });
      continue;
    }
    assert.deepEqual([program, args[0]], ["agentguard", "mesh"], `unexpected README command: ${command}`);
    outputs.push({ command, ...(await cli(args.slice(1), env)) });
  }
  assert.deepEqual(
    outputs.map((o) => words(o.command).slice(0, 4).join(" ")),
    ["make build-cli", "agentguard mesh policies set", "agentguard mesh policies get", "agentguard mesh send --to", "agentguard mesh send --to"],
  );
  const [, set, get, blocked, read] = outputs;
  assert.equal(set.code, 0, set.stderr);
  assert.equal(JSON.parse(set.stdout).mode, "allowlist");
  assert.equal(get.code, 0);
  assert.deepEqual(JSON.parse(get.stdout).policies.receive.patterns, ["intent.data.read.*", "intent.data.query.*"]);
  assert.match(blocked.command, /intent\.data\.delete\.v1/);
  assert.equal(blocked.code, 1);
  // The README shows the refusal exactly as the command prints it.
  const shown = /```text\n(403 action_policy_violation[\s\S]*?)```/.exec(readmeSection())?.[1];
  assert.equal(`${blocked.stderr}${blocked.stdout}`, shown);
  assert.equal(read.code, 0, read.stderr);
  assert.match(JSON.parse(read.stdout).intent_id, /^int_[0-9a-f]{24}$/);

  // ...and the violation appears on the open dashboard without a reload.
  await page.waitForFunction(() => document.querySelectorAll("#violations tbody tr[data-audit-id]").length === 1, null, {
    timeout: 10_000,
  });
  assert.equal(
    await page.locator("#violations tbody tr[data-audit-id] td.message").textContent(),
    "Intent type 'intent.data.delete.v1' not in receive allowlist",
  );
  assert.deepEqual(problems, []);
});
