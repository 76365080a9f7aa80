"""Where sync tools run: a daemon thread per call, not asyncio's default executor.

A sync tool that hangs (a blocking client library waiting on a dead server) keeps its thread
forever: Python threads cannot be killed. On the default executor that did two kinds of
damage, found by `tests/faults/test_tool_faults.py`:
- six hung calls (the executor's size on a 2-core machine) left no thread for the rest of
  the agent (ASR, VAD and audio archiving use `asyncio.to_thread`), so every later turn hung;
- closing the event loop (`asyncio.run` returning, a test's loop) joins the executor's
  threads, so the process hung at exit behind the tool.
Here each call gets a daemon thread of its own, at most `MAX_TOOL_THREADS` at once (a call
over the cap waits for a slot under the tool's own timeout), and the interpreter never
waits for them.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

MAX_TOOL_THREADS = 64
_slots = threading.BoundedSemaphore(MAX_TOOL_THREADS)
_SLOT_POLL_S = 0.02


async def run_sync_tool(func: Callable[..., Any], /, **kwargs: Any) -> Any:
    """`func(**kwargs)` on a daemon thread; its result or exception. Cancelling the await
    drops the result; the thread runs on until the function returns by itself."""
    while not _slots.acquire(blocking=False):  # polled: a thread lock would block the loop
        await asyncio.sleep(_SLOT_POLL_S)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()  # as asyncio.to_thread: the caller's contextvars

    def work() -> None:
        try:
            value = context.run(func, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            _deliver(loop, done, None, exc)
        else:
            _deliver(loop, done, value, None)
        finally:
            _slots.release()

    name = f"stepvox-tool-{getattr(func, '__name__', 'call')}"
    try:
        threading.Thread(target=work, daemon=True, name=name).start()
    except BaseException:  # no thread (the OS's limit): the slot was never used
        _slots.release()
        raise
    return await done


def _deliver(loop: asyncio.AbstractEventLoop, done: asyncio.Future, value: Any,
             exc: BaseException | None) -> None:
    def settle() -> None:
        if done.done():  # the call was cancelled or timed out meanwhile
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # the loop has closed: nobody is waiting any more
        pass
