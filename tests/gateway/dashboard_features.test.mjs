// The dashboard's features beyond the basics of dashboard.test.mjs, in
// Debian's Chromium: the system's colour scheme (readable in both), a blocked
// intent's policy shown as mode and patterns, dates on times, audit filters
// and paging (live on the newest page only), delivered/blocked/queued counts,
// empty states, where an admin key comes from, and the confirmations before
// creating a policy for an unknown agent, resetting to open and saving an
// empty allowlist. Written for the Rust gateway's API (counts, a blocked
// record's mode and patterns, PUT's 404 unknown_agent without ?create=true);
// one test strips those fields to check the page does without them.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { launch, watchedPage } from "../browser/chromium.mjs";
import { ADMIN, ROOT, call, freshGateway, policyPath, sendIntent, startServer, tempDir } from "./helpers.mjs";
import { contrastReport } from "./contrast.mjs";

const ASSET = join(ROOT, "crates/gateway/assets/dashboard.html");
/** Not UTC and not a whole hour off it, so a date shown in UTC is caught. */
const TIME_ZONE = "Asia/Kolkata";
const WAIT = { timeout: 10_000 };

const setPolicy = async (gw, agent, direction, mode, patterns = []) => {
  const r = await call(gw.url, "PUT", `${policyPath(agent)}?create=true`, { key: ADMIN, body: { direction, mode, patterns } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const audit = async (gw, query) => {
  const r = await call(gw.url, "GET", `/v1/mesh/audit?${query}`, { key: ADMIN });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const blocked = async (gw, from, to, type) => assert.equal((await sendIntent(gw.url, from, to, type)).status, 403);
const delivered = async (gw, from, to, type) => assert.equal((await sendIntent(gw.url, from, to, type)).status, 202);

/** `seconds` since the epoch as the page should show it in `timeZone`. */
function localDate(seconds, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(seconds * 1000));
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
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
    throw new Error(`${selector} never matched ${re}; it says ${JSON.stringify(await page.textContent(selector))}`, { cause: e });
  }
  return page.textContent(selector);
}

/** The seqs of the audit rows shown, top to bottom. */
const shownSeqs = (page) =>
  page.$$eval("#violations tbody tr[data-seq]", (rows) => rows.map((r) => Number(r.dataset.seq)));

/** Waits until the audit rows are exactly `seqs`. */
async function waitSeqs(page, seqs) {
  try {
    await page.waitForFunction(
      (want) => JSON.stringify([...document.querySelectorAll("#violations tbody tr[data-seq]")].map((r) => Number(r.dataset.seq))) === want,
      JSON.stringify(seqs),
      WAIT,
    );
  } catch (e) {
    throw new Error(`audit rows ${JSON.stringify(await shownSeqs(page))}, expected ${JSON.stringify(seqs)}`, { cause: e });
  }
}

/**
 * Chromium with the dashboard connected as admin. `requests` logs every
 * request the page makes; `dialogs` every dialog, answered from
 * `answers` (a dialog nobody expected is dismissed and fails the test).
 */
async function openDashboard(t, gw, contextOptions = {}) {
  const browser = await launch({ viewport: { width: 1280, height: 900 }, timezoneId: TIME_ZONE, ...contextOptions });
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
  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#key", ADMIN);
  await page.click("#connect");
  await waitText(page, "#status", /^connected/);
  return { page, problems, requests, dialogs, answers };
}

const screenshot = (page, name) => {
  mkdirSync(join(ROOT, "target"), { recursive: true });
  return page.screenshot({ path: join(ROOT, `target/${name}.png`), fullPage: true });
};

test("dashboard follows the system's colour scheme and is readable in both", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*"]);
  await setPolicy(gw, "reporting-agent", "send", "denylist", ["intent.data.delete.*"]);
  await setPolicy(gw, "tenant-b-db", "receive", "allowlist", []);
  await blocked(gw, "ops-agent", "analytics-agent", "intent.data.write.v1");
  await blocked(gw, "reporting-agent", "ops-agent", "intent.data.delete.v1");
  await delivered(gw, "ops-agent", "reporting-agent", "intent.report.build.v1");
  const { page, problems, answers } = await openDashboard(t, gw, { colorScheme: "light" });
  // Every kind of text: badges of each mode and decision, a denylist hit, an
  // error and a notice.
  await page.selectOption("#filter-decision", "all");
  await page.waitForSelector('#violations tr[data-decision="delivered"]', WAIT);
  await page.fill("#editor-agent", "analytics-agent");
  await page.selectOption("#editor-mode", "open");
  await page.fill("#editor-patterns", "x.*");
  await page.click("#save");
  await waitText(page, "#editor-status", /^400 /);
  assert.equal(await page.getAttribute("#editor-status", "class"), "error");

  const seen = {};
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    const report = await page.evaluate(contrastReport);
    assert.ok(report.checked > 50, `only ${report.checked} texts checked`);
    assert.deepEqual(report.failures, [], `${scheme}: texts under 4.5:1 contrast`);
    seen[scheme] = report.page;
    await screenshot(page, `gateway-dashboard-${scheme}`);
  }
  assert.ok(seen.light > 0.8, `light page background luminance ${seen.light}`);
  assert.ok(seen.dark < 0.05, `dark page background luminance ${seen.dark}`);

  // The notice colour too, in the dark.
  answers.push("dismiss");
  await page.fill("#editor-patterns", "");
  await page.click("#save");
  await waitText(page, "#editor-status", /^cancelled/);
  assert.deepEqual((await page.evaluate(contrastReport)).failures, []);
  assert.deepEqual(problems.filter((p) => !/400/.test(p)), []);
});

