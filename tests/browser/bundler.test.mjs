// A user's script that imports agentguard, bundled by esbuild from a project
// with the packed tarball installed: for the browser (run in Chromium) and
// for Node (run in Node, as ESM and as CommonJS). Each runs the shared
// conformance vectors against the copy of the package it bundled.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import * as esbuild from "esbuild";
import { ROOT, installedPackage, projectFolder, readmeExample, resolveExport, vectors } from "../edge/lib.mjs";
import { startServer } from "../../examples/playground/serve.mjs";
import { launch, watchedPage } from "./chromium.mjs";

const ALL = () => ({ fnmatch: vectors("fnmatch"), policy: vectors("policy"), spec_errors: vectors("spec_errors") });

/** Bundles `entry` and copies the package's .wasm next to the output, as the README tells users to. */
async function bundle(dir, entry, outfile, options) {
  const result = await esbuild.build({
    entryPoints: [join(dir, entry)],
    outfile: join(dir, outfile),
    bundle: true,
    metafile: true,
    logLevel: "silent",
    ...options,
  });
  copyFileSync(join(installedPackage().pkgDir, "agentguard_bg.wasm"), join(dir, "agentguard_bg.wasm"));
  return Object.keys(result.metafile.inputs).map((i) => i.split(sep).join("/"));
}

const packageJson = () => JSON.parse(readFileSync(join(installedPackage().pkgDir, "package.json"), "utf8"));
const entryFor = (conditions) => `node_modules/agentguard/${resolveExport(packageJson(), conditions).replace(/^\.\//, "")}`;

