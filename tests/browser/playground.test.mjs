// The playground in real Chromium, importing the package from the packed
// tarball (installed by npm) through its browser entry, as the page's
// import map says.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACTS, ROOT, installedPackage, resolveExport } from "../edge/lib.mjs";
import { startServer } from "../../examples/playground/serve.mjs";
import { launch, watchedPage } from "./chromium.mjs";

const PLAYGROUND = join(ROOT, "examples", "playground");

describe("the policy playground in Chromium", () => {
  let server;
  let browser;
  let page;
  let problems;

  before(async () => {
    server = await startServer({ port: 0, pkgDir: installedPackage().pkgDir });
    browser = await launch({ viewport: { width: 1440, height: 900 } });
    ({ page, problems } = await watchedPage(browser.context));
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready]", { timeout: 15000 });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  /** The results table as [tool, decision, reason, matched rule] rows. */
  const results = () =>
    page.$$eval("#results tbody tr[data-tool]", (rows) =>
      rows.map((r) => [r.dataset.tool, r.dataset.decision, r.cells[2].textContent, r.cells[3].querySelector("code")?.textContent ?? null]),
    );
  const marks = (cls) => page.$$eval(`#backdrop mark.${cls}`, (ms) => ms.map((m) => [m.textContent, m.className]));
  const setText = async (selector, text) => {
    await page.fill(selector, text);
    await page.waitForFunction(() => document.body.dataset.ready === "true");
  };

  test("the import map points at the package's browser entry", () => {
    const { pkgDir } = installedPackage();
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    const entry = resolveExport(pkg, ["browser", "import"]);
    const html = readFileSync(join(PLAYGROUND, "index.html"), "utf8");
    const map = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(html)[1]);
    assert.equal(map.imports.agentguard, `./agentguard/${entry.replace(/^\.\//, "")}`);
  });

  test("loads with no console errors, pre-filled with the database-safety template", async () => {
    assert.deepEqual(problems, []);
    assert.equal(await page.inputValue("#template"), "database-safety");
    const policy = JSON.parse(await page.inputValue("#policy"));
    assert.equal(policy.name, "database-safety");
    assert.match(await page.textContent("#policy-status"), /database-safety compiled: 13 patterns/);
  });

  test("drop_table is denied, with drop_* highlighted in the policy", async () => {
    const rows = await results();
    assert.deepEqual(
      rows.find((r) => r[0] === "drop_table"),
      ["drop_table", "deny", "denied by pattern: drop_*", "drop_*"],
    );
    const hits = await marks("hit");
    assert.ok(
      hits.some(([text, cls]) => text === '"drop_*"' && cls.includes("d-deny")),
      `no deny highlight on "drop_*": ${JSON.stringify(hits)}`,
    );
    // Hovering the row emphasises its rule.
    await page.hover('#results tr[data-tool="drop_table"]');
    assert.deepEqual(await page.$$eval("#backdrop mark.focus", (ms) => ms.map((m) => m.textContent)), ['"drop_*"']);
  });

  test("typing tool names updates the decisions and the audit trail", async () => {
    await setText("#tools", "read_database\n");
    await page.focus("#tools");
    await page.keyboard.press("Control+End");
    await page.keyboard.type("write_database\nrevoke_all");
    assert.deepEqual(await results(), [
      ["read_database", "allow", "allowed by pattern: read_database", "read_database"],
      ["write_database", "require_approval", "requires approval per pattern: write_database", "write_database"],
      ["revoke_all", "deny", "denied by pattern: revoke_*", "revoke_*"],
    ]);
    const audit = JSON.parse(`[${(await page.textContent("#audit-json")).trim().split("\n").join(",")}]`);
    assert.deepEqual(
      audit.map(({ timestamp, ...e }) => e),
      [
        { tool: "read_database", decision: "allow", reason: "allowed by pattern: read_database", matched_rule: "read_database" },
        { tool: "write_database", decision: "require_approval", reason: "requires approval per pattern: write_database", matched_rule: "write_database" },
        { tool: "revoke_all", decision: "deny", reason: "denied by pattern: revoke_*", matched_rule: "revoke_*" },
      ],
    );
    assert.equal(await page.locator("#audit tbody tr").count(), 3);
    assert.equal(await page.textContent("#summary"), "1 allow1 deny1 require_approval");
  });

  test("the approval callback choice turns require_approval into allow or deny", async () => {
    await page.check('input[name="approval"][value="approve"]', { force: true });
    let row = (await results()).find((r) => r[0] === "write_database");
    assert.deepEqual(row, ["write_database", "allow", "approved via callback (pattern: write_database)", "write_database"]);
    await page.check('input[name="approval"][value="reject"]', { force: true });
    row = (await results()).find((r) => r[0] === "write_database");
    assert.deepEqual(row, ["write_database", "deny", "approval denied via callback (pattern: write_database)", "write_database"]);
    await page.check('input[name="approval"][value="none"]', { force: true });
  });

  test("editing the policy updates the decisions", async () => {
    const policy = { name: "edited", allow: ["read_*"], deny: ["revoke_*", "write_*"], default: "allow" };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.deepEqual(await results(), [
      ["read_database", "allow", "allowed by pattern: read_*", "read_*"],
      ["write_database", "deny", "denied by pattern: write_*", "write_*"],
      ["revoke_all", "deny", "denied by pattern: revoke_*", "revoke_*"],
    ]);
    assert.equal(await page.inputValue("#template"), "", "an edited policy is no longer a template");
    const hits = (await marks("hit")).map(([t]) => t).sort();
    assert.deepEqual(hits, ['"read_*"', '"revoke_*"', '"write_*"']);
  });

  test("an invalid policy shows the error inline, with its field and index", async () => {
    await setText("#policy", '{\n  "allow": ["read_*", 5],\n  "deny": ["drop_*"]\n}');
    assert.equal(await page.textContent("#policy-status .err-kind"), "wrong_type");
    assert.equal(await page.textContent("#policy-status .err-message"), "allow[1]: expected a string pattern, got number 5");
    assert.equal(await page.textContent("#policy-status .err-field"), "allow");
    assert.equal(await page.textContent("#policy-status .err-index"), "1");
    assert.deepEqual(await marks("err"), [["5", "err"]], "the bad element is marked in the editor");
    assert.deepEqual(await results(), [], "no decisions from a policy that does not compile");

    await setText("#policy", '{"denny": ["drop_*"]}');
    assert.equal(await page.textContent("#policy-status .err-kind"), "unknown_key");
    assert.equal(await page.textContent("#policy-status .err-field"), "denny");
    assert.deepEqual(await marks("err"), [['"denny"', "err"]]);

    await setText("#policy", '{"allow": ["read_*"],}');
    assert.equal(await page.textContent("#policy-status .err-kind"), "json");
    assert.equal((await marks("err")).length, 1, "the syntax error's place is marked");
    await mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-error.png"), fullPage: true });
  });

  test("choosing a template loads its policy and tool names", async () => {
    await page.selectOption("#template", "email-agent");
    assert.equal(JSON.parse(await page.inputValue("#policy")).name, "email-agent");
    const rows = await results();
    assert.deepEqual(
      rows.find((r) => r[0] === "send_email"),
      ["send_email", "require_approval", "requires approval per pattern: send_email", "send_email"],
    );
    assert.deepEqual(rows.find((r) => r[0] === "delete_email_thread")?.slice(1), ["deny", "denied by pattern: delete_email_*", "delete_email_*"]);
  });

  test("the shared URL restores the policy, the names and the approval choice", async () => {
    const policyText = '{\n  "name": "shared ✓",\n  "allow": ["lire_?"],\n  "require_approval": ["écrire_*"]\n}';
    await setText("#policy", policyText);
    await setText("#tools", "lire_é\nécrire_x\nrm_rf");
    await page.check('input[name="approval"][value="reject"]', { force: true });
    const before = await results();
    const url = page.url();
    assert.match(url, /#policy=/);

    const other = await watchedPage(browser.context);
    await other.page.goto(url);
    await other.page.waitForSelector("body[data-ready]");
    assert.equal(await other.page.inputValue("#policy"), policyText);
    assert.equal(await other.page.inputValue("#tools"), "lire_é\nécrire_x\nrm_rf");
    assert.equal(await other.page.isChecked('input[name="approval"][value="reject"]'), true);
    const restored = await other.page.$$eval("#results tbody tr[data-tool]", (rows) =>
      rows.map((r) => [r.dataset.tool, r.dataset.decision, r.cells[2].textContent, r.cells[3].querySelector("code")?.textContent ?? null]),
    );
    assert.deepEqual(restored, before);
    assert.deepEqual(restored, [
      ["lire_é", "allow", "allowed by pattern: lire_?", "lire_?"],
      ["écrire_x", "deny", "approval denied via callback (pattern: écrire_*)", "écrire_*"],
      ["rm_rf", "deny", "not in allow list (default: deny)", null],
    ]);
    assert.deepEqual(other.problems, []);
    await other.page.close();
  });

  test("the pattern tester uses fnmatch", async () => {
    await page.fill("#tester-pattern", "[!a-c]?_*");
    await page.fill("#tester-name", "dé_x");
    assert.equal(await page.textContent("#tester-out"), "matches");
    await page.fill("#tester-name", "bé_x");
    assert.equal(await page.textContent("#tester-out"), "no match");
  });

  test("a screenshot of the default state is saved", async () => {
    await page.goto(server.url);
    await page.waitForSelector("body[data-ready]");
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, "playground.png");
    await page.screenshot({ path: file, fullPage: true });
    assert.ok(readFileSync(file).length > 10_000, "the screenshot is not empty");
    assert.deepEqual(problems, [], "no console errors during the whole session");
  });
});
