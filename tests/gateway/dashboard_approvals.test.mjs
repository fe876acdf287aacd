// The dashboard's tool side in Debian's Chromium (issue 14 item 7): the
// approvals panel (an agent asks over HTTP, the call appears without a
// reload, Approve and Deny answer the agent's long-poll and its repeat
// check), the tool decisions from the audit, the tool policy editor (lint
// findings and the diff of a dry run shown before saving, a confirmation
// before a change that widens a decision), and an approver key, which sees
// the approvals only. Tool names, arguments and notes come from agents and
// people: they stay text.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { launch, watchedPage } from "../browser/chromium.mjs";
import { ADMIN, AGENTS, ROOT, call, keyOf, startServer, tempDir } from "./helpers.mjs";
import { contrastReport } from "./contrast.mjs";

const APPROVER = "test-approver-key-0001";
const WAIT = { timeout: 10_000 };
const toolsPath = (agent) => `/v1/agents/${encodeURIComponent(agent)}/policies/tools`;
const OPS_POLICY = {
  name: "ops-tools",
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["deploy_*"],
  default: "deny",
};

/** A gateway whose keys file has an admin (alice), an approver (bob) and the agents' keys. */
async function gateway(t) {
  const dir = tempDir(t);
  const keys = { [ADMIN]: { role: "admin", name: "alice" }, [APPROVER]: { role: "approver", name: "bob" } };
  for (const a of AGENTS) keys[keyOf(a)] = { role: "agent", agent: a };
  const keysFile = join(dir, "keys.json");
  writeFileSync(keysFile, JSON.stringify({ keys }));
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile });
  t.after(() => gw.stop());
  return gw;
}

async function setToolPolicy(gw, agent, policy) {
  const r = await call(gw.url, "PUT", toolsPath(agent), { key: ADMIN, body: policy });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const storedToolPolicy = async (gw, agent) => (await call(gw.url, "GET", toolsPath(agent), { key: ADMIN })).body;

/** An agent asks whether it may call `tool`; the gateway's answer. */
async function ask(gw, agent, tool, args = {}, extra = {}) {
  const r = await call(gw.url, "POST", "/v1/tools/check", { key: keyOf(agent), body: { tool, args, ...extra } });
  return r;
}

/** Asks and expects require_approval; the approval's id. */
async function askApproval(gw, agent, tool, args, extra) {
  const r = await ask(gw, agent, tool, args, extra);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.decision, "require_approval");
  assert.match(r.body.approval.id, /^apr_/);
  return r.body.approval.id;
}

/** Waits until the text of `selector` matches `re`; returns it. */
async function waitText(page, selector, re) {
  try {
    await page.waitForFunction(
      ([sel, source, flags]) => new RegExp(source, flags).test(document.querySelector(sel)?.textContent ?? ""),
      [selector, re.source, re.flags],
      WAIT,
    );
  } catch (e) {
    throw new Error(`${selector} never matched ${re}; it says ${JSON.stringify(await page.textContent(selector).catch(() => null))}`, { cause: e });
  }
  return page.textContent(selector);
}

/**
 * Chromium with the dashboard connected with `key`. `requests` logs every
 * request the page makes; `dialogs` every dialog, answered from `answers`
 * (one nobody expected is dismissed and fails the test).
 */
async function openDashboard(t, gw, key, contextOptions = {}) {
  const browser = await launch({ viewport: { width: 1280, height: 900 }, ...contextOptions });
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);
  const requests = [];
  page.on("request", (r) => requests.push({ method: r.method(), url: new URL(r.url()) }));
  const dialogs = [];
  const answers = [];
  page.on("dialog", async (d) => {
    const answer = answers.shift() ?? "unexpected";
    dialogs.push({ type: d.type(), message: d.message(), answer });
    await (answer === "accept" ? d.accept() : d.dismiss());
  });
  let loads = 0;
  page.on("load", () => loads++);
  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#key", key);
  await page.click("#connect");
  await waitText(page, "#status", /^connected/);
  return { page, problems, requests, dialogs, answers, loads: () => loads };
}

