// webpack 5 (issue 4 names it with Vite and esbuild): the README's browser
// app (its Vite example's main.js, as webpack's default src/index.js) built
// with no webpack configuration from a project with the packed tarball
// installed, in production and development mode; each build must take the
// package's browser entry, emit the package's .wasm as an asset, and run in
// Chromium with the decision the README shows.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import webpack from "webpack";
import { ROOT, installedPackage, projectFolder, readmeExample, resolveExport } from "../edge/lib.mjs";
import { startServer } from "../../examples/playground/serve.mjs";
import { launch, watchedPage } from "./chromium.mjs";

// The README states what the page shows, right after the Vite example.
const EXPECTED = /The page shows `([^`]+)`/.exec(readFileSync(join(ROOT, "README.md"), "utf8"))?.[1];
const INDEX = '<!doctype html>\n<meta charset="utf-8">\n<link rel="icon" href="data:,">\n<div id="app"></div>\n<script src="./main.js"></script>\n';

/**
 * Runs webpack as `npx webpack --mode MODE` would in `dir`: no configuration
 * file. Returns its errors and warnings, the emitted files, and the files of
 * every module it bundled (production mode concatenates modules: their
 * parts are listed too).
 */
function build(dir, mode) {
  return new Promise((resolve, reject) => {
    // `context` and `output.path` are where `npx webpack` run in `dir` puts them.
    const compiler = webpack({ mode, context: dir, output: { path: join(dir, "dist") } });
    compiler.run((err, stats) => {
      compiler.close(() => {
        if (err) return reject(err);
        const { errors, warnings } = stats.toJson({ all: false, errors: true, warnings: true });
        const modules = [...stats.compilation.modules]
          .flatMap((m) => [m, ...(m.modules ?? [])])
          .map((m) => m.resource)
          .filter(Boolean)
          .map((f) => f.split(sep).join("/"));
        resolve({ errors, warnings, assets: stats.compilation.getAssets().map((a) => a.name), modules });
      });
    });
  });
}

describe("a webpack 5 app in Chromium, with no webpack configuration", () => {
  before(() => {
    assert.ok(EXPECTED, "README has no 'The page shows `...`' line");
  });

  for (const mode of ["production", "development"]) {
    test(`webpack --mode ${mode}: the package's browser entry and .wasm, and the README's decision on the page`, async () => {
      const dir = projectFolder(`webpack-${mode}`, { "src/index.js": { text: readmeExample("vite") } });
      const stats = await build(dir, mode);
      assert.deepEqual(stats.errors, []);
      // The only warnings allowed are webpack's size hints about the
      // package's .wasm (over its 244 KiB recommendation since the core
      // decides argument conditions; DESIGN.md budgets it gzipped, checked in
      // tests/edge/pack.test.mjs): nothing about the package's modules.
      const other = stats.warnings.filter(
        (w) =>
          !/^asset size limit: [\s\S]*Assets: \n\s+[0-9a-f]+\.wasm \(\d+ KiB\)$/.test(w.message) &&
          !/^entrypoint size limit: [\s\S]*\.wasm/.test(w.message) &&
          !/^webpack performance recommendations: /.test(w.message),
      );
      assert.deepEqual(other, []);

      const { pkgDir } = installedPackage();
      const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
      const entry = `node_modules/agentguard/${resolveExport(pkg, ["browser", "import"]).replace(/^\.\//, "")}`;
      assert.ok(stats.modules.some((m) => m.endsWith(entry)), `no ${entry} among ${JSON.stringify(stats.modules)}`);

      const wasm = stats.assets.filter((a) => a.endsWith(".wasm"));
      assert.equal(wasm.length, 1, `one .wasm asset, got ${JSON.stringify(stats.assets)}`);
      const out = join(dir, "dist");
      assert.ok(readFileSync(join(out, wasm[0])).equals(readFileSync(join(pkgDir, "agentguard_bg.wasm"))), "the asset is the package's .wasm");
      assert.doesNotMatch(readFileSync(join(out, "main.js"), "utf8"), /["']node:|require\(["'](fs|path)["']\)/, "no Node built-ins in a browser bundle");

      writeFileSync(join(out, "index.html"), INDEX);
      const server = await startServer({ port: 0, root: out });
      const browser = await launch();
      try {
        const { page, problems } = await watchedPage(browser.context);
        await page.goto(server.url);
        await page.waitForFunction(() => document.querySelector("#app")?.textContent !== "", null, { timeout: 20000 });
        assert.equal(await page.textContent("#app"), EXPECTED);
        assert.deepEqual(problems, []);
      } finally {
        // The browser first: a connection it keeps open would hold up the
        // server's close for minutes.
        await browser.close();
        await server.close();
      }
    });
  }
});
