// The playground: every keystroke compiles the policy with the agentguard
// package (its browser entry, through the page's import map), decides every
// tool call (a name, and its arguments when the line has them), and shows
// the decisions, the rule that decided each one and the shadow rules that
// fired (marked in the policy text), the audit trail, and any error where it
// is: in the policy (kind, field, index), or on the line of a call whose
// arguments cannot be read. The state lives in the URL's fragment, so a
// link restores it.

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
  status: $("policy-status"),
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
  return `#${params}`;
}

/** Restores the state from the URL's fragment; false when it holds none. */
function restoreFromUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has("policy")) return false;
  try {
    ui.policy.value = fromBase64Url(params.get("policy") ?? "");
    ui.tools.value = fromBase64Url(params.get("tools") ?? "");
  } catch {
    toast("This link's policy could not be read; showing a template instead.");
    return false;
  }
  setApprovalMode(params.get("approval") ?? "none");
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
function showPolicyError(err) {
  ui.status.className = "status error";
  const where = [];
  if (err.field !== null && err.field !== undefined) where.push(el("span", {}, "field ", el("code", { class: "err-field" }, err.field)));
  if (err.index !== null && err.index !== undefined) where.push(el("span", {}, "index ", el("code", { class: "err-index" }, String(err.index))));
  ui.status.replaceChildren(
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

  let policy;
  try {
    policy = Policy.fromJSON(text, options);
  } catch (err) {
    const e = err instanceof PolicyError ? err : { kind: "error", message: messageOf(err) };
    showPolicyError(e);
    let span = errorSpan(scanned, e.field, e.index, e.kind, e.message);
    if (!span && e.kind === "json" && scanned.error) span = { start: scanned.error.offset, end: scanned.error.offset + 1 };
    if (!span && e.kind === "not_an_object") span = { start: 0, end: text.length };
    paintBackdrop(span ? [{ ...span, cls: "err", title: e.message, data: e.field ? { field: e.field } : undefined }] : []);
    paintCallErrors(calls);
    clearOutputs("Fix the policy to see decisions.");
    ui.template.value = "";
    updateUrl();
    return;
  }

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
}

init();
