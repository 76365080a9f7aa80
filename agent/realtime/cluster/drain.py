"""Graceful drain: on SIGTERM a worker takes no new session, lets each live one finish the
turn it is in, then exits.

uvicorn's own SIGTERM handling closes every websocket at once (1012), cutting replies
mid-sentence. `DrainingServer` turns the first SIGTERM into a drain instead: `/readyz`
answers 503 (the balancer stops sending new callers), new websockets are refused with 1013,
and each session closes itself with a `server_draining` error (code 1012, "reconnect with
your conversation_id") as soon as it is between turns. The process exits when the last
session has gone or after `timeout_s`. A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

log = logging.getLogger("stepvox.realtime.cluster")


class Drain:
    def __init__(self, timeout_s: float = 30.0) -> None:
        self.timeout_s = timeout_s
        self.draining = False
        self._event: asyncio.Event | None = None

    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
            if self.draining:
                self._event.set()
        return self._event

    def start(self) -> None:
        """Begin draining (on the event loop's thread)."""
        if self.draining:
            return
        self.draining = True
        self.event().set()

    async def wait_for_sessions(self, live: Callable[[], int], poll_s: float = 0.1) -> int:
        """Wait until no session is live or the timeout passes; returns those still live."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        while live() > 0 and loop.time() < deadline:
            await asyncio.sleep(poll_s)
        return live()


def draining_server(config, drain: Drain, live_sessions: Callable[[], int]):
    """A `uvicorn.Server` whose first SIGTERM drains (see the module's docstring)."""
    import uvicorn

    class DrainingServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame) -> None:
            if sig == signal.SIGTERM and not drain.draining and not self.should_exit:
                # Signal handlers run on the loop's thread between callbacks; the work itself
                # is scheduled as a task on that loop.
                loop = asyncio.get_event_loop()
                loop.call_soon_threadsafe(self._begin_drain)
                return
            super().handle_exit(sig, frame)

        def _begin_drain(self) -> None:
            log.info("SIGTERM: draining (%d live sessions, at most %.0f s)", live_sessions(),
                     drain.timeout_s)
            drain.start()
            self._drain_task = asyncio.get_running_loop().create_task(self._drain_then_exit())

        async def _drain_then_exit(self) -> None:
            left = await drain.wait_for_sessions(live_sessions)
            if left:
                log.warning("drain timed out with %d live sessions; closing them", left)
            self.should_exit = True

    return DrainingServer(config)
