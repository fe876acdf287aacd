// Type tests for index.d.ts (tsc --noEmit in the ESM test project): right
// uses compile, wrong ones are rejected (each `@ts-expect-error` must fail).
import {
  ActionPolicies,
  ApprovalRequired,
  AuditEntry,
  type Args,
  type AuditEntryJSON,
  type CheckOptions,
  type EvaluateOptions,
  type CommandPattern,
  type Condition,
  type Decision,
  type ErrorFields,
  type FlowError,
  Policy,
  PolicyError,
  type PolicyJSON,
  type PolicyOptions,
  type PolicyResult,
  type PolicyResultJSON,
  type PolicySpec,
  type Rule,
  type RuleRef,
  type ShadowHit,
  ToolDenied,
  fnmatch,
  init,
  initSync,
} from "agentguard";

const spec: PolicySpec = {
  name: "db",
  allow: ["read_*"],
  deny: ["drop_*"],
  require_approval: ["write_*"],
  default: "deny",
  audit: true,
};
const options: PolicyOptions = {
  onApproval: async (pending: PolicyResult, context) => pending.tool === "write_log" && context !== null,
  onDeny: (result, context) => void [result.reason, context?.agentId],
  onDecision: (entry: AuditEntry) => void entry.toJSON().matched_rule,
  auditCapacity: 10_000,
};
const policy = new Policy(spec, options);
new Policy();
new Policy({ default: "allow" }, { onApproval: () => true });
// Explicit undefined is "not given" (exactOptionalPropertyTypes is on).
new Policy({ allow: undefined, name: null }, { onApproval: undefined, auditCapacity: undefined });

const r: PolicyResult = policy.check("drop_table", { context: { agentId: "bot-1" } });
const d: Decision = r.decision;
const rule: string | null = r.matchedRule;
const flags: boolean[] = [r.allowed, r.denied, r.needsApproval];
if (r.decision === "require_approval") void r.needsApproval;
const structured: RuleRef | null = r.rule;
if (structured !== null && "list" in structured) {
  const where: [string, number] = [structured.list, structured.index];
  void where;
}
const shadows: readonly ShadowHit[] = r.shadow;
const rj: PolicyResultJSON = r.toJSON();
const rjRule: string | null = rj.matched_rule;
const pure: PolicyResult = policy.evaluate("write_x");
new Policy(policy);
void [structured, shadows, rjRule, pure];
policy.enforce("read_x");
const later: Promise<PolicyResult> = policy.checkAsync("write_x");
void policy.enforceAsync("write_x", { context: null });
policy.check("write_x", { approved: true });
void policy.checkAsync("write_x", { args: { a: 1 }, context: { u: 1 }, approved: false });
policy.check("write_x", { approved: null });
const hasApprover: boolean = policy.hasOnApproval;
void hasApprover;
// @ts-expect-error approved is a boolean
policy.check("write_x", { approved: "yes" });
const log: AuditEntry[] = policy.auditLog;
const json: AuditEntryJSON = log[0]!.toJSON();
const n: number = policy.auditDropped + json.timestamp;
const name: string = policy.name;
const out: PolicyJSON = policy.toJSON();
const again: Policy = Policy.fromJSON(JSON.stringify(out), options);
Policy.fromJSON(spec);
policy.clearAudit();
policy.free();
policy[Symbol.dispose]();
const store = new ActionPolicies();
store.free();
store[Symbol.dispose]();
const matched: boolean = fnmatch("a", "?");
initSync(new Uint8Array(8));
const loading: Promise<void> = init();

