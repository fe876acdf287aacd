// Type tests for a CommonJS consumer (tsc --noEmit in the CJS test project).
import agentguard = require("agentguard");

const policy = new agentguard.Policy({ deny: ["drop_*"] });
const r: agentguard.PolicyResult = policy.check("drop_table");
const e: agentguard.ToolDenied = new agentguard.ApprovalRequired(r);
// @ts-expect-error: results are read-only
r.reason = "x";
void e;

import analysis = require("agentguard/analysis");
const findings: agentguard.Finding[] = analysis.lint(policy);
const report: agentguard.TestReport = analysis.testPolicy(policy, [{ tool: "drop_table", expect: "deny" }]);
const d: analysis.Diff = analysis.diff(policy, { deny: ["drop_*"] });
void [findings, report, d];