test("a blocked intent shows the blocking policy's mode and patterns, with dates on times", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*", "intent.data.query.*"]);
  await setPolicy(gw, "reporting-agent", "send", "denylist", ["intent.admin.*", "intent.data.delete.*"]);
  const { page, problems } = await openDashboard(t, gw);
  await blocked(gw, "ops-agent", "analytics-agent", "intent.data.delete.v1");
  await blocked(gw, "reporting-agent", "ops-agent", "intent.data.delete.v2");
  // What the record says counts, not the policy of now.
  await setPolicy(gw, "analytics-agent", "receive", "denylist", ["intent.other.*"]);
  const { records } = await audit(gw, "decision=blocked&limit=10");
  assert.equal(records.length, 2);
  const [byDenylist, byAllowlist] = records;
  assert.equal(byAllowlist.mode, "allowlist", "the gateway's blocked record carries the policy's mode");
  assert.deepEqual(byAllowlist.patterns, ["intent.data.read.*", "intent.data.query.*"]);
  assert.equal(byDenylist.mode, "denylist");
  assert.equal(byDenylist.pattern, "intent.data.delete.*");
  await waitSeqs(page, [byDenylist.seq, byAllowlist.seq]);

  const row = (r) => page.locator(`#violations tbody tr[data-seq="${r.seq}"]`);
  const allow = row(byAllowlist).locator("td.policy");
  assert.equal(await allow.locator(".mode").textContent(), "allowlist");
  assert.equal((await allow.locator(".patterns").textContent()).trim(), "intent.data.read.*, intent.data.query.*");
  assert.equal(await allow.locator(".hit").count(), 0);
  assert.ok(!(await allow.textContent()).includes(byAllowlist.policy_id), "no opaque policy id in the cell");
  assert.equal(await row(byAllowlist).locator("td.direction").textContent(), "receive");

  const deny = row(byDenylist).locator("td.policy");
  assert.equal(await deny.locator(".mode").textContent(), "denylist");
  assert.equal((await deny.locator(".patterns").textContent()).trim(), "intent.admin.*, intent.data.delete.*");
  assert.equal(await deny.locator(".hit code").textContent(), "intent.data.delete.*");
  assert.equal(await row(byDenylist).locator("td.direction").textContent(), "send");
  assert.equal(await row(byDenylist).locator("td.caller").textContent(), "reporting-agent");
  assert.equal(await row(byDenylist).locator("td.receiver").textContent(), "ops-agent");
  assert.equal(await row(byDenylist).locator("td.message").textContent(), byDenylist.message);

  // Dates on times, in the browser's time zone.
  for (const r of records) {
    const shown = await row(r).locator("td.time").textContent();
    assert.match(shown, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    assert.equal(shown, localDate(r.timestamp, TIME_ZONE));
  }
  assert.match(await page.textContent("#status"), /^connected · updated \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  assert.deepEqual(problems, []);
});

test("a gateway without counts or the policy's mode in its records: the page does without", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "reporting-agent", "send", "denylist", ["intent.data.delete.*"]);
  await blocked(gw, "reporting-agent", "ops-agent", "intent.data.delete.v1");
  const browser = await launch({ viewport: { width: 1280, height: 900 } });
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);
  // An older gateway's answers: no counts, no mode or patterns, no audit_id.
  await page.route((url) => url.pathname === "/v1/mesh/agents", async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    for (const a of json.agents ?? []) delete a.counts;
    await route.fulfill({ response, json });
  });
  await page.route((url) => url.pathname === "/v1/mesh/audit", async (route) => {
    const response = await route.fetch();
    const json = await response.json();
    for (const r of json.records ?? []) {
      delete r.mode;
      delete r.patterns;
      delete r.audit_id;
    }
    await route.fulfill({ response, json });
  });
  await page.goto(`${gw.url}/dashboard#key=${ADMIN}`);
  const [record] = (await audit(gw, "decision=blocked&limit=1")).records;
  await waitSeqs(page, [record.seq]);
  const cell = page.locator(`#violations tr[data-seq="${record.seq}"] td.policy`);
  assert.equal(await cell.locator(".policy-id").textContent(), record.policy_id, "the policy id when nothing better is known");
  assert.equal(await cell.locator(".hit code").textContent(), "intent.data.delete.*");
  assert.equal(await cell.locator(".mode").count(), 0);
  assert.equal(await page.getAttribute(`#violations tr[data-seq="${record.seq}"]`, "data-audit-id"), String(record.seq));
  await page.waitForSelector('#agents tr[data-agent="reporting-agent"]', WAIT);
  assert.equal(await page.locator("#agents th.count").first().isVisible(), false, "no count columns without counts");
  assert.equal(await page.locator('#agents tr[data-agent="reporting-agent"] td[data-direction="send"] .mode').textContent(), "denylist");
  assert.deepEqual(problems, []);
});

