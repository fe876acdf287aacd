// The dashboard in a real browser (Debian's Chromium via playwright-core):
// agents with their policies, editing a policy, and violations appearing
// live, with data shown as text (an intent type is attacker-controlled).

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { launch, watchedPage } from "../browser/chromium.mjs";
import { ADMIN, ROOT, call, freshGateway, keyOf, policyPath, startServer, tempDir, writeKeys } from "./helpers.mjs";

test("dashboard: policies, live violations, editing, no script injection", { timeout: 90_000 }, async (t) => {
  const gw = await freshGateway(t);
  await call(gw.url, "PUT", policyPath("analytics-agent"), {
    key: ADMIN,
    body: { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*", "intent.data.query.*"] },
  });
  const browser = await launch({ viewport: { width: 1200, height: 900 } });
  t.after(() => browser.close());
  const { page, problems } = await watchedPage(browser.context);

  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#key", ADMIN);
  await page.click("#connect");
  const row = page.locator('#agents tr[data-agent="analytics-agent"]');
  await row.waitFor();
  assert.equal(await row.locator('td[data-direction="receive"] .mode').textContent(), "allowlist");
  assert.match(await row.locator('td[data-direction="receive"]').textContent(), /intent\.data\.read\.\*, intent\.data\.query\.\*/);
  assert.equal(await row.locator('td[data-direction="send"] .mode').textContent(), "open");
  assert.equal(await page.locator("#agents tbody tr").count(), 7, "every agent with a key is listed");

  // A violation appears without a reload, and hostile text stays text.
  // (Intent types hold no whitespace, so the markup uses none; as HTML it
  // runs its onerror.)
  const hostile = "intent.<img/src='x'/onerror=window.__pwned=1>.v1";
  for (const type of ["intent.data.delete.v1", hostile]) {
    const r = await call(gw.url, "POST", "/v1/mesh/intents", {
      key: keyOf("ops-agent"),
      body: { intent_type: type, to_agent: "agent://myorg/production/analytics-agent", payload: {} },
    });
    assert.equal(r.status, 403);
  }
  const violations = page.locator("#violations tbody tr[data-audit-id]");
  await page.waitForFunction(() => document.querySelectorAll("#violations tbody tr[data-audit-id]").length === 2, null, { timeout: 10_000 });
  const texts = await violations.locator("td.message").allTextContents();
  assert.deepEqual(texts, [
    `Intent type '${hostile}' not in receive allowlist`,
    "Intent type 'intent.data.delete.v1' not in receive allowlist",
  ]);
  assert.equal(await violations.nth(1).locator("td").nth(1).textContent(), "ops-agent");
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.locator("#violations img").count(), 0);

  // Edit the policy from the page: a denylist of deletes instead.
  await row.locator("button.edit").click();
  assert.equal(await page.inputValue("#editor-agent"), "analytics-agent");
  await page.selectOption("#editor-mode", "denylist");
  await page.fill("#editor-patterns", "intent.data.delete.*");
  await page.click("#save");
  await page.waitForFunction(
    () => document.querySelector('#agents tr[data-agent="analytics-agent"] td[data-direction="receive"] .mode')?.textContent === "denylist",
    null,
    { timeout: 10_000 },
  );
  assert.match(await page.textContent("#editor-status"), /^saved receive policy of analytics-agent \(pol_[0-9a-f]{24}\)$/);
  const stored = await call(gw.url, "GET", policyPath("analytics-agent"), { key: ADMIN });
  assert.equal(stored.body.policies.receive.mode, "denylist");
  assert.deepEqual(stored.body.policies.receive.patterns, ["intent.data.delete.*"]);
  const nowAllowed = await call(gw.url, "POST", "/v1/mesh/intents", {
    key: keyOf("ops-agent"),
    body: { intent_type: "intent.data.write.v1", to_agent: "analytics-agent" },
  });
  assert.equal(nowAllowed.status, 202);

  // A bad edit shows the gateway's message instead of failing silently.
  await page.selectOption("#editor-mode", "open");
  await page.click("#save");
  await page.waitForFunction(() => document.querySelector("#editor-status").classList.contains("error"), null, { timeout: 10_000 });
  assert.match(await page.textContent("#editor-status"), /400 invalid_policy: patterns: mode "open" takes no patterns/);
  // That 400 is the only problem the page saw.
  assert.deepEqual(problems.filter((p) => !/HTTP 400: .*policies\/action/.test(p) && !/status of 400/.test(p)), []);

  mkdirSync(join(ROOT, "target"), { recursive: true });
  await page.screenshot({ path: join(ROOT, "target/gateway-dashboard.png"), fullPage: true });
});

test("dashboard with a wrong key says so", { timeout: 60_000 }, async (t) => {
  const gw = await freshGateway(t);
  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`${gw.url}/dashboard#key=${keyOf("ops-agent")}`);
  await page.waitForFunction(() => document.querySelector("#status").textContent !== "", null, { timeout: 10_000 });
  assert.match(await page.textContent("#status"), /403 forbidden: only admin keys can list agents/);
  assert.equal(new URL(page.url()).hash, "", "the key is removed from the address bar");
});

// The real page, as a user leaves it open; whether a poll is under way at the
// signal is up to timing here (shutdown.test.mjs holds each case exactly).
test("SIGTERM with a dashboard open and polling: the gateway exits within 5 s", { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t);
  const gw = await startServer({ dataDir: join(dir, "data"), keysFile: writeKeys(dir) });
  t.after(async () => {
    if (gw.child.exitCode === null && gw.child.signalCode === null) {
      gw.child.kill("SIGKILL");
      await gw.exited;
    }
  });
  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.context.newPage();
  await page.goto(`${gw.url}/dashboard`);
  await page.fill("#key", ADMIN);
  await page.click("#connect");
  // A few of its once-a-second polls, so its connections are warm and busy.
  await page.waitForFunction(() => /^connected/.test(document.querySelector("#status").textContent), null, { timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const started = performance.now();
  gw.child.kill("SIGTERM");
  let timer;
  const exit = await Promise.race([gw.exited, new Promise((resolve) => (timer = setTimeout(() => resolve(null), 10_000)))]);
  clearTimeout(timer);
  assert.ok(exit !== null, "the gateway was still running 10 s after SIGTERM (the cleanup kills it)");
  const ms = performance.now() - started;
  assert.ok(ms < 6_000, `exited ${Math.round(ms)} ms after SIGTERM`);
  assert.deepEqual(exit, { code: 0, signal: null }, gw.output().stderr);
  // The page says the gateway went away instead of freezing.
  await page.waitForFunction(() => document.querySelector("#status").classList.contains("error"), null, { timeout: 10_000 });
});
