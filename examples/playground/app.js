// The playground: every keystroke compiles the policy with the agentguard
// package (its browser entry, through the page's import map), decides every
// tool name, and shows the decisions, the rule that decided each one (marked
// in the policy text), the audit trail, and any error in the policy where
// it is. The state lives in the URL's fragment, so a link restores it.

import { Policy, PolicyError, fnmatch } from "agentguard";
import { TEMPLATES, formatPolicy } from "./templates.js";
import { policySpans, errorSpan } from "./spans.js";

const $ = (id) => document.getElementById(id);
const ui = {
  template: $("template"),
  share: $("share"),
  format: $("format"),
  policy: $("policy"),
  backdrop: $("backdrop"),
  status: $("policy-status"),
  tools: $("tools"),
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

/** The tool names: one a line; blank lines are skipped, nothing is trimmed. */
function toolNames() {
  return ui.tools.value.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
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
 * Paints the backdrop behind the editor: the same text, with marks on the
 * rules that decided (coloured by decision) and on the error's location.
 * @param {{ start: number, end: number, cls: string, key?: string, title?: string }[]} marks
 */
function paintBackdrop(marks) {
  const text = ui.policy.value;
  const sorted = [...marks].sort((a, b) => a.start - b.start);
  const out = [];
  let at = 0;
  for (const m of sorted) {
    if (m.start < at) continue; // overlapping marks: the first one wins
    out.push(document.createTextNode(text.slice(at, m.start)));
    const mark = el("mark", { class: m.cls }, text.slice(m.start, m.end) || " ");
    if (m.key) mark.dataset.key = m.key;
    if (m.title) mark.title = m.title;
    out.push(mark);
    at = Math.max(m.end, m.start + 1);
  }
  // A trailing newline in a textarea still takes a line: keep the heights equal.
  out.push(document.createTextNode(`${text.slice(at)}\n `));
  ui.backdrop.replaceChildren(...out);
  syncScroll();
}

function syncScroll() {
  ui.backdrop.scrollTop = ui.policy.scrollTop;
  ui.backdrop.scrollLeft = ui.policy.scrollLeft;
}

function showPolicyOk(policy, spec) {
  const n = spec.allow.length + spec.deny.length + spec.require_approval.length;
  ui.status.className = "status ok";
  ui.status.replaceChildren(
    el("span", { class: "ok-dot", "aria-hidden": "true" }),
    el("span", {}, "Policy ", el("b", {}, policy.name), ` compiled: ${n} pattern${n === 1 ? "" : "s"}, default `),
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

function renderResults(rows) {
  const counts = { allow: 0, deny: 0, require_approval: 0 };
  ui.results.replaceChildren(
    ...rows.map(({ result, key }) => {
      counts[result.decision]++;
      const row = el(
        "tr",
        { class: `r-${result.decision}`, tabindex: "0", dataset: { tool: result.tool, decision: result.decision } },
        el("td", { class: "tool" }, el("code", {}, result.tool)),
        el("td", {}, badge(result.decision)),
        el("td", { class: "reason" }, result.reason),
        el("td", { class: "rule" }, result.matchedRule === null ? el("span", { class: "muted" }, "—") : el("code", { class: "chip" }, result.matchedRule)),
      );
      if (key) row.dataset.key = key;
      return row;
    }),
  );
  if (rows.length === 0) {
    ui.results.append(el("tr", { class: "empty" }, el("td", { colspan: "4" }, "Type a tool name above, one a line.")));
  }
  ui.summary.replaceChildren(
    ...["allow", "deny", "require_approval"].map((d) =>
      el("span", { class: `count d-${d}${counts[d] ? "" : " zero"}` }, el("b", {}, String(counts[d])), ` ${d}`),
    ),
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
      ),
    ),
  );
  ui.auditJson.textContent = entries.map((e) => JSON.stringify(e)).join("\n");
}

function clearOutputs(message) {
  ui.results.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: "4" }, message)));
  ui.summary.replaceChildren();
  ui.audit.replaceChildren();
  ui.auditNote.textContent = "";
  ui.auditJson.textContent = "";
}

// ------------------------------------------------------------- the update

function update() {
  const text = ui.policy.value;
  const scanned = policySpans(text);
  const mode = approvalMode();
  const options = mode === "none" ? {} : { onApproval: () => mode === "approve" };

  let policy;
  try {
    policy = Policy.fromJSON(text, options);
  } catch (err) {
    const e = err instanceof PolicyError ? err : { kind: "error", message: String(err?.message ?? err) };
    showPolicyError(e);
    let span = errorSpan(scanned, e.field, e.index, e.kind);
    if (!span && e.kind === "json" && scanned.error) span = { start: scanned.error.offset, end: scanned.error.offset + 1 };
    if (!span && e.kind === "not_an_object") span = { start: 0, end: text.length };
    paintBackdrop(span ? [{ ...span, cls: "err", title: e.message }] : []);
    clearOutputs("Fix the policy to see decisions.");
    ui.template.value = "";
    updateUrl();
    return;
  }

  const spec = policy.toJSON();
  showPolicyOk(policy, spec);
  const marks = new Map();
  const rows = toolNames().map((tool) => {
    const result = policy.check(tool);
    // The rule that decided, structured by the core: no reason to parse.
    const rule = result.rule;
    let key = null;
    if (rule !== null && "list" in rule) {
      key = `${rule.list}[${rule.index}]`;
      const span = scanned.spans.get(key);
      if (span && !marks.has(key)) {
        marks.set(key, { ...span, key, cls: `hit d-${result.decision}`, title: `${result.decision}: ${result.reason}` });
      }
    }
    return { result, key };
  });
  paintBackdrop([...marks.values()]);
  renderResults(rows);
  renderAudit(policy, spec);
  syncTemplateSelect();
  updateUrl();
}

function syncTemplateSelect() {
  const t = TEMPLATES.find((t) => formatPolicy(t.policy) === ui.policy.value);
  ui.template.value = t ? t.id : "";
}

function updateUrl() {
  history.replaceState(null, "", stateFragment());
}

// ------------------------------------------------------------ interactions

/** Emphasises one rule in the editor and the rows it decided. */
function focusRule(key) {
  for (const m of document.querySelectorAll(".focus")) m.classList.remove("focus");
  if (!key) return;
  for (const m of document.querySelectorAll(`[data-key="${CSS.escape(key)}"]`)) m.classList.add("focus");
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
  ui.policy.addEventListener("scroll", syncScroll);
  ui.tools.addEventListener("input", update);
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
    ui.results.addEventListener(ev, (e) => focusRule(e.target.closest("tr")?.dataset.key));
  }
  ui.results.addEventListener("mouseleave", () => focusRule(null));
  ui.results.addEventListener("focusout", () => focusRule(null));
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
