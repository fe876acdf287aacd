// The playground: every keystroke compiles the policy with the agentguard
// package (its browser entry, through the page's import map), decides every
// tool call (a name, and its arguments when the line has them), and shows
// the decisions, the rule that decided each one and the shadow rules that
// fired (marked in the policy text), the audit trail, and any error where it
// is: in the policy (kind, field, index), or on the line of a call whose
// arguments cannot be read. The state lives in the URL's fragment, so a
// link restores it.
//
// The analysis (`agentguard/analysis`, a wasm module of its own, loaded after
// the page is up) lints the policy a moment after each edit: a wavy
// underline on the place each finding names, and the findings listed under
// the editor. In compare mode it also diffs an old policy against the
// current one: every transition of a decision, each with a witness call
// that a click adds to the tool calls. Without it, the page still decides.

import { Policy, PolicyError, fnmatch } from "agentguard";
import { TEMPLATES, formatPolicy } from "./templates.js";
import { policySpans, errorSpan } from "./spans.js";
import { parseCalls } from "./calls.js";

const $ = (id) => document.getElementById(id);
const ui = {
  template: $("template"),
  share: $("share"),
  format: $("format"),
  policy: $("policy"),
  backdrop: $("backdrop"),
  lintBackdrop: $("lint-backdrop"),
  status: $("policy-status"),
  findingsSummary: $("findings-summary"),
  findingsNote: $("findings-note"),
  findingsList: $("findings-list"),
  work: $("work"),
  compare: $("compare"),
  oldPanel: $("old-panel"),
  oldPolicy: $("old-policy"),
  oldBackdrop: $("old-backdrop"),
  oldStatus: $("old-policy-status"),
  oldReset: $("old-reset"),
  diffPanel: $("diff-panel"),
  diffSummary: $("diff-summary"),
  diffBody: $("diff-body"),
  tools: $("tools"),
  toolsBackdrop: $("tools-backdrop"),
  summary: $("summary"),
  results: $("results").tBodies[0],
  audit: $("audit").tBodies[0],
  auditNote: $("audit-note"),
  auditJson: $("audit-json"),
  auditJsonToggle: $("audit-json-toggle"),
  testerPattern: $("tester-pattern"),
  testerName: $("tester-name"),
  testerOut: $("tester-out"),
  toast: $("toast"),
};

// ---------------------------------------------------------------- the state

/** @returns {"none" | "approve" | "reject"} */
function approvalMode() {
  return /** @type {any} */ (document.querySelector('input[name="approval"]:checked')).value;
}

function setApprovalMode(mode) {
  const input = document.querySelector(`input[name="approval"][value="${mode}"]`);
  if (input) input.checked = true;
}

/** Whether compare mode is on: the old policy's editor and the changes are shown. */
const comparing = () => ui.compare.getAttribute("aria-pressed") === "true";

/**
 * Turns compare mode on or off. Turned on, the old policy starts as the
 * current one (so that editing shows the changes), unless `oldText` is given.
 * @param {boolean} on
 * @param {string} [oldText]
 */
function setCompare(on, oldText) {
  ui.compare.setAttribute("aria-pressed", String(on));
  ui.work.classList.toggle("comparing", on);
  ui.oldPanel.hidden = !on;
  ui.diffPanel.hidden = !on;
  if (oldText !== undefined) ui.oldPolicy.value = oldText;
  else if (on) ui.oldPolicy.value = ui.policy.value;
}

function loadTemplate(t) {
  ui.policy.value = formatPolicy(t.policy);
  ui.tools.value = `${t.tools.join("\n")}\n`;
}

// ---------------------------------------------------------- the share link

const utf8 = new TextEncoder();

