"""The decision flow every adapter shares: one audit entry per attempted
call, with the approval's outcome.

The approver an adapter is given (or the framework's own approval, already
answered) is applied with the core's flow steps (``_async_start``,
``_async_answer``, ``_async_record``, the steps of ``check_async``), so the
reasons (``approved via callback (pattern: ...)``), the audit entry and the
hooks are the core's, exactly as ``check`` makes them. A policy's own
``on_approval``, when it has one, is asked by those steps too and its answer
stands; give an adapter a policy without one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Union

from .._aio import _await_all
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
    step, pending = policy._async_start(tool, args, context)
    if pending is not None:
        step = policy._async_answer(step, await pending)
    elif answer is not None:
        step = policy._async_answer(step, answer)
    result, hooks, failure = policy._async_record(step)
    await _await_all(hooks, failure)
    return result


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
    if answer is None:
        return policy.check(tool, args=args, context=context)
    step, pending = policy._async_start(tool, args, context)
    if pending is not None:
        _close(pending)
        raise _sync_only("on_approval")
    step = policy._async_answer(step, answer)
    result, hooks, failure = policy._async_record(step)
    for h in hooks:
        _close(h)
    if failure is not None:
        raise failure
    if hooks:
        raise TypeError("on_decision or on_deny returned an awaitable in a synchronous call; use the asynchronous path")
    return result
