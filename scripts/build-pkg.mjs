#!/usr/bin/env node
// Assembles the npm package in pkg/ from bindings/js/ (the JS API, entries,
// index.d.ts) and the wasm-bindgen output of bindings/wasm/ (make build-npm
// runs wasm-pack and wasm-opt first):
//
//   node scripts/build-pkg.mjs --wasm target/wasm/pkg --analysis target/wasm/analysis --out pkg
//
// The analysis (agentguard/analysis: lint, diff, fixture tests) is a second
// wasm module, the wasm-bindgen output of bindings/wasm built with its
// `analysis` feature, with entries of its own that import the main entry of
// the same runtime (so they share its classes) and load their module lazily.
//
// Every entry is bundled by esbuild from the one ESM tree in
// bindings/js/src, so each has the same classes; node.mjs re-exports
// node.cjs so that Node's `import` and `require` share them, and loads the
// .wasm itself from ESM (see src/entries/node.cjs).

import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    wasm: { type: "string", default: join(root, "target/wasm/pkg") },
    analysis: { type: "string", default: join(root, "target/wasm/analysis") },
    out: { type: "string", default: join(root, "pkg") },
  },
});
const wasmDir = resolve(args.wasm);
const analysisDir = resolve(args.analysis);
const out = resolve(args.out);
const template = join(root, "bindings/js");
const stage = join(root, "target/npm-stage");