function toBase64Url(text) {
  let binary = "";
  for (const byte of utf8.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(b64) {
  const binary = atob(b64.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

/** The fragment that restores the current state. */
function stateFragment() {
  const params = new URLSearchParams();
  params.set("policy", toBase64Url(ui.policy.value));
  params.set("tools", toBase64Url(ui.tools.value));
  if (approvalMode() !== "none") params.set("approval", approvalMode());
  if (comparing()) {
    params.set("compare", "1");
    params.set("old", toBase64Url(ui.oldPolicy.value));
  }
  return `#${params}`;
}

/** Restores the state from the URL's fragment; false when it holds none. */
function restoreFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("policy")) return false;
  let old;
  try {
    ui.policy.value = fromBase64Url(params.get("policy") ?? "");
    ui.tools.value = fromBase64Url(params.get("tools") ?? "");
    old = params.get("compare") === "1" ? fromBase64Url(params.get("old") ?? "") : undefined;
  } catch {
    toast("This link's policy could not be read; showing a template instead.");
    return false;
  }
  setApprovalMode(params.get("approval") ?? "none");
  setCompare(old !== undefined, old);
  return true;
}

// --------------------------------------------------------------- rendering

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const badge = (decision) => el("span", { class: `badge d-${decision}` }, decision);

/**
 * Paints the backdrop behind an editor: the same text, with marks on the
 * rules that decided (coloured by decision), on the shadow rules that fired,
 * and on the errors' locations.
 * @param {{ start: number, end: number, cls: string, key?: string, title?: string, data?: Record<string, string> }[]} marks
 * @param {HTMLTextAreaElement} [textarea]
 * @param {HTMLElement} [backdrop]
 */
function paintBackdrop(marks, textarea = ui.policy, backdrop = ui.backdrop) {
  const text = textarea.value;
  const sorted = [...marks].sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const m of sorted) {
    if (m.start < at) continue; // overlapping marks: the first one wins
    out.push(document.createTextNode(text.slice(at, m.start)));
    const mark = el("mark", { class: m.cls }, text.slice(m.start, m.end) || " ");
    if (m.key) mark.dataset.key = m.key;
    if (m.title) mark.title = m.title;
    if (m.data) Object.assign(mark.dataset, m.data);
    out.push(mark);
    at = Math.max(m.end, m.start + 1);
  }
  // A trailing newline in a textarea still takes a line: keep the heights equal.
  out.push(document.createTextNode(`${text.slice(at)}\n `));
  backdrop.replaceChildren(...out);
  syncScroll(textarea, backdrop);
}

function syncScroll(textarea = ui.policy, backdrop = ui.backdrop) {
  backdrop.scrollTop = textarea.scrollTop;
  backdrop.scrollLeft = textarea.scrollLeft;
  // The policy editor has two layers behind it: the marks and the squiggles.
  if (backdrop === ui.backdrop) {
    ui.lintBackdrop.scrollTop = textarea.scrollTop;
    ui.lintBackdrop.scrollLeft = textarea.scrollLeft;
  }
}

function showPolicyOk(policy, spec) {
  const n = spec.allow.length + spec.deny.length + spec.require_approval.length;
  const rules = spec.rules ?? [];
  const shadows = rules.filter((r) => r.mode === "shadow").length;
  const ruleText = rules.length === 0 ? "" : `, ${rules.length} rule${rules.length === 1 ? "" : "s"}${shadows ? ` (${shadows} shadow)` : ""}`;
  ui.status.className = "status ok";
  ui.status.replaceChildren(
    el("span", { class: "ok-dot", "aria-hidden": "true" }),
    el("span", {}, "Policy ", el("b", {}, policy.name), ` compiled: ${n} pattern${n === 1 ? "" : "s"}${ruleText}, default `),
    badge(spec.default),
    spec.audit ? "" : el("span", { class: "muted" }, "· audit off"),
  );
}

/** Shows a policy error under the editor, naming its field and index. */
function showPolicyError(err, status = ui.status) {
  status.className = "status error";
  const where = [];
  if (err.field !== null && err.field !== undefined) where.push(el("span", {}, "field ", el("code", { class: "err-field" }, err.field)));
  if (err.index !== null && err.index !== undefined) where.push(el("span", {}, "index ", el("code", { class: "err-index" }, String(err.index))));
  status.replaceChildren(
    el("span", { class: "err-kind" }, err.kind ?? "error"),
    el("span", { class: "err-message" }, err.message),
    ...(where.length ? [el("span", { class: "err-where" }, ...where.flatMap((w, i) => (i ? [" · ", w] : [w])))] : []),
  );
}

/** Shadow rules that fired: `id would <decision>`, one chip each. */
function shadowChips(shadow) {
  if (!shadow || shadow.length === 0) return el("span", { class: "muted" }, "—");
  return el(
    "span",
    { class: "shadow-list" },
    ...shadow.map((s) =>
      el("span", { class: `shadow-hit d-${s.decision}`, dataset: { id: s.id, decision: s.decision }, title: `shadow rule ${s.id}: would ${s.decision}, not enforced` },
        el("code", {}, s.id), ` would ${s.decision}`),
    ),
  );
}

/** The tool cell: the name, and the arguments as typed. */
function callCell(call) {
  return el(
    "td",
    { class: "tool", title: call.text },
    el("code", { class: "name" }, call.tool),
    call.argsText === null ? null : el("code", { class: "args" }, call.argsText),
    // A line with no name before its arguments: the line as typed.
    call.tool === "" && call.argsText === null ? el("code", { class: "args" }, call.text) : null,
  );
}

/**
 * @param {Array<{ call: import("./calls.js").Call, result?: any, error?: string, key?: string | null, shadowKeys?: string[] }>} rows
 */
function renderResults(rows) {
  const counts = { allow: 0, deny: 0, require_approval: 0 };
  let errors = 0;
  ui.results.replaceChildren(
    ...rows.map(({ call, result, error, key, shadowKeys }) => {
      if (error !== undefined) {
        // A line that cannot be called: its error, never a decision.
        errors++;
        return el(
          "tr",
          { class: "line-error", tabindex: "0", dataset: { line: String(call.line) } },
          callCell(call),
          el("td", {}, el("span", { class: "badge d-error" }, "error")),
          el("td", { class: "reason line-message", colspan: "3" }, error),
        );
      }
      counts[result.decision]++;
      const row = el(
        "tr",
        { class: `r-${result.decision}`, tabindex: "0", dataset: { tool: result.tool, decision: result.decision, line: String(call.line) } },
        callCell(call),
        el("td", {}, badge(result.decision)),
        el("td", { class: "reason" }, result.reason),
        el("td", { class: "rule" }, result.matchedRule === null ? el("span", { class: "muted" }, "default") : el("code", { class: "chip" }, result.matchedRule)),
        el("td", { class: "shadow" }, shadowChips(result.shadow)),
      );
      if (call.argsText !== null) row.dataset.args = call.argsText;
      if (key) row.dataset.key = key;
      if (shadowKeys?.length) row.dataset.shadowKeys = shadowKeys.join(" ");
      return row;
    }),
  );
  if (rows.length === 0) {
    ui.results.append(el("tr", { class: "empty" }, el("td", { colspan: "5" }, "Type a tool call above, one a line: a name, or a name and its arguments as JSON.")));
  }
  ui.summary.replaceChildren(
    ...["allow", "deny", "require_approval"].map((d) =>
      el("span", { class: `count d-${d}${counts[d] ? "" : " zero"}` }, el("b", {}, String(counts[d])), ` ${d}`),
    ),
    ...(errors ? [el("span", { class: "count d-error" }, el("b", {}, String(errors)), ` line error${errors === 1 ? "" : "s"}`)] : []),
  );
}

function renderAudit(policy, spec) {
  const entries = policy.auditLog.map((e) => e.toJSON());
  ui.auditNote.textContent = spec.audit
    ? `${entries.length} entr${entries.length === 1 ? "y" : "ies"}, newest last`
    : 'off: this policy has "audit": false';
  ui.audit.replaceChildren(
    ...entries.map((e, i) =>
      el(
        "tr",
        {},
        el("td", { class: "muted" }, String(i + 1)),
        el("td", { class: "time" }, new Date(e.timestamp * 1000).toISOString().slice(11, 23)),
        el("td", {}, el("code", {}, e.tool)),
        el("td", {}, badge(e.decision)),
        el("td", { class: "reason" }, e.reason),
        el("td", {}, e.matched_rule === undefined ? el("span", { class: "muted" }, "—") : el("code", { class: "chip" }, e.matched_rule)),
        el("td", { class: "shadow" }, shadowChips(e.shadow)),
      ),
    ),
  );
  ui.auditJson.textContent = entries.map((e) => JSON.stringify(e)).join("\n");
}

function clearOutputs(message) {
  ui.results.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: "5" }, message)));
  ui.summary.replaceChildren();
  ui.audit.replaceChildren();
  ui.auditNote.textContent = "";
  ui.auditJson.textContent = "";
}

