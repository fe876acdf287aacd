"""agentguard for the OpenAI Agents SDK (``openai-agents``).

``AgentGuard(policy)`` puts the policy on an agent's function tools
(``guard.tools([...])`` or ``guard.tool(t)``, which return guarded copies):

- ``needs_approval`` comes from the policy (``evaluate``: pure, nothing
  recorded), so a call the policy gates becomes the SDK's interruption:
  ``result.interruptions``, approved or rejected on the run state with
  ``guard.approve(state, item)`` / ``guard.reject(state, item)``;
- a tool input guardrail decides every call on its name and arguments
  before the tool runs (one audit entry per call, the approval's outcome in
  it): a deny is ``ToolGuardrailFunctionOutput.reject_content`` whose text
  names the rule and the reason, so the model reads why and the run goes
  on (or, with ``on_deny="raise"``, the SDK's
  ``ToolInputGuardrailTripwireTriggered``);
- ``guard.reject`` records the refused call (one entry, ``approval denied
  via callback``) and gives the model the same kind of text.

``context`` is a dict, or a function of the run's context object (what
``Runner.run(..., context=...)`` got) returning one: per run.

``policy`` may be a ``GatewayClient`` (remote mode): the guardrail asks the
gateway for each call (recorded there), and an approval-gated call is no
interruption: the guardrail waits on the gateway's approval queue while a
person grants or denies it on the gateway; granted, the tool runs; denied or
not answered in time, the model reads why. ``needs_approval`` is then
``False``, and ``guard.reject`` is not used.

Install with ``pip install agentguard[openai-agents]``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Dict, Iterable, List, Literal, Mapping, Optional, Union

try:
    from agents import FunctionTool, RunContextWrapper, ToolGuardrailFunctionOutput, ToolInputGuardrail
    from agents.tool_guardrails import ToolInputGuardrailData
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "agentguard.integrations.openai_agents needs the OpenAI Agents SDK: "
        "pip install 'agentguard[openai-agents]'"
    ) from e

from .._native import PolicyResult
from ._flow import PolicyLike, checked, decide_async, decide_sync, denial_message, is_remote
from ._flow import needs_approval as _needs_approval

__all__ = ["AgentGuard", "ContextSpec"]

#: The audit context: a dict, or a function of the run's context object.
ContextSpec = Union[None, Dict[str, Any], Callable[[Any], Optional[Dict[str, Any]]]]


def _parse_args(text: Optional[str]) -> Any:
    if text is None or text == "":
        return {}
    return json.loads(text)


class AgentGuard:
    """A policy for an agent's function tools: ``needs_approval`` and a tool
    input guardrail (see the module's documentation)."""

    def __init__(self, policy: PolicyLike, *, context: ContextSpec = None,
                 on_deny: Literal["reject_content", "raise"] = "reject_content") -> None:
        checked(policy)
        if on_deny not in ("reject_content", "raise"):
            raise ValueError(f"on_deny must be 'reject_content' or 'raise', got {on_deny!r}")
        self.policy = policy
        self.on_deny = on_deny
        self._context = context
        self.guardrail: ToolInputGuardrail[Any] = ToolInputGuardrail(
            guardrail_function=self._guard, name="agentguard")

    # -- context -------------------------------------------------------------

    def context_for(self, run_context: Any) -> Optional[Dict[str, Any]]:
        """The audit context of a run whose context object is ``run_context``."""
        if callable(self._context):
            return self._context(run_context)
        return self._context

    # -- tools ---------------------------------------------------------------

    def tool(self, tool: FunctionTool) -> FunctionTool:
        """A copy of ``tool`` with the policy's ``needs_approval`` (always
        ``False`` for a ``GatewayClient``, whose approvals the guardrail waits
        for) and the guardrail (after the tool's own guardrails)."""
        if not isinstance(tool, FunctionTool):
            raise TypeError(f"only function tools can be guarded, got {type(tool).__name__}")
        name = tool.name

        async def needs_approval(run_context: RunContextWrapper[Any], params: Dict[str, Any],
                                 call_id: str) -> bool:
            return _needs_approval(self.policy, name, params)

        guardrails = [g for g in (tool.tool_input_guardrails or []) if g is not self.guardrail]
        return dataclasses.replace(tool, needs_approval=needs_approval,
                                   tool_input_guardrails=[*guardrails, self.guardrail])

    def tools(self, tools: Iterable[FunctionTool]) -> List[FunctionTool]:
        """Guarded copies of ``tools``."""
        return [self.tool(t) for t in tools]

    # -- the guardrail -------------------------------------------------------

    async def _guard(self, data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
        ctx = data.context
        name = ctx.tool_name
        args = _parse_args(ctx.tool_arguments)
        answer: Optional[bool] = None
        if isinstance(args, Mapping) and _needs_approval(self.policy, name, args):
            answer = ctx.is_tool_approved(name, ctx.tool_call_id)
            if answer is None:
                # Guardrails run before the approval (ToolExecutionConfig's
                # pre_approval_tool_input_guardrails): the interruption
                # follows, and the call is decided once it is answered.
                return ToolGuardrailFunctionOutput.allow()
        result = await decide_async(self.policy, name, args, self.context_for(ctx.context), answer=answer)
        return self._output(result)

    def _output(self, result: PolicyResult) -> ToolGuardrailFunctionOutput:
        if result.allowed:
            return ToolGuardrailFunctionOutput.allow(output_info=result.to_dict())
        if self.on_deny == "raise":
            return ToolGuardrailFunctionOutput.raise_exception(output_info=result.to_dict())
        return ToolGuardrailFunctionOutput.reject_content(denial_message(result), output_info=result.to_dict())

    # -- answering interruptions ----------------------------------------------

    def approve(self, state: Any, item: Any) -> None:
        """Approves an interruption on the run state; the call's audit entry
        (``approved via callback``) is recorded when it runs."""
        state.approve(item)

    def reject(self, state: Any, item: Any, *, context: Optional[Dict[str, Any]] = None) -> PolicyResult:
        """Rejects an interruption on the run state: records the call's one
        audit entry (a deny, ``approval denied via callback (...)``) and gives
        the model its text as the rejection message. Returns the result.
        Not for a ``GatewayClient`` (a ``TypeError``): its approvals are
        denied on the gateway."""
        if is_remote(self.policy):
            raise TypeError("a GatewayClient's approvals are denied on the gateway, not on the run state "
                            "(its calls are no interruptions)")
        if context is None:
            wrapper = getattr(state, "_context", None)
            context = self.context_for(getattr(wrapper, "context", None))
        result = decide_sync(self.policy, item.tool_name, _parse_args(item.arguments), context, answer=False)
        state.reject(item, rejection_message=denial_message(result))
        return result