/** A string field of Cargo.toml's [workspace.package] (or [package]). */
function cargoField(name) {
  const toml = readFileSync(join(root, "Cargo.toml"), "utf8");
  for (const table of ["workspace.package", "package"]) {
    const body = toml.split(`\n[${table}]\n`)[1]?.split(/\n\[/)[0] ?? "";
    const m = new RegExp(`^${name}\\s*=\\s*"([^"]+)"`, "m").exec(body);
    if (m) return m[1];
  }
  throw new Error(`no ${name} in Cargo.toml`);
}
const cargoVersion = () => cargoField("version");

for (const f of ["agentguard.js", "agentguard_bg.wasm"]) {
  if (!existsSync(join(wasmDir, f))) throw new Error(`missing ${join(wasmDir, f)}: run wasm-pack first`);
}
for (const f of ["agentguard_analysis.js", "agentguard_analysis_bg.wasm"]) {
  if (!existsSync(join(analysisDir, f))) throw new Error(`missing ${join(analysisDir, f)}: run wasm-pack first`);
}

// Stage the sources with wasm-bindgen's glue beside them.
rmSync(stage, { recursive: true, force: true });
cpSync(join(template, "src"), join(stage, "src"), { recursive: true });
cpSync(join(wasmDir, "agentguard.js"), join(stage, "src/glue.js"));
cpSync(join(analysisDir, "agentguard_analysis.js"), join(stage, "src/analysis/glue.js"));

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const version = cargoVersion();
const banner = `// agentguard ${version} (MIT). Built from bindings/js/src; do not edit.`;
const common = {
  bundle: true,
  charset: "utf8",
  legalComments: "none",
  logLevel: "warning",
  banner: { js: banner },
  external: ["*.wasm"],
  // wasm-bindgen's default init reads import.meta.url; the Node entry always
  // passes the bytes, so that branch is dead there.
  logOverride: { "empty-import-meta": "silent" },
};
await esbuild.build({
  ...common,
  entryPoints: [join(stage, "src/entries/node.cjs")],
  outfile: join(out, "node.cjs"),
  format: "cjs",
  platform: "node",
  target: "node18",
});
await esbuild.build({
  ...common,
  entryPoints: [join(stage, "src/entries/web.js")],
  outfile: join(out, "web.mjs"),
  format: "esm",
  platform: "neutral",
  target: "es2022",
});
await esbuild.build({
  ...common,
  entryPoints: [join(stage, "src/entries/workerd.js")],
  outfile: join(out, "workerd.mjs"),
  format: "esm",
  platform: "neutral",
  target: "es2022",
});

// agentguard/analysis: `agentguard:main` is the main entry of the same
// runtime, left as an import of the file beside it.
const mainEntry = (file) => ({
  name: "agentguard-main",
  setup(build) {
    build.onResolve({ filter: /^agentguard:main$/ }, () => ({ path: `./${file}`, external: true }));
  },
});
await esbuild.build({
  ...common,
  entryPoints: [join(stage, "src/entries/analysis-node.cjs")],
  outfile: join(out, "analysis-node.cjs"),
  format: "cjs",
  platform: "node",
  target: "node18",
  plugins: [mainEntry("node.cjs")],
});
for (const [entry, file, main] of [
  ["analysis-web.js", "analysis-web.mjs", "web.mjs"],
  ["analysis-workerd.js", "analysis-workerd.mjs", "workerd.mjs"],
]) {
  await esbuild.build({
    ...common,
    entryPoints: [join(stage, "src/entries", entry)],
    outfile: join(out, file),
    format: "esm",
    platform: "neutral",
    target: "es2022",
    plugins: [mainEntry(main)],
  });
}

// The framework adapters (agentguard/ai-sdk, agentguard/mcp, ...): plain JS
// with no wasm of their own, one ESM and one CommonJS file each. Every
// package they import stays an import: the framework (an optional peer
// dependency, imported only by its adapter) and `agentguard` itself (a
// self-reference, resolved by the same export conditions as the user's own
// import, so the adapter's ToolDenied is the user's).
const adapters = ["ai-sdk", "mcp", "openai-agents", "langchain"].filter((a) =>
  existsSync(join(stage, "src/adapters", `${a}.js`)),
);
for (const a of adapters) {
  for (const [format, ext] of [
    ["esm", "mjs"],
    ["cjs", "cjs"],
  ]) {
    await esbuild.build({
      ...common,
      entryPoints: [join(stage, "src/adapters", `${a}.js`)],
      outfile: join(out, `${a}.${ext}`),
      format,
      platform: "neutral",
      target: "es2022",
      packages: "external",
    });
  }
  cpSync(join(template, `${a}.d.ts`), join(out, `${a}.d.ts`));
}

cpSync(join(wasmDir, "agentguard_bg.wasm"), join(out, "agentguard_bg.wasm"));
cpSync(join(analysisDir, "agentguard_analysis_bg.wasm"), join(out, "agentguard_analysis_bg.wasm"));
for (const f of ["index.d.ts", "analysis.d.ts", "README.md", "LICENSE"]) cpSync(join(template, f), join(out, f));

// node.mjs: named re-exports of node.cjs, listed from what it exports.
const names = Object.keys(createRequire(import.meta.url)(join(out, "node.cjs"))).sort();
writeFileSync(
  join(out, "node.mjs"),
  `${banner}
// Node's ESM entry: the same module as node.cjs, so an error thrown through
// one entry is an instance of the class exported by the other. It reads the
// .wasm itself, from ESM, unless a require() loaded it already: node.cjs
// reads it only on first use, with require and __dirname, which do not exist
// once a bundler (esbuild --format=esm) has made both files one ES module.
import { readFileSync } from "node:fs";
import cjs from "./node.cjs";

cjs[Symbol.for("agentguard.node.loadWasm")](() => readFileSync(new URL("./agentguard_bg.wasm", import.meta.url)));

export const { ${names.join(", ")} } = cjs;
`,
);

// analysis-node.mjs: the same for agentguard/analysis, whose module stays
// unread until the first call.
const analysisNames = Object.keys(createRequire(import.meta.url)(join(out, "analysis-node.cjs"))).sort();
writeFileSync(
  join(out, "analysis-node.mjs"),
  `${banner}
// Node's ESM entry of agentguard/analysis: the same module as
// analysis-node.cjs (which uses node.cjs, the module node.mjs re-exports).
// It hands over a loader written in ESM; the .wasm is read on first use.
import { readFileSync } from "node:fs";
import cjs from "./analysis-node.cjs";

cjs[Symbol.for("agentguard.node.analysisWasm")](() => readFileSync(new URL("./agentguard_analysis_bg.wasm", import.meta.url)));

export const { ${analysisNames.join(", ")} } = cjs;
`,
);

const pkg = JSON.parse(readFileSync(join(template, "package.json"), "utf8"));
pkg.version = version;
// The project's addresses, kept once, in Cargo.toml (the wheel's come from there too).
const repository = cargoField("repository");
pkg.repository = { type: "git", url: `git+${repository}.git` };
pkg.homepage = `${cargoField("homepage")}#readme`;
pkg.bugs = { url: `${repository}/issues` };
writeFileSync(join(out, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
console.log(
  `pkg/: agentguard ${version}, exports ${names.join(", ")}; agentguard/analysis: ${analysisNames.join(", ")}; adapters: ${adapters.join(", ")}`,
);
