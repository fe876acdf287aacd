// Every kind of bad input gets a JSON error with a clear message, and the
// gateway keeps serving afterwards.

import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { test } from "node:test";

import { ADMIN, call, freshGateway, keyOf, policyPath, startServer, tempDir } from "./helpers.mjs";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const intent = (body, key = keyOf("ops-agent")) => ["POST", "/v1/mesh/intents", { key, body }];

test("bad requests: 401, 404, 405, 400 with clear messages; the server keeps serving", async (t) => {
  const gw = await freshGateway(t);
  const cases = [
    // [name, [method, path, options], status, error, message pattern]
    ["no key", ["GET", "/v1/mesh/audit", {}], 401, "unauthorized", /missing API key/],
    ["empty key", ["GET", "/v1/mesh/audit", { key: "" }], 401, "unauthorized", /missing API key/],
    ["unknown key", ["GET", "/v1/mesh/audit", { key: "not-a-real-key" }], 401, "unauthorized", /unknown API key/],
    ["Authorization that is not Bearer", ["GET", "/v1/mesh/audit", { headers: { authorization: `Basic ${ADMIN}` } }], 401, "unauthorized", /the Authorization header must be "Bearer KEY"/],
    ["unknown Bearer key", ["GET", "/v1/mesh/audit", { headers: { authorization: "Bearer not-a-real-key" } }], 401, "unauthorized", /unknown API key/],
    ["two different keys", ["GET", "/v1/mesh/audit", { key: ADMIN, headers: { authorization: "Bearer key-ops-agent" } }], 401, "unauthorized", /two different keys: send one/],
    ["unknown key on intents", intent({ intent_type: "a", to_agent: "ops-agent" }, "nope-nope-nope"), 401, "unauthorized", /unknown API key/],
    ["unknown route", ["GET", "/v1/mesh/nothing", { key: ADMIN }], 404, "not_found", /no route for \/v1\/mesh\/nothing/],
    ["unknown route without key", ["GET", "/v2/x", {}], 404, "not_found", /no route/],
    ["wrong method on intents", ["GET", "/v1/mesh/intents", { key: ADMIN }], 405, "method_not_allowed", /GET is not allowed on \/v1\/mesh\/intents; use POST/],
    ["wrong method on policies", ["POST", policyPath("ops-agent"), { key: ADMIN, body: {} }], 405, "method_not_allowed", /use GET, PUT, DELETE/],
    ["wrong method on inbox", ["DELETE", "/v1/mesh/inbox", { key: ADMIN }], 405, "method_not_allowed", /use GET/],
    ["malformed JSON", ["PUT", policyPath("ops-agent"), { key: ADMIN, raw: '{"direction": "send",' }], 400, "invalid_json", /request body is not valid JSON/],
    ["empty body", ["PUT", policyPath("ops-agent"), { key: ADMIN, raw: "" }], 400, "invalid_json", /request body is empty/],
    ["JSON array body", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: ["send"] }], 400, "invalid_json", /must be a JSON object, got an array/],
    ["invalid UTF-8", ["PUT", policyPath("ops-agent"), { key: ADMIN, raw: Buffer.from([0x7b, 0xff, 0x7d]) }], 400, "invalid_json", /not valid UTF-8/],
    ["unknown mode", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "whitelist", patterns: [] } }], 400, "invalid_policy", /^mode: expected "open", "allowlist" or "denylist", got string "whitelist"$/],
    ["unknown direction", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "both", mode: "open" } }], 400, "invalid_policy", /^direction: expected "send" or "receive", got string "both"$/],
    ["wrong type of patterns", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "denylist", patterns: "intent.*" } }], 400, "invalid_policy", /^patterns: expected an array of string patterns, got string "intent\.\*"$/],
    ["wrong type in patterns", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "denylist", patterns: ["a.*", 5] } }], 400, "invalid_policy", /^patterns\[1\]: expected a string pattern, got number 5$/],
    ["unknown key in policy", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "denylist", patern: [] } }], 400, "invalid_policy", /unknown key "patern"/],
    ["missing mode", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send" } }], 400, "invalid_policy", /missing field "mode"/],
    ["client-chosen policy id", ["PUT", policyPath("ops-agent"), { key: ADMIN, body: { direction: "send", mode: "open", policy_id: "pol_mine" } }], 400, "bad_request", /policy_id is assigned by the gateway/],
    ["malformed agent address in path", ["GET", policyPath("agent://myorg/ops-agent"), { key: ADMIN }], 400, "bad_request", /^agent id in the path: "agent:\/\/myorg\/ops-agent" is not a valid agent address: expected agent:\/\/org\/env\/name \(3 segments\), got 2 segments/],
    ["bad percent-encoding in path", ["GET", "/v1/mesh/agents/%E0%A4%A/policies/action", { key: ADMIN }], 400, "bad_request", /not valid percent-encoding/],
    ["delete without direction", ["DELETE", policyPath("ops-agent"), { key: ADMIN }], 400, "bad_request", /direction query parameter must be "send" or "receive", got none/],
    ["delete with unknown direction", ["DELETE", `${policyPath("ops-agent")}?direction=up`, { key: ADMIN }], 400, "bad_request", /got "up"/],
    ["intent without intent_type", intent({ to_agent: "analytics-agent" }), 400, "bad_request", /intent_type: expected a string, got nothing \(it is required\)/],
    ["intent with a number type", intent({ intent_type: 5, to_agent: "analytics-agent" }), 400, "bad_request", /intent_type: expected a string, got number 5/],
    ["intent with an unknown key", intent({ intent_type: "a.b", to_agent: "analytics-agent", priority: 1 }), 400, "bad_request", /unknown key "priority" in intent/],
    ["intent to a malformed address", intent({ intent_type: "a.b", to_agent: "agent://o/e/a/b" }), 400, "bad_request", /^to_agent: "agent:\/\/o\/e\/a\/b" is not a valid agent address: expected agent:\/\/org\/env\/name \(3 segments\), got 4 segments$/],
    ["intent with an empty type", intent({ intent_type: "", to_agent: "analytics-agent" }), 400, "bad_request", /^intent_type: an intent type must not be empty$/],
    ["intent with a lone surrogate", ["POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: '{"intent_type": "a.\\ud800", "to_agent": "analytics-agent"}' }], 400, "invalid_json", /request body is not valid JSON: (lone leading surrogate|unexpected end of hex escape)/],
    ["a repeated key in a request", ["POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: '{"intent_type": "intent.data.read.v1", "to_agent": "analytics-agent", "to_agent": "ops-agent"}' }], 400, "invalid_json", /duplicate key "to_agent"/],
    ["a policy for an unknown agent", ["PUT", policyPath("opps-agent"), { key: ADMIN, body: { direction: "send", mode: "open" } }], 404, "unknown_agent", /no agent "opps-agent" is known to this gateway \(known agents: analytics-agent, ops-agent, .*\); check the name, or add \?create=true/],
    ["a bad create flag", ["PUT", `${policyPath("ops-agent")}?create=yes`, { key: ADMIN, body: { direction: "send", mode: "open" } }], 400, "bad_request", /create query parameter must be "true" or "false", got "yes"/],
    ["an admin's inbox", ["GET", "/v1/mesh/inbox", { key: ADMIN }], 403, "forbidden", /only agent keys have an inbox/],
    ["intent to an unknown agent", intent({ intent_type: "a.b", to_agent: "agent://o/e/ghost-agent" }), 404, "unknown_agent", /no agent "ghost-agent" is registered/],
    ["bad audit limit", ["GET", "/v1/mesh/audit?limit=0", { key: ADMIN }], 400, "bad_request", /limit must be an integer from 1 to 1000, got "0"/],
    ["non-numeric inbox limit", ["GET", "/v1/mesh/inbox?limit=ten", { key: keyOf("ops-agent") }], 400, "bad_request", /limit must be an integer/],
  ];
  for (const [name, [method, path, options], status, error, message] of cases) {
    const r = await call(gw.url, method, path, options);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.headers.get("content-type"), "application/json; charset=utf-8", name);
    assert.equal(r.body.error, error, `${name}: ${JSON.stringify(r.body)}`);
    assert.match(r.body.message, message, name);
    if (status === 405) assert.ok(r.headers.get("allow"), `${name}: Allow header`);
  }
  // Field and index of a policy error are machine-readable too.
  const r = await call(gw.url, "PUT", policyPath("ops-agent"), {
    key: ADMIN,
    body: { direction: "send", mode: "denylist", patterns: ["a.*", 5] },
  });
  assert.deepEqual({ kind: r.body.kind, field: r.body.field, index: r.body.index }, { kind: "wrong_type", field: "patterns", index: 1 });

  // Nothing above changed any state, and the server still serves.
  const ok = await call(gw.url, "GET", policyPath("ops-agent"), { key: ADMIN });
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.body.policies.send, { direction: "send", mode: "open", patterns: [], policy_id: null });
  const audit = await call(gw.url, "GET", "/v1/mesh/audit", { key: ADMIN });
  assert.deepEqual(audit.body.records, []);
});

