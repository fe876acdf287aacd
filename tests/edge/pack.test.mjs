// What the npm package ships: exactly the files its entries need (checked
// with `npm pack --dry-run` on pkg/ and against the packed tarball), one
// .wasm for the main entries and that .wasm within the size budget of
// DESIGN.md, and the analysis module only behind agentguard/analysis.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { gzipSync } from "node:zlib";
import { ROOT, installedPackage, tarballPath } from "./lib.mjs";

const PKG = process.env.AGENTGUARD_PKG_DIR ?? join(ROOT, "pkg");
/** DESIGN.md: the .wasm, gzip -9, at most 150 KB. */
const WASM_GZIP_BUDGET = 150 * 1024;

/** Every string target in an exports map (conditions and subpaths alike). */
function targets(node, out = []) {
  if (typeof node === "string") out.push(node);
  else if (node && typeof node === "object") for (const v of Object.values(node)) targets(v, out);
  return out;
}

/** Relative files a module or declaration file refers to. */
function references(file, text) {
  const found = [];
  const patterns = [
    /\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
    /\bimport\s*["'](\.{1,2}\/[^"']+)["']/g,
    /\brequire\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
    /\bnew URL\s*\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
    /\/\/\/\s*<reference path=["']([^"']+)["']/g,
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) found.push(normalize(join(dirname(file), m[1])));
  return found;
}

/**
 * The files the package needs: its manifest and docs, every entry (or the
 * entries `only`), and what they load.
 */
function neededFiles(pkgDir, only) {
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const roots = (only ?? [pkg.main, pkg.module, pkg.types, pkg.typings, ...targets(pkg.exports), ...targets(pkg.browser)])
    .filter((t) => typeof t === "string" && !t.includes("*"))
    .map((t) => normalize(t));
  const needed = new Set(["package.json"]);
  for (const doc of ["README.md", "LICENSE", "LICENSE.md", "LICENSE-MIT", "LICENSE-APACHE"]) {
    if (existsSync(join(pkgDir, doc))) needed.add(doc);
  }
  const queue = [...roots];
  while (queue.length) {
    const file = queue.pop();
    if (needed.has(file)) continue;
    needed.add(file);
    if (/\.(m|c)?js$|\.d\.(m|c)?ts$/.test(file) && existsSync(join(pkgDir, file))) {
      let refs = references(file, readFileSync(join(pkgDir, file), "utf8"));
      // In a declaration file, `from "./index.js"` names the declarations
      // of that module (TypeScript resolves it to ./index.d.ts).
      if (/\.d\.(m|c)?ts$/.test(file)) refs = refs.map((r) => r.replace(/\.(m|c)?js$/, ".d.$1ts"));
      queue.push(...refs);
    }
  }
  return needed;
}

test("npm pack --dry-run lists exactly the files the entries need", () => {
  assert.ok(existsSync(join(PKG, "package.json")), `${PKG} is not built: run \`make build\``);
  const [report] = JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: PKG, encoding: "utf8", timeout: 120_000 }));
  const packed = report.files.map((f) => f.path).sort();
  const needed = [...neededFiles(PKG)].sort();
  console.log(`npm pack --dry-run: ${packed.length} files: ${packed.join(", ")}`);
  assert.deepEqual(packed, needed, "packed files (actual) vs files the entries reach (expected)");
  assert.deepEqual(
    packed.filter((f) => f.endsWith(".wasm")),
    ["agentguard_analysis_bg.wasm", "agentguard_bg.wasm"],
    "one .wasm shared by every entry, and the analysis module of agentguard/analysis",
  );
  // The main entries never reach the analysis module: it is loaded only
  // through the agentguard/analysis entries (lazily), outside the budget.
  const pkg = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8"));
  const main = neededFiles(PKG, [pkg.main, pkg.module, pkg.types, ...targets(pkg.exports["."])]);
  assert.ok(main.has("agentguard_bg.wasm") && !main.has("agentguard_analysis_bg.wasm"), [...main].join(", "));
  assert.ok(neededFiles(PKG, targets(pkg.exports["./analysis"])).has("agentguard_analysis_bg.wasm"));
  for (const f of packed) assert.doesNotMatch(f, /\.(map|rs|toml|lock)$|(^|\/)(src|tests?|target)\//, `${f} does not belong in the package`);
});

test("the packed tarball holds the same files as pkg/", () => {
  const listing = execFileSync("tar", ["tzf", tarballPath()], { encoding: "utf8", timeout: 60_000 })
    .trim()
    .split("\n")
    .map((l) => l.replace(/^package\//, ""))
    .sort();
  assert.deepEqual(listing, [...neededFiles(installedPackage().pkgDir)].sort());
});

test(".wasm gzip -9 is within the DESIGN.md budget", () => {
  const wasm = readFileSync(join(installedPackage().pkgDir, "agentguard_bg.wasm"));
  const gz = gzipSync(wasm, { level: 9 }).length;
  console.log(`agentguard_bg.wasm: ${wasm.length} bytes, gzip -9 ${gz} bytes (budget ${WASM_GZIP_BUDGET}, aim 102400)`);
  assert.ok(wasm.subarray(0, 4).equals(Buffer.from("\0asm")), "not a WebAssembly module");
  assert.ok(gz <= WASM_GZIP_BUDGET, `${gz} bytes gzipped is over the ${WASM_GZIP_BUDGET}-byte budget`);
});

test("the package's metadata: the project's addresses (from Cargo.toml), keywords, license, engines", () => {
  const pkg = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8"));
  const toml = readFileSync(join(ROOT, "Cargo.toml"), "utf8");
  const repository = /^repository\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const homepage = /^homepage\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  assert.ok(repository && homepage, "Cargo.toml's [workspace.package] names the repository and homepage");
  assert.deepEqual(pkg.repository, { type: "git", url: `git+${repository}.git` });
  assert.equal(pkg.homepage, `${homepage}#readme`);
  assert.deepEqual(pkg.bugs, { url: `${repository}/issues` });
  assert.ok(pkg.keywords.includes("policy") && pkg.keywords.includes("agents"), pkg.keywords.join(", "));
  assert.equal(pkg.license, "MIT");
  assert.equal(pkg.engines.node, ">=18");
  // The wheel says the same (pyproject.toml's project URLs).
  const pyproject = readFileSync(join(ROOT, "bindings/python/pyproject.toml"), "utf8");
  const urls = pyproject.split("[project.urls]")[1]?.split(/\n\[/)[0] ?? "";
  assert.match(urls, new RegExp(`^Repository = "${repository}"$`, "m"));
  assert.match(urls, new RegExp(`^Homepage = "${homepage}"$`, "m"));
  assert.match(urls, new RegExp(`^Issues = "${repository}/issues"$`, "m"));
});
