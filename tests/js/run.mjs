#!/usr/bin/env node
// `make test-npm`: installs the packed tarball into fresh ESM and CommonJS
// projects under target/npm-test/ and runs there, as a user would:
//   - node's test runner over tests/js/esm/*.test.mjs and tests/js/cjs/*.test.cjs
//     (API, bad input, the vectors in tests/vectors/, the differential corpus);
//   - the framework adapters against the real frameworks (tests/js/adapters/,
//     examples/adapters/);
//   - the examples of the package README;
//   - tsc --noEmit over index.d.ts and the type tests in tests/js/types/.
//
//   node tests/js/run.mjs --tarball target/npm/agentguard-X.tgz --corpus target/corpus

import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const { values: args } = parseArgs({
  options: {
    tarball: { type: "string" },
    corpus: { type: "string", default: join(root, "target/corpus") },
    work: { type: "string", default: join(root, "target/npm-test") },
  },
});
if (!args.tarball || !existsSync(args.tarball)) {
  console.error(`no tarball at ${args.tarball}: run \`make pack\``);
  process.exit(2);
}
const tarball = resolve(args.tarball);
// Every node test, and every script run here, within this (a hang fails the
// suite in minutes; mk/npm.mk also bounds the whole run).
const TIMEOUT_MS = Number(process.env.NODE_TEST_TIMEOUT_MS ?? 120_000);
const env = {
  ...process.env,
  AGENTGUARD_VECTORS: join(root, "tests/vectors"),
  AGENTGUARD_CORPUS: resolve(args.corpus),
  // Remote mode (GatewayClient): the tests start the real gateway through
  // this module of the repository (AGENTGUARD_BIN: the agentguard command,
  // target/cli/release/agentguard unless given).
  AGENTGUARD_JS_GATEWAY: join(here, "gateway.mjs"),
};

/** Runs a command; `timeout` (ms) bounds it unless 0 (a test runner bounds each test itself). */
function run(cmd, argv, cwd, timeout = TIMEOUT_MS) {
  const p = spawnSync(cmd, argv, { cwd, env, stdio: "inherit", timeout: timeout || undefined, killSignal: "SIGKILL" });
  if (p.error?.code === "ETIMEDOUT") {
    console.log(`FAILED: ${cmd} ${argv.join(" ")} timed out after ${timeout} ms`);
    return 1;
  }
  if (p.error) throw p.error;
  return p.status;
}

function project(name, type) {
  const dir = join(args.work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    `${JSON.stringify({ name: `agentguard-test-${name}`, private: true, type }, null, 2)}\n`,
  );
  // The tarball has no dependencies: nothing is fetched.
  const status = run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", "--silent", tarball],
    dir,
  );
  if (status !== 0) throw new Error(`npm install of ${tarball} into ${dir} failed`);
  return dir;
}

/**
 * Runs a command without blocking this process (its children keep being
 * read), within TIMEOUT_MS; resolves to `{status, stdout}`, the output also
 * shown.
 */
function runAsync(cmd, argv, cwd, extraEnv) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { cwd, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      process.stdout.write(d);
    });
    const timer = setTimeout(() => {
      console.log(`FAILED: ${cmd} ${argv.join(" ")} timed out after ${TIMEOUT_MS} ms`);
      child.kill("SIGKILL");
    }, TIMEOUT_MS);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    });
  });
}

const totals = { pass: 0, fail: 0 };