// ------------------------------------------------------------- the update

/** What an exception says, as a line of text. */
const messageOf = (err) => String(err?.message ?? err);

/**
 * Decides one call: `check(tool)` for a name alone, `check(tool, { args })`
 * for a name with arguments. What the package throws (arguments it cannot
 * read) is that line's error.
 */
function decide(policy, call) {
  try {
    return { result: call.args === null ? policy.check(call.tool) : policy.check(call.tool, { args: call.args }) };
  } catch (err) {
    return { error: `line ${call.line}: ${err?.name && err.name !== "Error" ? `${err.name}: ` : ""}${messageOf(err)}` };
  }
}

function update() {
  const text = ui.policy.value;
  const scanned = policySpans(text);
  const mode = approvalMode();
  const options = mode === "none" ? {} : { onApproval: () => mode === "approve" };
  const calls = parseCalls(ui.tools.value);

  current = { text, scanned, ok: false };
  if (comparing()) checkOldPolicy();
  let policy;
  try {
    policy = Policy.fromJSON(text, options);
  } catch (err) {
    const e = err instanceof PolicyError ? err : { kind: "error", message: messageOf(err) };
    showPolicyError(e);
    paintBackdrop(errorMarks(e, scanned, text));
    paintCallErrors(calls);
    clearOutputs("Fix the policy to see decisions.");
    ui.template.value = "";
    updateUrl();
    scheduleAnalysis();
    return;
  }
  current.ok = true;

  const spec = policy.toJSON();
  showPolicyOk(policy, spec);
  // Where rule `id` is in the text: `rules[i]`, its index in the file.
  const ruleIndex = new Map((spec.rules ?? []).map((r, i) => [r.id, i]));
  const marks = new Map();
  const mark = (key, cls, title, span = scanned.spans.get(key)) => {
    if (span && !marks.has(key)) marks.set(key, { ...span, key, cls, title });
    return key;
  };
  // A rule is marked at its `"id": "..."`: the name rows and chips show.
  const ruleMark = (id, cls, title) => {
    const key = `rules[${ruleIndex.get(id)}]`;
    const k = scanned.spans.get(`key:${key}.id`);
    const v = scanned.spans.get(`${key}.id`);
    return mark(key, cls, title, k && v ? { start: k.start, end: v.end } : undefined);
  };
  const rows = calls.map((call) => {
    if (call.error !== null) return { call, error: call.error };
    const { result, error } = decide(policy, call);
    if (error !== undefined) return { call, error };
    // The rule that decided, structured by the core: no reason to parse.
    const rule = result.rule;
    let key = null;
    const title = `${result.decision}: ${result.reason}`;
    if (rule === null) {
      // A default decided: mark the policy's "default", when the text has one.
      key = mark("default", `hit default d-${result.decision}`, title);
    } else if ("list" in rule) {
      key = mark(`${rule.list}[${rule.index}]`, `hit d-${result.decision}`, title);
    } else if (ruleIndex.has(rule.id)) {
      key = ruleMark(rule.id, `hit rule d-${result.decision}`, title);
    }
    const shadowKeys = (result.shadow ?? [])
      .filter((s) => ruleIndex.has(s.id))
      .map((s) => ruleMark(s.id, `shadow d-${s.decision}`, `shadow rule ${s.id}: would ${s.decision}, not enforced`));
    return { call, result, key, shadowKeys };
  });
  paintBackdrop([...marks.values()]);
  paintCallErrors(calls, rows);
  renderResults(rows);
  renderAudit(policy, spec);
  syncTemplateSelect();
  updateUrl();
  scheduleAnalysis();
}

