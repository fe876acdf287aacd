"""The decision flow every adapter shares: one audit entry per attempted
call, with the approval's outcome.

The answer of the approver an adapter is given (or of the framework's own
approval, already answered) is passed to the public ``check`` /
``check_async`` as ``approved``, so the reasons (``approved via callback
(pattern: ...)``), the audit entry and the hooks are the core's, exactly as
``check`` makes them. When there is such an answer, a policy's own
``on_approval`` is not asked; when there is none (no approver), the policy's
own ``on_approval``, if it has one, is asked by ``check`` as usual.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Union

from .._native import Policy, PolicyResult
from .._types import Decision

__all__ = ["ApprovalRequest", "Approver", "always_denied", "denial_message"]


@dataclass(frozen=True)
class ApprovalRequest:
    """What an approver is asked: the tool, its arguments, the policy's
    ``require_approval`` result (rule and reason) and the run's context."""

    tool: str
    args: Mapping[str, Any]
    result: PolicyResult
    context: Optional[Dict[str, Any]] = field(default=None)


#: An approver: ``True`` approves, ``False`` refuses; it may be ``async``.
#: Anything but a ``bool`` is an error (the core's), never an approval.
Approver = Callable[[ApprovalRequest], Union[bool, Awaitable[bool]]]


def denial_message(result: PolicyResult) -> str:
    """The text a model reads for a call that did not run: the tool, the
    reason and the deciding rule, named when the reason does not already
    name it (``Tool 'write_file' denied: secrets are off limits (rule:
    no-secrets)``; ``Tool 'drop_table' denied: denied by pattern: drop_*``).
    The same text as the npm package's adapters."""
    rule = result.matched_rule
    named = f" (rule: {rule})" if rule is not None and rule not in result.reason else ""
    if result.decision == Decision.REQUIRE_APPROVAL:
        return f"Tool '{result.tool}' was not run: {result.reason}{named}; it needs a person's approval."
    return f"Tool '{result.tool}' denied: {result.reason}{named}"


def always_denied(policy: Policy, tool: str) -> bool:
    """Whether ``policy`` denies every call of ``tool``, whatever its
    arguments: the core's ``Policy.always_denied`` (``False`` when that is
    not shown: the tool then stays visible, and each call is still
    decided)."""
    return policy.always_denied(tool)


def _answer(answer: Any) -> Optional[bool]:
    """An approver's answer as ``approved``: ``None`` (not asked), or the
    ``bool``; anything else is an error, never an approval."""
    if answer is None or isinstance(answer, bool):
        return answer
    raise TypeError(f"an approver (or a resumed approval) must return True or False, got {type(answer).__name__}; "
                    "the tool stays unapproved")


def _close(awaitable: Any) -> None:
    if inspect.iscoroutine(awaitable):
        awaitable.close()


def _sync_only(what: str) -> TypeError:
    return TypeError(
        f"{what} returned an awaitable in a synchronous call; that is not an answer, and the tool "
        "stays unapproved. Use the adapter's asynchronous path for an asynchronous approver"
    )


def _ask(policy: Policy, tool: str, args: Mapping[str, Any], context: Optional[Dict[str, Any]],
         approver: Optional[Approver]) -> Any:
    """The approver's raw answer (maybe awaitable), or ``None`` when the call
    needs no approval or there is no approver. Asked before the flow starts,
    so a failing approver records nothing (as the core's flow)."""
    if approver is None:
        return None
    preview = policy.evaluate(tool, args=args)
    if not preview.needs_approval:
        return None
    return approver(ApprovalRequest(tool, args, preview, dict(context) if context else None))


async def decide_async(policy: Policy, tool: str, args: Optional[Mapping[str, Any]],
                       context: Optional[Dict[str, Any]], approver: Optional[Approver] = None,
                       answer: Optional[bool] = None) -> PolicyResult:
    """``check_async`` with an adapter's approver, or an ``answer`` already
    given (by the framework's own approval). Records exactly one entry."""
    args = {} if args is None else args
    if answer is None:
        answer = _ask(policy, tool, args, context, approver)
        if inspect.isawaitable(answer):
            answer = await answer
    return await policy.check_async(tool, args=args, context=context, approved=_answer(answer))


def decide_sync(policy: Policy, tool: str, args: Optional[Mapping[str, Any]],
                context: Optional[Dict[str, Any]], approver: Optional[Approver] = None,
                answer: Optional[bool] = None) -> PolicyResult:
    """``check`` with an adapter's approver or a given ``answer``; an
    asynchronous approver or hook is an error here (fails closed)."""
    args = {} if args is None else args
    if answer is None:
        answer = _ask(policy, tool, args, context, approver)
        if inspect.isawaitable(answer):
            _close(answer)
            raise _sync_only("the approver")
    return policy.check(tool, args=args, context=context, approved=_answer(answer))
