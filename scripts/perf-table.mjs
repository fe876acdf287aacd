// The README's performance table, made from bench/RESULTS.md so that no
// figure is typed twice: every row of a RESULTS.md table that has a budget,
// and every "Budget (...): ..." sentence of a section, in the order of the
// file.
//
//   node scripts/perf-table.mjs                 prints the table
//   node scripts/perf-table.mjs --write FILE    puts it between FILE's
//                                               <!-- BEGIN performance --> and <!-- END performance -->
//   node scripts/perf-table.mjs --check FILE    exits 1 when FILE's table is not the one RESULTS.md makes
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BEGIN = "<!-- BEGIN performance -->";
const END = "<!-- END performance -->";

const cells = (line) =>
  line
    .trim()
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((c) => c.trim());

/** `[{ name, title, lines }]`, one per `<!-- BEGIN name -->` section. */
export function sections(text) {
  const out = [];
  for (const m of text.matchAll(/<!-- BEGIN ([\w-]+) -->\n([\s\S]*?)<!-- END \1 -->/g)) {
    const lines = m[2].split("\n");
    const title = (lines.find((l) => l.startsWith("## ")) ?? `## ${m[1]}`)
      .slice(3)
      .replace(/\s*\(`make [^)]*`\)\s*$/, "")
      .trim();
    out.push({ name: m[1], title, lines });
  }
  return out;
}

/** The rows `[area, figure, measured, budget]` of one section. */
export function budgetRows({ title, lines }) {
  const rows = [];
  let table = null;
  const flush = () => {
    if (table && table.length > 2) rows.push(...tableRows(title, table[0], table.slice(2)));
    table = null;
  };
  const prose = [];
  for (const line of lines) {
    if (line.startsWith("|")) {
      table ??= [];
      table.push(cells(line));
    } else {
      flush();
      prose.push(line);
    }
  }
  flush();
  const text = prose.filter((l) => !l.startsWith("<!--")).join(" ").replace(/\s+/g, " ");
  for (const m of text.matchAll(/Budget \(([^)]*)\):? (.*?)\.(?=\s+[A-Z]|\s*$)/g)) {
    // (The design document is not part of the repository: not named here.)
    const source = m[1].replace(/DESIGN\.md:?\s*/g, "").trim();
    rows.push([title, source ? `the budget (${source})` : "the budget", m[2].trim(), ""]);
  }
  return rows;
}

function tableRows(title, head, body) {
  const h = head.map((c) => c.toLowerCase());
  if (h[0].startsWith("budget")) {
    // | budget | measured | verdict |
    return body.map((r) => [title, r[0], r[1], verdict(r[2])]);
  }
  const b = h.findIndex((c) => c.startsWith("budget"));
  if (b < 0) return [];
  const m = ["measured", "value", "speed-up", "per call"].map((x) => h.indexOf(x)).find((i) => i >= 0);
  if (m === undefined) return [];
  const within = h.indexOf("within");
  const area = ["measured", "value"].includes(h[m]) ? title : `${title}, ${h[m]}`;
  return body
    .filter((r) => r[b])
    .map((r) => [area, r[0], r[m], within >= 0 ? `${r[b]}: ${verdict(r[within])}` : r[b]]);
}

function verdict(v) {
  const s = v.replace(/\*/g, "").trim();
  return s === "yes" ? "met" : s === "no" ? "missed" : s;
}

export function table(results) {
  const rows = sections(results).flatMap(budgetRows);
  if (rows.length === 0) throw new Error("bench/RESULTS.md has no budget rows");
  return [
    "| area | figure | measured | budget |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
  ].join("\n");
}

function splice(text, body) {
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`no ${BEGIN} ... ${END} in the file`);
  return `${text.slice(0, a + BEGIN.length)}\n${body}\n${text.slice(b)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, file] = process.argv.slice(2);
  const made = table(readFileSync(`${ROOT}/bench/RESULTS.md`, "utf8"));
  if (!mode) {
    console.log(made);
  } else if (mode === "--write" || mode === "--check") {
    if (!file) throw new Error(`${mode} needs a file`);
    const text = readFileSync(file, "utf8");
    const want = splice(text, made);
    if (mode === "--write") {
      writeFileSync(file, want);
    } else if (want !== text) {
      console.error(`${file}: the performance table is not the one bench/RESULTS.md makes; run node scripts/perf-table.mjs --write ${file}`);
      process.exit(1);
    }
  } else {
    console.error("usage: node scripts/perf-table.mjs [--write FILE | --check FILE]");
    process.exit(2);
  }
}