test("delivered, blocked and queued counts in the agents table", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*"]);
  const { page, problems } = await openDashboard(t, gw);
  for (let i = 0; i < 3; i++) await delivered(gw, "ops-agent", "reporting-agent", `intent.report.build.v${i}`);
  await delivered(gw, "ops-agent", "analytics-agent", "intent.data.read.v1");
  for (let i = 0; i < 2; i++) await blocked(gw, "ops-agent", "analytics-agent", `intent.data.delete.v${i}`);
  const r = await call(gw.url, "GET", "/v1/mesh/agents", { key: ADMIN });
  const counts = Object.fromEntries(r.body.agents.map((a) => [a.agent, a.counts]));
  for (const [agent, c] of Object.entries(counts)) {
    assert.ok(c && ["delivered", "blocked", "queued"].every((k) => Number.isInteger(c[k])), `counts of ${agent}: ${JSON.stringify(c)}`);
  }
  const total = (k) => Object.values(counts).reduce((n, c) => n + c[k], 0);
  assert.ok(total("delivered") >= 4 && total("blocked") >= 2 && total("queued") >= 4, JSON.stringify(counts));

  const want = JSON.stringify(counts);
  try {
    await page.waitForFunction(
      (w) => {
        const shown = {};
        for (const tr of document.querySelectorAll("#agents tbody tr[data-agent]")) {
          const c = {};
          for (const td of tr.querySelectorAll("td[data-count]")) c[td.dataset.count] = Number(td.textContent);
          shown[tr.dataset.agent] = c;
        }
        const expected = JSON.parse(w);
        return Object.keys(expected).every((a) => ["delivered", "blocked", "queued"].every((k) => shown[a]?.[k] === expected[a][k]));
      },
      want,
      WAIT,
    );
  } catch (e) {
    throw new Error(`the table never showed ${want}`, { cause: e });
  }
  assert.equal(await page.locator("#agents th.count").first().isVisible(), true);
  assert.deepEqual(await page.locator("#agents th.count").allTextContents(), ["Delivered", "Blocked", "Queued"]);
  assert.deepEqual(problems, []);
});

