// Type tests for a CommonJS consumer (tsc --noEmit in the CJS test project).
import agentguard = require("agentguard");

const policy = new agentguard.Policy({ deny: ["drop_*"] });
const r: agentguard.PolicyResult = policy.check("drop_table");
const e: agentguard.ToolDenied = new agentguard.ApprovalRequired(r);
// @ts-expect-error: results are read-only
r.reason = "x";
void e;
const gateway = new agentguard.GatewayClient("http://127.0.0.1:8787", "agent-key-0001", { approvalTimeout: 60 });
const remote: Promise<agentguard.PolicyResult> = gateway.check("drop_table");
const failure: agentguard.GatewayError = new agentguard.GatewayError("down", { code: "unreachable" });
void [remote, failure];

import analysis = require("agentguard/analysis");
const findings: agentguard.Finding[] = analysis.lint(policy);
const report: agentguard.TestReport = analysis.testPolicy(policy, [{ tool: "drop_table", expect: "deny" }]);
const d: analysis.Diff = analysis.diff(policy, { deny: ["drop_*"] });
void [findings, report, d];