/** The mark of a policy error in its editor: where its field and index are. */
function errorMarks(e, scanned, text) {
  let span = errorSpan(scanned, e.field, e.index, e.kind, e.message);
  if (!span && e.kind === "json" && scanned.error) span = { start: scanned.error.offset, end: scanned.error.offset + 1 };
  if (!span && e.kind === "not_an_object") span = { start: 0, end: text.length };
  return span ? [{ ...span, cls: "err", title: e.message, data: e.field ? { field: e.field } : undefined }] : [];
}

/** Compiles the old policy: its error is shown and marked in its editor, as for the new one. */
function checkOldPolicy() {
  const text = ui.oldPolicy.value;
  try {
    const old = Policy.fromJSON(text);
    const n = old.toJSON();
    ui.oldStatus.className = "status ok";
    ui.oldStatus.replaceChildren(
      el("span", { class: "ok-dot", "aria-hidden": "true" }),
      el("span", {}, "Old policy ", el("b", {}, old.name), " compiled, default "),
      badge(n.default),
    );
    old.free?.();
    paintBackdrop([], ui.oldPolicy, ui.oldBackdrop);
    oldOk = true;
  } catch (err) {
    const e = err instanceof PolicyError ? err : { kind: "error", message: messageOf(err) };
    showPolicyError(e, ui.oldStatus);
    paintBackdrop(errorMarks(e, policySpans(text), text), ui.oldPolicy, ui.oldBackdrop);
    oldOk = false;
  }
}

/** Marks the lines of the tool-call list that could not be called. */
function paintCallErrors(calls, rows = []) {
  const marks = [];
  for (const call of calls) {
    const row = rows.find((r) => r.call === call);
    const message = call.error ?? row?.error;
    if (!message) continue;
    const at = call.errorAt ?? { start: call.start, end: call.start + call.text.length };
    marks.push({ ...at, cls: "err", title: message, data: { line: String(call.line) } });
  }
  paintBackdrop(marks, ui.tools, ui.toolsBackdrop);
}

function syncTemplateSelect() {
  const t = TEMPLATES.find((t) => formatPolicy(t.policy) === ui.policy.value);
  ui.template.value = t ? t.id : "";
}

function updateUrl() {
  history.replaceState(null, "", stateFragment());
}

// ------------------------------------------------------------ the analysis

