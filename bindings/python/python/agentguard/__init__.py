"""agentguard: a least-privilege policy engine for AI agents' tool calls.

A native drop-in for tokenfence's ``Policy``: the same constructor, results,
reasons, matched rules, audit entries and ``repr``, decided by agentguard's
Rust core (the same core as the npm package)::

    from agentguard import Policy, ToolDenied

    policy = Policy(allow=["read_*"], deny=["drop_*"], require_approval=["write_*"])
    policy.check("drop_table").reason   # 'denied by pattern: drop_*'

Beyond tokenfence, ``rules`` decide on a call's arguments (argument
conditions: glob, in, comparisons, paths, shell commands, ...)::

    policy = Policy(rules=[{"id": "small-refunds", "tool": "refund", "decision": "allow",
                            "when": {"amount": {"lte": 100}}}])
    policy.check("refund", args={"amount": 20}).allowed    # True
    policy.check("refund", args={"amount": "20"}).allowed  # False: not a number

When in doubt, the restrictive rule applies; an allow rule needs proof.
Only the arguments a condition reads are looked at, and those must be JSON
data.

``lint(policy)``, ``diff(old, new)`` and ``test_policy(policy, fixtures)``
analyse a policy before it ships (the core's answers as dicts and lists)::

    [f["code"] for f in lint({"deny": ["drop_*"], "allow": ["drop_table"]})]  # ['shadowed']

Stricter than tokenfence, on purpose: ``from_dict`` rejects unknown keys and
wrong types (``PolicyError``), ``enforce`` raises ``ApprovalRequired`` for an
unapproved approval-gated tool, a tool name must be a well-formed ``str``,
an ``on_approval`` callback must return a real ``bool`` (an ``async def`` one
needs ``check_async``), and an audit entry keeps a copy of the context.

``GatewayClient(url, key)`` asks an ``agentguard serve`` gateway instead,
with the same ``evaluate`` / ``check`` / ``enforce`` (and ``_async``) shape,
so the policy can live outside the agent's process; every adapter of
``agentguard.integrations`` takes either.
"""

from ._native import (
    DEFAULT_AUDIT_CAPACITY,
    ActionPolicies,
    AuditEntry,
    Policy,
    PolicyResult,
    __version__,
    diff,
    fnmatch,
    lint,
    test_policy,
)
from ._types import (
    AgentGuardError,
    ApprovalRequired,
    Decision,
    GatewayError,
    PolicyError,
    TokenFenceError,
    ToolDenied,
)
from ._gateway import GatewayClient, GatewayDecision

__all__ = [
    "DEFAULT_AUDIT_CAPACITY",
    "ActionPolicies",
    "AgentGuardError",
    "ApprovalRequired",
    "AuditEntry",
    "Decision",
    "GatewayClient",
    "GatewayDecision",
    "GatewayError",
    "Policy",
    "PolicyError",
    "PolicyResult",
    "TokenFenceError",
    "ToolDenied",
    "diff",
    "fnmatch",
    "lint",
    "test_policy",
]