test("a body over 1 MB gets 413, declared or streamed, and the server keeps serving", async (t) => {
  const gw = await freshGateway(t);
  const big = JSON.stringify({ intent_type: "a.b", to_agent: "analytics-agent", payload: "x".repeat(1024 * 1024) });
  const r = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: big });
  assert.equal(r.status, 413);
  assert.equal(r.body.error, "payload_too_large");
  assert.match(r.body.message, /larger than 1048576 bytes \(1 MB\)/);

  // Chunked, with no Content-Length: the limit is enforced while reading.
  const { port } = new URL(gw.url);
  const status = await new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/v1/mesh/intents", headers: { "x-api-key": keyOf("ops-agent") } });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", (e) => (e.code === "EPIPE" || e.code === "ECONNRESET" ? resolve("reset") : reject(e)));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < 40) {
        sent += 1;
        if (!req.write(chunk)) return req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
  assert.ok(status === 413 || status === "reset", `got ${status}`);

  // Exactly 1 MB of JSON is accepted.
  const pad = 1024 * 1024 - JSON.stringify({ intent_type: "a.b", to_agent: "analytics-agent", payload: "" }).length;
  const edge = JSON.stringify({ intent_type: "a.b", to_agent: "analytics-agent", payload: "y".repeat(pad) });
  assert.equal(Buffer.byteLength(edge), 1024 * 1024);
  const accepted = await call(gw.url, "POST", "/v1/mesh/intents", { key: keyOf("ops-agent"), raw: edge });
  assert.equal(accepted.status, 202);
  assert.equal((await call(gw.url, "GET", "/healthz")).status, 200);
});

