"""Driving a `RealtimeController` in a test: audio pushed frame by frame, and waits for its
replies, shared by the speculation tests."""

from __future__ import annotations

import asyncio

from agent.realtime.controller_events import ReplyFinished


async def push(ctl, x) -> None:
    """`x` as 20 ms frames, letting the speculation run between them as between real ones."""
    for i in range(0, len(x), 320):
        await ctl.push_audio(x[i:i + 320])
        await asyncio.sleep(0)


async def finished(events, n=1, timeout=5.0) -> list[ReplyFinished]:
    """Until `n` replies have finished; all finished replies so far."""
    async def poll():
        while len([e for e in events if isinstance(e, ReplyFinished)]) < n:
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)
    return [e for e in events if isinstance(e, ReplyFinished)]


async def played_out(ctl, timeout=5.0) -> None:
    """Until the reply's audio has played (closing earlier would cut it to the words heard)."""
    async def poll():
        while ctl.state != "silence":
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)