try {
  policy.enforce("x");
} catch (e) {
  if (e instanceof ApprovalRequired) {
    const t: string = e.tool;
    void t;
  } else if (e instanceof ToolDenied) {
    const m: string | null = e.matchedRule;
    const res: PolicyResult = e.result;
    void [m, res];
  } else if (e instanceof PolicyError) {
    const k: "json" | "not_an_object" | "unknown_key" | "wrong_type" | "invalid_value" | "missing_field" | "duplicate_key" =
      e.kind;
    const f: string | null = e.field;
    const i: number | null = e.index;
    void [k, f, i];
  } else if (e instanceof TypeError) {
    const flow = e as FlowError;
    const fk: "async_hook" | "not_a_bool" = flow.kind;
    const where: ErrorFields = flow;
    void [fk, where.field, where.index];
  }
}
const opts: CheckOptions = { context: { a: 1 } };
void [d, rule, flags, later, n, name, again, matched, loading, opts];

// Wrong uses.
// @ts-expect-error: the decision is a union of three strings
const wrong: Decision = "maybe";
// @ts-expect-error: default is "allow" or "deny"
new Policy({ default: "block" });
// @ts-expect-error: unknown key in a policy
new Policy({ denny: ["drop_*"] });
// @ts-expect-error: patterns are strings
new Policy({ allow: [5] });
// @ts-expect-error: audit is a boolean
new Policy({ audit: "yes" });
// @ts-expect-error: unknown option
new Policy(spec, { onApprove: () => true });
// @ts-expect-error: the approver answers a boolean
new Policy(spec, { onApproval: () => "yes" });
// @ts-expect-error: auditCapacity is a number
new Policy(spec, { auditCapacity: "10" });
// @ts-expect-error: tool names are strings
policy.check(5);
// @ts-expect-error: context is an object
policy.check("x", { context: "bot-1" });
// @ts-expect-error: unknown check option
policy.check("x", { contxt: {} });
// @ts-expect-error: results are read-only
r.decision = "allow";
// @ts-expect-error: matchedRule may be null
const notNull: string = r.matchedRule;
// @ts-expect-error: camelCase fields on results
void r.matched_rule;
// @ts-expect-error: the name is read-only
policy.name = "other";
// @ts-expect-error: checkAsync returns a Promise
const notAwaited: PolicyResult = policy.checkAsync("x");
// @ts-expect-error: audit entries are read-only
log[0]!.tool = "x";
// @ts-expect-error: fnmatch takes two strings
fnmatch("a");
// @ts-expect-error: dispose takes no argument
store[Symbol.dispose](true);
// @ts-expect-error: evaluate takes args only (no context: nothing is recorded)
policy.evaluate("x", { context: {} });
// @ts-expect-error: the structured rule is read-only
r.rule = null;
// @ts-expect-error: a result's JSON is snake_case
void r.toJSON().matchedRule;
void [wrong, notNull, notAwaited];

// Rules with argument conditions: every operator, and the results.
const rules: Rule[] = [
  { id: "workspace-writes", tool: ["write_file", "edit_file"], decision: "allow", when: { path: { path_under: "/workspace" } } },
  { id: "no-secrets", tool: "*_file", decision: "deny", when: { path: { path_glob: ["*.env", "*/.ssh/*"] } }, reason: "secrets are off limits" },
  { id: "outside-mail", tool: "send_email", decision: "require_approval", when: { to: { not_glob: "*@example.com" } } },
  { id: "evil-mail", tool: "send_email", decision: "deny", when: { to: { glob: ["*@evil.com"] } } },
  { id: "small-refunds", tool: "refund", decision: "allow", when: { amount: { gt: 0, lte: 100 }, currency: { in: ["EUR", "USD"] } } },
  { id: "no-test", tool: "refund", decision: "deny", when: { currency: { not_in: ["XTS", 0, false] }, amount: { lt: 0, gte: -5 } } },
  { id: "safe-shell", tool: "run_shell", decision: "allow", when: { command: { command: ["git status", ["git", "commit", "-m", "*"]] } } },
  { id: "try-no-curl", tool: "run_shell", decision: "deny", mode: "shadow", when: { command: { command: "curl *" } } },
  { id: "needs-cwd", tool: "run_shell", decision: "deny", mode: "enforce", when: { cwd: { present: false } } },
  { id: "by-name", tool: "ls" , decision: "allow" },
];
const word: CommandPattern = ["echo", "a b"];
const cond: Condition = Math.random() > 0.5 ? { present: true } : { lte: 5, gte: 1 };
const withRules = new Policy({ allow: ["read_*"], rules });
const args: Args = { path: "/workspace/a", size: 12, nested: { deep: [1, "x", null] } };
const rr: PolicyResult = withRules.evaluate("write_file", { args });
withRules.evaluate("write_file", { args: null });
withRules.check("refund", { args: { amount: 20 }, context: { agentId: "bot-1" } });
void withRules.checkAsync("refund", { args: { amount: 20 } });
void withRules.enforceAsync("refund", { args: { amount: 20 }, context: null });
withRules.enforce("ls", { args: {} });
const ruleJson: Rule[] | undefined = withRules.toJSON().rules;
const rid: RuleRef | null = rr.rule;
if (rid !== null && "id" in rid) void rid.id;
const evalOpts: EvaluateOptions = { args: { to: ["a@ok.com"] } };
// A tool's own argument interface fits (no index signature needed).
interface WriteFileArgs {
  path: string;
  content: string;
  length?: number;
}
declare const writeArgs: WriteFileArgs;
withRules.check("write_file", { args: writeArgs });
withRules.evaluate("write_file", { args: JSON.parse('{"path": "/x"}') });
void [word, cond, ruleJson, evalOpts];

