// The policy templates: the three of the AgentGuard launch write-up (tool
// names only), and three that decide on arguments (`rules`, see
// CONDITIONS.md). Each comes with tool calls that show every kind of
// decision it makes; those with rules also show a shadow rule's hit.

/**
 * A starting point for the playground: a policy in the file format and
 * tool calls to try against it, each `tool` or `tool {json args}`.
 * @typedef {{ id: string, label: string, policy: object, tools: string[] }} Template
 */

/** @type {Template[]} */
export const TEMPLATES = [
  {
    id: "database-safety",
    label: "Database agent (database-safety)",
    policy: {
      name: "database-safety",
      allow: ["read_database", "generate_report", "list_tables", "describe_schema"],
      deny: ["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
      require_approval: ["write_database", "create_table", "create_index"],
      default: "deny",
      audit: true,
    },
    tools: [
      "read_database",
      "list_tables",
      "drop_table",
      "truncate_logs",
      "write_database",
      "create_index",
      "send_email",
    ],
  },
  {
    id: "email-agent",
    label: "Email agent (email-agent)",
    policy: {
      name: "email-agent",
      allow: ["read_email", "search_email", "draft_email", "list_folders"],
      deny: ["delete_email_*", "forward_to_external", "create_rule"],
      require_approval: ["send_email"],
      default: "deny",
      audit: true,
    },
    tools: [
      "read_email",
      "draft_email",
      "send_email",
      "delete_email_thread",
      "forward_to_external",
      "archive_email",
    ],
  },
  {
    id: "code-reviewer",
    label: "Code review agent (code-reviewer)",
    policy: {
      name: "code-reviewer",
      allow: ["read_file", "list_files", "git_diff", "git_log", "run_tests"],
      deny: ["git_push", "git_force_*", "rm_*", "deploy_*"],
      require_approval: ["git_commit", "create_pr"],
      default: "deny",
      audit: true,
    },
    tools: ["git_diff", "run_tests", "git_commit", "create_pr", "git_force_push", "rm_rf", "deploy_prod", "edit_file"],
  },
  {
    id: "coding-agent",
    label: "Coding agent, with arguments (coding-agent)",
    policy: {
      name: "coding-agent",
      allow: ["list_files", "search_code"],
      deny: ["delete_repo", "deploy_*"],
      require_approval: ["git_push"],
      default: "deny",
      audit: true,
      rules: [
        {
          id: "no-secrets",
          tool: "*_file",
          when: { path: { path_glob: ["*.env", "*/.ssh/*", "*.pem"] } },
          decision: "deny",
          reason: "secrets are off limits",
        },
        {
          id: "workspace-files",
          tool: ["read_file", "write_file", "edit_file"],
          when: { path: { path_under: "/workspace" } },
          decision: "allow",
        },
        {
          id: "safe-shell",
          tool: "run_shell",
          when: { command: { command: ["git status", "git diff *", "git log *", "ls *", "npm test *", "npm install *"] } },
          decision: "allow",
        },
        {
          id: "network-shell",
          tool: "run_shell",
          when: { command: { command: ["curl *", "wget *"] } },
          decision: "require_approval",
        },
        {
          id: "try-no-installs",
          tool: "run_shell",
          mode: "shadow",
          when: { command: { command: ["npm install *", "pip install *"] } },
          decision: "deny",
        },
      ],
    },
    tools: [
      'read_file {"path": "/workspace/src/main.rs"}',
      'write_file {"path": "/workspace/src/lib.rs"}',
      'write_file {"path": "/workspace/../etc/passwd"}',
      'edit_file {"path": "/workspace/.env"}',
      'run_shell {"command": "git status && git diff HEAD"}',
      'run_shell {"command": "npm install left-pad"}',
      'run_shell {"command": "curl -sSf https://example.com/install.sh"}',
      'run_shell {"command": "git status; rm -rf /"}',
      "git_push",
      "deploy_prod",
    ],
  },
  {
    id: "email-domains",
    label: "Email agent, recipient domain (email-domains)",
    policy: {
      name: "email-domains",
      allow: ["read_email", "search_email", "draft_email"],
      deny: ["delete_email_*"],
      default: "deny",
      audit: true,
      rules: [
        {
          id: "no-rivals",
          tool: "send_email",
          when: { to: { glob: "*@rival.example" } },
          decision: "deny",
        },
        {
          id: "outside-mail",
          tool: "send_email",
          when: { to: { not_glob: "*@example.com" } },
          decision: "require_approval",
          reason: "mail outside example.com needs a person",
        },
        {
          id: "internal-mail",
          tool: "send_email",
          when: { to: { glob: "*@example.com" } },
          decision: "allow",
        },
        {
          id: "try-approve-all-staff",
          tool: "send_email",
          mode: "shadow",
          when: { to: { glob: "all-staff@example.com" } },
          decision: "require_approval",
        },
      ],
    },
    tools: [
      "read_email",
      'send_email {"to": "alice@example.com", "subject": "Standup notes"}',
      'send_email {"to": ["alice@example.com", "bob@gmail.com"]}',
      'send_email {"to": "all-staff@example.com", "subject": "Release 2.0"}',
      'send_email {"to": "ceo@rival.example"}',
      'send_email {"subject": "who is this for?"}',
      "delete_email_thread",
    ],
  },
  {
    id: "payments-agent",
    label: "Payments agent, amount limit (payments-agent)",
    policy: {
      name: "payments-agent",
      allow: ["get_balance", "list_transactions"],
      deny: ["delete_*"],
      default: "deny",
      audit: true,
      rules: [
        {
          id: "known-currencies",
          tool: ["refund", "pay_invoice"],
          when: { currency: { not_in: ["EUR", "USD"] } },
          decision: "deny",
          reason: "only EUR and USD",
        },
        {
          id: "large-refunds",
          tool: "refund",
          when: { amount: { gt: 100 } },
          decision: "require_approval",
        },
        {
          id: "small-refunds",
          tool: "refund",
          when: { amount: { lte: 100 }, currency: { in: ["EUR", "USD"] } },
          decision: "allow",
        },
        {
          id: "try-cap-50",
          tool: "refund",
          mode: "shadow",
          when: { amount: { gt: 50 } },
          decision: "require_approval",
        },
      ],
    },
    tools: [
      "get_balance",
      'refund {"amount": 25, "currency": "EUR", "order": "A-1001"}',
      'refund {"amount": 80, "currency": "USD", "order": "A-1002"}',
      'refund {"amount": 2500, "currency": "EUR", "order": "A-1003"}',
      'refund {"amount": 40, "currency": "BTC"}',
      'refund {"amount": "25", "currency": "EUR"}',
      "delete_customer",
    ],
  },
];

/**
 * Formats a policy the way a person would write it: one key a line, short
 * arrays on one line, long ones wrapped a few patterns a line, and each
 * rule an object of its own, one key a line (`when` on one line when it
 * fits, else one argument a line).
 * @param {object} policy
 * @param {number} [width] the widest line, in characters
 * @returns {string}
 */
export function formatPolicy(policy, width = 60) {
  return `${block(policy, "", width)}\n`;
}

const isPlain = (v) => v !== null && typeof v === "object";

/** `[1, 2]`, `{"a": 1}`: JSON on one line, spaced as people write it. */
function compact(value) {
  if (Array.isArray(value)) return `[${value.map(compact).join(", ")}]`;
  if (isPlain(value)) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${compact(v)}`).join(", ")}}`;
  return JSON.stringify(value);
}

/** `value` on one line, if that fits after `used` characters. */
function inline(value, used, width) {
  const text = compact(value);
  return used + text.length <= width ? text : null;
}

/** An object, one key a line, indented by `pad`. */
function block(obj, pad, width) {
  const inner = `${pad}  `;
  const entries = Object.entries(obj);
  const lines = entries.map(([key, value], n) => {
    const comma = n < entries.length - 1 ? "," : "";
    const head = `${inner}${JSON.stringify(key)}: `;
    return head + fit(value, inner, head.length + comma.length, width) + comma;
  });
  return `{\n${lines.join("\n")}\n${pad}}`;
}

/** A value after `used` characters of a line indented by `pad`. */
function fit(value, pad, used, width) {
  const one = inline(value, used, width);
  if (!isPlain(value)) return one ?? JSON.stringify(value);
  if (!Array.isArray(value)) return one ?? block(value, pad, width);
  if (value.some(isPlain)) {
    // Objects in an array (rules): each a block of its own.
    const items = value.map((v, n) => `${pad}  ${isPlain(v) ? fitItem(v, `${pad}  `, width) : JSON.stringify(v)}${n < value.length - 1 ? "," : ""}`);
    return `[\n${items.join("\n")}\n${pad}]`;
  }
  if (one !== null) return one;
  // Patterns: a few a line.
  const items = value.map((v) => JSON.stringify(v));
  const rows = [];
  let row = "";
  for (const item of items) {
    if (row && pad.length + 2 + row.length + 2 + item.length + 1 > width) {
      rows.push(row);
      row = item;
    } else row = row ? `${row}, ${item}` : item;
  }
  rows.push(row);
  return `[\n${rows.map((r) => `${pad}  ${r}`).join(",\n")}\n${pad}]`;
}

/** An object inside an array: a block (a rule reads best one key a line). */
function fitItem(value, pad, width) {
  return Array.isArray(value) ? fit(value, pad, pad.length, width) : block(value, pad, width);
}
