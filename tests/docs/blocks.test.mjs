// Every code block of the README and the npm package's README is run by a
// test, as written: this file says which test runs each block and fails on
// a block nobody runs (a new example must come with its runner). The
// runners compare what a block prints with what the README shows.
//
// A block is claimed by the `<!-- example: NAME -->` / `<!-- output: NAME
// ... -->` comment right before it, else by the README section it is in
// (`<!-- BEGIN NAME -->` ... `<!-- END NAME -->`) and its language, else by
// its kind (a policy file, an MCP configuration, a Rust example, `make`
// lines). Each runner named here must exist and name what it runs. The
// `make` lines and the install paths are checked here.
//
//   node --test --test-timeout=60000 tests/docs/blocks.test.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runners of the `example:`/`output:` names. */
const EXAMPLES = {
  install: "tests/docs/blocks.test.mjs",
  "install-project": "tests/docs/blocks.test.mjs",
  "quickstart-node": "tests/edge/readme.test.mjs",
  "quickstart-python": "tests/python/test_readme.py",
  "quickstart-mcp": "tests/mcp/readme.test.mjs",
  "mcp-blocked": "tests/mcp/readme.test.mjs",
  node: "tests/edge/readme.test.mjs",
  workerd: "tests/edge/readme.test.mjs",
  "edge-light": "tests/edge/readme.test.mjs",
  deno: "tests/edge/readme.test.mjs",
  vite: "tests/browser/vite.test.mjs",
  browser: "tests/edge/readme.test.mjs",
};

/** Runners of a section's blocks, by language. */
const SECTIONS = {
  review: { console: "crates/cli/tests/readme.rs" },
  node: { js: "tests/js/run.mjs" },
  python: { python: "tests/python/test_readme.py", sh: "tests/docs/blocks.test.mjs" },
  "gateway-quickstart": { sh: "tests/gateway/readme_tools.test.mjs", json: "tests/gateway/readme_tools.test.mjs" },
  "gateway-tools": { sh: "tests/gateway/readme_tools.test.mjs", json: "tests/gateway/readme_tools.test.mjs" },
  gateway: {
    js: "tests/edge/action_vectors.test.mjs",
    python: "tests/python/test_action.py",
    sh: "tests/gateway/cli.test.mjs",
    text: "tests/gateway/cli.test.mjs",
  },
};

/** What a runner must contain to be linked to what it claims. */
const mention = (name) => [`"${name}"`, `'${name}'`, `BEGIN ${name} `, `example: ${name}`, `output: ${name}`];