const pendingRow = (page, id) => page.locator(`#approvals tbody tr[data-approval-id="${id}"]`);
const decidedRow = (page, id) => page.locator(`#approvals-decided tbody tr[data-approval-id="${id}"]`);


test("approvals appear live; Approve and Deny answer the waiting agent; tool decisions; data stays text", { timeout: 120_000 }, async (t) => {
  const gw = await gateway(t);
  await setToolPolicy(gw, "ops-agent", OPS_POLICY);
  const { page, problems, requests, loads } = await openDashboard(t, gw, ADMIN);
  assert.equal(await waitText(page, "#approvals tbody", /no calls waiting/), "no calls waiting for approval");
  assert.equal(await waitText(page, "#approvals-decided tbody", /none decided/), "none decided yet");
  assert.equal(await waitText(page, "#tool-decisions tbody", /no tool decisions/), "no tool decisions of these kinds yet");

  // The agent asks over HTTP; the call appears without a reload.
  const args = { version: "1.4.2", targets: ["eu-west", "us-east"], options: { canary: true, percent: 5 } };
  const id = await askApproval(gw, "ops-agent", "deploy_prod", args, { context: { ticket: "OPS-7" } });
  const row = pendingRow(page, id);
  await row.waitFor(WAIT);
  assert.equal(loads(), 1, "no reload");
  assert.equal(await row.locator("td.agent").textContent(), "ops-agent");
  assert.equal(await row.locator("td.tool").textContent(), "deploy_prod");
  assert.equal(await row.locator("pre.args").first().textContent(), JSON.stringify(args, null, 2), "the arguments as pretty JSON");
  assert.equal(await row.locator("pre.context").textContent(), JSON.stringify({ ticket: "OPS-7" }, null, 2));
  assert.equal(await row.locator("td.rule code.matched-rule").textContent(), "deploy_*");
  assert.match(await row.locator("td.rule").textContent(), /require_approval\[0\]/);
  assert.equal(await row.locator("td.rule .reason").textContent(), "requires approval per pattern: deploy_*");
  assert.match(await row.locator("time.age").textContent(), /^\d+ s ago$/);
  assert.match(await row.locator(".expires").textContent(), /expires in 1[45] min/);
  assert.match(await row.locator("time.age").getAttribute("datetime"), /^\d{4}-\d{2}-\d{2}T/);

  // Approve, with a note: the agent's long-poll answers granted at once.
  const started = performance.now();
  const waiting = call(gw.url, "GET", `/v1/approvals/${id}?wait=10`, { key: keyOf("ops-agent") });
  await row.locator("input.approval-note").fill("ship it <b>now</b>");
  await row.locator("button.approve").click();
  const answer = await waiting;
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  assert.equal(answer.body.approval.status, "granted");
  assert.equal(answer.body.approval.decided_by, "alice");
  assert.equal(answer.body.approval.note, "ship it <b>now</b>");
  assert.ok(performance.now() - started < 9_000, "the long-poll answered on the decision, not at its timeout");
  await waitText(page, "#approvals-status", new RegExp(`^granted: ops-agent's call of deploy_prod \\(${id}\\)$`));
  await page.waitForFunction((i) => !document.querySelector(`#approvals tr[data-approval-id="${i}"]`), id, WAIT);
  await decidedRow(page, id).waitFor(WAIT);
  assert.equal(await decidedRow(page, id).locator("td.decided-by").textContent(), "alice");
  assert.equal(await decidedRow(page, id).locator("td.approval-note").textContent(), "ship it <b>now</b>");
  assert.match(await decidedRow(page, id).locator("td.decided-at").textContent(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  // The repeat check with the approval's id is allowed once.
  const allowed = await ask(gw, "ops-agent", "deploy_prod", args, { approval_id: id });
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  assert.equal(allowed.body.decision, "allow");
  const again = await ask(gw, "ops-agent", "deploy_prod", args, { approval_id: id });
  assert.equal(again.status, 409);
  assert.equal(again.body.error, "approval_used");
  await page.waitForFunction(
    (i) => document.querySelector(`#approvals-decided tr[data-approval-id="${i}"] td.status .status`)?.textContent === "used",
    id,
    WAIT,
  );

  // Deny, without a note: the agent hears denied, and its repeat check is denied.
  const id2 = await askApproval(gw, "ops-agent", "deploy_staging", { version: "2" });
  await pendingRow(page, id2).waitFor(WAIT);
  const waiting2 = call(gw.url, "GET", `/v1/approvals/${id2}?wait=10`, { key: keyOf("ops-agent") });
  await pendingRow(page, id2).locator("button.deny").click();
  const answer2 = await waiting2;
  assert.equal(answer2.body.approval.status, "denied");
  assert.equal(answer2.body.approval.decided_by, "alice");
  assert.equal(answer2.body.approval.note, null);
  const refused = await ask(gw, "ops-agent", "deploy_staging", { version: "2" }, { approval_id: id2 });
  assert.equal(refused.status, 200);
  assert.equal(refused.body.decision, "deny");
  await page.waitForFunction(
    (i) => document.querySelector(`#approvals-decided tr[data-approval-id="${i}"] td.status .status`)?.textContent === "denied",
    id2,
    WAIT,
  );
  const grants = requests.filter((r) => r.method === "POST" && r.url.pathname.startsWith("/v1/approvals/"));
  assert.deepEqual(grants.map((r) => r.url.pathname), [`/v1/approvals/${id}/grant`, `/v1/approvals/${id2}/deny`]);

  // Hostile tool names and arguments stay text.
  const hostileTool = "deploy_<img src=x onerror=window.__pwned=1>";
  const hostileArgs = { cmd: "<script>window.__pwned=2</script>", html: "<img src=x onerror=window.__pwned=3>" };
  const id3 = await askApproval(gw, "ops-agent", hostileTool, hostileArgs, { context: { why: "<b onmouseover=window.__pwned=4>x</b>" } });
  await pendingRow(page, id3).waitFor(WAIT);
  assert.equal(await pendingRow(page, id3).locator("td.tool").textContent(), hostileTool);
  assert.equal(await pendingRow(page, id3).locator("pre.args").first().textContent(), JSON.stringify(hostileArgs, null, 2));

  // Tool decisions: deny and require_approval by default, newest first.
  assert.equal((await ask(gw, "ops-agent", "drop_users")).body.decision, "deny");
  assert.equal((await ask(gw, "ops-agent", "read_logs")).body.decision, "allow");
  const denied = page.locator('#tool-decisions tbody tr[data-decision="deny"]');
  await page.waitForFunction(
    () => document.querySelector('#tool-decisions tbody tr[data-decision="deny"] td.tool')?.textContent === "drop_users",
    null,
    WAIT,
  );
  assert.equal(await denied.first().locator("td.agent").textContent(), "ops-agent");
  assert.equal(await denied.first().locator("td.rule code").textContent(), "drop_*");
  assert.equal(await denied.first().locator("td.reason").textContent(), "denied by pattern: drop_*");
  assert.equal(await denied.first().locator("span.decision").textContent(), "deny");
  const tools = await page.locator("#tool-decisions tbody td.tool").allTextContents();
  assert.ok(tools.includes(hostileTool), JSON.stringify(tools));
  assert.ok(!tools.includes("read_logs"), "allow is not shown by default");
  const waitingRow = page.locator(`#tool-decisions tbody tr[data-decision="require_approval"]`).filter({ hasText: id3 });
  assert.equal(await waitingRow.locator("td.tool").textContent(), hostileTool);
  assert.equal(await waitingRow.locator("td.approval").textContent(), id3);
  // Each shown decision is an audit record of kind tool.
  const audit = (await call(gw.url, "GET", "/v1/mesh/audit?decision=deny", { key: ADMIN })).body.records;
  const shownSeqs = await page.$$eval("#tool-decisions tbody tr[data-seq]", (rows) => rows.map((r) => Number(r.dataset.seq)));
  for (const r of audit) if (r.kind === "tool") assert.ok(shownSeqs.includes(r.seq), `deny record ${r.seq} shown`);

  await page.selectOption("#tool-filter", "allow");
  await page.waitForFunction(
    () => [...document.querySelectorAll("#tool-decisions tbody tr[data-decision]")].map((r) => r.dataset.decision).join() === "allow,allow",
    null,
    WAIT,
  );
  assert.deepEqual(await page.locator("#tool-decisions tbody td.tool").allTextContents(), ["read_logs", "deploy_prod"]);
  await page.selectOption("#tool-filter", "approval_granted,approval_denied");
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll("#tool-decisions tbody tr[data-decision]")].map((r) => r.dataset.decision).join() ===
        "approval_denied,approval_granted",
    null,
    WAIT,
  );
  assert.deepEqual(await page.locator("#tool-decisions tbody td.rule").allTextContents(), ["by alice", "by alice"]);

  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("img, b").count(), 0, "no element from data");

  // Readable in light and dark, badges and buttons included.
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    const report = await page.evaluate(contrastReport);
    assert.ok(report.checked > 50, `only ${report.checked} texts checked`);
    assert.deepEqual(report.failures, [], `${scheme}: texts under 4.5:1 contrast`);
  }
  mkdirSync(join(ROOT, "target"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "target/gateway-dashboard-approvals.png"), fullPage: true });
  assert.equal(loads(), 1, "never reloaded");
  assert.deepEqual(problems, []);
});