/** The last policy text the update read: its spans, and whether it compiled. */
let current = { text: "", scanned: policySpans(""), ok: false };
/** Whether the old policy compiled (compare mode). */
let oldOk = false;

/**
 * `agentguard/analysis`, once imported: `{ lint, diff }`; `null` while it
 * loads; `{ error }` when it could not be loaded (the page decides anyway).
 * @type {null | { lint: Function, diff: Function } | { error: string }}
 */
let analysis = null;
/** Wait this long after the last edit before analysing (typing is never held up by it). */
const ANALYSIS_DELAY_MS = 120;
let analysisTimer = 0;
/** What was last analysed: the policy, and the old one when comparing. */
let analysedKey = null;

const analysisKey = () => JSON.stringify([ui.policy.value, comparing() ? ui.oldPolicy.value : null]);

/**
 * Analyses the policy (and diffs the old one) a moment after the last edit,
 * unless it already has: `body[data-analysis]` is `pending` until the
 * findings and changes on screen are those of the text in the editors, then
 * `done` (`unavailable` when the module could not be loaded).
 */
function scheduleAnalysis() {
  if (analysis && "error" in analysis) return;
  if (analysisKey() === analysedKey) return;
  document.body.dataset.analysis = "pending";
  clearTimeout(analysisTimer);
  if (analysis) analysisTimer = setTimeout(runAnalysis, ANALYSIS_DELAY_MS);
  // While the module loads, loadAnalysis runs it once it is there.
}

async function loadAnalysis() {
  try {
    const mod = await import("agentguard/analysis");
    analysis = { lint: mod.lint, diff: mod.diff };
    // A module whose wasm failed to load still imports; its first use throws.
    mod.lint('{"allow": ["x"]}');
  } catch (err) {
    analysis = { error: messageOf(err) };
    analysisUnavailable(analysis.error);
    return;
  }
  analysedKey = null;
  runAnalysis();
}

/** The note shown instead of findings (and changes) when the analysis is not there. */
function analysisUnavailable(why) {
  clearTimeout(analysisTimer);
  ui.lintBackdrop.replaceChildren();
  ui.findingsList.replaceChildren();
  ui.findingsSummary.textContent = "";
  ui.findingsNote.hidden = false;
  ui.findingsNote.className = "note findings-note unavailable";
  ui.findingsNote.textContent = `Lint and compare are unavailable: agentguard/analysis could not be loaded (${why}). Decisions still work.`;
  ui.diffSummary.replaceChildren();
  ui.diffBody.replaceChildren(el("p", { class: "diff-empty unavailable" }, "Compare needs agentguard/analysis, which could not be loaded."));
  document.body.dataset.analysis = "unavailable";
}

function runAnalysis() {
  clearTimeout(analysisTimer);
  if (!analysis || "error" in analysis) return;
  analysedKey = analysisKey();
  try {
    renderFindings(current.ok ? analysis.lint(current.text) : null);
    if (comparing()) renderDiff();
  } catch (err) {
    // A bug here must not stop the page: say so where the findings go.
    ui.findingsNote.hidden = false;
    ui.findingsNote.className = "note findings-note";
    ui.findingsNote.textContent = `The analysis failed: ${messageOf(err)}`;
  }
  document.body.dataset.analysis = "done";
}

/** A location as the core writes it: `deny[3]`, `rules[2] (id)`, `rules[2].when.amount (id)`. */
function locationText(loc) {
  return `${loc.field}${loc.index === null || loc.index === undefined ? "" : `[${loc.index}]`}${loc.rule ? ` (${loc.rule})` : ""}`;
}

/**
 * The span of the policy text a finding's location names: a rule at its
 * `"id": "..."` (as the decisions mark it), a list pattern or a part of a
 * rule where spans.js finds it; a value that spans lines by its key.
 * @returns {{ start: number, end: number } | null}
 */
function locationSpan(scanned, loc) {
  const { spans } = scanned;
  if (/^rules\[\d+\]$/.test(loc.field) && (loc.index === null || loc.index === undefined)) {
    const k = spans.get(`key:${loc.field}.id`);
    const v = spans.get(`${loc.field}.id`);
    if (k && v) return { start: k.start, end: v.end };
  }
  const span = errorSpan(scanned, loc.field, loc.index);
  if (!span) return null;
  const key = spans.get(`key:${loc.field}`);
  if ((loc.index === null || loc.index === undefined) && key && current.text.slice(span.start, span.end).includes("\n")) return key;
  return span;
}

const SEVERITY_RANK = { info: 0, warning: 1, error: 2 };

/**
 * Paints the squiggles: one wavy underline per stretch of text, coloured by
 * the most serious finding over it, its title every message there.
 * @param {Array<{ start: number, end: number, severity: string, message: string, n: number }>} spans
 */