function nodeTests(dir, files) {
  const tap = join(dir, "results.tap");
  const status = run(
    process.execPath,
    [
      "--test",
      `--test-timeout=${TIMEOUT_MS}`,
      "--test-reporter=spec",
      "--test-reporter-destination=stdout",
      "--test-reporter=tap",
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    dir,
    0,
  );
  const text = existsSync(tap) ? readFileSync(tap, "utf8") : "";
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  totals.pass += count("pass");
  // A test stopped by --test-timeout counts as cancelled, not failed.
  const failed = count("fail") + count("cancelled");
  totals.fail += failed + (status === 0 || failed > 0 ? 0 : 1);
}

function step(what, ok) {
  console.log(`${ok ? "ok" : "FAILED"}: ${what}`);
  if (ok) totals.pass++;
  else totals.fail++;
}

// ESM project: the API, bad input, conformance, interop.
const esm = project("esm", "module");
cpSync(join(here, "esm"), join(esm, "test"), { recursive: true });
nodeTests(
  esm,
  readdirSync(join(esm, "test"))
    .filter((f) => f.endsWith(".test.mjs"))
    .map((f) => join("test", f)),
);

// CommonJS project.
const cjs = project("cjs", "commonjs");
cpSync(join(here, "cjs"), join(cjs, "test"), { recursive: true });
nodeTests(
  cjs,
  readdirSync(join(cjs, "test"))
    .filter((f) => f.endsWith(".test.cjs"))
    .map((f) => join("test", f)),
);

// The package README's examples, each run as its own ES module.
const jsBlocks = (text) => [...text.matchAll(/```(?:js|javascript|mjs)\n([\s\S]*?)```/g)].map((m) => m[1]);
const readme = readFileSync(join(esm, "node_modules/agentguard/README.md"), "utf8");
// ... and those of the node section of the project README.
const rootReadme = readFileSync(join(root, "README.md"), "utf8");
const nodeSection = rootReadme.slice(rootReadme.indexOf("<!-- BEGIN node -->"), rootReadme.indexOf("<!-- END node -->"));
const blocks = [...jsBlocks(readme), ...jsBlocks(nodeSection)];
mkdirSync(join(esm, "readme"), { recursive: true });
// Each block runs as written and prints exactly what it shows: a
// `console.log(...); // TEXT` line prints TEXT, and the block prints those
// lines in order, nothing else.
const shown = (code) => [...code.matchAll(/^\s*console\.log\(.*\);\s*\/\/ (.*)$/gm)].map((m) => m[1]).join("\n");
blocks.forEach((code, i) => {
  const file = join(esm, "readme", `example-${i + 1}.mjs`);
  writeFileSync(file, code);
  const p = spawnSync(process.execPath, [file], { cwd: esm, env, encoding: "utf8", timeout: TIMEOUT_MS || undefined, killSignal: "SIGKILL" });
  const ok = p.status === 0 && p.stdout.trimEnd() === shown(code);
  if (!ok) console.log(`README example ${i + 1} (${file}):\n--- printed (status ${p.status}):\n${p.stdout}${p.stderr}\n--- shown:\n${shown(code)}`);
  step(`README example ${i + 1} prints what it shows`, ok);
});
// No REPL-style `// =>` claims are left: every claim is printed and compared.
step("READMEs' examples print their claims (no `// =>` left)", blocks.every((code) => !/\/\/ =>/.test(code)));
step(`READMEs have examples (${blocks.length})`, blocks.length >= 7);

// The Node demo (examples/node-agent), against the installed package.
{
  const demo = join(esm, "demo");
  mkdirSync(demo, { recursive: true });
  for (const f of ["agent.mjs", "policy.json"]) cpSync(join(root, "examples/node-agent", f), join(demo, f));
  const auto = spawnSync(process.execPath, [join(demo, "agent.mjs")], { cwd: esm, env, encoding: "utf8", timeout: TIMEOUT_MS });
  step(
    "demo: the agent is stopped before drop_table, the audit trail prints",
    auto.status === 0 &&
      auto.stdout.includes("x  Tool 'drop_table' denied: denied by pattern: drop_*") &&
      auto.stdout.includes("approved via callback (pattern: write_database)") &&
      auto.stdout.includes("approval denied via callback (pattern: create_index)") &&
      /audit trail:[\s\S]*deny +drop_table/.test(auto.stdout),
  );
  const asked = spawnSync(process.execPath, [join(demo, "agent.mjs"), "--interactive", "--json"], {
    cwd: esm,
    env,
    encoding: "utf8",
    input: "n\ny\n",
    timeout: TIMEOUT_MS,
  });
  const entries = asked.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  const byTool = Object.fromEntries(entries.map((e) => [e.tool, e]));
  step(
    "demo --interactive: the terminal's answers decide (n, then y)",
    asked.status === 0 &&
      byTool.write_database?.reason === "approval denied via callback (pattern: write_database)" &&
      byTool.create_index?.reason === "approved via callback (pattern: create_index)" &&
      byTool.drop_table?.decision === "deny",
  );
}

// Types: index.d.ts under strict settings, from ESM and CommonJS.
const tsc = join(root, "node_modules/typescript/bin/tsc");
const tsconfig = (files) =>
  JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: "nodenext",
        moduleResolution: "nodenext",
        target: "es2022",
        lib: ["es2022"],
        types: [],
        skipLibCheck: false,
        noUnusedLocals: false,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
      },
      files,
    },
    null,
    2,
  );
cpSync(join(here, "types/esm.test.ts"), join(esm, "types.test.ts"));
writeFileSync(join(esm, "tsconfig.json"), tsconfig(["types.test.ts"]));
step("tsc --noEmit (ESM, nodenext)", run(process.execPath, [tsc, "-p", "tsconfig.json"], esm) === 0);
cpSync(join(here, "types/cjs.test.cts"), join(cjs, "types.test.cts"));
writeFileSync(join(cjs, "tsconfig.json"), tsconfig(["types.test.cts"]));
step("tsc --noEmit (CommonJS, nodenext)", run(process.execPath, [tsc, "-p", "tsconfig.json"], cjs) === 0);

