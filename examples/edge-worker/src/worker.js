// A Cloudflare Worker (module syntax) that decides AI agents' tool calls.
//
//   POST /check  {"tool": "drop_table", "context": {"agentId": "bot-1"}}
//   -> 403 {"tool": "drop_table", "decision": "deny",
//           "reason": "denied by pattern: drop_*", "matchedRule": "drop_*", ...}
//
// Only allow is a 2xx: 200 for allow; 428 Precondition Required for
// require_approval (a human must approve before the tool runs, so a client
// that checks only the status never runs it unapproved); 403 for deny; 400
// for a body that is not JSON or has no string "tool".

import { Policy } from "agentguard";
import spec from "./policy.json";

// Compiled once per isolate, at the top of the module: the package's workerd
// entry instantiates its WebAssembly synchronously, so this works here.
const policy = new Policy(spec, {
  // A worker keeps nothing between requests: every audit entry goes to the
  // logs (`wrangler tail`), in the same JSON every agentguard binding writes.
  onDecision: (entry) => console.log(JSON.stringify(entry)),
  auditCapacity: 100,
});

const HEADERS = { "content-type": "application/json; charset=utf-8" };

/** A JSON response. */
function reply(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...HEADERS, ...headers } });
}

/** What a value is, for an error message. */
function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}

/** Decides one `POST /check` request. */
async function check(request) {
  let body;
  try {
    body = await request.json();
  } catch {
    return reply({ error: "the body is not valid JSON" }, 400);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return reply({ error: `the body must be a JSON object like {"tool": "read_database"}, got ${describe(body)}` }, 400);
  }
  const { tool, context } = body;
  if (tool === undefined) return reply({ error: 'missing "tool": the name of the tool the agent wants to call' }, 400);
  if (typeof tool !== "string") return reply({ error: `"tool" must be a string, got ${describe(tool)}` }, 400);
  if (context !== undefined && context !== null && (typeof context !== "object" || Array.isArray(context))) {
    return reply({ error: `"context" must be a JSON object, got ${describe(context)}` }, 400);
  }
  let result;
  try {
    result = policy.check(tool, { context: context ?? undefined });
  } catch (err) {
    // A name that is not well-formed Unicode is refused, never decided.
    if (err instanceof TypeError) return reply({ error: err.message }, 400);
    throw err;
  }
  const { decision, reason, matchedRule } = result;
  // Only allow is a 2xx; anything else reads as a refusal.
  const status = decision === "allow" ? 200 : decision === "require_approval" ? 428 : 403;
  return reply({ tool, decision, reason, matchedRule, policy: policy.name }, status);
}

export default {
  /** @param {Request} request */
  async fetch(request) {
    const { pathname } = new URL(request.url);
    if (pathname !== "/check") return reply({ error: `no route ${pathname}: use POST /check` }, 404);
    if (request.method !== "POST") return reply({ error: "use POST /check" }, 405, { allow: "POST" });
    try {
      return await check(request);
    } catch (err) {
      // Fail closed: an unexpected error never reads as an allow.
      console.error(err);
      return reply({ error: "internal error", decision: "deny" }, 500);
    }
  },
};
