// The README's Vite example in a Vite app, against the packed tarball:
// `vite build` must emit the package's .wasm as an asset and the built page
// must run in Chromium; the dev server must serve it too.

import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { build, createServer } from "vite";
import { ROOT, projectFolder, readmeExample } from "../edge/lib.mjs";
import { startServer } from "../../examples/playground/serve.mjs";
import { launch, watchedPage } from "./chromium.mjs";

const INDEX = '<!doctype html>\n<meta charset="utf-8">\n<link rel="icon" href="data:,">\n<div id="app"></div>\n<script type="module" src="./main.js"></script>\n';
// The README states what the page shows, right after the example.
const EXPECTED = /The page shows `([^`]+)`/.exec(readFileSync(join(ROOT, "README.md"), "utf8"))?.[1];

describe("the README's Vite example", () => {
  let dir;

  before(() => {
    dir = projectFolder("vite-app", { "index.html": { text: INDEX }, "main.js": { text: readmeExample("vite") } });
  });

  /**
   * Opens `url` in a browser of its own and returns what the app wrote, with
   * the page's problems. The browser is closed before the caller closes its
   * server: a connection it keeps open would hold up that close for minutes.
   */
  async function open(url) {
    const browser = await launch();
    try {
      const { page, problems } = await watchedPage(browser.context);
      await page.goto(url);
      await page.waitForFunction(() => document.querySelector("#app")?.textContent !== "", null, { timeout: 20000 });
      return { text: await page.textContent("#app"), problems };
    } finally {
      await browser.close();
    }
  }

  test("vite build emits the .wasm and the built page runs in Chromium", async () => {
    const outDir = join(dir, "dist");
    await build({ root: dir, configFile: false, logLevel: "silent", build: { outDir, emptyOutDir: true } });
    const assets = readdirSync(join(outDir, "assets"));
    assert.ok(
      assets.some((f) => /^agentguard_bg-.*\.wasm$/.test(f)),
      `no agentguard_bg-*.wasm among the built assets: ${assets.join(", ")}`,
    );
    const server = await startServer({ port: 0, root: outDir });
    try {
      const { text, problems } = await open(server.url);
      assert.equal(text, EXPECTED);
      assert.deepEqual(problems, []);
    } finally {
      await server.close();
    }
  });

  test("the Vite dev server serves it with no configuration", async () => {
    const server = await createServer({
      root: dir,
      configFile: false,
      logLevel: "silent",
      cacheDir: join(dir, ".vite"),
      server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false },
    });
    await server.listen();
    try {
      const { text, problems } = await open(server.resolvedUrls.local[0]);
      assert.equal(text, EXPECTED);
      assert.deepEqual(problems, []);
    } finally {
      await server.close();
    }
  });
});
