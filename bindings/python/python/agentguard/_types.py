"""The pure-Python half of agentguard: the ``Decision`` enum and the
exception classes. Everything that decides lives in the native core."""

from __future__ import annotations

from enum import Enum
from typing import Optional

__all__ = [
    "AgentGuardError",
    "ApprovalRequired",
    "Decision",
    "GatewayError",
    "PolicyError",
    "TokenFenceError",
    "ToolDenied",
]


class Decision(str, Enum):
    """The outcome of a policy check (the values of tokenfence's ``Decision``).

    A member compares equal to its string value and hashes like it
    (``result.decision == "deny"``, ``"deny" in {Decision.DENY}``), where
    tokenfence's plain ``Enum`` silently compares unequal. ``repr``,
    ``str`` and ``format`` are tokenfence's: ``<Decision.DENY: 'deny'>``,
    ``Decision.DENY``.
    """

    ALLOW = "allow"
    DENY = "deny"
    REQUIRE_APPROVAL = "require_approval"

    # A str mixin would print the value in format() (and in str() from
    # Python 3.12 on for some enum flavours); keep tokenfence's text.
    def __str__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


class AgentGuardError(Exception):
    """Base class of every agentguard exception."""


#: The name tokenfence gives its base exception, so ``except TokenFenceError``
#: keeps working after the one-line migration. It is ``AgentGuardError``.
TokenFenceError = AgentGuardError


class PolicyError(AgentGuardError, ValueError):
    """An invalid policy (an unknown or repeated key, a wrong type, a bad
    ``default``) or an input over a limit (a tool name over 1 MiB).

    ``str(err)`` says what and where (``allow[2]: expected a string pattern,
    got number 5``). Attributes:

    - ``kind``: the core's kind: ``"json"``, ``"not_an_object"``,
      ``"unknown_key"``, ``"duplicate_key"``, ``"wrong_type"``,
      ``"invalid_value"``, ``"missing_field"`` or ``"too_long"``;
    - ``field``: the offending key (the unknown or repeated key itself), or
      ``None``;
    - ``index``: the position inside a list field, or ``None``.

    A ``ValueError``, and an ``AgentGuardError`` (alias ``TokenFenceError``,
    which tokenfence raises for a bad ``default``).

    The decision flow's refusals of a callback's answer are ``TypeError``
    instead, with the core's ``kind`` too: ``"not_a_bool"`` (an approver
    returned something other than ``True`` or ``False``) and
    ``"async_hook"`` (a coroutine in ``check``/``enforce``).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "invalid_value",
        field: Optional[str] = None,
        index: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field
        self.index = index

    def __reduce__(self):  # keep the keyword-only attributes when pickled
        return (_rebuild_policy_error, (str(self), self.kind, self.field, self.index))


def _rebuild_policy_error(message, kind, field, index):
    return PolicyError(message, kind=kind, field=field, index=index)


class ToolDenied(AgentGuardError):
    """Raised by ``Policy.enforce`` when a tool call is denied.

    Attributes ``tool``, ``reason`` and ``matched_rule``; the message is
    ``Tool '{tool}' denied: {reason}``, as in tokenfence.
    """

    def __init__(self, tool: str, reason: str, matched_rule: Optional[str] = None) -> None:
        self.tool = tool
        self.reason = reason
        self.matched_rule = matched_rule
        from ._native import denied_message  # (the extension imports this module)

        super().__init__(denied_message(tool, reason))

    def __reduce__(self):
        return (type(self), (self.tool, self.reason, self.matched_rule))


class ApprovalRequired(ToolDenied):
    """Raised by ``Policy.enforce`` for an approval-gated tool that no
    ``on_approval`` callback approved.

    A ``ToolDenied``, so code that catches denials fails closed. (tokenfence's
    ``enforce`` returns the needs-approval result instead, which callers then
    run by mistake.)
    """


class GatewayError(AgentGuardError):
    """A ``GatewayClient`` request that did not give a decision: the gateway
    refused it (an HTTP error with its JSON ``{"error", "message"}``), could
    not be reached, or answered something that is not a decision. Never an
    allow: the tool must not run.

    Attributes:

    - ``status``: the HTTP status, or ``None`` when no answer came (the
      gateway is down, the connection failed or timed out);
    - ``code``: the gateway's error code (``"no_tool_policy"``,
      ``"unauthorized"``, ``"approval_used"``, ...), or, from the client,
      ``"unreachable"``, ``"timeout"`` or ``"bad_answer"`` (not JSON, or not
      the shape of a decision);
    - ``message``: the gateway's message, or what went wrong;
    - ``body``: the gateway's whole JSON error (with its extra fields, such
      as ``status`` for ``approval_decided``), or ``None``.
    """

    def __init__(self, message: str, *, status: Optional[int] = None, code: str = "bad_answer",
                 body: Optional[dict] = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        where = f"{status} {code}" if status is not None else code
        super().__init__(f"gateway: {where}: {message}")

    def __reduce__(self):
        return (_rebuild_gateway_error, (self.message, self.status, self.code, self.body))


def _rebuild_gateway_error(message, status, code, body):
    return GatewayError(message, status=status, code=code, body=body)