test("audit filters by agent and decision, paging back, live only on the newest page", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*"]);
  for (let i = 0; i < 40; i++) await blocked(gw, "ops-agent", "analytics-agent", `intent.data.delete.v${i}`);
  for (let i = 0; i < 5; i++) await blocked(gw, "reporting-agent", "analytics-agent", `intent.data.write.v${i}`);
  for (let i = 0; i < 3; i++) await delivered(gw, "ops-agent", "reporting-agent", `intent.report.build.v${i}`);
  const { page, problems, requests } = await openDashboard(t, gw);
  // The audit trail's requests: the tool decisions list reads the audit too,
  // by decisions of its own (allow, deny, require_approval, approval_*).
  const toolFeed = ["allow", "deny", "require_approval", "approval_granted", "approval_denied"];
  const auditRequests = () =>
    requests.filter((r) => r.url.pathname === "/v1/mesh/audit" && !toolFeed.includes(r.url.searchParams.get("decision")));

  // Newest first, 20 a page.
  await page.selectOption("#filter-limit", "20");
  const first = await audit(gw, "decision=blocked&limit=20");
  assert.equal(first.records.length, 20);
  await waitSeqs(page, first.records.map((r) => r.seq));
  assert.match(await page.textContent("#page-info"), /live/);
  assert.equal(await page.isDisabled("#newest"), true);

  // Older: the next page, asked with before=next_before.
  assert.equal(await page.isDisabled("#older"), false);
  await page.click("#older");
  const second = await audit(gw, `decision=blocked&limit=20&before=${first.next_before}`);
  await waitSeqs(page, second.records.map((r) => r.seq));
  const asked = auditRequests().at(-1).url.searchParams;
  assert.equal(asked.get("before"), String(first.next_before));
  assert.equal(asked.get("decision"), "blocked");
  assert.equal(asked.get("limit"), "20");
  assert.match(await page.textContent("#page-info"), /paused/);
  assert.equal(await page.isDisabled("#newest"), false);

  // Not live back there: a new violation does not change this page.
  await blocked(gw, "ops-agent", "analytics-agent", "intent.data.drop.v1");
  const pollsBefore = requests.filter((r) => r.url.pathname === "/v1/mesh/agents").length;
  await page.waitForTimeout(2_500);
  assert.ok(requests.filter((r) => r.url.pathname === "/v1/mesh/agents").length > pollsBefore, "still polling the agents");
  assert.deepEqual(await shownSeqs(page), second.records.map((r) => r.seq));

  // Older until the end; Newer goes one page back.
  let before = second.next_before;
  while (before !== null) {
    await page.click("#older");
    const next = await audit(gw, `decision=blocked&limit=20&before=${before}`);
    await waitSeqs(page, next.records.map((r) => r.seq));
    before = next.next_before;
  }
  assert.equal(await page.isDisabled("#older"), true, "no older page after next_before null");
  await page.click("#newer");
  await page.waitForFunction(() => document.querySelectorAll("#violations tbody tr[data-seq]").length === 20, null, WAIT);

  // Newest: live again, the violation sent meanwhile on top.
  await page.click("#newest");
  const newest = await audit(gw, "decision=blocked&limit=20");
  assert.equal(newest.records[0].intent_type, "intent.data.drop.v1");
  await waitSeqs(page, newest.records.map((r) => r.seq));
  await blocked(gw, "ops-agent", "analytics-agent", "intent.data.drop.v2");
  await page.waitForFunction(
    () => document.querySelector("#violations tbody tr[data-seq] td.intent-type")?.textContent === "intent.data.drop.v2",
    null,
    WAIT,
  );

  // By agent: the records where it is the caller or the receiver.
  await page.selectOption("#filter-agent", "reporting-agent");
  const reporting = await audit(gw, "agent=reporting-agent&decision=blocked&limit=20");
  assert.equal(reporting.records.length, 5);
  await waitSeqs(page, reporting.records.map((r) => r.seq));
  const byAgent = auditRequests().at(-1).url.searchParams;
  assert.equal(byAgent.get("agent"), "reporting-agent");
  for (const caller of await page.locator("#violations tbody td.caller").allTextContents()) assert.equal(caller, "reporting-agent");

  // By decision.
  await page.selectOption("#filter-decision", "delivered");
  const deliveries = await audit(gw, "agent=reporting-agent&decision=delivered&limit=20");
  assert.equal(deliveries.records.length, 3);
  await waitSeqs(page, deliveries.records.map((r) => r.seq));
  assert.deepEqual(
    await page.$$eval("#violations tbody tr[data-seq]", (rows) => [...new Set(rows.map((r) => r.dataset.decision))]),
    ["delivered"],
  );
  await page.selectOption("#filter-agent", "");
  await page.selectOption("#filter-decision", "policy_set");
  const sets = await audit(gw, "decision=policy_set&limit=20");
  await waitSeqs(page, sets.records.map((r) => r.seq));
  assert.equal(await page.locator("#violations tbody td.receiver").first().textContent(), "analytics-agent");
  await page.selectOption("#filter-decision", "all");
  const all = await audit(gw, "limit=20");
  await waitSeqs(page, all.records.map((r) => r.seq));
  assert.equal(auditRequests().at(-1).url.searchParams.has("decision"), false, "all: no decision parameter");
  await page.selectOption("#filter-decision", "policy_deleted");
  assert.equal(await waitText(page, "#violations tbody", /no records match/), "no records match");

  // A filter that matches nothing says so.
  await page.selectOption("#filter-decision", "blocked");
  await page.selectOption("#filter-agent", "tenant-b-db");
  assert.equal(await waitText(page, "#violations tbody", /no records match/), "no records match");
  assert.deepEqual(problems, []);
});