// A project outside the repository (no node_modules above it holds a
// framework): the main entry and every adapter entry load and work with no
// framework installed.
{
  const bare = mkdtempSync(join(tmpdir(), "agentguard-bare-"));
  try {
    writeFileSync(join(bare, "package.json"), `${JSON.stringify({ name: "agentguard-test-bare", private: true, type: "module" })}\n`);
    if (run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", "--silent", tarball], bare) !== 0) {
      throw new Error(`npm install of ${tarball} into ${bare} failed`);
    }
    cpSync(join(here, "bare"), join(bare, "test"), { recursive: true });
    nodeTests(
      bare,
      readdirSync(join(bare, "test"))
        .filter((f) => f.endsWith(".test.mjs"))
        .map((f) => join("test", f)),
    );
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
}

// The framework adapters (agentguard/ai-sdk, agentguard/mcp, ...): a project
// with the tarball and the frameworks pinned in the root dev dependencies,
// linked from the root node_modules (so nothing is fetched), running
// tests/js/adapters/*.test.mjs and the examples of examples/adapters/.
{
  const adapters = project("adapters", "module");
  const frameworks = ["ai", "@modelcontextprotocol/sdk", "@openai/agents", "@langchain/core", "@langchain/langgraph", "langchain", "zod"];
  for (const name of frameworks) {
    const from = join(root, "node_modules", name);
    if (!existsSync(from)) continue;
    mkdirSync(dirname(join(adapters, "node_modules", name)), { recursive: true });
    symlinkSync(from, join(adapters, "node_modules", name), "dir");
  }
  cpSync(join(here, "adapters"), join(adapters, "test"), { recursive: true });
  nodeTests(
    adapters,
    readdirSync(join(adapters, "test"))
      .filter((f) => f.endsWith(".test.mjs"))
      .map((f) => join("test", f)),
  );
  const examples = join(root, "examples/adapters");
  mkdirSync(join(adapters, "examples"), { recursive: true });
  // examples/adapters/gateway.mjs (remote decisions) talks to a running
  // gateway: one for it, with the keys it reads from the environment.
  const { startGateway, ADMIN, APPROVER, keyOf } = await import("./gateway.mjs");
  let gateway = null;
  try {
    gateway = await startGateway(["support-bot"]);
  } catch (e) {
    console.log(`FAILED: a gateway for examples/adapters/gateway.mjs: ${e.message}`);
  }
  const remoteEnv = gateway && {
    AGENTGUARD_URL: gateway.url,
    AGENTGUARD_ADMIN_KEY: ADMIN,
    AGENTGUARD_APPROVER_KEY: APPROVER,
    AGENTGUARD_KEY: keyOf("support-bot"),
  };
  try {
    for (const f of readdirSync(examples).filter((f) => f.endsWith(".mjs"))) {
      cpSync(join(examples, f), join(adapters, "examples", f));
      if (f === "gateway.mjs") {
        // Run as written (asynchronously: the gateway's output is read
        // meanwhile), and what it prints checked: the denied call never
        // ran, the approval-gated one ran once a person granted it.
        const p = remoteEnv ? await runAsync(process.execPath, [join(adapters, "examples", f)], adapters, remoteEnv) : null;
        step(
          `examples/adapters/${f} (against a running gateway)`,
          p !== null &&
            p.status === 0 &&
            p.stdout.includes("delete_repo -> Tool 'delete_repo' denied: denied by pattern: delete_*") &&
            p.stdout.includes("send_email -> sent to ann@example.com") &&
            p.stdout.includes("allow send_email: approved via callback (pattern: send_email)"),
        );
      } else step(`examples/adapters/${f}`, run(process.execPath, [join(adapters, "examples", f)], adapters) === 0);
      // The package README shows each example as written (a ```js block whose
      // info string names the file, so the README runner above skips it).
      const shown = new RegExp(`\`\`\`js example=examples/adapters/${f.replace(".", "\\.")}\n([\\s\\S]*?)\`\`\``).exec(readme);
      step(`README shows examples/adapters/${f} as written`, shown?.[1] === readFileSync(join(examples, f), "utf8"));
    }
  } finally {
    await gateway?.stop();
  }
  // The adapters' types, under the same strict settings.
  for (const f of readdirSync(join(here, "adapters")).filter((f) => f.endsWith(".test.ts"))) cpSync(join(here, "adapters", f), join(adapters, f));
  writeFileSync(join(adapters, "tsconfig.json"), tsconfig(readdirSync(adapters).filter((f) => f.endsWith(".test.ts"))));
  step("tsc --noEmit (adapters, nodenext)", run(process.execPath, [tsc, "-p", "tsconfig.json"], adapters) === 0);
}

console.log(`npm: ${totals.pass} passed, ${totals.fail} failed`);
process.exit(totals.fail === 0 ? 0 : 1);