/** The fenced blocks of a Markdown file: `{ line, lang, info, code, marker, section }`. */
export function blocks(text) {
  const lines = text.split("\n");
  const out = [];
  const sections = [];
  let open = null;
  let prev = "";
  lines.forEach((l, i) => {
    if (open) {
      if (/^```\s*$/.test(l)) {
        out.push({ ...open, code: lines.slice(open.line, i).join("\n") });
        open = null;
        prev = "";
      }
      return;
    }
    const begin = /^<!-- BEGIN ([\w-]+) -->$/.exec(l);
    const end = /^<!-- END ([\w-]+) -->$/.exec(l);
    if (begin) sections.push(begin[1]);
    if (end) assert.equal(sections.pop(), end[1], `line ${i + 1}: END ${end[1]} closes another section`);
    const fence = /^```(.*)$/.exec(l);
    if (fence) {
      const info = fence[1].trim();
      const marker = /^<!-- (example|output): ([\w-]+)/.exec(prev);
      open = {
        line: i + 1,
        info,
        lang: info.split(/\s+/)[0],
        marker: marker ? marker[2] : null,
        section: sections.at(-1) ?? null,
      };
      return;
    }
    if (l.trim() !== "") prev = l;
  });
  assert.equal(open, null, "a code block is never closed");
  return out;
}

/** The runner of one block of README.md, or null. */
function rootClaim(b) {
  if (b.marker) return EXAMPLES[b.marker] ?? null;
  if (b.section) return SECTIONS[b.section]?.[b.lang] ?? null;
  if (b.lang === "rust") return "src/lib.rs"; // a doctest: cargo test --doc
  if (b.lang === "json") return "crates/cli/tests/readme.rs"; // a policy, or an MCP configuration
  if (b.lang === "text" && b.code.startsWith("agentguard ")) return "crates/cli/tests/readme.rs"; // the synopsis
  if (b.lang === "sh" && makeLines(b.code)) return "tests/docs/blocks.test.mjs";
  return null;
}

/** The runner of one block of the npm README, or null. */
function npmClaim(b) {
  if (b.lang === "js") return "tests/js/run.mjs"; // run, or (example=FILE) compared with the file
  if (b.lang === "sh" && /^npm install \S+\.tgz/.test(b.code)) return "tests/docs/blocks.test.mjs";
  return null;
}

/** `[[target, ...], ...]` when every line is `make TARGET... [# comment]`, else null. */
function makeLines(code) {
  const lines = code.split("\n").filter((l) => l.trim() !== "");
  const targets = lines.map((l) => /^make ([\w-]+(?: [\w-]+)*)\s*(?:#.*)?$/.exec(l.trim())?.[1].split(" "));
  return targets.every(Boolean) ? targets : null;
}

const FILES = { "README.md": rootClaim, "bindings/js/README.md": npmClaim };

for (const [file, claim] of Object.entries(FILES)) {
  test(`${file}: every code block is run by a test that names it`, () => {
    const text = readFileSync(join(ROOT, file), "utf8");
    const all = blocks(text);
    assert.ok(all.length > 5, `${file} has code blocks`);
    const unclaimed = all.filter((b) => !claim(b)).map((b) => `${file}:${b.line}: a \`${b.info || "(no language)"}\` block no test runs`);
    assert.deepEqual(unclaimed, []);
    for (const b of all) {
      const runner = claim(b);
      assert.ok(existsSync(join(ROOT, runner)), `${file}:${b.line}: its runner ${runner} does not exist`);
      const name = b.marker ?? b.section;
      if (name && runner !== "tests/docs/blocks.test.mjs") {
        const body = readFileSync(join(ROOT, runner), "utf8");
        assert.ok(mention(name).some((m) => body.includes(m)), `${file}:${b.line}: ${runner} never names "${name}"`);
      }
    }
  });
}

test("README.md: every `make` line names a target the Makefile has", () => {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  const targets = blocks(text)
    .filter((b) => b.lang === "sh")
    .flatMap((b) => makeLines(b.code) ?? [])
    .flat();
  assert.ok(targets.includes("demo") && targets.includes("test") && targets.includes("pack"));
  // `make -pq` prints the database without running anything.
  let db = "";
  try {
    db = execFileSync("make", ["-pq", "-C", ROOT, "help"], { encoding: "utf8", maxBuffer: 64 << 20, timeout: 60_000, env: { ...process.env, MAKEFLAGS: "" } });
  } catch (e) {
    db = e.stdout; // -q exits 1 when the target is not up to date
  }
  const defined = new Set([...db.matchAll(/^([\w-]+):/gm)].map((m) => m[1]));
  for (const t of targets) assert.ok(defined.has(t), `make ${t}: no such target`);
});

test("README.md: the set-up commands are exactly make demo and make test", () => {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  const first = blocks(text).find((b) => b.lang === "sh");
  assert.deepEqual(makeLines(first.code), [["demo"], ["test"]]);
});

test("the install paths are the ones the build writes", () => {
  const version = /^version\s*=\s*"([^"]+)"/m.exec(readFileSync(join(ROOT, "Cargo.toml"), "utf8"))[1];
  const root = blocks(readFileSync(join(ROOT, "README.md"), "utf8"));
  const install = root.find((b) => b.marker === "install").code;
  const project = root.find((b) => b.marker === "install-project").code;
  const npmTgz = `target/npm/agentguard-${version}.tgz`;
  // mk/npm.mk packs pkg/ (whose version is Cargo.toml's) into target/npm/.
  assert.match(readFileSync(join(ROOT, "mk/npm.mk"), "utf8"), /NPM_TGZ\s*:?=\s*\$\(ROOT\)\/target\/npm\/agentguard-\$\(NPM_VERSION\)\.tgz/);
  assert.ok(install.includes(npmTgz), install);
  assert.ok(project.includes(`npm install /path/to/agentguard/${npmTgz}`), project);
  // maturin names the wheel NAME-VERSION-cp310-abi3-PLATFORM.whl in target/wheels.
  assert.match(readFileSync(join(ROOT, "mk/python.mk"), "utf8"), /WHEEL_DIR\s*:?=\s*\$\(ROOT\)\/target\/wheels/);
  assert.ok(install.includes(`target/wheels/agentguard-${version}-cp310-abi3-`), install);
  assert.ok(project.includes("pip install /path/to/agentguard/target/wheels/agentguard-*.whl"), project);
  const npmReadme = blocks(readFileSync(join(ROOT, "bindings/js/README.md"), "utf8")).find((b) => b.lang === "sh");
  assert.match(npmReadme.code, new RegExp(`^npm install \\S*agentguard-${version.replaceAll(".", "\\.")}\\.tgz`));
});

test("the block reader finds markers and sections (self-test)", () => {
  const text = [
    "<!-- BEGIN s -->",
    "```sh",
    "make x",
    "```",
    "<!-- example: e -->",
    "```js",
    "1;",
    "```",
    "<!-- END s -->",
    "```json",
    "{}",
    "```",
  ].join("\n");
  const got = blocks(text).map((b) => [b.line, b.lang, b.marker, b.section]);
  assert.deepEqual(got, [
    [2, "sh", null, "s"],
    [6, "js", "e", "s"],
    [10, "json", null, null],
  ]);
  assert.equal(rootClaim({ lang: "html", info: "html", code: "<p>", marker: null, section: null }), null);
});

test("README.md: the performance table is the one bench/RESULTS.md makes", async () => {
  const { table } = await import("../../scripts/perf-table.mjs");
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const shown = /<!-- BEGIN performance -->\n([\s\S]*?)\n<!-- END performance -->/.exec(readme)?.[1];
  assert.ok(shown, "README.md has a performance table");
  assert.equal(shown, table(readFileSync(join(ROOT, "bench/RESULTS.md"), "utf8")), "run: node scripts/perf-table.mjs --write README.md");
  // Each figure is typed once: the README has no other table of measurements.
  const others = [...readme.matchAll(/^\| .*\b\d+(?:\.\d+)? ?(?:ns|µs|ms)\b.*\|$/gm)].filter((m) => !shown.includes(m[0]));
  assert.deepEqual(others.map((m) => m[0]), []);
});

test("the performance table takes every budget row and sentence (self-test)", async () => {
  const { table } = await import("../../scripts/perf-table.mjs");
  const results = [
    "<!-- BEGIN a -->",
    "## Core (`make bench-core`)",
    "| figure | measured | budget | within |",
    "|---|---|---|---|",
    "| check | 74 ns | < 100 ns | yes |",
    "| evaluate | 38 ns |  |  |",
    "| new | 60 ms | < 50 ms | no |",
    "<!-- END a -->",
    "<!-- BEGIN b -->",
    "## Node",
    "| budget (DESIGN.md) | measured | |",
    "|---|---|---|",
    "| no slower than the loop | 1.15x | **missed** |",
    "Budget (DESIGN.md): at least 20 000/s: met",
    "(20382/s). More text.",
    "<!-- END b -->",
  ].join("\n");
  assert.equal(
    table(results),
    [
      "| area | figure | measured | budget |",
      "|---|---|---|---|",
      "| Core | check | 74 ns | < 100 ns: met |",
      "| Core | new | 60 ms | < 50 ms: missed |",
      "| Node | no slower than the loop | 1.15x | missed |",
      "| Node | the budget | at least 20 000/s: met (20382/s) |  |",
    ].join("\n"),
  );
});
