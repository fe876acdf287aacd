"""The awaiting half of ``Policy.check_async`` and ``Policy.enforce_async``.

Only awaiting happens here: every decision, the order of the callbacks and
every message come from the native steps (the core's flow), which this
module calls in order and between which it awaits what the callbacks
returned.
"""

from __future__ import annotations

import inspect

from ._native import _enforce


async def check_async(policy, tool, args, context, approved=None):
    step, approval = policy._async_start(tool, args, context, approved)
    if approval is not None:
        # A failing approver propagates: nothing is recorded or allowed.
        step = policy._async_answer(step, await approval)
    result, pending, failure = policy._async_record(step)
    await _await_all(pending, failure)
    return result


async def enforce_async(policy, tool, args, context, approved=None):
    return _enforce(await check_async(policy, tool, args, context, approved))


async def _await_all(pending, failure):
    """Awaits every pending callback, in order, even after one fails, then
    raises the first failure (one raised before awaiting comes first)."""
    left = list(pending)
    try:
        while left:
            awaitable = left.pop(0)
            try:
                await awaitable
            except Exception as e:  # noqa: BLE001 - the first one is raised below
                if failure is None:
                    failure = e
    finally:
        # Cancelled while awaiting: what was never started is closed, so
        # Python does not warn that it was never awaited.
        for awaitable in left:
            if inspect.iscoroutine(awaitable) or inspect.isgenerator(awaitable):
                awaitable.close()
    if failure is not None:
        raise failure
