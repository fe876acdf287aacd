// Type tests for a CommonJS consumer (tsc --noEmit in the CJS test project).
import agentguard = require("agentguard");

const policy = new agentguard.Policy({ deny: ["drop_*"] });
const r: agentguard.PolicyResult = policy.check("drop_table");
const e: agentguard.ToolDenied = new agentguard.ApprovalRequired(r);
// @ts-expect-error: results are read-only
r.reason = "x";
void e;