test("empty states: no agents yet, no violations yet, no records match", { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const keysFile = join(dir, "keys.json");
  writeFileSync(keysFile, JSON.stringify({ keys: { [ADMIN]: { role: "admin" } } }));
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile });
  t.after(() => gw.stop());
  const { page, problems } = await openDashboard(t, gw);
  assert.equal(await waitText(page, "#agents tbody", /no agents yet/), "no agents yet");
  assert.equal(await waitText(page, "#violations tbody", /no violations yet/), "no violations yet");
  await page.selectOption("#filter-decision", "delivered");
  assert.equal(await waitText(page, "#violations tbody", /no records match/), "no records match");
  await page.selectOption("#filter-decision", "blocked");
  assert.equal(await waitText(page, "#violations tbody", /no violations yet/), "no violations yet");
  assert.deepEqual(problems, []);
});

test("where an admin key comes from; #key= in the URL connects and leaves the address bar", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  const browser = await launch();
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);
  await page.goto(`${gw.url}/dashboard#key=${encodeURIComponent(ADMIN)}`);
  await waitText(page, "#status", /^connected/);
  assert.equal(new URL(page.url()).hash, "");
  assert.equal(await page.inputValue("#key"), ADMIN);
  const help = await page.textContent("#key-help");
  assert.match(help, /"role": "admin"/);
  assert.match(help, /keys file/);
  assert.match(help, /--keys/);
  // The demo's keys file it names exists and holds an admin key.
  const demo = /\b(examples\/[\w/.-]+\.json)\b/.exec(help);
  assert.ok(demo, `no demo keys file named in ${JSON.stringify(help)}`);
  const demoKeys = JSON.parse(readFileSync(join(ROOT, demo[1]), "utf8")).keys;
  assert.ok(Object.values(demoKeys).some((k) => k.role === "admin"), `no admin key in ${demo[1]}`);
  assert.equal(await page.isVisible("#key-help"), true);
  assert.ok(
    await page.evaluate(() => document.querySelector("#key-help").closest("section") === document.querySelector("#key").closest("section")),
    "the line is next to the key field",
  );
  assert.deepEqual(problems, []);
});