function paintLint(spans) {
  const text = ui.policy.value;
  const cuts = [...new Set(spans.flatMap((s) => [s.start, s.end]))].sort((a, b) => a - b);
  const out = [];
  let at = 0;
  for (let c = 0; c + 1 < cuts.length; c++) {
    const [a, b] = [cuts[c], cuts[c + 1]];
    const over = spans.filter((s) => s.start <= a && s.end >= b);
    if (over.length === 0) continue;
    const worst = over.reduce((w, s) => (SEVERITY_RANK[s.severity] > SEVERITY_RANK[w] ? s.severity : w), "info");
    out.push(document.createTextNode(text.slice(at, a)));
    const mark = el("mark", { class: `lint sev-${worst}`, title: over.map((s) => s.message).join("\n") }, text.slice(a, b));
    mark.dataset.findings = over.map((s) => s.n).join(" ");
    out.push(mark);
    at = b;
  }
  out.push(document.createTextNode(`${text.slice(at)}\n `));
  ui.lintBackdrop.replaceChildren(...out);
  syncScroll();
}

/** Selects a span of the policy text, scrolled into view. */
function selectInPolicy(span) {
  const ta = ui.policy;
  ta.focus();
  ta.setSelectionRange(span.start, span.end);
  // Scroll so that the selection is visible: its line, a third down.
  const line = ta.value.slice(0, span.start).split("\n").length - 1;
  const lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 20;
  const top = line * lineHeight;
  if (top < ta.scrollTop || top + lineHeight > ta.scrollTop + ta.clientHeight) ta.scrollTop = Math.max(0, top - ta.clientHeight / 3);
  syncScroll();
}

/**
 * The findings under the editor and the squiggles in it; `null`: the
 * policy does not compile, so there is nothing to lint.
 */
function renderFindings(findings) {
  ui.findingsNote.hidden = true;
  ui.findingsNote.className = "note findings-note";
  if (findings === null) {
    paintLint([]);
    ui.findingsList.replaceChildren();
    ui.findingsSummary.textContent = "";
    ui.findingsNote.hidden = false;
    ui.findingsNote.textContent = "Lint runs once the policy compiles.";
    return;
  }
  const spans = [];
  const items = findings.map((f, n) => {
    const span = locationSpan(current.scanned, f.location);
    if (span) spans.push({ start: span.start, end: Math.max(span.end, span.start + 1), severity: f.severity, message: `${f.severity} ${f.code}: ${f.message}`, n });
    const where = locationText(f.location);
    const go = el(
      "button",
      { type: "button", class: "finding-go", title: span ? "Select it in the policy" : "Not found in the text" },
      el("span", { class: "finding-top" },
        el("span", { class: "sev" }, f.severity),
        el("code", { class: "finding-code" }, f.code),
        el("span", { class: "finding-where" }, where)),
      el("span", { class: "finding-message" }, f.message),
    );
    if (span) go.addEventListener("click", () => selectInPolicy(span));
    else go.disabled = true;
    const item = el(
      "li",
      { class: `finding sev-${f.severity}`, dataset: { code: f.code, severity: f.severity, where, n: String(n) } },
      go,
      f.hint ? el("div", { class: "finding-hint" }, el("b", {}, "hint: "), f.hint) : null,
      f.witness ? el("div", { class: "finding-witness" }, el("span", { class: "muted" }, "for example "), witnessButton(f.witness)) : null,
    );
    if (span) Object.assign(item.dataset, { start: String(span.start), end: String(span.end) });
    return item;
  });
  paintLint(spans);
  ui.findingsList.replaceChildren(...items);
  if (findings.length === 0) {
    ui.findingsNote.hidden = false;
    ui.findingsNote.textContent = "Nothing to report: no pattern or rule that can never decide, no fnmatch trap, no condition that never holds.";
  }
  const count = (sev) => findings.filter((f) => f.severity === sev).length;
  ui.findingsSummary.textContent =
    findings.length === 0
      ? "no findings"
      : ["error", "warning", "info"].filter((s) => count(s)).map((s) => `${count(s)} ${s}${count(s) === 1 ? "" : "s"}`).join(" · ");
}

/** The tool-call line of a call: `tool`, or `tool {json args}`; `null` when the name cannot be written as a line. */
function callLine(call) {
  const args = call.args ?? {};
  const line = Object.keys(args).length === 0 ? call.tool : `${call.tool} ${JSON.stringify(args)}`;
  // Read back exactly as calls.js reads the list, or not offered.
  const back = parseCalls(line);
  const same = back.length === 1 && back[0].error === null && back[0].tool === call.tool
    && JSON.stringify(back[0].args ?? {}) === JSON.stringify(args);
  return same ? line : null;
}