// @ts-expect-error: a misspelt operator
const typo: Condition = { lteq: 100 };
// @ts-expect-error: a misspelt operator inside a rule
new Policy({ rules: [{ id: "r", tool: "t", decision: "allow", when: { amount: { lessthan: 5 } } }] });
// @ts-expect-error: a misspelt decision
new Policy({ rules: [{ id: "r", tool: "t", decision: "alow" }] });
// @ts-expect-error: a rule needs an id
new Policy({ rules: [{ tool: "t", decision: "deny" }] });
// @ts-expect-error: an unknown key in a rule
new Policy({ rules: [{ id: "r", tool: "t", decision: "deny", where: {} }] });
// @ts-expect-error: mode is "enforce" or "shadow"
new Policy({ rules: [{ id: "r", tool: "t", decision: "deny", mode: "dry-run" }] });
// @ts-expect-error: lte takes a number
const notNumber: Condition = { lte: "100" };
// @ts-expect-error: in takes a non-empty array
const emptyIn: Condition = { in: [] };
// @ts-expect-error: in takes scalars
const nestedIn: Condition = { in: [["a"]] };
// @ts-expect-error: command stands alone
const commandAnd: Condition = { command: "ls", glob: "x" };
// @ts-expect-error: present stands alone
const presentAnd: Condition = { present: true, lte: 5 };
// @ts-expect-error: present is a boolean
const presentYes: Condition = { present: "yes" };
// @ts-expect-error: args is an object
withRules.check("refund", { args: "amount=5" });
// @ts-expect-error: args is an object of names to values, not an array
withRules.check("refund", { args: [5] });
// @ts-expect-error: ... nor a Map
withRules.evaluate("refund", { args: new Map([["amount", 5]]) });
// @ts-expect-error: rules is an array
new Policy({ rules: { id: "r", tool: "t", decision: "deny" } });
void [typo, notNumber, emptyIn, nestedIn, commandAnd, presentAnd, presentYes];

// agentguard/analysis: the core's JSON, typed.
import { diff, lint, testPolicy } from "agentguard/analysis";
import type { Change, Diff, Failure, Finding, Fixture, Location, Severity, TestReport } from "agentguard/analysis";
import type { PolicyLike } from "agentguard";

