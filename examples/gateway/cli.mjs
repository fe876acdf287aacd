#!/usr/bin/env node
// agentguard-mesh: manage a gateway's action policies from the shell.
//
//   agentguard-mesh policies set analytics-agent --direction receive \
//       --mode allowlist --patterns "intent.data.read.*,intent.data.query.*"
//   agentguard-mesh policies get analytics-agent
//   agentguard-mesh policies delete analytics-agent --direction receive
//   agentguard-mesh audit [--agent ID] [--decision blocked] [--limit N] [--before SEQ]
//   agentguard-mesh send --to AGENT --type INTENT_TYPE [--payload JSON]
//   agentguard-mesh inbox [--limit N]
//
// --url (default $AGENTGUARD_URL, else http://127.0.0.1:8787); the API key
// comes from $AGENTGUARD_API_KEY. Prints the gateway's JSON answer; exits 0
// on success, 1 when the gateway refuses (the error on stderr), 2 on a usage
// error.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const USAGE = `usage:
  agentguard-mesh policies set AGENT --direction send|receive --mode open|allowlist|denylist [--patterns "p1,p2"]
  agentguard-mesh policies get AGENT
  agentguard-mesh policies delete AGENT --direction send|receive
  agentguard-mesh audit [--agent ID] [--decision blocked|delivered] [--limit N] [--before SEQ]
                        (newest first; --before the next_before of the previous page for older records)
  agentguard-mesh send --to AGENT --type INTENT_TYPE [--payload JSON]
  agentguard-mesh inbox [--limit N]
options: --url URL (default $AGENTGUARD_URL or http://127.0.0.1:8787); the key is read from $AGENTGUARD_API_KEY`;

class UsageError extends Error {}

/**
 * Runs the CLI with `argv` (without `node cli.mjs`); returns the exit code.
 * Output goes through `out` and `err`, so tests can run it in-process too.
 *
 * @param {string[]} argv
 * @param {{env?: NodeJS.ProcessEnv, out?: (s: string) => void, err?: (s: string) => void}} [io]
 * @returns {Promise<number>}
 */
export async function run(argv, { env = process.env, out = console.log, err = console.error } = {}) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        direction: { type: "string" },
        mode: { type: "string" },
        patterns: { type: "string" },
        agent: { type: "string" },
        decision: { type: "string" },
        limit: { type: "string" },
        before: { type: "string" },
        to: { type: "string" },
        type: { type: "string" },
        payload: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    err(`${e.message}\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals: p } = args;
  if (o.help || p.length === 0) {
    (o.help ? out : err)(USAGE);
    return o.help ? 0 : 2;
  }
  try {
    const request = plan(p, o);
    const base = (o.url ?? env.AGENTGUARD_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
    const key = env.AGENTGUARD_API_KEY;
    if (!key) throw new UsageError("set AGENTGUARD_API_KEY to your API key");
    let res;
    try {
      res = await fetch(`${base}${request.path}`, {
        method: request.method,
        headers: { "x-api-key": key, ...(request.body ? { "content-type": "application/json" } : {}) },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
    } catch (e) {
      err(`cannot reach the gateway at ${base}: ${e.cause?.message ?? e.message}`);
      return 1;
    }
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      err(`gateway answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
      return 1;
    }
    if (!res.ok) {
      err(`${res.status} ${body.error ?? "error"}: ${body.message ?? text}`);
      out(JSON.stringify(body, null, 2));
      return 1;
    }
    out(JSON.stringify(body, null, 2));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

function need(value, flag) {
  if (value === undefined || value === "") throw new UsageError(`${flag} is required`);
  return value;
}

function agentPath(agent) {
  return `/v1/mesh/agents/${encodeURIComponent(agent)}/policies/action`;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

/** The HTTP request a command line stands for. */
function plan(p, o) {
  const [group, verb, agent, ...extra] = p;
  if (group === "policies") {
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    if (!["set", "get", "delete"].includes(verb)) throw new UsageError(`policies takes set, get or delete, got ${JSON.stringify(verb ?? "")}`);
    need(agent, "AGENT");
    if (verb === "get") return { method: "GET", path: agentPath(agent) };
    if (verb === "delete") return { method: "DELETE", path: `${agentPath(agent)}${query({ direction: need(o.direction, "--direction") })}` };
    const patterns = (o.patterns ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
    return {
      method: "PUT",
      path: agentPath(agent),
      body: { direction: need(o.direction, "--direction"), mode: need(o.mode, "--mode"), patterns },
    };
  }
  if (p.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(p[1])}`);
  if (group === "audit") {
    return { method: "GET", path: `/v1/mesh/audit${query({ agent: o.agent, decision: o.decision, limit: o.limit, before: o.before })}` };
  }
  if (group === "inbox") return { method: "GET", path: `/v1/mesh/inbox${query({ limit: o.limit })}` };
  if (group === "send") {
    let payload = null;
    if (o.payload !== undefined) {
      try {
        payload = JSON.parse(o.payload);
      } catch (e) {
        throw new UsageError(`--payload is not valid JSON: ${e.message}`);
      }
    }
    return {
      method: "POST",
      path: "/v1/mesh/intents",
      body: { intent_type: need(o.type, "--type"), to_agent: need(o.to, "--to"), payload },
    };
  }
  throw new UsageError(`unknown command ${JSON.stringify(group)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  process.exitCode = await run(process.argv.slice(2));
}