test("confirmations: unknown agent, reset to open, empty allowlist; a dismissed one changes nothing", { timeout: 120_000 }, async (t) => {
  const gw = await freshGateway(t);
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*"]);
  const { page, problems, requests, dialogs, answers } = await openDashboard(t, gw);
  const writes = () => requests.filter((r) => r.method === "PUT" || r.method === "DELETE");
  const stored = async (agent, direction) => (await call(gw.url, "GET", policyPath(agent), { key: ADMIN })).body.policies[direction];
  const policySets = async () => (await audit(gw, "decision=policy_set&limit=100")).records.length;
  const edit = async (agent, direction, mode, patterns) => {
    await page.fill("#editor-agent", agent);
    await page.selectOption("#editor-direction", direction);
    await page.selectOption("#editor-mode", mode);
    await page.fill("#editor-patterns", patterns);
  };

  // An agent the gateway does not know: asked, and dismissed, nothing saved.
  const setsBefore = await policySets();
  await edit("brand-new-agent", "receive", "allowlist", "intent.data.read.*");
  answers.push("dismiss");
  await page.click("#save");
  await waitText(page, "#editor-status", /^cancelled/);
  assert.equal(dialogs.length, 1);
  assert.equal(dialogs[0].type, "confirm");
  assert.match(dialogs[0].message, /^create a policy for unknown agent brand-new-agent\?/);
  assert.match(dialogs[0].message, /analytics-agent/, "the question lists the agents the gateway knows");
  assert.match(await page.textContent("#editor-status"), /nothing saved/);
  assert.notEqual(await page.getAttribute("#editor-status", "class"), "error");
  assert.deepEqual(writes().map((r) => `${r.method} ${r.url.pathname}${r.url.search}`), [
    "PUT /v1/mesh/agents/brand-new-agent/policies/action",
  ]);
  assert.equal(await policySets(), setsBefore);
  // Accepted: the retry with ?create=true saves it.
  answers.push("accept");
  await page.click("#save");
  await waitText(page, "#editor-status", /^saved receive policy of brand-new-agent /);
  assert.equal(dialogs.length, 2);
  assert.match(dialogs[1].message, /^create a policy for unknown agent brand-new-agent\?/);
  assert.deepEqual(writes().slice(1).map((r) => `${r.method} ${r.url.pathname}${r.url.search}`), [
    "PUT /v1/mesh/agents/brand-new-agent/policies/action",
    "PUT /v1/mesh/agents/brand-new-agent/policies/action?create=true",
  ]);
  const created = await stored("brand-new-agent", "receive");
  assert.equal(created.mode, "allowlist");
  assert.deepEqual(created.patterns, ["intent.data.read.*"]);

  // Saving mode open: asked first.
  let n = writes().length;
  await edit("analytics-agent", "receive", "open", "");
  answers.push("dismiss");
  await page.click("#save");
  await waitText(page, "#editor-status", /^cancelled.*unchanged/);
  assert.match(dialogs.at(-1).message, /^reset the receive policy of analytics-agent to open\?/);
  assert.equal(writes().length, n, "no request after a dismissed question");
  assert.equal((await stored("analytics-agent", "receive")).mode, "allowlist");
  answers.push("accept");
  await page.click("#save");
  await waitText(page, "#editor-status", /^saved receive policy of analytics-agent /);
  assert.equal((await stored("analytics-agent", "receive")).mode, "open");

  // The delete button: asked first.
  await setPolicy(gw, "analytics-agent", "send", "denylist", ["intent.admin.*"]);
  n = writes().length;
  await page.selectOption("#editor-direction", "send");
  answers.push("dismiss");
  await page.click("#reset");
  await waitText(page, "#editor-status", /^cancelled.*unchanged/);
  assert.match(dialogs.at(-1).message, /^reset the send policy of analytics-agent to open\?/);
  assert.equal(writes().length, n);
  assert.equal((await stored("analytics-agent", "send")).mode, "denylist");
  answers.push("accept");
  await page.click("#reset");
  await waitText(page, "#editor-status", /^send policy of analytics-agent reset to open$/);
  assert.equal((await stored("analytics-agent", "send")).mode, "open");
  assert.equal(writes().at(-1).method, "DELETE");

  // An empty allowlist blocks everything: asked first.
  n = writes().length;
  await edit("ops-agent", "send", "allowlist", " , ");
  answers.push("dismiss");
  await page.click("#save");
  await waitText(page, "#editor-status", /^cancelled.*unchanged/);
  assert.match(dialogs.at(-1).message, /empty send allowlist for ops-agent.*blocks every/s);
  assert.equal(writes().length, n);
  assert.equal((await stored("ops-agent", "send")).mode, "open");
  answers.push("accept");
  await page.click("#save");
  await waitText(page, "#editor-status", /^saved send policy of ops-agent /);
  const empty = await stored("ops-agent", "send");
  assert.equal(empty.mode, "allowlist");
  assert.deepEqual(empty.patterns, []);
  await page.waitForFunction(
    () => document.querySelector('#agents tr[data-agent="ops-agent"] td[data-direction="send"] .mode')?.textContent === "allowlist",
    null,
    WAIT,
  );

  // A denylist with patterns, a known agent: no question at all.
  const asked = dialogs.length;
  await edit("ops-agent", "send", "denylist", "intent.admin.*");
  await page.click("#save");
  await waitText(page, "#editor-status", /^saved send policy of ops-agent /);
  assert.equal(dialogs.length, asked);
  assert.ok(dialogs.every((d) => d.answer !== "unexpected"), JSON.stringify(dialogs));
  // The unknown agent's 404 (twice: the browser logs it) is the only problem.
  assert.deepEqual(problems.filter((p) => !/404/.test(p) || !/brand-new-agent|status of 404/.test(p)), []);
});

