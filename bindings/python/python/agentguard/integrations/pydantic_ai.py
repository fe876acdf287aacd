"""agentguard for Pydantic AI (``pydantic-ai`` / ``pydantic-ai-slim``).

``PolicyToolset(toolset, policy)`` wraps any toolset (a
``FunctionToolset``, an MCP server, ...) as Pydantic AI's own
``WrapperToolset``:

- tool preparation leaves out the tools the policy denies whatever their
  arguments (``always_denied``), so the model is never offered them;
- every call is decided on its name and arguments before the tool runs
  (one audit entry per call, with the approval's outcome): a deny never runs
  the tool and the model gets a failed tool result (``ToolFailed``) naming
  the rule and the reason;
- ``require_approval`` is Pydantic AI's human-in-the-loop approval: the call
  is deferred (``ApprovalRequired``, its metadata the decision), so the run
  ends with ``DeferredToolRequests`` (give the agent
  ``output_type=[str, DeferredToolRequests]``); answer it with
  ``guard.results(requests, {call_id: True or False})``, which records the
  refused calls and tells the model why, then run again with
  ``deferred_tool_results=``. An approved call is recorded when it runs.

``context`` is a dict, or a function of the run's ``deps`` returning one:
per run.

``policy`` may be a ``GatewayClient`` (remote mode): every tool is offered
(the gateway decides each call, recorded there), and an approval-gated call
is not deferred: it waits on the gateway's approval queue while a person
grants or denies it on the gateway; granted, it runs; denied or not answered
in time, it is a failed tool result naming why. ``guard.results`` is not
used.

Install with ``pip install agentguard[pydantic-ai]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Union

try:
    from pydantic_ai import DeferredToolRequests, DeferredToolResults, RunContext, ToolDenied
    from pydantic_ai.exceptions import ApprovalRequired, ToolFailed
    from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
    from pydantic_ai.toolsets.abstract import ToolsetTool
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "agentguard.integrations.pydantic_ai needs Pydantic AI: pip install 'agentguard[pydantic-ai]'"
    ) from e

from .._native import PolicyResult
from ._flow import PolicyLike, always_denied, checked, decide_async, decide_sync, denial_message, is_remote

__all__ = ["PolicyToolset"]

#: The audit context: a dict, or a function of the run's ``deps``.
ContextSpec = Union[None, Dict[str, Any], Callable[[Any], Optional[Dict[str, Any]]]]


def _args_of(part: Any) -> Any:
    args = part.args
    if args is None or args == "":
        return {}
    if isinstance(args, str):
        return json.loads(args)
    return args


@dataclass
class PolicyToolset(WrapperToolset[Any]):
    """``wrapped`` with its tools decided by ``policy`` (see the module's
    documentation)."""

    policy: PolicyLike = field(default=None)  # type: ignore[assignment]
    context: ContextSpec = None
    _hidden: Dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        checked(self.policy)

    def is_hidden(self, tool: str) -> bool:
        """Whether tool preparation leaves ``tool`` out (the policy denies
        every call of it); decided once per name."""
        hidden = self._hidden.get(tool)
        if hidden is None:
            hidden = always_denied(self.policy, tool)
            if len(self._hidden) < 4096:
                self._hidden[tool] = hidden
        return hidden

    def context_for(self, deps: Any) -> Optional[Dict[str, Any]]:
        """The audit context of a run whose ``deps`` are ``deps``."""
        return self.context(deps) if callable(self.context) else self.context

    async def get_tools(self, ctx: RunContext[Any]) -> Dict[str, ToolsetTool[Any]]:
        tools = await super().get_tools(ctx)
        return {name: t for name, t in tools.items() if not self.is_hidden(name)}

    async def call_tool(self, name: str, tool_args: Dict[str, Any], ctx: RunContext[Any],
                        tool: ToolsetTool[Any]) -> Any:
        answer: Optional[bool] = None
        # A gateway's approval is waited for while its check decides the call.
        preview = None if is_remote(self.policy) else self.policy.evaluate(name, args=tool_args)
        if preview is not None and preview.needs_approval:
            if not ctx.tool_call_approved:
                # Deferred to a person: nothing is recorded until it is answered.
                raise ApprovalRequired(metadata={"agentguard": preview.to_dict()})
            answer = True
        result = await decide_async(self.policy, name, tool_args, self.context_for(ctx.deps), answer=answer)
        if not result.allowed:
            raise ToolFailed(denial_message(result))
        return await super().call_tool(name, tool_args, ctx, tool)

    def results(self, requests: DeferredToolRequests, approvals: Mapping[str, bool], *,
                deps: Any = None, context: Optional[Dict[str, Any]] = None) -> DeferredToolResults:
        """The ``DeferredToolResults`` for a person's answers (``tool_call_id``
        -> ``True`` / ``False``) to ``requests.approvals``: an approved call
        runs (and is recorded then); a refused one is recorded now (a deny,
        ``approval denied via callback (...)``) and the model reads why.
        Not for a ``GatewayClient`` (a ``TypeError``): its calls are never
        deferred, their approvals are given on the gateway."""
        if is_remote(self.policy):
            raise TypeError("a GatewayClient's calls are never deferred: their approvals are given on the gateway")
        if context is None:
            context = self.context_for(deps)
        out = DeferredToolResults()
        for part in requests.approvals:
            answer = approvals.get(part.tool_call_id)
            if answer is None:
                continue
            if answer is True:
                out.approvals[part.tool_call_id] = True
                continue
            if answer is not False:
                raise TypeError(f"an approval must be True or False, got {answer!r}")
            result: PolicyResult = decide_sync(self.policy, part.tool_name, _args_of(part), context, answer=False)
            out.approvals[part.tool_call_id] = ToolDenied(denial_message(result))
        return out


def guard_toolset(toolset: AbstractToolset[Any], policy: PolicyLike, *,
                  context: ContextSpec = None) -> PolicyToolset:
    """``toolset`` guarded by ``policy`` (a ``Policy`` or a ``GatewayClient``)."""
    return PolicyToolset(toolset, policy=policy, context=context)


__all__ += ["guard_toolset"]
