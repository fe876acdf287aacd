// The README's `runtimes` section: every example runs, against the packed
// tarball, in the runtime it names, and prints exactly the output shown
// under it. An example is the code block after `<!-- example: NAME -->`;
// its output is the block after `<!-- output: NAME [request] -->`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, sep } from "node:path";
import { ROOT, bundleWorker, installedPackage, projectFolder, resolveExport, startWorker } from "./lib.mjs";

const readme = readFileSync(join(ROOT, "README.md"), "utf8");
const section = /<!-- BEGIN runtimes -->([\s\S]*?)<!-- END runtimes -->/.exec(readme)?.[1] ?? "";

/** `{ code, output, request }` for the example called `name` (in the runtimes section, unless `within` is given). */
function example(name, within = section) {
  const block = (marker) => {
    const re = new RegExp(`<!-- ${marker} -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``);
    return re.exec(within);
  };
  const code = block(`example: ${name}`);
  const outRe = new RegExp(`<!-- output: ${name}( [^>]*?)? -->\\s*\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\``);
  const out = outRe.exec(within);
  assert.ok(code, `README runtimes section has no "example: ${name}" block`);
  assert.ok(out, `README runtimes section has no "output: ${name}" block`);
  return { code: code[1], request: (out[1] ?? "").trim(), output: out[2].trimEnd() };
}

const usesEntry = (inputs, conditions) => {
  const pkg = JSON.parse(readFileSync(join(installedPackage().pkgDir, "package.json"), "utf8"));
  const wanted = `node_modules/agentguard/${resolveExport(pkg, conditions).replace(/^\.\//, "")}`;
  assert.ok(
    inputs.some((i) => i.split(sep).join("/").endsWith(wanted)),
    `${JSON.stringify(inputs)} lacks ${wanted}`,
  );
};

test("README: the Node quickstart, in a project that installed the tarball, prints what the README shows", () => {
  // The quickstart is outside the runtimes section: read it from the whole README.
  const { code, output } = example("quickstart-node", readme);
  assert.match(code, /^\/\/ agent\.mjs\n/);
  const dir = projectFolder("readme-quickstart-node", { "agent.mjs": { text: code } });
  const out = execFileSync(process.execPath, ["agent.mjs"], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  assert.equal(out.trimEnd(), output);
});

test("README: the Node example prints what the README shows", () => {
  const { code, output } = example("node");
  const dir = projectFolder("readme-node", { "example.mjs": { text: code } });
  const out = execFileSync(process.execPath, [join(dir, "example.mjs")], { encoding: "utf8", timeout: 60_000 });
  assert.equal(out.trimEnd(), output);
});

test("README: the Deno example prints what the README shows", () => {
  const { code, output } = example("deno");
  // In a project with node_modules, Deno resolves `npm:agentguard` to the
  // installed tarball (no registry needed).
  const dir = projectFolder("readme-deno", { "main.js": { text: code } });
  const deno = process.env.DENO;
  assert.ok(deno, "set DENO to a deno binary (`make test-edge` installs one)");
  const out = execFileSync(deno, ["run", "--quiet", "--allow-read", "--node-modules-dir=manual", join(dir, "main.js")], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_DIR: join(dir, ".deno") },
    timeout: 120_000,
  });
  assert.equal(out.trimEnd(), output);
});

/** Runs a bundled worker, sends the request named in the output marker, returns `status body`. */
async function answer(bundle, request) {
  const [, method, rest] = /^(GET|POST) (.*)$/.exec(request) ?? [];
  assert.ok(method, `the output marker names no request: ${request}`);
  const mf = await startWorker(bundle);
  try {
    const res =
      method === "GET"
        ? await mf.dispatchFetch(`http://example.test${rest}`)
        : await mf.dispatchFetch("http://example.test/api/check", { method: "POST", body: rest });
    return `${res.status} ${await res.text()}`;
  } finally {
    await mf.dispose();
  }
}

test("README: the Cloudflare Workers example answers in workerd", async () => {
  const { code, output, request } = example("workerd");
  const dir = projectFolder("readme-workerd", { "src/worker.js": { text: code } });
  const bundle = await bundleWorker(join(dir, "src", "worker.js"));
  usesEntry(bundle.inputs, ["workerd", "worker", "browser", "import"]);
  assert.equal(await answer(bundle, request), output);
});

test("README: the Vercel Edge example answers under the edge-light condition", async () => {
  const { code, output, request } = example("edge-light");
  const dir = projectFolder("readme-edge-light", {
    "app/api/check/route.js": { text: code },
    // What the platform does with a route: call its POST with the Request.
    "entry.js": { text: 'import { POST } from "./app/api/check/route.js";\nexport default { fetch: (request) => POST(request) };\n' },
  });
  const bundle = await bundleWorker(join(dir, "entry.js"), { conditions: ["edge-light", "worker", "browser"] });
  usesEntry(bundle.inputs, ["edge-light", "worker", "browser", "import"]);
  assert.equal(await answer(bundle, request), output);
});

test("README: the browser example renders its output in Chromium", async () => {
  const { code, output } = example("browser");
  const { project } = installedPackage();
  const page = `readme-browser-${process.pid}.html`;
  writeFileSync(join(project, page), `<!doctype html>\n<meta charset="utf-8">\n<body></body>\n${code}`);
  const { startServer } = await import("../../examples/playground/serve.mjs");
  const { launch, watchedPage } = await import("../browser/chromium.mjs");
  const server = await startServer({ port: 0, root: project });
  const browser = await launch();
  try {
    const { page: tab, problems } = await watchedPage(browser.context);
    await tab.goto(`${server.url}${page}`);
    await tab.waitForFunction(() => document.body.textContent !== "", null, { timeout: 15000 });
    assert.equal(await tab.textContent("body"), output);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