test("a note being typed survives the live refresh; a call decided elsewhere leaves the list", { timeout: 120_000 }, async (t) => {
  const gw = await gateway(t);
  await setToolPolicy(gw, "ops-agent", OPS_POLICY);
  const { page, problems } = await openDashboard(t, gw, ADMIN);
  const first = await askApproval(gw, "ops-agent", "deploy_a", { n: 1 });
  await pendingRow(page, first).waitFor(WAIT);
  const note = pendingRow(page, first).locator("input.approval-note");
  await note.click();
  await note.pressSequentially("looked at i");
  // A newer call arrives above it meanwhile, and a few refreshes pass.
  const second = await askApproval(gw, "ops-agent", "deploy_b", { n: 2 });
  await pendingRow(page, second).waitFor(WAIT);
  await page.waitForTimeout(2_200);
  await page.keyboard.type("t");
  assert.equal(await note.inputValue(), "looked at it");
  assert.deepEqual(
    await page.$$eval("#approvals tbody tr[data-approval-id]", (rows) => rows.map((r) => r.dataset.approvalId)),
    [second, first],
    "newest first",
  );
  // Decided by someone else (the approver, over HTTP): gone from the page.
  const r = await call(gw.url, "POST", `/v1/approvals/${second}/deny`, { key: APPROVER, body: { note: "not today" } });
  assert.equal(r.status, 200);
  await page.waitForFunction((i) => !document.querySelector(`#approvals tr[data-approval-id="${i}"]`), second, WAIT);
  assert.equal(await decidedRow(page, second).locator("td.decided-by").textContent(), "bob");
  assert.equal(await decidedRow(page, second).locator("td.approval-note").textContent(), "not today");
  assert.equal(await note.inputValue(), "looked at it");
  await pendingRow(page, first).locator("button.approve").click();
  await waitText(page, "#approvals-status", /^granted: /);
  const stored = (await call(gw.url, "GET", `/v1/approvals/${first}`, { key: ADMIN })).body.approval;
  assert.equal(stored.note, "looked at it");
  assert.equal(stored.decided_by, "alice");
  // Deciding one already decided says why (409) and drops it.
  const third = await askApproval(gw, "ops-agent", "deploy_c", {});
  await pendingRow(page, third).waitFor(WAIT);
  await page.route(`**/v1/approvals/${third}/grant`, async (route) => {
    await call(gw.url, "POST", `/v1/approvals/${third}/deny`, { key: APPROVER });
    await route.continue();
  });
  await pendingRow(page, third).locator("button.approve").click();
  assert.match(await waitText(page, "#approvals-status", /^409 /), /409 approval_decided: approval "apr_[0-9a-f]+" is already denied/);
  assert.equal(await page.getAttribute("#approvals-status", "class"), "error");
  await page.waitForFunction((i) => !document.querySelector(`#approvals tr[data-approval-id="${i}"]`), third, WAIT);
  assert.deepEqual(problems.filter((p) => !/409/.test(p)), []);
  assert.equal(problems.length, 2, JSON.stringify(problems));
});

