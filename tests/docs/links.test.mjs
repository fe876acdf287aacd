// The READMEs point only at what is in the repository (issue 16, item 4):
// every relative link and every `path/in/the/repo` written in code exists,
// every #anchor names a heading of its file, and no README sends a reader
// to the project's private contract documents or to issue numbers.
//
//   node --test --test-timeout=60000 tests/docs/links.test.mjs
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const READMES = ["README.md", "bindings/js/README.md", "bindings/python/README.md", "crates/mcp/README.md"];
/** Top-level folders and files a path in code may start with. */
// (Not src/: READMEs also show paths of the reader's own projects there.)
const TOP = /^(?:bench|bindings|crates|docs|examples|fuzz|mk|scripts|tests|benches)\/|^(?:README\.md|Makefile|Cargo\.toml|Cargo\.lock|package\.json|LICENSE)$/;

/** The text outside fenced code blocks, line numbers kept; and the blocks' lines. */
function prose(text) {
  const out = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      out.push("");
      continue;
    }
    out.push(fenced ? "" : line);
  }
  return out;
}

/** GitHub's anchor of a heading. */
function slug(heading) {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(text) {
  const seen = new Map();
  const out = new Set();
  for (const line of prose(text)) {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every problem of one README, as "file:line: what". */
function problems(file) {
  const text = readFileSync(join(ROOT, file), "utf8");
  const here = dirname(join(ROOT, file));
  const heads = anchors(text);
  const found = [];
  // Links first, over the whole text: a link's words may wrap onto the next line.
  const lines = prose(text);
  const joined = lines.map((l) => l.replace(/`[^`]*`/g, "``")).join("\n");
  for (const m of joined.matchAll(/\[[^\]]*\]\(([^)\s]*)\)/g)) {
    const at = `${file}:${joined.slice(0, m.index).split("\n").length}`;
    const target = m[1];
    if (/^(?:https?:|mailto:)/.test(target)) continue;
    if (target === "") {
      found.push(`${at}: an empty link`);
      continue;
    }
    const [path, fragment] = target.split("#");
    if (path === "") {
      if (!heads.has(fragment)) found.push(`${at}: #${fragment} is no heading of ${file}`);
      continue;
    }
    const abs = join(here, decodeURIComponent(path));
    if (!existsSync(abs)) found.push(`${at}: ${target} does not exist`);
    else if (fragment !== undefined && abs.endsWith(".md") && !anchors(readFileSync(abs, "utf8")).has(fragment)) {
      found.push(`${at}: #${fragment} is no heading of ${relative(ROOT, abs)}`);
    }
  }
  lines.forEach((line, i) => {
    const at = `${file}:${i + 1}`;
    const code = [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    for (const c of code) {
      const path = c.replace(/[:#].*$/, "").replace(/\/$/, "");
      if (!TOP.test(c) || /[\s*{}<>$]/.test(c) || /\bVERSION\b|X\.Y\.Z/i.test(c)) continue;
      if (!existsSync(join(ROOT, path))) found.push(`${at}: \`${c}\` is not in the repository`);
    }
    for (const m of line.matchAll(/\b(DESIGN\.md|CONDITIONS\.md|STYLE\.md|issue \d+)\b/gi)) {
      found.push(`${at}: "${m[1]}" is not something a reader of this repository can open`);
    }
  });
  return found;
}

for (const file of READMES) {
  test(`${file}: every link, anchor and path is in the repository`, () => {
    assert.deepEqual(problems(file), []);
  });
}

test("the checker finds what it must (a broken link, anchor, path and reference)", () => {
  const text = "# Title\n\nSee [x](nowhere.md), [y](#no-such), `examples/none.json` and DESIGN.md.\n```\n[in code](missing.md)\n```\nA [wrapped\nlink](#gone).\n";
  const tmp = join(ROOT, "target", "links-selftest.md");
  mkdirSync(dirname(tmp), { recursive: true });
  writeFileSync(tmp, text);
  try {
    const found = problems(relative(ROOT, tmp));
    assert.equal(found.length, 5, found.join("\n"));
    assert.match(found[0], /nowhere\.md does not exist/);
    assert.match(found[1], /#no-such is no heading/);
    assert.match(found[2], /:7: #gone is no heading/);
    assert.match(found[3], /examples\/none\.json` is not in the repository/);
    assert.match(found[4], /"DESIGN\.md" is not something/);
  } finally {
    rmSync(tmp, { force: true });
  }
});