const analysed: PolicyLike[] = [withRules, spec, '{"deny": ["drop_*"]}'];
const findings: Finding[] = lint(analysed[0]!);
const severity: Severity = findings[0]!.severity;
const where: Location = findings[0]!.location;
const atIndex: number | null = where.index;
const witnessTool: string | undefined = findings[0]!.witness?.tool;
const policyDiff: Diff = diff(withRules, '{"deny": ["drop_*"]}');
const change: Change | undefined = policyDiff.changes[0];
const from: Decision | undefined = change?.from;
const exact: boolean = policyDiff.exact;
const fixtures: Fixture[] = [
  { tool: "drop_table", expect: "deny" },
  { tool: "refund", args: { amount: 5 }, expect: "allow", rule: "small" },
  { tool: "ls", expect: "deny", rule: null },
];
const report: TestReport = testPolicy(spec, fixtures);
const failure: Failure | undefined = report.failures[0];
const gotReason: string | undefined = failure?.got.reason;
testPolicy(spec, '{"tool": "a", "expect": "allow"}\n');
// @ts-expect-error: expect is a decision
const badExpect: Fixture = { tool: "a", expect: "alow" };
// @ts-expect-error: a fixture needs a tool
const noTool: Fixture = { expect: "allow" };
// @ts-expect-error: a number is no policy
lint(5);
// @ts-expect-error: findings are read-only
findings[0]!.code = "x";
// @ts-expect-error: diff needs two policies
diff(spec);
void [severity, atIndex, witnessTool, from, exact, gotReason, badExpect, noTool];

// ------------------------------------------------------------------ gateway
import {
  GatewayClient,
  GatewayError,
  type ApprovalStatus,
  type GatewayApproval,
  type GatewayCallOptions,
  type GatewayClientOptions,
  type GatewayErrorCode,
} from "agentguard";

const gatewayOptions: GatewayClientOptions = { approvalTimeout: 120, requestTimeout: 10, signal: undefined, fetch: undefined };
const gateway = new GatewayClient("http://127.0.0.1:8787", "agent-key-0001", gatewayOptions);
new GatewayClient({ href: "https://gateway.example" }, "agent-key-0001");
// A fetch of one's own: any function of (url, init) answering a status and a text.
new GatewayClient("http://127.0.0.1:8787", "k", {
  fetch: async (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => ({
    status: 200,
    text: async () => `${url} ${init.method} ${init.body ?? ""}`,
  }),
});
const callOptions: GatewayCallOptions = { args: { amount: 5 }, context: { user: "u1" } };
const remoteResult: Promise<PolicyResult> = gateway.checkAsync("refund", callOptions);
const sameCheck: Promise<PolicyResult> = gateway.check("refund");
const remoteEvaluate: Promise<PolicyResult> = gateway.evaluate("refund", { args: { amount: 5 } });
const enforced: Promise<PolicyResult> = gateway.enforce("refund", { args: { amount: 5 } });
void gateway.enforceAsync("refund");
const askedOnGateway: true = gateway.hasOnApproval;
const base: string = gateway.url;
const waits: number = gateway.approvalTimeout;
void (async () => {
  const r = await remoteResult;
  const approval: GatewayApproval | null | undefined = r.approval;
  const status: ApprovalStatus | (string & {}) | undefined = approval?.status;
  const id: string | undefined = approval?.id;
  void [status, id];
  try {
    await gateway.check("x");
  } catch (e) {
    if (e instanceof GatewayError) {
      const code: GatewayErrorCode = e.code;
      const httpStatus: number | null = e.status;
      const errorName: "GatewayError" = e.name;
      void [code, httpStatus, errorName, e.body?.error];
    }
  }
})();
new GatewayError("no answer", { code: "unreachable" });
void [sameCheck, remoteEvaluate, enforced, askedOnGateway, base, waits];
// @ts-expect-error: a gateway's approvals are given on the gateway
gateway.check("refund", { approved: true });
// @ts-expect-error: the key is a string
new GatewayClient("http://127.0.0.1:8787", 5);
// @ts-expect-error: unknown option
new GatewayClient("http://127.0.0.1:8787", "k", { timeout: 5 });
// @ts-expect-error: a gateway's check is asynchronous
const syncRemote: PolicyResult = gateway.check("refund");
// @ts-expect-error: the URL is read-only
gateway.url = "http://elsewhere";
void syncRemote;