test("tool policy editor: lint findings and the diff before saving, a question before widening, then PUT", { timeout: 120_000 }, async (t) => {
  const gw = await gateway(t);
  await setToolPolicy(gw, "ops-agent", OPS_POLICY);
  const { page, problems, requests, dialogs, answers } = await openDashboard(t, gw, ADMIN);
  const puts = () => requests.filter((r) => r.method === "PUT" && r.url.pathname === toolsPath("ops-agent"));
  const saves = () => puts().filter((r) => !r.url.searchParams.has("dry_run"));

  // Each agent's row loads its tool policy into the editor.
  await page.locator('#agents tr[data-agent="ops-agent"] button.tools').click();
  await page.waitForFunction(() => document.querySelector("#tool-policy").value !== "", null, WAIT);
  assert.deepEqual(JSON.parse(await page.inputValue("#tool-policy")), OPS_POLICY);
  assert.equal(await page.inputValue("#tool-agent"), "ops-agent");
  assert.match(await page.textContent("#tool-version"), /^version 1, set on \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \(versions 1\)$/);

  // Not JSON: said so, nothing sent.
  await page.fill("#tool-policy", '{"deny": ["drop_*"');
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^not JSON: /);
  assert.equal(await page.getAttribute("#tool-status", "class"), "error");
  assert.equal(puts().length, 0);

  // A change that shadows a pattern and widens a decision: Save checks
  // first (a dry run) and shows both, saving nothing.
  const wider = { ...OPS_POLICY, allow: ["read_*", "write_*"], deny: ["drop_*", "drop_table"] };
  await page.fill("#tool-policy", JSON.stringify(wider, null, 2));
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^not saved yet: 1 lint finding, 1 wider decision; read them below, then Save again$/);
  assert.equal(await page.getAttribute("#tool-status", "class"), "notice");
  assert.deepEqual(puts().map((r) => r.url.search), ["?dry_run=true&create=true"]);
  assert.equal(await page.isVisible("#tool-review"), true);
  const finding = page.locator('#tool-lint li[data-code="shadowed"]');
  assert.equal(await finding.getAttribute("data-severity"), "warning");
  assert.match(await finding.locator(".message").textContent(), /deny\[1\] "drop_table" can never decide/);
  assert.match(await finding.textContent(), /hint: remove it/);
  assert.match(await page.textContent("#tool-diff-summary"), /^against version 1: 1 decision change \(1 wider\), 0 reason-only changes$/);
  const change = page.locator('#tool-diff li.change[data-wider="true"]');
  assert.deepEqual(await change.locator(".decision").allTextContents(), ["deny", "allow"]);
  assert.equal(await change.locator("code.call").textContent(), "write_");
  assert.match(await change.textContent(), /old: \(default\) — not in allow list \(default: deny\)/);
  assert.match(await change.textContent(), /new: write_\* — allowed by pattern: write_\*/);
  assert.equal((await storedToolPolicy(gw, "ops-agent")).version, 1, "nothing saved yet");
  mkdirSync(join(ROOT, "target"), { recursive: true });
  await page.locator("#tool-review").screenshot({ path: join(ROOT, "target/gateway-dashboard-tool-review.png") });

  // Save again: it widens a decision, so it asks; dismissed, nothing saved.
  answers.push("dismiss");
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^cancelled: nothing saved; the tool policy of ops-agent is unchanged$/);
  assert.equal(dialogs.at(-1).type, "confirm");
  assert.match(dialogs.at(-1).message, /^save the tool policy of ops-agent\? It widens 1 decision:/);
  assert.match(dialogs.at(-1).message, /deny → allow: write_/);
  assert.equal(saves().length, 0);
  assert.equal((await storedToolPolicy(gw, "ops-agent")).version, 1);

  // Accepted: saved with PUT (after a fresh dry run).
  answers.push("accept");
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^saved the tool policy of ops-agent \(version 2\)$/);
  assert.deepEqual(saves().map((r) => r.url.search), [""]);
  const v2 = await storedToolPolicy(gw, "ops-agent");
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.policy, wider);
  assert.equal((await ask(gw, "ops-agent", "write_x")).body.decision, "allow", "the gateway enforces the saved policy");

  // A narrowing change: shown, then saved without a question.
  const narrower = { ...wider, allow: ["read_*"], deny: ["drop_*"] };
  await page.fill("#tool-policy", JSON.stringify(narrower, null, 2));
  await page.click("#tool-check");
  await waitText(page, "#tool-status", /^checked, nothing saved: 0 lint findings, 0 wider decisions$/);
  assert.equal(await page.textContent("#tool-lint"), "no findings");
  assert.match(await page.textContent("#tool-diff-summary"), /^against version 2: 1 decision change \(0 wider\)/);
  assert.deepEqual(await page.locator('#tool-diff li.change[data-wider="false"] .decision').allTextContents(), ["allow", "deny"]);
  const asked = dialogs.length;
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^saved the tool policy of ops-agent \(version 3\)$/);
  assert.equal(dialogs.length, asked, "no question for a narrower policy");
  assert.deepEqual((await storedToolPolicy(gw, "ops-agent")).policy, narrower);

  // Edited after the check: Save checks again instead of saving.
  await page.click("#tool-check");
  await waitText(page, "#tool-status", /^checked, nothing saved/);
  await page.locator("#tool-policy").press("End");
  await page.locator("#tool-policy").pressSequentially(" ");
  await waitText(page, "#tool-status", /^edited since the check/);
  const saved = saves().length;
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^not saved yet: /);
  assert.equal(saves().length, saved);

  // Changed by someone else between the check and Save: not saved, checked again.
  await setToolPolicy(gw, "ops-agent", { ...narrower, deny: ["drop_*", "truncate_*"] });
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^not saved: the tool policy of ops-agent changed meanwhile \(now version 4\)/);
  assert.equal(saves().length, saved);
  assert.match(await page.textContent("#tool-diff-summary"), /^against version 4: /);

  // An invalid policy: the gateway's message.
  await page.fill("#tool-policy", JSON.stringify({ deny: ["drop_*"], default: "maybe" }));
  await page.click("#tool-check");
  await waitText(page, "#tool-status", /^400 invalid_policy: /);

  // An agent without a tool policy: a starting point, and its first policy.
  await page.locator('#agents tr[data-agent="reporting-agent"] button.tools').click();
  await waitText(page, "#tool-version", /^reporting-agent has no tool policy yet/);
  assert.deepEqual(JSON.parse(await page.inputValue("#tool-policy")), {
    name: "reporting-agent",
    allow: [],
    deny: [],
    require_approval: [],
    default: "deny",
  });
  await page.fill("#tool-policy", JSON.stringify({ name: "reporting", allow: ["report_*"], default: "deny" }));
  await page.click("#tool-save");
  await waitText(page, "#tool-diff-summary", /^reporting-agent has no tool policy in force/);
  await page.click("#tool-save");
  await waitText(page, "#tool-status", /^saved the tool policy of reporting-agent \(version 1\)$/);
  assert.equal((await ask(gw, "reporting-agent", "report_daily")).body.decision, "allow");

  // Hostile text in a policy's patterns stays text in the findings and the diff.
  await page.fill("#tool-policy", JSON.stringify({ allow: ["report_*", "<img src=x onerror=window.__pwned=1>*"], default: "deny" }));
  await page.click("#tool-check");
  await waitText(page, "#tool-status", /^checked/);
  assert.match(await page.textContent("#tool-diff"), /<img src=x onerror=window\.__pwned=1>/);
  assert.equal(await page.locator("#tool-review img").count(), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);

  assert.ok(dialogs.every((d) => d.answer !== "unexpected"), JSON.stringify(dialogs));
  // The only problems: the 400 of the invalid policy and the 404 of the
  // policy reporting-agent did not have yet (twice each: the browser logs them).
  const expected = (p) =>
    (/400/.test(p) && /policies\/tools|status of 400/.test(p)) || (/404/.test(p) && /reporting-agent\/policies\/tools|status of 404/.test(p));
  assert.deepEqual(problems.filter((p) => !expected(p)), []);
  assert.equal(problems.length, 4, JSON.stringify(problems));
});

