// The three policy templates of the AgentGuard launch write-up, each with
// tool names that show every kind of decision it makes.

/**
 * A starting point for the playground: a policy in the file format and
 * tool names to try against it.
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
];

/**
 * Formats a policy the way a person would write it: one key a line, short
 * arrays on one line, long ones wrapped a few patterns a line.
 * @param {object} policy
 * @param {number} [width] the widest line, in characters
 * @returns {string}
 */
export function formatPolicy(policy, width = 54) {
  const lines = Object.entries(policy).map(([key, value], n, all) => {
    const comma = n < all.length - 1 ? "," : "";
    const head = `  ${JSON.stringify(key)}: `;
    if (!Array.isArray(value)) return head + JSON.stringify(value) + comma;
    const items = value.map((v) => JSON.stringify(v));
    const inline = `[${items.join(", ")}]`;
    if (head.length + inline.length + 1 <= width) return head + inline + comma;
    const rows = [];
    let row = "";
    for (const item of items) {
      if (row && 4 + row.length + 2 + item.length + 1 > width) {
        rows.push(row);
        row = item;
      } else row = row ? `${row}, ${item}` : item;
    }
    rows.push(row);
    return `${head}[\n${rows.map((r) => `    ${r}`).join(",\n")}\n  ]${comma}`;
  });
  return `{\n${lines.join("\n")}\n}\n`;
}
