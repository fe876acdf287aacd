// examples/edge-worker in workerd (through miniflare), bundled the way
// wrangler bundles it, against the packed tarball installed in a fresh
// project; and the shared conformance vectors run inside workerd.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, sep } from "node:path";
import { ROOT, bundleWorker, installedPackage, projectFolder, resolveExport, startWorker, vectors } from "./lib.mjs";

const EXAMPLE = join(ROOT, "examples", "edge-worker");

describe("examples/edge-worker in workerd", () => {
  let mf;
  let bundle;
  const stdout = [];

  before(async () => {
    const dir = projectFolder("edge-worker", { src: join(EXAMPLE, "src"), "wrangler.toml": join(EXAMPLE, "wrangler.toml") });
    bundle = await bundleWorker(join(dir, "src", "worker.js"));
    mf = await startWorker(bundle, {
      handleRuntimeStdio(out, err) {
        out.on("data", (chunk) => stdout.push(String(chunk)));
        err.on("data", () => {});
      },
    });
  });
  after(async () => {
    await mf?.dispose();
  });

  const post = (body, init = {}) =>
    mf.dispatchFetch("http://worker.test/check", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });

  test("the bundle takes the package's workerd entry and imports the .wasm as a module", () => {
    const { pkgDir } = installedPackage();
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    const entry = resolveExport(pkg, ["workerd", "worker", "browser", "import"]);
    assert.ok(entry, "package.json exports nothing under the workerd condition");
    const wanted = `node_modules/agentguard/${entry.replace(/^\.\//, "")}`;
    assert.ok(
      bundle.inputs.some((i) => i.split(sep).join("/").endsWith(wanted)),
      `bundle inputs ${JSON.stringify(bundle.inputs)} do not include ${wanted}`,
    );
    assert.deepEqual(
      [...bundle.wasm.keys()].map((n) => n.replace(/^[0-9a-f]+-/, "")),
      ["agentguard_bg.wasm"],
      "exactly one .wasm module, the package's",
    );
  });

  test("allow: 200 with the decision", async () => {
    const res = await post({ tool: "read_database" });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.match(res.headers.get("content-type"), /^application\/json/);
    assert.deepEqual(await res.json(), {
      tool: "read_database",
      decision: "allow",
      reason: "allowed by pattern: read_database",
      matchedRule: "read_database",
      policy: "database-safety",
    });
  });

  test("deny: 403 with the rule, and the audit entry with its context goes to the logs", async () => {
    const res = await post({ tool: "drop_table", context: { agentId: "bot-7" } });
    assert.equal(res.status, 403);
    assert.deepEqual(await res.json(), {
      tool: "drop_table",
      decision: "deny",
      reason: "denied by pattern: drop_*",
      matchedRule: "drop_*",
      policy: "database-safety",
    });
    const deadline = Date.now() + 5000;
    let entry;
    while (!entry && Date.now() < deadline) {
      entry = stdout
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l))
        .find((e) => e.tool === "drop_table");
      if (!entry) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(entry, `no audit entry for drop_table in the worker's logs: ${stdout.join("")}`);
    assert.equal(typeof entry.timestamp, "number");
    assert.deepEqual(
      { ...entry, timestamp: 0 },
      { timestamp: 0, tool: "drop_table", decision: "deny", reason: "denied by pattern: drop_*", matched_rule: "drop_*", context: { agentId: "bot-7" } },
    );
  });

  test("require_approval: 428, never a 2xx; default deny: 403", async () => {
    let res = await post({ tool: "write_database", context: null });
    assert.equal(res.status, 428, "only allow is a 2xx: a client checking res.ok must not run it");
    assert.equal(res.ok, false);
    assert.deepEqual(await res.json(), {
      tool: "write_database",
      decision: "require_approval",
      reason: "requires approval per pattern: write_database",
      matchedRule: "write_database",
      policy: "database-safety",
    });
    res = await post({ tool: "send_email" });
    assert.equal(res.status, 403);
    const body = await res.json();
    assert.equal(body.reason, "not in allow list (default: deny)");
    assert.equal(body.matchedRule, null);
  });

  test("400 on a body that is not JSON, not an object, or has no string tool", async () => {
    const cases = [
      ["{not json", /not valid JSON/],
      ["", /not valid JSON/],
      ["[1, 2]", /must be a JSON object.*got an array/],
      ["null", /must be a JSON object.*got null/],
      [{}, /missing "tool"/],
      [{ tool: 5 }, /"tool" must be a string, got a number/],
      [{ tool: null }, /"tool" must be a string, got null/],
      [{ tool: ["drop_table"] }, /"tool" must be a string, got an array/],
      [{ tool: "read_database", context: "bot" }, /"context" must be a JSON object, got a string/],
      ['{"tool": "drop_\\ud800"}', /./], // a lone surrogate: refused, never decided
    ];
    for (const [body, message] of cases) {
      const res = await post(body);
      assert.equal(res.status, 400, `status for ${JSON.stringify(body)}`);
      const { error } = await res.json();
      assert.match(error, message, `error for ${JSON.stringify(body)}`);
    }
  });

  test("other routes and methods", async () => {
    let res = await mf.dispatchFetch("http://worker.test/check");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    res = await mf.dispatchFetch("http://worker.test/", { method: "POST", body: "{}" });
    assert.equal(res.status, 404);
    assert.match((await res.json()).error, /use POST \/check/);
  });
});