/** A witness call, as a button that adds it to the tool calls. */
function witnessButton(call) {
  const line = callLine(call);
  const shown = line ?? `${JSON.stringify(call.tool)}${Object.keys(call.args ?? {}).length ? ` ${JSON.stringify(call.args)}` : ""}`;
  const button = el("button", { type: "button", class: "witness", dataset: { tool: call.tool } }, shown);
  if (line === null) {
    button.disabled = true;
    button.title = "This name cannot be written as a line of the tool-call list";
  } else {
    button.dataset.line = line;
    button.title = "Add this call to the tool calls";
    button.addEventListener("click", () => addCall(line));
  }
  return button;
}

/** Appends a call to the tool-call list, decides it, and shows its row. */
function addCall(line) {
  const text = ui.tools.value;
  const before = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  ui.tools.value = `${before}${line}\n`;
  const n = before.split("\n").length; // the 1-based line it went on
  update();
  ui.tools.scrollTop = ui.tools.scrollHeight;
  syncScroll(ui.tools, ui.toolsBackdrop);
  const row = ui.results.querySelector(`tr[data-line="${n}"]`);
  if (row) {
    row.classList.add("just-added");
    row.scrollIntoView({ block: "nearest" });
    setTimeout(() => row.classList.remove("just-added"), 1600);
  }
  toast(`Added line ${n}: ${line.length > 60 ? `${line.slice(0, 57)}…` : line}`);
}

const ruleChip = (rule) => (rule === null || rule === undefined ? el("span", { class: "muted" }, "default") : el("code", { class: "chip" }, rule));

/** One change: the transition, its witness, the rules (and reasons) old and new. */
function changeItem(c, reasonOnly) {
  // The core says which changes widen what can run.
  const wider = !reasonOnly && c.wider;
  return el(
    "li",
    { class: `change${wider ? " wider" : ""}`, dataset: { from: c.from, to: c.to, tool: c.tool } },
    el("div", { class: "transition" },
      ...(reasonOnly
        ? [badge(c.to), el("span", { class: "muted" }, "either way")]
        : [badge(c.from), el("span", { class: "arrow", "aria-label": "becomes" }, "→"), badge(c.to)]),
      wider ? el("span", { class: "wider-tag", title: c.to === "allow" ? "newly allowed" : "newly possible with approval" }, "wider") : null),
    el("div", { class: "change-witness" }, witnessButton(c)),
    el("div", { class: "change-rules" }, "old ", ruleChip(c.old_rule), el("span", { class: "arrow" }, " → "), "new ", ruleChip(c.new_rule)),
    el("div", { class: "change-reasons" }, `${c.old_reason} → ${c.new_reason}`),
  );
}

/** The changes from the old policy to the new one. */
function renderDiff() {
  if (!oldOk || !current.ok) {
    ui.diffSummary.replaceChildren();
    ui.diffBody.replaceChildren(el("p", { class: "diff-wait" }, !oldOk ? "Fix the old policy to compare." : "Fix the policy to compare."));
    return;
  }
  const d = analysis.diff(ui.oldPolicy.value, current.text);
  const changes = [...d.changes].sort((a, b) => Number(b.wider) - Number(a.wider));
  const wider = changes.filter((c) => c.wider).length;
  ui.diffSummary.replaceChildren(
    el("span", { class: `count${changes.length ? "" : " zero"}` }, el("b", {}, String(changes.length)), ` change${changes.length === 1 ? "" : "s"}`),
    el("span", { class: `count${wider ? " d-deny" : " zero"}` }, el("b", {}, String(wider)), " wider"),
    el("span", { class: `count${d.reason_changes.length ? "" : " zero"}` }, el("b", {}, String(d.reason_changes.length)), " reason only"),
    ...(d.exact ? [] : [el("span", { class: "count d-require_approval" }, "not exact")]),
  );
  const parts = [
    d.exact
      ? null
      : el("div", { class: "diff-notes", id: "diff-notes" },
          el("b", {}, "Not exact: "), "part of it was compared on samples, so a change may be missing.",
          el("ul", {}, ...d.notes.map((n) => el("li", {}, n)))),
    changes.length === 0
      ? el("p", { class: "diff-empty" }, "No call is decided differently.")
      : el("ol", { class: "changes", id: "changes", "aria-label": "Transitions" }, ...changes.map((c) => changeItem(c, false))),
    d.reason_changes.length === 0 ? null : el("h3", {}, "Same decision, another rule or reason"),
    d.reason_changes.length === 0
      ? null
      : el("ol", { class: "changes reason-changes", id: "reason-changes", "aria-label": "Reason-only changes" }, ...d.reason_changes.map((c) => changeItem(c, true))),
  ];
  ui.diffBody.replaceChildren(...parts.filter((p) => p !== null));
}

