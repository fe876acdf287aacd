"""Adapters that put a ``Policy`` in front of the tools of agent frameworks.

Each submodule imports its framework only when it is imported itself, so
``import agentguard`` (and this package) works with none installed:

- ``agentguard.integrations.mcp``: an MCP ``ClientSession`` (or ``Client``)
  wrapper (``pip install agentguard[mcp]``);
- ``agentguard.integrations.openai_agents``: a tool input guardrail and
  ``needs_approval`` for the OpenAI Agents SDK
  (``pip install agentguard[openai-agents]``);
- ``agentguard.integrations.langchain``: a LangChain tool wrapper, with
  LangGraph's ``interrupt`` for approvals (``pip install agentguard[langchain]``);
- ``agentguard.integrations.pydantic_ai``: a Pydantic AI toolset wrapper,
  approvals as deferred tool calls (``pip install agentguard[pydantic-ai]``).

Every adapter follows one contract: a call is decided on its name and
arguments; a denied or unapproved call never runs and the model reads why
(the deciding rule and the reason, see ``denial_message``); the policy's
audit gets exactly one entry per attempted call, with the approval's
outcome when a person was asked; ``context`` (agent, user, session) is
given per run.

Each adapter takes an ``agentguard.GatewayClient`` wherever it takes a
``Policy`` (remote mode: the policy lives on an ``agentguard serve``
gateway): every call is the gateway's ``check``, recorded there, and a
``require_approval`` waits on the gateway's approval queue (a person grants
or denies it on the gateway) instead of the adapter's approver or the
framework's own approval; a call not granted in time never runs and the
model reads why.
"""

from ._flow import ApprovalRequest, Approver, PolicyLike, always_denied, denial_message

__all__ = ["ApprovalRequest", "Approver", "PolicyLike", "always_denied", "denial_message"]