test("the conformance vectors pass inside workerd", async () => {
  const dir = projectFolder("edge-vectors", {
    "conformance.js": join(ROOT, "tests", "edge", "conformance.js"),
    "worker.js": {
      text: [
        'import * as agentguard from "agentguard";',
        'import { runConformance } from "./conformance.js";',
        "export default { async fetch(request) { return Response.json(runConformance(agentguard, await request.json())); } };",
      ].join("\n"),
    },
  });
  const mf = await startWorker(await bundleWorker(join(dir, "worker.js")));
  try {
    const all = { fnmatch: vectors("fnmatch"), policy: vectors("policy"), spec_errors: vectors("spec_errors") };
    const res = await mf.dispatchFetch("http://worker.test/", { method: "POST", body: JSON.stringify(all) });
    assert.equal(res.status, 200, await res.clone().text());
    const { checked, failures } = await res.json();
    console.log(`workerd conformance: ${checked} checks, ${failures.length} failures`);
    assert.deepEqual(failures, []);
    assert.ok(checked > 200, `only ${checked} checks ran`);
  } finally {
    await mf.dispose();
  }
});

test("agentguard/analysis inside workerd: its own module, the main entry's classes, the shared vectors' answers", async () => {
  const dir = projectFolder("edge-analysis", {
    "worker.js": {
      text: `import { Policy, PolicyError } from "agentguard";
import { diff, lint, testPolicy } from "agentguard/analysis";
export default {
  async fetch(request) {
    const { cases } = await request.json();
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
    return Response.json({ checked: cases.length, failures });
  },
};
`,
    },
  });
  const bundle = await bundleWorker(join(dir, "worker.js"));
  assert.deepEqual(
    [...bundle.wasm.keys()].map((n) => n.replace(/^[0-9a-f]+-/, "")).sort(),
    ["agentguard_analysis_bg.wasm", "agentguard_bg.wasm"],
  );
  const mf = await startWorker(bundle);
  try {
    const res = await mf.dispatchFetch("http://worker.test/", { method: "POST", body: JSON.stringify(vectors("analysis")) });
    assert.equal(res.status, 200, await res.clone().text());
    const { checked, failures } = await res.json();
    console.log(`workerd analysis: ${checked} cases, ${failures.length} failures`);
    assert.deepEqual(failures, []);
    assert.ok(checked >= 20, `only ${checked} cases ran`);
  } finally {
    await mf.dispose();
  }
});
