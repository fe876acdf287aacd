// Type-checked by tests/gateway/types.test.mjs against the installed
// package's index.d.ts: what compiles, and what must not.
import { ActionPolicies, PolicyError, type Violation } from "agentguard";

const policies = new ActionPolicies();
const previous = policies.set("analytics-agent", { direction: "receive", mode: "allowlist", patterns: ["intent.data.read.*"] });
if (previous !== null) previous.patterns.join(",");
const v: Violation | null = policies.checkIntent({ from: "ops-agent", to: "analytics-agent", intentType: "intent.data.delete.v1" });
if (v !== null) {
  const d: "send" | "receive" = v.direction;
  const e: "action_policy_violation" = v.error;
  void [d, e, v.address_id, v.pattern ?? ""];
}
const both = policies.get("analytics-agent");
both.receive?.mode satisfies "open" | "allowlist" | "denylist" | undefined;
const one = policies.get("analytics-agent", "send");
one?.patterns.length;
policies.delete("analytics-agent", "receive");
const copy = ActionPolicies.fromJSON(policies.toJSON());
copy.agents.map((a) => a.toUpperCase());
ActionPolicies.resolveAddress("agent://o/e/n").toUpperCase();
try {
  policies.set("a", { direction: "send", mode: "open" });
} catch (err) {
  if (err instanceof PolicyError) void [err.kind, err.field, err.index];
}

// @ts-expect-error: not a mode
policies.set("a", { direction: "send", mode: "whitelist" });
// @ts-expect-error: not a direction
policies.delete("a", "both");
// @ts-expect-error: checkIntent takes an object
policies.checkIntent("ops-agent", "analytics-agent", "intent.x");
