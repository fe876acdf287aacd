"""The decision flow every adapter shares: one audit entry per attempted
call, with the approval's outcome.

The answer of the approver an adapter is given (or of the framework's own
approval, already answered) is passed to the public ``check`` /
``check_async`` as ``approved``, so the reasons (``approved via callback
(pattern: ...)``), the audit entry and the hooks are the core's, exactly as
``check`` makes them. When there is such an answer, a policy's own
``on_approval`` is not asked; when there is none (no approver), the policy's
own ``on_approval``, if it has one, is asked by ``check`` as usual.

A ``GatewayClient`` decides instead of a ``Policy`` wherever an adapter
takes one (remote mode): each call is the gateway's ``check`` /
``check_async``, which records it there and, for a ``require_approval``,
waits on the gateway's approval queue (a person grants or denies it on the
gateway) instead of the adapter's approver or the framework's own approval;
a call not granted in time is the gateway's ``require_approval``, and never
runs. Nothing is hidden from a listing in remote mode (``always_denied`` is
``False``): each call is decided by the gateway.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Union

from .._gateway import GatewayClient
from .._native import Policy, PolicyResult, denial_text
from .._types import Decision

__all__ = ["ApprovalRequest", "Approver", "PolicyLike", "always_denied", "denial_message"]

#: What decides an adapter's calls: a local ``Policy`` or a gateway's
#: decisions (``GatewayClient``).
PolicyLike = Union[Policy, GatewayClient]


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
    The core's text, the same as the npm package's adapters'."""
    return denial_text(result.tool, result.decision, result.reason, result.matched_rule)


def always_denied(policy: PolicyLike, tool: str) -> bool:
    """Whether ``policy`` denies every call of ``tool``, whatever its
    arguments: the core's ``Policy.always_denied`` (``False`` when that is
    not shown: the tool then stays visible, and each call is still
    decided). Always ``False`` for a ``GatewayClient``: the gateway decides
    each call, and nothing is hidden."""
    if isinstance(policy, GatewayClient):
        return False
    return policy.always_denied(tool)


def is_remote(policy: PolicyLike) -> bool:
    """Whether ``policy`` is a gateway's (``GatewayClient``)."""
    return isinstance(policy, GatewayClient)


def checked(policy: Any, *, approver: Any = None, framework_approval: Optional[str] = None) -> PolicyLike:
    """``policy`` if it is a ``Policy`` or a ``GatewayClient``, else a
    ``TypeError``. With a ``GatewayClient``, approvals are the gateway's: an
    ``approver`` (or the framework's own approval, named by
    ``framework_approval``) would never be asked, so giving one is a
    ``ValueError``."""
    if not isinstance(policy, (Policy, GatewayClient)):
        raise TypeError(f"policy must be an agentguard.Policy or agentguard.GatewayClient, got {type(policy).__name__}")
    if isinstance(policy, GatewayClient):
        what = "an approver" if approver is not None else framework_approval
        if what is not None:
            raise ValueError(f"{what} cannot answer a GatewayClient's approvals: they are granted or denied on the "
                             "gateway, and each call waits for them there")
    return policy


def needs_approval(policy: PolicyLike, tool: str, args: Mapping[str, Any]) -> bool:
    """Whether the framework's own approval should be asked for the call
    (``evaluate``: pure). ``False`` for a ``GatewayClient``, whose approvals
    are waited for on the gateway while the call is decided."""
    if isinstance(policy, GatewayClient):
        return False
    return policy.evaluate(tool, args=args).needs_approval


def _no_answer_remote(answer: Optional[bool]) -> None:
    if answer is not None:
        raise TypeError("a GatewayClient takes no approval answer from the adapter: approvals are given on the gateway")


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


async def decide_async(policy: PolicyLike, tool: str, args: Optional[Mapping[str, Any]],
                       context: Optional[Dict[str, Any]], approver: Optional[Approver] = None,
                       answer: Optional[bool] = None) -> PolicyResult:
    """``check_async`` with an adapter's approver, or an ``answer`` already
    given (by the framework's own approval). Records exactly one entry.
    A ``GatewayClient``: its ``check_async`` (the gateway's approval queue)."""
    args = {} if args is None else args
    if isinstance(policy, GatewayClient):
        _no_answer_remote(answer)
        return await policy.check_async(tool, args=args, context=context)
    if answer is None:
        answer = _ask(policy, tool, args, context, approver)
        if inspect.isawaitable(answer):
            answer = await answer
    return await policy.check_async(tool, args=args, context=context, approved=_answer(answer))


def decide_sync(policy: PolicyLike, tool: str, args: Optional[Mapping[str, Any]],
                context: Optional[Dict[str, Any]], approver: Optional[Approver] = None,
                answer: Optional[bool] = None) -> PolicyResult:
    """``check`` with an adapter's approver or a given ``answer``; an
    asynchronous approver or hook is an error here (fails closed). A
    ``GatewayClient``: its ``check`` (blocks while the gateway's approval is
    pending)."""
    args = {} if args is None else args
    if isinstance(policy, GatewayClient):
        _no_answer_remote(answer)
        return policy.check(tool, args=args, context=context)
    if answer is None:
        answer = _ask(policy, tool, args, context, approver)
        if inspect.isawaitable(answer):
            _close(answer)
            raise _sync_only("the approver")
    return policy.check(tool, args=args, context=context, approved=_answer(answer))