// ------------------------------------------------------------ interactions

/** Emphasises the rules of one row in the editor (the deciding one, and any shadow hits) and the rows they decided. */
function focusRow(row) {
  for (const m of document.querySelectorAll(".focus")) m.classList.remove("focus");
  if (!row) return;
  const keys = [row.dataset.key, ...(row.dataset.shadowKeys ?? "").split(" ")].filter(Boolean);
  for (const key of keys) {
    for (const m of document.querySelectorAll(`[data-key="${CSS.escape(key)}"]`)) m.classList.add("focus");
  }
  const line = row.classList.contains("line-error") ? row.dataset.line : null;
  if (line) for (const m of ui.toolsBackdrop.querySelectorAll(`mark[data-line="${line}"]`)) m.classList.add("focus");
  // A long policy: bring the deciding rule into view.
  const first = ui.backdrop.querySelector("mark.focus");
  if (first) {
    const top = first.offsetTop;
    const view = ui.policy;
    if (top < view.scrollTop || top + first.offsetHeight > view.scrollTop + view.clientHeight) {
      view.scrollTop = Math.max(0, top - view.clientHeight / 3);
      syncScroll();
    }
  }
}

let toastTimer = 0;
function toast(message) {
  ui.toast.textContent = message;
  ui.toast.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => ui.toast.classList.remove("show"), 2200);
}

async function copyShareLink() {
  updateUrl();
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: it restores this policy and these tool names.");
  } catch {
    prompt("Copy this link:", location.href);
  }
}

function updateTester() {
  const match = fnmatch(ui.testerName.value, ui.testerPattern.value);
  ui.testerOut.className = match ? "yes" : "no";
  ui.testerOut.textContent = match ? "matches" : "no match";
}

function init() {
  ui.template.append(
    el("option", { value: "", disabled: "" }, "Custom policy"),
    ...TEMPLATES.map((t) => el("option", { value: t.id }, t.label)),
  );
  if (!restoreFromUrl()) loadTemplate(TEMPLATES[0]);

  ui.policy.addEventListener("input", update);
  ui.policy.addEventListener("scroll", () => syncScroll());
  ui.tools.addEventListener("input", update);
  ui.oldPolicy.addEventListener("input", update);
  ui.oldPolicy.addEventListener("scroll", () => syncScroll(ui.oldPolicy, ui.oldBackdrop));
  ui.compare.addEventListener("click", () => {
    setCompare(!comparing());
    update();
    if (comparing()) ui.oldPanel.scrollIntoView({ block: "nearest" });
  });
  ui.oldReset.addEventListener("click", () => {
    ui.oldPolicy.value = ui.policy.value;
    update();
  });
  ui.tools.addEventListener("scroll", () => syncScroll(ui.tools, ui.toolsBackdrop));
  for (const r of document.querySelectorAll('input[name="approval"]')) r.addEventListener("change", update);
  ui.template.addEventListener("change", () => {
    const t = TEMPLATES.find((t) => t.id === ui.template.value);
    if (t) loadTemplate(t);
    update();
  });
  ui.format.addEventListener("click", () => {
    try {
      ui.policy.value = formatPolicy(JSON.parse(ui.policy.value));
      update();
    } catch {
      toast("Only valid JSON can be formatted: see the error below the editor.");
    }
  });
  ui.share.addEventListener("click", copyShareLink);
  ui.auditJsonToggle.addEventListener("click", () => {
    const show = ui.auditJson.hidden;
    ui.auditJson.hidden = !show;
    ui.auditJsonToggle.setAttribute("aria-expanded", String(show));
    ui.auditJsonToggle.textContent = show ? "Hide JSON" : "Show JSON";
  });
  for (const ev of ["mouseover", "focusin"]) {
    ui.results.addEventListener(ev, (e) => focusRow(e.target.closest("tr")));
  }
  ui.results.addEventListener("mouseleave", () => focusRow(null));
  ui.results.addEventListener("focusout", () => focusRow(null));
  $("tester").addEventListener("submit", (e) => e.preventDefault());
  ui.testerPattern.addEventListener("input", updateTester);
  ui.testerName.addEventListener("input", updateTester);
  window.addEventListener("hashchange", () => {
    if (location.hash !== stateFragment() && restoreFromUrl()) update();
  });

  updateTester();
  update();
  document.body.dataset.ready = "true";
  // After the page is up: the decisions never wait for the analysis.
  loadAnalysis();
}

init();
