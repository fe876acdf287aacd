import os

from agentguard import ApprovalRequired, GatewayClient, ToolDenied

# An agent's key: the gateway decides with that agent's tool policy.
gateway = GatewayClient(os.environ["AGENTGUARD_URL"], os.environ["AGENTGUARD_API_KEY"],
                        approval_timeout=120)

# evaluate: the decision alone (nothing recorded, no approval asked for).
assert gateway.evaluate("drop_table").denied

# check: decided and recorded on the gateway, with the rule and the reason.
result = gateway.check("read_file", args={"path": "/workspace/a.txt"}, context={"run": "42"})
assert result.allowed and result.reason == "allowed by pattern: read_*"

try:
    gateway.enforce("drop_table", args={"name": "users"}, context={"run": "42"})
except ToolDenied as denied:
    assert str(denied) == "Tool 'drop_table' denied: denied by pattern: drop_*"

# An approval-gated call waits (up to approval_timeout) while a person grants
# or denies it on the gateway: the dashboard, `agentguard approvals grant ID`,
# or POST /v1/approvals/ID/grant with an approver key.
try:
    gateway.enforce("git_push", args={"branch": "main"}, context={"run": "42"})
    print("granted: pushing main")  # allowed once
except ApprovalRequired:
    print("nobody answered in time: not pushed")
except ToolDenied as refused:
    print(refused)  # Tool 'git_push' denied: approval denied via callback (pattern: git_push)
