"""`make demo-python`: the database-safety policy, run against the installed
agentguard wheel the way an agent framework would call it."""

from agentguard import ApprovalRequired, Policy, ToolDenied

policy = Policy(
    name="database-safety",
    allow=["read_database", "generate_report", "list_tables", "describe_schema"],
    deny=["delete_*", "drop_*", "truncate_*", "alter_*", "grant_*", "revoke_*"],
    require_approval=["write_database", "create_table", "create_index"],
    on_approval=lambda pending: pending.tool != "create_index",  # a human's answer
)

for tool in ["read_database", "drop_table", "write_database", "create_index", "send_email"]:
    try:
        result = policy.enforce(tool, context={"agent_id": "data-bot"})
        print(f"run    {tool:16} {result.reason}")
    except ApprovalRequired as e:
        print(f"wait   {tool:16} {e.reason}")
    except ToolDenied as e:
        print(f"block  {tool:16} {e.reason}")

print(f"{len(policy.audit_log)} audit entries; the last: {policy.audit_log[-1].to_dict()['reason']}")