test("garbage on the socket does not take the server down", async (t) => {
  const gw = await freshGateway(t);
  const { port } = new URL(gw.url);
  await new Promise((resolve) => {
    const s = connect(Number(port), "127.0.0.1", () => s.end("NOT HTTP AT ALL\r\n\r\n"));
    s.on("data", () => {});
    s.on("close", resolve);
    s.on("error", resolve);
  });
  assert.equal((await call(gw.url, "GET", "/healthz")).status, 200);
});

test("a bad keys file or policy store stops startup with a clear message", async (t) => {
  const dir = tempDir(t);
  const cases = [
    [{ keys: { "short": { role: "admin" } } }, /at least 8 characters/],
    [{ keys: { "long-enough-key": { role: "root" } } }, /"role" must be "agent", "admin" or "approver", got string "root"/],
    [{ keys: { "long-enough-key": { role: "agent" } } }, /an agent key needs "agent"/],
    [{ keys: { "long-enough-key": { role: "agent", agent: "agent://a/b" } } }, /not a valid agent address/],
    [{ keys: {}, extra: 1 }, /unknown key "extra"/],
  ];
  for (const [i, [doc, message]] of cases.entries()) {
    const keysFile = join(dir, `keys${i}.json`);
    writeFileSync(keysFile, JSON.stringify(doc));
    await assert.rejects(startServer({ dataDir: join(dir, `d${i}`), keysFile }), message);
  }
  // A keys file that is not there.
  await assert.rejects(startServer({ dataDir: join(dir, "x"), keysFile: join(dir, "missing.json") }), /keys file .*missing\.json: No such file/);
});
