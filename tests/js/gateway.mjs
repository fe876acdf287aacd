// For the JS tests in remote mode (tests/js/esm/gateway.test.mjs and the
// adapters' remote tests): the real gateway (`agentguard serve`, started by
// tests/gateway/helpers.mjs: AGENTGUARD_BIN, a temporary data directory,
// 127.0.0.1 only), with an admin, an approver ("pat") and one agent key per
// agent, and what a test does as the admin and the approver over HTTP.
//
// The tests run from copies in target/npm-test/, so they import this file
// by its path in the repository: tests/js/run.mjs passes it as
// AGENTGUARD_JS_GATEWAY (see gatewayHelpers() below, for the test files).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { call, startServer } from "../gateway/helpers.mjs";

export const ADMIN = "js-admin-key-0001";
export const APPROVER = "js-approver-key-0001";
/** The API key of `agent`. */
export const keyOf = (agent) => `js-key-${agent}`;

/**
 * Starts a gateway whose keys file has an agent key for each of `agents`;
 * stop() stops it and removes its directory.
 */
export async function startGateway(agents, { extraArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "agentguard-js-gateway-"));
  const keys = { [ADMIN]: { role: "admin", name: "admin" }, [APPROVER]: { role: "approver", name: "pat" } };
  for (const a of agents) keys[keyOf(a)] = { role: "agent", agent: a };
  const keysFile = join(dir, "keys.json");
  writeFileSync(keysFile, JSON.stringify({ keys }));
  let server;
  try {
    server = await startServer({ dataDir: join(dir, "data"), keysFile, extraArgs });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const url = server.url;
  const ok = (what, r) => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    url,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    /** Sets `agent`'s tool policy (the policy file format), as the admin. */
    async putPolicy(agent, policy) {
      return ok("PUT tool policy", await call(url, "PUT", `/v1/agents/${encodeURIComponent(agent)}/policies/tools`, { key: ADMIN, body: policy }));
    },
    /** Grants (or, with `grant` false, denies) an approval, as the approver. */
    async decide(id, grant, note) {
      const r = await call(url, "POST", `/v1/approvals/${encodeURIComponent(id)}/${grant ? "grant" : "deny"}`, {
        key: APPROVER,
        body: note === undefined ? {} : { note },
      });
      return ok(`${grant ? "grant" : "deny"} ${id}`, r).approval;
    },
    /** An approval as the approver reads it. */
    async approval(id) {
      return ok(`GET approval ${id}`, await call(url, "GET", `/v1/approvals/${encodeURIComponent(id)}`, { key: APPROVER })).approval;
    },
    /**
     * The first pending approval of `agent` for `tool`, as soon as there is
     * one (polled every 50 ms, for at most `ms`): what a person sees while
     * the agent waits.
     */
    async pending(agent, tool, ms = 20_000) {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const list = ok("GET approvals", await call(url, "GET", "/v1/approvals?status=pending", { key: APPROVER })).approvals;
        const a = list.find((x) => x.agent === agent && x.tool === tool);
        if (a) return a;
        await sleep(50);
      }
      throw new Error(`no pending approval of ${agent} for ${tool} within ${ms} ms`);
    },
    /** Every approval of `agent` (any status), newest first. */
    async approvals(agent) {
      const list = ok("GET approvals", await call(url, "GET", "/v1/approvals?status=all&limit=1000", { key: APPROVER })).approvals;
      return list.filter((x) => x.agent === agent);
    },
    /** Every audit record of `agent` of `kind` ("tool": its tool decisions), oldest first. */
    async audit(agent, kind = "tool") {
      const records = [];
      let before = null;
      for (;;) {
        const q = `limit=1000&agent=${encodeURIComponent(agent)}${before === null ? "" : `&before=${before}`}`;
        const body = ok("GET audit", await call(url, "GET", `/v1/mesh/audit?${q}`, { key: ADMIN }));
        records.push(...body.records);
        if (body.next_before === null) break;
        before = body.next_before;
      }
      return records.reverse().filter((r) => kind === null || r.kind === kind);
    },
    /** A raw request as `agent`. */
    request(agent, method, path, body) {
      return call(url, method, path, { key: keyOf(agent), body });
    },
  };
}

/**
 * A gateway for one test file: started on first use with `spec` as the tool
 * policy of each of `agents`, stopped after the file. `gw()` resolves to it
 * (startGateway's object); `clientOf(agent, options)` to a `GatewayClient`
 * (the class the test file imported from the package) of that agent.
 */
export function remoteGateway(agents, spec, GatewayClient) {
  let gateway;
  const gw = () => {
    if (gateway === undefined) {
      gateway = startGateway(agents).then(async (g) => {
        for (const a of agents) await g.putPolicy(a, spec);
        return g;
      });
    }
    return gateway;
  };
  after(async () => {
    if (gateway !== undefined) await (await gateway).stop();
  });
  const clientOf = async (agent, options) => new GatewayClient((await gw()).url, keyOf(agent), options);
  return { gw, clientOf };
}
