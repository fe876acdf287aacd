"""agentguard for MCP clients (the ``mcp`` package): ``guard_session``
wraps a ``ClientSession`` (or an ``mcp.Client``) so that

- ``list_tools`` leaves out the tools the policy denies whatever their
  arguments (``always_denied``: proven, never guessed; a tool whose calls
  depend on their arguments stays listed);
- ``call_tool`` is decided on the tool's name and arguments before anything
  is sent: a denied call never reaches the server and returns a
  ``CallToolResult`` with ``is_error=True`` whose text names the rule and
  the reason; an approval-gated call asks ``approver`` (sync or ``async``)
  and runs only when it answers ``True`` (no approver: not run);
- the policy's audit gets one entry per ``call_tool``, with the approval's
  outcome, and the wrapper's ``context``.

``policy`` may be a ``GatewayClient`` (remote mode): each ``call_tool`` is
the gateway's decision, recorded there; an approval-gated call waits on the
gateway's approval queue (no ``approver``: a person answers on the gateway)
and runs only once granted; nothing is left out of ``list_tools``.

Everything else is the wrapped session's own::

    from agentguard import Policy
    from agentguard.integrations.mcp import guard_session

    guarded = guard_session(session, Policy(allow=["read_*"], deny=["drop_*"]),
                            context={"agent": "reporter"})
    await guarded.list_tools()                       # no drop_* tools
    await guarded.call_tool("drop_table", {"name": "users"})   # is_error, never sent

Install with ``pip install agentguard[mcp]``.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Generic, Mapping, Optional, TypeVar

try:
    from mcp import types as _types
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "agentguard.integrations.mcp needs the MCP SDK: pip install 'agentguard[mcp]'"
    ) from e

from .._native import PolicyResult
from ._flow import ApprovalRequest, Approver, PolicyLike, always_denied, checked, decide_async, denial_message

__all__ = ["ApprovalRequest", "Approver", "GuardedSession", "denied_result", "guard_session"]

_S = TypeVar("_S")

#: At most this many tool names' listing decisions are kept per wrapper.
_CACHE_LIMIT = 4096


def denied_result(result: PolicyResult) -> _types.CallToolResult:
    """The tool result a client gets for a call that did not run:
    ``is_error=True``, one text block (``denial_message``), and the decision
    as structured content (``{"agentguard": result.to_dict()}``)."""
    return _types.CallToolResult(
        content=[_types.TextContent(type="text", text=denial_message(result))],
        structured_content={"agentguard": result.to_dict()},
        is_error=True,
    )


class GuardedSession(Generic[_S]):
    """A session whose ``list_tools`` and ``call_tool`` are decided by a
    policy; every other attribute is the wrapped session's."""

    def __init__(self, session: _S, policy: PolicyLike, *, approver: Optional[Approver] = None,
                 context: Optional[Dict[str, Any]] = None) -> None:
        self._session = session
        self._policy = checked(policy, approver=approver)
        self._approver = approver
        self._context = dict(context) if context else None
        self._hidden: Dict[str, bool] = {}

    @property
    def session(self) -> _S:
        """The wrapped session."""
        return self._session

    @property
    def policy(self) -> PolicyLike:
        """The policy that decides (a ``Policy`` or a ``GatewayClient``)."""
        return self._policy

    def with_context(self, context: Optional[Dict[str, Any]]) -> "GuardedSession[_S]":
        """The same session, policy and approver with another run's context."""
        return GuardedSession(self._session, self._policy, approver=self._approver, context=context)

    def is_hidden(self, tool: str) -> bool:
        """Whether ``list_tools`` leaves ``tool`` out (the policy denies
        every call of it)."""
        hidden = self._hidden.get(tool)
        if hidden is None:
            hidden = always_denied(self._policy, tool)
            if len(self._hidden) < _CACHE_LIMIT:
                self._hidden[tool] = hidden
        return hidden

    async def list_tools(self, *args: Any, **kwargs: Any) -> _types.ListToolsResult:
        """The session's listing without the tools the policy always denies."""
        result = await self._session.list_tools(*args, **kwargs)  # type: ignore[attr-defined]
        tools = [t for t in result.tools if not self.is_hidden(t.name)]
        if len(tools) == len(result.tools):
            return result
        return result.model_copy(update={"tools": tools})

    async def call_tool(self, name: str, arguments: Optional[Mapping[str, Any]] = None,
                        *args: Any, **kwargs: Any) -> Any:
        """Decides the call (one audit entry); an allowed call is the
        session's ``call_tool``, anything else ``denied_result``."""
        # A copy: the call sent is the call decided, whatever the caller
        # changes in its arguments while the decision (an approver) runs.
        arguments = copy.deepcopy(arguments)
        result = await decide_async(self._policy, name, arguments, self._context, self._approver)
        if not result.allowed:
            return denied_result(result)
        return await self._session.call_tool(name, arguments, *args, **kwargs)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def guard_session(session: _S, policy: PolicyLike, *, approver: Optional[Approver] = None,
                  context: Optional[Dict[str, Any]] = None) -> GuardedSession[_S]:
    """``session`` (an ``mcp.ClientSession`` or ``mcp.Client``) guarded by
    ``policy`` (a ``Policy`` or a ``GatewayClient``); ``approver`` answers
    approval-gated calls (a ``Policy`` only: a gateway's approvals are given
    on the gateway); ``context`` goes into every audit entry of this wrapper
    (one wrapper per run)."""
    return GuardedSession(session, policy, approver=approver, context=context)
