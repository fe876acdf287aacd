"""agentguard for LangChain tools and LangGraph agents (``langchain-core``,
``langgraph``).

``guard_tool(tool, policy)`` (or ``guard_tools``) wraps a LangChain tool so
that every call is decided on its name and arguments before the tool runs
(one audit entry per call, with the approval's outcome):

- a deny never runs the tool; the model gets a ``ToolMessage`` with
  ``status="error"`` whose text names the rule and the reason;
- ``require_approval`` either asks ``approver(request)`` (sync or
  ``async``), or, with ``interrupt=True`` inside a LangGraph graph, raises
  LangGraph's human-in-the-loop ``interrupt`` with the call (``tool``,
  ``args``, ``reason``, ``rule``): the graph pauses, and
  ``Command(resume=True)`` (or ``False``) answers it; with neither the call
  is not run.

``context`` is a dict, or a function of the run's ``RunnableConfig``
returning one: per run. LangGraph re-runs the interrupted node when it
resumes, so give an approval-gated tool call a turn of its own (other tool
calls of the same model message run again).

``policy`` may be a ``GatewayClient`` (remote mode): each call is the
gateway's decision (recorded there), and an approval-gated call waits on the
gateway's approval queue while a person grants or denies it on the gateway
(no ``approver``, no ``interrupt``): granted, the tool runs; denied or not
answered in time, the model reads why.

Install with ``pip install agentguard[langchain]``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

try:
    from langchain_core.runnables import RunnableConfig
    from langchain_core.tools import BaseTool, ToolException
    from pydantic import ConfigDict
except ImportError as e:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "agentguard.integrations.langchain needs langchain-core: pip install 'agentguard[langchain]'"
    ) from e

from .._gateway import GatewayClient
from .._native import Policy, PolicyResult
from ._flow import Approver, PolicyLike, checked, decide_async, decide_sync, denial_message, needs_approval

__all__ = ["GuardedTool", "guard_tool", "guard_tools"]

#: The audit context: a dict, or a function of the run's ``RunnableConfig``.
ContextSpec = Union[None, Dict[str, Any], Callable[[RunnableConfig], Optional[Dict[str, Any]]]]


class GuardedTool(BaseTool):
    """A LangChain tool whose calls a policy decides first (see the
    module's documentation). Its name, description and argument schema are
    the wrapped tool's."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseTool
    policy: Union[Policy, GatewayClient]
    approver: Optional[Callable[..., Any]] = None
    interrupt: bool = False
    audit_context: Any = None
    handle_tool_error: Any = True

    def _context(self, config: Optional[RunnableConfig]) -> Optional[Dict[str, Any]]:
        spec = self.audit_context
        return spec(config or {}) if callable(spec) else spec

    def _interrupt_answer(self, args: Dict[str, Any]) -> Optional[bool]:
        """LangGraph's interrupt for an approval-gated call (the value the
        graph is resumed with), else ``None``."""
        if not self.interrupt:
            return None
        if not needs_approval(self.policy, self.name, args):
            return None
        preview = self.policy.evaluate(self.name, args=args)
        from langgraph.types import interrupt

        return interrupt({"type": "agentguard_approval", "tool": self.name, "args": args,
                          "reason": preview.reason, "rule": preview.matched_rule})

    def _refuse(self, result: PolicyResult) -> None:
        if not result.allowed:
            raise ToolException(denial_message(result))

    def _run(self, config: RunnableConfig, run_manager: Any = None, **kwargs: Any) -> Any:
        answer = self._interrupt_answer(kwargs)
        result = decide_sync(self.policy, self.name, kwargs, self._context(config),
                             self.approver, answer=answer)
        self._refuse(result)
        return self.inner.invoke(kwargs, config=config)

    async def _arun(self, config: RunnableConfig, run_manager: Any = None, **kwargs: Any) -> Any:
        answer = self._interrupt_answer(kwargs)
        result = await decide_async(self.policy, self.name, kwargs, self._context(config),
                                    self.approver, answer=answer)
        self._refuse(result)
        return await self.inner.ainvoke(kwargs, config=config)


def guard_tool(tool: BaseTool, policy: PolicyLike, *, approver: Optional[Approver] = None,
               interrupt: bool = False, context: ContextSpec = None) -> GuardedTool:
    """``tool`` guarded by ``policy`` (a ``Policy`` or a ``GatewayClient``).
    With a ``Policy``, approval-gated calls ask ``approver`` or, with
    ``interrupt=True``, LangGraph's ``interrupt`` (not both); with a
    ``GatewayClient``, they wait on the gateway's approval queue."""
    checked(policy, approver=approver, framework_approval="LangGraph's interrupt" if interrupt else None)
    if not isinstance(tool, BaseTool):
        raise TypeError(f"tool must be a LangChain BaseTool, got {type(tool).__name__}")
    if approver is not None and interrupt:
        raise ValueError("give approver or interrupt=True, not both")
    return GuardedTool(name=tool.name, description=tool.description, args_schema=tool.args_schema,
                       inner=tool, policy=policy, approver=approver, interrupt=interrupt,
                       audit_context=context)


def guard_tools(tools: Sequence[BaseTool], policy: PolicyLike, *, approver: Optional[Approver] = None,
                interrupt: bool = False, context: ContextSpec = None) -> List[GuardedTool]:
    """``guard_tool`` for each of ``tools``."""
    return [guard_tool(t, policy, approver=approver, interrupt=interrupt, context=context) for t in tools]