test("an approver key: the approvals panel only, said in the status line, and it answers as its holder", { timeout: 120_000 }, async (t) => {
  const gw = await gateway(t);
  await setToolPolicy(gw, "ops-agent", OPS_POLICY);
  const id = await askApproval(gw, "ops-agent", "deploy_prod", { v: 1 });
  const { page, problems, requests } = await openDashboard(t, gw, APPROVER);
  await waitText(page, "#status", /^connected as approver · approvals only \(the agents, policies and audit need an admin key\) · updated \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  assert.notEqual(await page.getAttribute("#status", "class"), "error");
  await pendingRow(page, id).waitFor(WAIT);
  assert.equal(await page.isVisible("#approvals"), true);
  assert.equal(await page.isVisible("#approvals-decided"), true);
  for (const hidden of ["#agents", "#editor", "#violations", "#tool-decisions", "#tool-policy", "#audit-heading", "#tools-heading"]) {
    assert.equal(await page.isVisible(hidden), false, `${hidden} is hidden`);
  }

  // Live for an approver too, and decided as bob.
  const id2 = await askApproval(gw, "ops-agent", "deploy_staging", { v: 2 });
  await pendingRow(page, id2).waitFor(WAIT);
  const waiting = call(gw.url, "GET", `/v1/approvals/${id2}?wait=10`, { key: keyOf("ops-agent") });
  await pendingRow(page, id2).locator("input.approval-note").fill("ok for staging");
  await pendingRow(page, id2).locator("button.approve").click();
  const answer = await waiting;
  assert.equal(answer.body.approval.status, "granted");
  assert.equal(answer.body.approval.decided_by, "bob");
  await decidedRow(page, id2).waitFor(WAIT);
  assert.equal(await decidedRow(page, id2).locator("td.decided-by").textContent(), "bob");
  await pendingRow(page, id).locator("button.deny").click();
  await waitText(page, "#approvals-status", /^denied: ops-agent's call of deploy_prod/);

  // A few polls later: still polling the approvals, never the admin feeds again.
  await page.waitForTimeout(2_500);
  const paths = requests.map((r) => r.url.pathname);
  assert.equal(paths.filter((p) => p === "/v1/mesh/agents").length, 1, "the agents list is asked once (it tells the role)");
  assert.equal(paths.filter((p) => p === "/v1/mesh/audit").length, 0);
  assert.equal(paths.filter((p) => p.startsWith("/v1/agents/")).length, 0);
  assert.ok(paths.filter((p) => p === "/v1/approvals").length >= 4, "the approvals are polled");
  assert.match(await page.textContent("#status"), /^connected as approver/);
  // That one refused request (the browser logs it too) is the only problem.
  assert.deepEqual(problems.filter((p) => !/403/.test(p)), []);
  assert.equal(problems.length, 2, JSON.stringify(problems));
  assert.ok(problems.some((p) => p === `HTTP 403: ${gw.url}/v1/mesh/agents`), JSON.stringify(problems));

  // An agent's key is neither: the gateway's refusal, and no polling.
  await page.fill("#key", keyOf("ops-agent"));
  await page.click("#connect");
  await waitText(page, "#status", /^403 forbidden: only admin keys can list agents/);
  assert.equal(await page.getAttribute("#status", "class"), "error");
  assert.equal(await page.isVisible("#agents"), true, "not shown as an approver");
});