describe("an esbuild browser bundle in Chromium", () => {
  let server;
  let browser;
  let dir;
  let inputs;

  before(async () => {
    dir = projectFolder("bundle-browser", {
      "conformance.js": join(ROOT, "tests", "edge", "conformance.js"),
      "app.js": {
        text: [
          'import * as agentguard from "agentguard";',
          'import { runConformance } from "./conformance.js";',
          'const vectors = await (await fetch("./vectors.json")).json();',
          "window.result = runConformance(agentguard, vectors);",
        ].join("\n"),
      },
      "index.html": { text: '<!doctype html><meta charset="utf-8"><title>bundle</title><script type="module" src="./dist/app.js"></script>' },
      "vectors.json": { text: JSON.stringify(ALL()) },
    });
    inputs = await bundle(dir, "app.js", "dist/app.js", { platform: "browser", format: "esm", target: "es2022" });
    copyFileSync(join(dir, "agentguard_bg.wasm"), join(dir, "dist", "agentguard_bg.wasm"));
    server = await startServer({ port: 0, root: dir, pkgDir: installedPackage().pkgDir });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("bundles the package's browser entry", () => {
    const wanted = entryFor(["browser", "import"]);
    assert.ok(inputs.some((i) => i.endsWith(wanted)), `${JSON.stringify(inputs)} lacks ${wanted}`);
    const code = readFileSync(join(dir, "dist", "app.js"), "utf8");
    assert.doesNotMatch(code, /from\s*["']node:|require\(["'](fs|path|node:)/, "no Node built-ins in a browser bundle");
  });

  test("runs the conformance vectors with no console errors", async () => {
    const { page, problems } = await watchedPage(browser.context);
    await page.goto(server.url);
    await page.waitForFunction(() => window.result, null, { timeout: 20000 });
    const { checked, failures } = await page.evaluate(() => window.result);
    console.log(`Chromium (esbuild browser bundle) conformance: ${checked} checks, ${failures.length} failures`);
    assert.deepEqual(failures, []);
    assert.ok(checked > 200, `only ${checked} checks ran`);
    assert.deepEqual(problems, []);
  });
});

describe("esbuild Node bundles in Node", () => {
  const script = (imports) =>
    [
      imports,
      'const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));',
      "console.log(JSON.stringify(runConformance(agentguard, vectors)));",
    ].join("\n");

  // No banner, no options: the Node entry loads the .wasm from ESM itself,
  // so the bundle needs nothing but the .wasm next to it.
  for (const [format, ext, imports, conditions] of [
    [
      "esm",
      "mjs",
      'import * as agentguard from "agentguard";\nimport { readFileSync } from "node:fs";\nimport { runConformance } from "./conformance.js";',
      ["node", "import"],
    ],
    [
      "cjs",
      "cjs",
      'const agentguard = require("agentguard");\nconst { readFileSync } = require("node:fs");\nconst { runConformance } = require("./conformance.js");',
      ["node", "require"],
    ],
  ]) {
    test(`${format}: bundles the package's Node entry and runs the conformance vectors`, async () => {
      const dir = projectFolder(`bundle-node-${format}`, {
        "conformance.js": join(ROOT, "tests", "edge", "conformance.js"),
        [`app.${ext}`]: { text: script(imports) },
      });
      const inputs = await bundle(dir, `app.${ext}`, `dist/app.${ext}`, { platform: "node", format, target: "node18" });
      copyFileSync(join(dir, "agentguard_bg.wasm"), join(dir, "dist", "agentguard_bg.wasm"));
      const wanted = entryFor(conditions);
      assert.ok(inputs.some((i) => i.endsWith(wanted)), `${JSON.stringify(inputs)} lacks ${wanted}`);
      const vectorsFile = join(dir, "vectors.json");
      writeFileSync(vectorsFile, JSON.stringify(ALL()));
      const out = execFileSync(process.execPath, [join(dir, "dist", `app.${ext}`), vectorsFile], { encoding: "utf8", timeout: 60_000 });
      const { checked, failures } = JSON.parse(out.trim().split("\n").pop());
      console.log(`Node (esbuild ${format} bundle) conformance: ${checked} checks, ${failures.length} failures`);
      assert.deepEqual(failures, []);
      assert.ok(checked > 200, `only ${checked} checks ran`);
    });
  }

  test("esm: a bundle without the .wasm next to it imports, then says what to copy on first use", async () => {
    const dir = projectFolder("bundle-node-esm-nowasm", {
      "app.mjs": {
        text: [
          'import { Policy } from "agentguard";',
          'console.log("imported");',
          "try {",
          "  new Policy();",
          "} catch (e) {",
          "  console.log(e.message);",
          "}",
        ].join("\n"),
      },
    });
    await bundle(dir, "app.mjs", "dist/app.mjs", { platform: "node", format: "esm", target: "node18" });
    const out = execFileSync(process.execPath, [join(dir, "dist", "app.mjs")], { encoding: "utf8", timeout: 60_000 });
    const [imported, message] = out.trim().split("\n");
    assert.equal(imported, "imported");
    assert.match(message, /ENOENT/);
    assert.ok(message.includes(join(dir, "dist", "agentguard_bg.wasm")), message);
    assert.ok(message.includes("copy node_modules/agentguard/agentguard_bg.wasm next to it"), message);
  });
});

// agentguard/analysis bundled with the package: its own module (copied next
// to the bundle, as for the main one), the main entry's classes, and the
// shared analysis vectors' answers, exactly.
const ANALYSIS_RUN = `
function runAnalysis({ Policy, PolicyError }, { lint, diff, testPolicy }, { cases }) {
  const failures = [];
  for (const c of cases) {
    let got;
    try {
      if (c.op === "lint") got = lint(new Policy(c.policy));
      else if (c.op === "diff") got = diff(new Policy(c.old), c.new);
      else got = testPolicy(JSON.stringify(c.policy), c.fixtures);
    } catch (e) {
      got = e instanceof PolicyError ? { error: e.message } : { thrown: String(e) };
    }
    const want = c.error ? { error: c.error.message } : c.want;
    if (JSON.stringify(got) !== JSON.stringify(want)) failures.push(c.name);
  }
  return { checked: cases.length, failures };
}
`;

describe("agentguard/analysis in bundles", () => {
  const copyWasm = (dir, to) => {
    for (const f of ["agentguard_bg.wasm", "agentguard_analysis_bg.wasm"]) copyFileSync(join(installedPackage().pkgDir, f), join(dir, to, f));
  };

  test("an esbuild browser bundle in Chromium", async () => {
    const dir = projectFolder("bundle-browser-analysis", {
      "app.js": {
        text: [
          'import * as agentguard from "agentguard";',
          'import * as analysis from "agentguard/analysis";',
          ANALYSIS_RUN,
          'const vectors = await (await fetch("./vectors.json")).json();',
          "window.result = runAnalysis(agentguard, analysis, vectors);",
        ].join("\n"),
      },
      "index.html": { text: '<!doctype html><meta charset="utf-8"><title>analysis</title><script type="module" src="./dist/app.js"></script>' },
      "vectors.json": { text: JSON.stringify(vectors("analysis")) },
    });
    const inputs = await bundle(dir, "app.js", "dist/app.js", { platform: "browser", format: "esm", target: "es2022" });
    copyWasm(dir, "dist");
    assert.ok(inputs.some((i) => i.endsWith("node_modules/agentguard/analysis-web.mjs")), JSON.stringify(inputs));
    assert.equal(inputs.filter((i) => i.endsWith("node_modules/agentguard/web.mjs")).length, 1, "one main entry, shared");
    const server = await startServer({ port: 0, root: dir, pkgDir: installedPackage().pkgDir });
    const browser = await launch();
    try {
      const { page, problems } = await watchedPage(browser.context);
      await page.goto(server.url);
      await page.waitForFunction(() => window.result, null, { timeout: 20000 });
      const { checked, failures } = await page.evaluate(() => window.result);
      console.log(`Chromium (esbuild browser bundle) analysis: ${checked} cases, ${failures.length} failures`);
      assert.deepEqual(failures, []);
      assert.ok(checked >= 20, `only ${checked} cases ran`);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await server.close();
    }
  });

  test("an esbuild ESM bundle for Node", async () => {
    const dir = projectFolder("bundle-node-analysis", {
      "app.mjs": {
        text: [
          'import * as agentguard from "agentguard";',
          'import * as analysis from "agentguard/analysis";',
          'import { readFileSync } from "node:fs";',
          ANALYSIS_RUN,
          'console.log(JSON.stringify(runAnalysis(agentguard, analysis, JSON.parse(readFileSync(process.argv[2], "utf8")))));',
        ].join("\n"),
      },
    });
    await bundle(dir, "app.mjs", "dist/app.mjs", { platform: "node", format: "esm", target: "node18" });
    copyWasm(dir, "dist");
    const vectorsFile = join(dir, "vectors.json");
    writeFileSync(vectorsFile, JSON.stringify(vectors("analysis")));
    const out = execFileSync(process.execPath, [join(dir, "dist", "app.mjs"), vectorsFile], { encoding: "utf8", timeout: 60_000 });
    const { checked, failures } = JSON.parse(out.trim().split("\n").pop());
    console.log(`Node (esbuild esm bundle) analysis: ${checked} cases, ${failures.length} failures`);
    assert.deepEqual(failures, []);
    assert.ok(checked >= 20);
  });
});