test("one self-contained file: no handlers in attributes, no HTML from data, nothing loaded from elsewhere", { timeout: 120_000 }, async (t) => {
  const html = readFileSync(ASSET, "utf8");
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, "no inline event handler attributes");
  assert.doesNotMatch(html, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/, "no HTML from strings");
  assert.doesNotMatch(html, /\b(?:src|href)\s*=\s*["'](?!data:)/i, "no external resources");
  assert.doesNotMatch(html, /https?:\/\//, "no URLs elsewhere");

  const gw = await freshGateway(t);
  const served = await call(gw.url, "GET", "/dashboard");
  assert.equal(served.status, 200);
  assert.equal(served.body, html, "the gateway serves this file");
  await setPolicy(gw, "analytics-agent", "receive", "allowlist", ["intent.data.read.*"]);
  const hostile = "intent.<img/src='x'/onerror=window.__pwned=1>.v1";
  await blocked(gw, "ops-agent", "analytics-agent", hostile);
  const { page, problems, requests } = await openDashboard(t, gw);
  await page.waitForSelector("#violations tbody tr[data-seq]", WAIT);
  await page.selectOption("#filter-decision", "all");
  await page.waitForSelector('#violations tbody tr[data-decision="policy_set"]', WAIT);
  assert.equal(await page.locator("#violations td.intent-type").first().textContent(), hostile);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#violations img").count(), 0);
  const handlers = await page.evaluate(() =>
    [...document.querySelectorAll("*")].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName}[${a.name}]`)),
  );
  assert.deepEqual(handlers, []);
  const elsewhere = requests.filter((r) => r.url.origin !== gw.url && r.url.protocol !== "data:");
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(problems, []);
});
