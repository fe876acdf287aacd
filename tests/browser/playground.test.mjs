// The playground in real Chromium, importing the package from the packed
// tarball (installed by npm) through its browser entry, as the page's
// import map says. Tool names alone (the pattern lists), and tool calls with
// arguments decided by the policy's `rules` (CONDITIONS.md): the deciding
// rule and the shadow rules that fired marked in the editor, a bad rule's
// error at its place, a bad arguments line's error on that line.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
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
  /**
   * The decided calls: [line, tool, args as typed (or null), decision,
   * reason, matched rule (or null), ["shadow id:decision", ...]].
   */
  const calls = () =>
    page.$$eval("#results tbody tr[data-tool]", (rows) =>
      rows.map((r) => [
        Number(r.dataset.line),
        r.dataset.tool,
        r.dataset.args ?? null,
        r.dataset.decision,
        r.cells[2].textContent,
        r.cells[3].querySelector("code")?.textContent ?? null,
        [...r.cells[4].querySelectorAll(".shadow-hit")].map((c) => `${c.dataset.id}:${c.dataset.decision}`),
      ]),
    );
  /** The lines that could not be called: [line, message]. */
  const lineErrors = () =>
    page.$$eval("#results tbody tr.line-error", (rows) => rows.map((r) => [Number(r.dataset.line), r.cells[2].textContent]));
  /** The marks of the editor the hovered row emphasises: [text, class]. */
  const focused = async (row) => {
    await page.hover(`#results tr[data-line="${row}"]`);
    return page.$$eval("#backdrop mark.focus", (ms) => ms.map((m) => [m.textContent, m.className]));
  };
  const auditJson = async () => {
    const text = (await page.textContent("#audit-json")).trim();
    return text === "" ? [] : text.split("\n").map((l) => {
      const { timestamp, ...e } = JSON.parse(l);
      return e;
    });
  };
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
    const analysis = resolveExport({ exports: pkg.exports["./analysis"] }, ["browser", "import"]);
    assert.ok(analysis, "the package has agentguard/analysis");
    assert.equal(map.imports["agentguard/analysis"], `./agentguard/${analysis.replace(/^\.\//, "")}`);
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

  test("the coding-agent template decides on arguments, with the deciding rule or default marked", async () => {
    await page.check('input[name="approval"][value="none"]', { force: true });
    await page.selectOption("#template", "coding-agent");
    assert.match(await page.textContent("#policy-status"), /coding-agent compiled: 5 patterns, 5 rules \(1 shadow\), default/);
    assert.deepEqual(await lineErrors(), [], "every line of the template is a call the package decides");
    assert.deepEqual(await calls(), [
      [1, "read_file", '{"path": "/workspace/src/main.rs"}', "allow", "allowed by rule: workspace-files", "workspace-files", []],
      [2, "write_file", '{"path": "/workspace/src/lib.rs"}', "allow", "allowed by rule: workspace-files", "workspace-files", []],
      [3, "write_file", '{"path": "/workspace/../etc/passwd"}', "deny", "not in allow list (default: deny)", null, []],
      [4, "edit_file", '{"path": "/workspace/.env"}', "deny", "secrets are off limits", "no-secrets", []],
      [5, "run_shell", '{"command": "git status && git diff HEAD"}', "allow", "allowed by rule: safe-shell", "safe-shell", []],
      [6, "run_shell", '{"command": "npm install left-pad"}', "allow", "allowed by rule: safe-shell", "safe-shell", ["try-no-installs:deny"]],
      [7, "run_shell", '{"command": "curl -sSf https://example.com/install.sh"}', "require_approval", "requires approval per rule: network-shell", "network-shell", []],
      [8, "run_shell", '{"command": "git status; rm -rf /"}', "deny", "not in allow list (default: deny)", null, []],
      [9, "git_push", null, "require_approval", "requires approval per pattern: git_push", "git_push", []],
      [10, "deploy_prod", null, "deny", "denied by pattern: deploy_*", "deploy_*", []],
    ]);
    // /workspace/../etc/passwd is /etc/passwd: not under /workspace, so no
    // rule allows it and the default decides; the default is what is marked.
    const row3 = page.locator('#results tr[data-line="3"]');
    assert.equal(await row3.locator("td.rule").textContent(), "default");
    assert.deepEqual(await focused(3), [['"deny"', "hit default d-deny focus"]]);
    // An allowed call: its rule's id is marked, coloured as allowed.
    assert.deepEqual(await focused(2), [['"id": "workspace-files"', "hit rule d-allow focus"]]);
    // A rule that denied, with its own reason.
    assert.deepEqual(await focused(4), [['"id": "no-secrets"', "hit rule d-deny focus"]]);
    assert.deepEqual(await focused(7), [['"id": "network-shell"', "hit rule d-require_approval focus"]]);
    // Every rule that decided something is marked once, by its id.
    assert.deepEqual(
      (await marks("rule")).map(([t, c]) => [t, c.replace(/ focus$/, "")]),
      [
        ['"id": "no-secrets"', "hit rule d-deny"],
        ['"id": "workspace-files"', "hit rule d-allow"],
        ['"id": "safe-shell"', "hit rule d-allow"],
        ['"id": "network-shell"', "hit rule d-require_approval"],
      ],
    );
    await page.mouse.move(0, 0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-rules.png"), fullPage: true });
  });

  test("the approval callback answers a require_approval rule", async () => {
    await page.check('input[name="approval"][value="approve"]', { force: true });
    let row = (await calls()).find((r) => r[0] === 7);
    assert.deepEqual(row.slice(3, 6), ["allow", "approved via callback (rule: network-shell)", "network-shell"]);
    await page.check('input[name="approval"][value="reject"]', { force: true });
    row = (await calls()).find((r) => r[0] === 7);
    assert.deepEqual(row.slice(3, 6), ["deny", "approval denied via callback (rule: network-shell)", "network-shell"]);
    await page.check('input[name="approval"][value="none"]', { force: true });
  });

  test("a shadow rule's hit is shown on the call, in the editor and in the audit trail, never deciding", async () => {
    await page.check('input[name="approval"][value="none"]', { force: true });
    await page.selectOption("#template", "coding-agent");
    const row = (await calls()).find((r) => r[0] === 6);
    assert.deepEqual(row, [6, "run_shell", '{"command": "npm install left-pad"}', "allow", "allowed by rule: safe-shell", "safe-shell", ["try-no-installs:deny"]]);
    assert.match(await page.textContent('#results tr[data-line="6"] td.shadow'), /try-no-installs would deny/);
    assert.deepEqual(await marks("shadow"), [['"id": "try-no-installs"', "shadow d-deny"]]);
    // Hovering the call emphasises both its rule and the shadow rule that fired.
    assert.deepEqual(await focused(6), [
      ['"id": "safe-shell"', "hit rule d-allow focus"],
      ['"id": "try-no-installs"', "shadow d-deny focus"],
    ]);
    const audit = await auditJson();
    assert.equal(audit.length, 10);
    assert.deepEqual(audit[5], {
      tool: "run_shell",
      decision: "allow",
      reason: "allowed by rule: safe-shell",
      matched_rule: "safe-shell",
      shadow: [{ id: "try-no-installs", decision: "deny" }],
    });
    assert.deepEqual(audit.filter((e) => e.shadow).length, 1, "only the entry whose call fired a shadow rule lists one");
    assert.match(await page.textContent("#audit tbody tr:nth-child(6) td.shadow"), /try-no-installs would deny/);

    // The payments template: a refund the amount limit allows, which the
    // stricter cap being tried in shadow would send for approval.
    await page.mouse.move(0, 0);
    await page.selectOption("#template", "payments-agent");
    assert.deepEqual(await calls(), [
      [1, "get_balance", null, "allow", "allowed by pattern: get_balance", "get_balance", []],
      [2, "refund", '{"amount": 25, "currency": "EUR", "order": "A-1001"}', "allow", "allowed by rule: small-refunds", "small-refunds", []],
      [3, "refund", '{"amount": 80, "currency": "USD", "order": "A-1002"}', "allow", "allowed by rule: small-refunds", "small-refunds", ["try-cap-50:require_approval"]],
      [4, "refund", '{"amount": 2500, "currency": "EUR", "order": "A-1003"}', "require_approval", "requires approval per rule: large-refunds", "large-refunds", ["try-cap-50:require_approval"]],
      [5, "refund", '{"amount": 40, "currency": "BTC"}', "deny", "only EUR and USD", "known-currencies", []],
      // A string is not a number: unknown, so the restrictive rule applies.
      [6, "refund", '{"amount": "25", "currency": "EUR"}', "require_approval", "requires approval per rule: large-refunds", "large-refunds", ["try-cap-50:require_approval"]],
      [7, "delete_customer", null, "deny", "denied by pattern: delete_*", "delete_*", []],
    ]);
    assert.deepEqual(await marks("shadow"), [['"id": "try-cap-50"', "shadow d-require_approval"]]);
  });

  test("the email template decides on the recipient's domain", async () => {
    await page.selectOption("#template", "email-domains");
    assert.deepEqual(await calls(), [
      [1, "read_email", null, "allow", "allowed by pattern: read_email", "read_email", []],
      [2, "send_email", '{"to": "alice@example.com", "subject": "Standup notes"}', "allow", "allowed by rule: internal-mail", "internal-mail", []],
      // One outside recipient in the list is enough for the restrictive rule.
      [3, "send_email", '{"to": ["alice@example.com", "bob@gmail.com"]}', "require_approval", "mail outside example.com needs a person", "outside-mail", []],
      [4, "send_email", '{"to": "all-staff@example.com", "subject": "Release 2.0"}', "allow", "allowed by rule: internal-mail", "internal-mail", ["try-approve-all-staff:require_approval"]],
      [5, "send_email", '{"to": "ceo@rival.example"}', "deny", "denied by rule: no-rivals", "no-rivals", []],
      // No recipient: unknown, and when in doubt the deny rule applies.
      [6, "send_email", '{"subject": "who is this for?"}', "deny", "denied by rule: no-rivals", "no-rivals", ["try-approve-all-staff:require_approval"]],
      [7, "delete_email_thread", null, "deny", "denied by pattern: delete_email_*", "delete_email_*", []],
    ]);
  });

  test("a bad rule shows the core's error at its place in the editor", async () => {
    const policy = {
      name: "refunds",
      allow: ["get_balance"],
      rules: [
        { id: "crypto", tool: "refund", when: { currency: { in: ["BTC"] } }, decision: "deny" },
        { id: "small", tool: "refund", when: { amount: { lte: 100 } }, decision: "allow" },
        { id: "cap", tool: "refund", when: { amount: { lte: "100" } }, decision: "allow" },
      ],
    };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.equal(await page.textContent("#policy-status .err-kind"), "wrong_type");
    assert.equal(await page.textContent("#policy-status .err-message"), 'rules[2].when.amount.lte: expected a number, got string "100"');
    assert.equal(await page.textContent("#policy-status .err-field"), "rules[2].when.amount.lte");
    assert.deepEqual(await marks("err"), [['"100"', "err"]], "the bad operand of rules[2] is marked, not the good one of rules[1]");
    assert.equal(await page.$eval("#backdrop mark.err", (m) => m.dataset.field), "rules[2].when.amount.lte");
    assert.deepEqual(await calls(), [], "no decisions from a policy that does not compile");
    assert.equal(await page.inputValue("#template"), "");

    // An unknown operator: its key is marked.
    policy.rules[2].when.amount = { lte: 100, lower_than: 5 };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.equal(await page.textContent("#policy-status .err-kind"), "unknown_key");
    assert.equal(await page.textContent("#policy-status .err-field"), "rules[2].when.amount.lower_than");
    assert.deepEqual(await marks("err"), [['"lower_than"', "err"]]);

    // A bad element of a rule's tool list: the element.
    policy.rules[2] = { id: "cap", tool: ["refund", 7], decision: "allow" };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.equal(await page.textContent("#policy-status .err-field"), "rules[2].tool");
    assert.equal(await page.textContent("#policy-status .err-index"), "1");
    assert.deepEqual(await marks("err"), [["7", "err"]]);

    // A missing field: the rule that lacks it.
    policy.rules[1] = { tool: "refund", decision: "allow" };
    policy.rules[2] = { id: "cap", tool: "refund", decision: "allow" };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.equal(await page.textContent("#policy-status .err-kind"), "missing_field");
    assert.equal(await page.textContent("#policy-status .err-field"), "rules[1].id");
    const [[text, cls]] = await marks("err");
    assert.equal(cls, "err");
    assert.deepEqual(JSON.parse(text), { tool: "refund", decision: "allow" }, "the whole of rules[1] is marked");

    // An argument path with an empty segment: the path, where it is written.
    policy.rules[1] = { id: "small", tool: "refund", when: { "amount..value": { lte: 100 } }, decision: "allow" };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.equal(await page.textContent("#policy-status .err-field"), "rules[1].when.amount..value");
    assert.deepEqual(await marks("err"), [['"amount..value"', "err"]]);

    // Fixed: it compiles, and decides.
    policy.rules[1].when = { amount: { lte: 100 } };
    await setText("#policy", JSON.stringify(policy, null, 2));
    assert.match(await page.textContent("#policy-status"), /refunds compiled: 1 pattern, 3 rules, default/);
    assert.deepEqual(await marks("err"), []);
  });

  test("a line whose arguments are not a JSON object shows its own error, never a decision", async () => {
    await page.selectOption("#template", "payments-agent");
    await setText("#tools", 'refund {"amount": 25, "currency": "EUR"}\nrefund {"amount": 25,, "currency": "EUR"}\n\nrefund ["amount", 25]\n{"amount": 5}\nrefund');
    const errors = await lineErrors();
    assert.deepEqual(errors.map(([line]) => line), [2, 4, 5]);
    assert.match(errors[0][1], /^line 2: the arguments are not valid JSON: ./);
    assert.equal(errors[1][1], "line 4: the arguments must be a JSON object, got an array");
    assert.equal(errors[2][1], "line 5: a tool name comes first, then its arguments");
    // The other lines are decided as usual.
    assert.deepEqual(await calls(), [
      [1, "refund", '{"amount": 25, "currency": "EUR"}', "allow", "allowed by rule: small-refunds", "small-refunds", []],
      // No arguments at all: the currency is unknown, so the deny rule applies
      // (and the amount is unknown, so the shadow cap fires too).
      [6, "refund", null, "deny", "only EUR and USD", "known-currencies", ["try-cap-50:require_approval"]],
    ]);
    // The bad lines are marked in the tool-call editor, each with its message.
    const bad = await page.$$eval("#tools-backdrop mark.err", (ms) => ms.map((m) => [m.dataset.line, m.textContent, m.title]));
    assert.deepEqual(bad.map(([line]) => line), ["2", "4", "5"]);
    assert.ok('{"amount": 25,, "currency": "EUR"}'.endsWith(bad[0][1]) && bad[0][1].length > 0, `line 2's mark: ${bad[0][1]}`);
    assert.equal(bad[1][1], '["amount", 25]');
    assert.equal(bad[2][1], '{"amount": 5}');
    assert.equal(bad[0][2], errors[0][1]);
    assert.match(await page.textContent("#summary"), /3 line errors/);
    assert.equal((await auditJson()).length, 2, "only the decided calls are recorded");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-line-errors.png"), fullPage: true });

    // Valid JSON the package refuses (a lone surrogate where a rule reads,
    // CONDITIONS.md "Bad input"): that line's error, from the package.
    await setText("#tools", 'refund {"amount": 5, "currency": "\\ud800"}\nget_balance');
    const [[line, message]] = await lineErrors();
    assert.equal(line, 1);
    assert.match(message, /^line 1: \S/);
    assert.deepEqual((await calls()).map((r) => r.slice(0, 4)), [[2, "get_balance", null, "allow"]]);
  });

  test("a call with arguments survives the share link", async () => {
    await page.selectOption("#template", "coding-agent");
    await setText("#tools", 'write_file {"path": "/workspace/../etc/passwd"}\nwrite_file {"path": "/workspace/ok.txt"}');
    const before = await calls();
    assert.deepEqual(before.map((r) => r[3]), ["deny", "allow"]);
    const other = await watchedPage(browser.context);
    await other.page.goto(page.url());
    await other.page.waitForSelector("body[data-ready]");
    assert.equal(await other.page.inputValue("#template"), "coding-agent");
    const restored = await other.page.$$eval("#results tbody tr[data-tool]", (rows) =>
      rows.map((r) => [r.dataset.args, r.dataset.decision, r.cells[3].querySelector("code")?.textContent ?? null]),
    );
    assert.deepEqual(restored, [
      ['{"path": "/workspace/../etc/passwd"}', "deny", null],
      ['{"path": "/workspace/ok.txt"}', "allow", "workspace-files"],
    ]);
    assert.deepEqual(other.problems, []);
    await other.page.close();
  });

  test("every template compiles, its formatting round-trips, and selecting it selects it", async () => {
    const ids = await page.$$eval("#template option[value]:not([value=''])", (os) => os.map((o) => o.value));
    assert.deepEqual(ids, ["database-safety", "email-agent", "code-reviewer", "coding-agent", "email-domains", "payments-agent"]);
    for (const id of ids) {
      await page.selectOption("#template", id);
      assert.match(await page.textContent("#policy-status"), new RegExp(`${id} compiled`), id);
      assert.deepEqual(await lineErrors(), [], `${id}: no line errors`);
      assert.ok((await calls()).length > 0, `${id}: decisions`);
      // Format keeps it the template.
      await page.click("#format");
      assert.equal(await page.inputValue("#template"), id, `${id}: Format changes nothing`);
      const decisions = new Set((await calls()).map((r) => r[3]));
      assert.deepEqual([...decisions].sort(), ["allow", "deny", "require_approval"], `${id}: every kind of decision`);
    }
  });

  // ------------------------------------------------------------------ lint and compare (agentguard/analysis)

  /** The installed package's agentguard/analysis for Node: what the page must show. */
  const nodeAnalysis = async () => {
    const { pkgDir } = installedPackage();
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    const entry = resolveExport({ exports: pkg.exports["./analysis"] }, ["node", "import"]);
    return import(pathToFileURL(join(pkgDir, entry)).href);
  };
  /** Waits until the findings (and changes) shown are those of the text in the editors. */
  const analysed = (p = page) => p.waitForFunction(() => document.body.dataset.analysis === "done", null, { timeout: 20000 });
  /** The squiggles in the policy editor: [text, severity class, title]. */
  const squiggles = (p = page) =>
    p.$$eval("#lint-backdrop mark.lint", (ms) => ms.map((m) => [m.textContent, m.className.replace(/^lint /, ""), m.title]));
  /** The findings listed under the editor, as the core's fields. */
  const listed = (p = page) =>
    p.$$eval("#findings-list li.finding", (ls) =>
      ls.map((l) => ({
        code: l.querySelector(".finding-code").textContent,
        severity: l.querySelector(".sev").textContent,
        where: l.querySelector(".finding-where").textContent,
        message: l.querySelector(".finding-message").textContent,
        hint: l.querySelector(".finding-hint")?.textContent.replace(/^hint: /, "") ?? "",
      })),
    );
  const where = (loc) => `${loc.field}${loc.index === null ? "" : `[${loc.index}]`}${loc.rule ? ` (${loc.rule})` : ""}`;
  /** The text selected in the policy editor. */
  const selection = () => page.$eval("#policy", (t) => t.value.slice(t.selectionStart, t.selectionEnd));
  /** The transitions listed in compare mode: [from, to, tool, args line, old rule, new rule, wider]. */
  const transitions = (p = page, list = "#changes") =>
    p.$$eval(`${list} li.change`, (ls) =>
      ls.map((l) => {
        const [oldRule, newRule] = [...l.querySelectorAll(".change-rules > code, .change-rules > span.muted")].map((c) => (c.tagName === "CODE" ? c.textContent : null));
        return [l.dataset.from, l.dataset.to, l.dataset.tool, l.querySelector("button.witness").dataset.line ?? null, oldRule, newRule, l.classList.contains("wider")];
      }),
    );
  /** A change as the list shows it, from the core's JSON. */
  const asListed = (c, wider) => [c.from, c.to, c.tool, Object.keys(c.args).length ? `${c.tool} ${JSON.stringify(c.args)}` : c.tool, c.old_rule, c.new_rule, wider];
  const RANK = { allow: 0, require_approval: 1, deny: 2 };

  test("lint findings are squiggled where they are, coloured by severity, and listed under the editor", async () => {
    const { lint } = await nodeAnalysis();
    const policy = {
      name: "traps",
      deny: ["drop_*", "drop_table"],
      allow: ["{read,list}_*", "[^a]b", "get_*"],
    };
    const text = JSON.stringify(policy, null, 2);
    await analysed();
    // Typed (one input event): the decisions at once, the findings a moment later.
    const top = () => page.$eval("#results", (t) => t.getBoundingClientRect().top + window.scrollY);
    const typed = await page.$eval("#policy", (t, text) => {
      t.value = text;
      t.dispatchEvent(new Event("input", { bubbles: true }));
      return {
        top: document.getElementById("results").getBoundingClientRect().top + window.scrollY,
        analysis: document.body.dataset.analysis,
        squiggled: [...document.querySelectorAll("#lint-backdrop mark")].some((m) => m.textContent === '"drop_table"'),
      };
    }, text);
    assert.deepEqual([typed.analysis, typed.squiggled], ["pending", false], "the analysis waits for a pause in typing");
    assert.match(await page.textContent("#policy-status"), /traps compiled/, "the policy is compiled and decides at once");
    await analysed();
    assert.equal(await top(), typed.top, "findings arriving a moment later never move the decisions");
    const want = lint(text);
    const codes = want.map((f) => f.code);
    for (const code of ["shadowed", "brace-is-literal", "caret-is-not-negation"]) assert.ok(codes.includes(code), `the core finds ${code}: ${codes}`);

    // Listed under the editor: every finding, with its severity, code, place, message and hint.
    assert.deepEqual(
      await listed(),
      want.map((f) => ({ code: f.code, severity: f.severity, where: where(f.location), message: f.message, hint: f.hint })),
    );
    // Squiggled in the editor: on the pattern each one names, its message as the title.
    const marks = await squiggles();
    const on = (t) => marks.find(([text]) => text === t);
    const shadowed = want.find((f) => f.code === "shadowed");
    assert.deepEqual(shadowed.location, { field: "deny", index: 1, rule: null });
    assert.deepEqual(on('"drop_table"'), ['"drop_table"', `sev-${shadowed.severity}`, `${shadowed.severity} shadowed: ${shadowed.message}`]);
    assert.match(shadowed.message, /drop_table.*drop_\*/);
    const brace = want.find((f) => f.code === "brace-is-literal");
    assert.deepEqual(on('"{read,list}_*"'), ['"{read,list}_*"', `sev-${brace.severity}`, `${brace.severity} brace-is-literal: ${brace.message}`]);
    const caret = want.find((f) => f.code === "caret-is-not-negation");
    assert.deepEqual(on('"[^a]b"'), ['"[^a]b"', `sev-${caret.severity}`, `${caret.severity} caret-is-not-negation: ${caret.message}`]);
    assert.ok(!on('"get_*"') && !on('"drop_*"'), `only the findings' places are squiggled: ${JSON.stringify(marks)}`);
    assert.equal(marks.length, new Set(want.map((f) => where(f.location))).size, "one squiggle a place");
    // Drawn as a wavy underline in the severity's colour.
    const style = await page.$eval('#lint-backdrop mark.sev-warning', (m) => {
      const s = getComputedStyle(m);
      return [s.textDecorationLine, s.textDecorationStyle, s.textDecorationColor];
    });
    assert.deepEqual(style.slice(0, 2), ["underline", "wavy"]);
    const colours = await page.$$eval("#lint-backdrop mark.lint", (ms) => [...new Set(ms.map((m) => `${m.classList[1]} ${getComputedStyle(m).textDecorationColor}`))]);
    assert.equal(new Set(colours.map((c) => c.split(" ").slice(1).join(" "))).size, new Set(colours.map((c) => c.split(" ")[0])).size, `a colour a severity: ${colours}`);
    // The decisions are there as usual.
    assert.match(await page.textContent("#policy-status"), /traps compiled/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-lint.png"), fullPage: true });

    // Fixed one by one, typing: each squiggle goes with its finding.
    await page.focus("#policy");
    const at = text.indexOf("[^a]b") + 1;
    await page.$eval("#policy", (t, at) => t.setSelectionRange(at, at + 1), at);
    await page.keyboard.type("!");
    await analysed();
    assert.ok(!(await squiggles()).some(([t]) => t.includes("[")), "the caret finding is gone once [!a] is typed");
    assert.ok(!(await listed()).some((f) => f.code === "caret-is-not-negation"));
    assert.ok((await squiggles()).some(([t]) => t === '"drop_table"'), "the others stay");

    const fixed = { name: "traps", deny: ["drop_*"], allow: ["read_*", "list_*", "[!a]b", "get_*"] };
    await setText("#policy", JSON.stringify(fixed, null, 2));
    await analysed();
    assert.deepEqual(lint(JSON.stringify(fixed)), []);
    assert.deepEqual(await squiggles(), []);
    assert.deepEqual(await listed(), []);
    assert.equal(await page.textContent("#findings-summary"), "no findings");
  });

  test("clicking a finding selects its place in the policy; a rule's finding is at its id", async () => {
    const policy = {
      name: "rules",
      deny: ["drop_*"],
      allow: ["{a,b}"],
      rules: [
        { id: "dead", tool: "drop_*", decision: "allow" },
        { id: "small", tool: "refund", when: { amount: { lte: 100 } }, decision: "allow" },
      ],
    };
    await setText("#policy", JSON.stringify(policy, null, 2));
    await analysed();
    const { lint } = await nodeAnalysis();
    const want = lint(JSON.stringify(policy));
    const dead = want.find((f) => f.location.rule === "dead" && f.location.field === "rules[0]");
    assert.ok(dead, `a finding on the rule "dead": ${JSON.stringify(want)}`);
    assert.ok((await squiggles()).some(([t, sev]) => t === '"id": "dead"' && sev === `sev-${dead.severity}`), "the rule is squiggled at its id");

    await page.click('#findings-list li[data-code="brace-is-literal"] .finding-go');
    assert.equal(await selection(), '"{a,b}"');
    assert.equal(await page.evaluate(() => document.activeElement?.id), "policy");
    await page.click(`#findings-list li[data-where="rules[0] (dead)"][data-code="${dead.code}"] .finding-go`);
    assert.equal(await selection(), '"id": "dead"');
  });

  test("without agentguard/analysis the page still decides, with a note instead of findings", async () => {
    for (const missing of ["analysis-web.mjs", "agentguard_analysis_bg.wasm"]) {
      const other = await watchedPage(browser.context);
      await other.page.route(`**/agentguard/${missing}`, (route) => route.fulfill({ status: 404, body: "gone" }));
      await other.page.goto(server.url);
      await other.page.waitForSelector("body[data-ready]");
      await other.page.waitForFunction(() => document.body.dataset.analysis === "unavailable", null, { timeout: 20000 });
      assert.match(await other.page.textContent("#findings-note"), /Lint and compare are unavailable: agentguard\/analysis could not be loaded/, missing);
      assert.equal(await other.page.isVisible("#findings-note"), true);
      assert.equal(await other.page.locator("#findings-list li").count(), 0);
      // Decisions as ever.
      await other.page.fill("#tools", "drop_table\nread_database");
      const rows = await other.page.$$eval("#results tbody tr[data-tool]", (rs) => rs.map((r) => [r.dataset.tool, r.dataset.decision]));
      assert.deepEqual(rows, [["drop_table", "deny"], ["read_database", "allow"]], missing);
      // Compare mode says why it shows nothing.
      await other.page.click("#compare");
      assert.match(await other.page.textContent("#diff-body"), /Compare needs agentguard\/analysis/);
      // The only problems: the missing file.
      assert.ok(other.problems.length > 0 && other.problems.every((p) => p.includes(missing) || /Failed to load resource/.test(p)), `${missing}: ${other.problems}`);
      await other.page.close();
    }
  });

  test("compare mode: a widened policy's transitions, each with a witness that a click decides", async () => {
    const { diff } = await nodeAnalysis();
    await page.check('input[name="approval"][value="none"]', { force: true });
    const old = { name: "shop", allow: ["read_*", "get_*"], deny: ["drop_*"] };
    const oldText = JSON.stringify(old, null, 2);
    await setText("#policy", oldText);
    await setText("#tools", "read_file\n");
    assert.equal(await page.isVisible("#old-panel"), false);
    await page.click("#compare");
    assert.equal(await page.getAttribute("#compare", "aria-pressed"), "true");
    assert.equal(await page.isVisible("#old-panel"), true);
    assert.equal(await page.isVisible("#diff-panel"), true);
    assert.equal(await page.inputValue("#old-policy"), oldText, "the old policy starts as the current one");
    await analysed();
    assert.equal(await page.textContent("#diff-body"), "No call is decided differently.");

    // Widened: write_* allowed (deny -> allow), and get_balance decided by a rule of its own (reason only).
    const widened = { name: "shop", allow: ["read_*", "get_balance", "get_*", "write_*"], deny: ["drop_*"] };
    await setText("#policy", JSON.stringify(widened, null, 2));
    await analysed();
    const want = diff(oldText, JSON.stringify(widened, null, 2));
    assert.equal(want.exact, true);
    assert.deepEqual(want.changes.map((c) => [c.from, c.to, c.new_rule]), [["deny", "allow", "write_*"]]);
    assert.deepEqual(await transitions(), want.changes.map((c) => asListed(c, true)));
    const [change] = want.changes;
    assert.match(change.tool, /^write_/);
    assert.equal(await page.textContent("#changes li.change .wider-tag"), "wider");
    // Reason only, listed apart, never as a transition.
    assert.deepEqual(await transitions(page, "#reason-changes"), want.reason_changes.map((c) => asListed(c, false)));
    assert.deepEqual(want.reason_changes.map((c) => [c.tool, c.old_rule, c.new_rule]), [["get_balance", "get_*", "get_balance"]]);
    assert.match(await page.textContent("#diff-summary"), /1 change.*1 wider.*1 reason only/);
    assert.equal(await page.locator("#diff-notes").count(), 0, "an exact diff has no notes");
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground-compare.png"), fullPage: true });

    // The witness, clicked: added as a line and decided as the new policy decides it.
    await page.click("#changes li.change button.witness");
    assert.equal(await page.inputValue("#tools"), `read_file\n${change.tool}\n`);
    assert.deepEqual((await calls()).at(-1), [2, change.tool, null, "allow", `allowed by pattern: write_*`, "write_*", []]);

    // A rule widened: the witness has arguments, and they are on the line.
    const oldRules = { name: "refunds", allow: ["get_balance"], rules: [{ id: "small", tool: "refund", when: { amount: { lte: 100 } }, decision: "allow" }] };
    const newRules = structuredClone(oldRules);
    newRules.rules[0].when.amount.lte = 500;
    await setText("#old-policy", JSON.stringify(oldRules, null, 2));
    await setText("#policy", JSON.stringify(newRules, null, 2));
    await analysed();
    const rulesDiff = diff(JSON.stringify(oldRules), JSON.stringify(newRules));
    assert.deepEqual(await transitions(), rulesDiff.changes.map((c) => asListed(c, RANK[c.to] < RANK[c.from])));
    const widen = rulesDiff.changes.find((c) => c.to === "allow" && Object.keys(c.args).length > 0);
    assert.ok(widen && widen.from === "deny", JSON.stringify(rulesDiff));
    assert.ok(widen.args.amount > 100 && widen.args.amount <= 500, JSON.stringify(widen.args));
    const line = `${widen.tool} ${JSON.stringify(widen.args)}`;
    await page.click(`#changes button.witness[data-line="${line.replace(/"/g, '\\"')}"]`);
    const last = (await calls()).at(-1);
    assert.deepEqual(last.slice(1, 6), [widen.tool, JSON.stringify(widen.args), "allow", "allowed by rule: small", "small"]);

    // A broken old policy: its error, at its place; no changes claimed.
    await setText("#old-policy", '{"allow": ["read_*", 5]}');
    await analysed();
    assert.equal(await page.textContent("#old-policy-status .err-kind"), "wrong_type");
    assert.deepEqual(await page.$$eval("#old-backdrop mark.err", (ms) => ms.map((m) => m.textContent)), ["5"]);
    assert.equal(await page.textContent("#diff-body"), "Fix the old policy to compare.");
    await setText("#old-policy", JSON.stringify(oldRules, null, 2));
    await analysed();
    assert.equal((await transitions()).length, rulesDiff.changes.length);
  });

  test("compare mode shows the notes of a diff that is not exact", async () => {
    const { diff } = await nodeAnalysis();
    await page.selectOption("#template", "coding-agent");
    await page.click("#old-reset");
    await analysed();
    const text = await page.inputValue("#policy");
    const want = diff(text, text);
    assert.equal(want.exact, false, "a policy that reads shell commands is compared on samples");
    assert.ok(want.notes.length > 0);
    assert.match(await page.textContent("#diff-notes"), /^Not exact:/);
    assert.deepEqual(await page.$$eval("#diff-notes li", (ls) => ls.map((l) => l.textContent)), want.notes);
    assert.match(await page.textContent("#diff-summary"), /not exact/);
  });

  test("the URL restores compare mode: the old policy and its changes", async () => {
    const old = { name: "shop", allow: ["read_*"], deny: ["drop_*", "write_*"] };
    const now = { name: "shop", allow: ["read_*", "write_*"], deny: ["drop_*"], require_approval: ["write_prod*"] };
    await setText("#old-policy", JSON.stringify(old, null, 2));
    await setText("#policy", JSON.stringify(now, null, 2));
    await analysed();
    const before = await transitions();
    assert.ok(before.some(([from, to]) => from === "deny" && to === "allow"), JSON.stringify(before));
    const url = page.url();
    assert.match(url, /[#&]compare=1/);
    assert.match(url, /[#&]old=/);

    const other = await watchedPage(browser.context);
    await other.page.goto(url);
    await other.page.waitForSelector("body[data-ready]");
    await analysed(other.page);
    assert.equal(await other.page.getAttribute("#compare", "aria-pressed"), "true");
    assert.equal(await other.page.isVisible("#old-panel"), true);
    assert.equal(await other.page.inputValue("#old-policy"), JSON.stringify(old, null, 2));
    assert.equal(await other.page.inputValue("#policy"), JSON.stringify(now, null, 2));
    assert.deepEqual(await transitions(other.page), before);
    assert.deepEqual(other.problems, []);
    await other.page.close();

    // Off: the old policy leaves the page and the URL.
    await page.click("#compare");
    assert.equal(await page.getAttribute("#compare", "aria-pressed"), "false");
    assert.equal(await page.isVisible("#old-panel"), false);
    assert.equal(await page.isVisible("#diff-panel"), false);
    assert.doesNotMatch(page.url(), /compare=|old=/);
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
