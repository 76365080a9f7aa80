"""Running all tool calls of one model turn: approval first, then concurrently, with a
signal when they are slow enough that the user should hear a filler.

The agent graph owns *what* happens on each signal (asking the user, speaking a filler in
the persona's voice, writing history); this module only runs calls and says when.
Cancelling `dispatch_calls` (barge-in) cancels every call still running, and calls not yet
started never start; sync tools already running in worker threads finish in the background
(Python threads cannot be killed) but their results are dropped.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tools.calls.parsed import MalformedToolCall, ParsedToolCall
from tools.registry import ToolRegistry
from tools.result import ToolResult
from tools.tool import Tool

DEFAULT_FILLER_AFTER_S = 0.7
_GENERIC_FILLER = "One moment, please."

# Anything with `id`, `name` and `arguments` works (the agent's own ToolCall included).
Call = ParsedToolCall | MalformedToolCall | Any
Approver = Callable[[Call, Tool], Awaitable[bool] | bool]
SlowCallback = Callable[[list[Call]], Awaitable[None] | None]


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def filler_sentence(registry: ToolRegistry, calls: Sequence[Call]) -> str:
    """What to say while `calls` run: the first tool's own `filler` with its arguments filled
    in, or a generic phrase (also when an argument the template names is missing)."""
    for call in calls:
        if isinstance(call, MalformedToolCall) or call.name not in registry:
            continue
        template = registry.get(call.name).filler
        if template:
            try:
                return template.format(**(call.arguments or {}))
            except (KeyError, IndexError, ValueError):
                continue
    return _GENERIC_FILLER


def declined_result(call: Call) -> ToolResult:
    return ToolResult(
        name=call.name, call_id=call.id, arguments=dict(call.arguments or {}), is_error=True,
        latency_ms=0.0,
        content=f"The user did not approve running {call.name!r}, so nothing was done. "
        "Tell the user, and do not call it again unless they ask.",
    )


async def dispatch_calls(
    registry: ToolRegistry,
    calls: Sequence[Call],
    *,
    approve: Approver | None = None,
    on_slow: SlowCallback | None = None,
    slow_after_s: float | None = DEFAULT_FILLER_AFTER_S,
) -> list[ToolResult]:
    """One result per call, in call order.

    - Malformed calls and unknown tools become error results without running anything.
    - Tools with `requires_approval` are put to `approve(call, tool)` one at a time, in
      call order, before any call starts (so a LangGraph `interrupt` inside `approve` sees
      the same sequence when the node re-runs); with no `approve` they are refused.
    - `on_slow(pending_calls)` is called once if calls are still running after
      `slow_after_s` (the moment to speak a filler).
    """
    results: list[ToolResult | None] = [None] * len(calls)
    runnable: list[tuple[int, Call]] = []
    for index, call in enumerate(calls):
        if isinstance(call, MalformedToolCall):
            results[index] = call.as_result()
            continue
        if call.name in registry and registry.get(call.name).requires_approval:
            approved = approve is not None and await _maybe_await(approve(call, registry.get(call.name)))
            if not approved:
                results[index] = declined_result(call)
                continue
        runnable.append((index, call))

    if runnable:
        tasks = {asyncio.ensure_future(registry.invoke(c.name, c.arguments, call_id=c.id)): i for i, c in runnable}
        try:
            if on_slow is not None and slow_after_s is not None:
                _, pending = await asyncio.wait(tasks, timeout=slow_after_s)
                if pending:
                    await _maybe_await(on_slow([calls[tasks[t]] for t in tasks if t in pending]))
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        for task, index in tasks.items():
            results[index] = task.result()
    return [r for r in results if r is not None]
