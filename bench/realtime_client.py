"""Pieces the realtime benchmarks share: the server on uvicorn in a thread (127.0.0.1, free
port, lifespan on so `warm_up` runs in the server's own loop), and a websocket client that
sends audio at real-time pace and timestamps every event it receives."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time

import numpy as np
import uvicorn
from websockets.asyncio.client import connect


class ThreadServer:
    def __init__(self, app) -> None:
        # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
        # proto says TCP, and accepted sockets inherit it. With proto 0 every small
        # server message after a quiet spell waited ~40 ms for the client's delayed ACK.
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        self.server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", lifespan="on", ws="websockets-sansio"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 600  # warm-up loads and runs the models
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("realtime server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


def pcm16_b64(x: np.ndarray) -> str:
    return base64.b64encode((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()).decode()


class PacedClient:
    """`events` holds (arrival perf_counter, event) pairs."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.events: list[tuple[float, dict]] = []
        self.sent_late_s: list[float] = []  # per frame of the last `stream`: how late it left
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str) -> PacedClient:
        client = cls(await connect(url, max_size=None))
        await client.wait_type("session.created")
        return client

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.events.append((time.perf_counter(), json.loads(message)))
        except Exception:
            pass

    async def send(self, type_: str, **fields) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    def first(self, type_: str, after: float = 0.0) -> tuple[float, dict] | None:
        return next(((t, e) for t, e in self.events if e["type"] == type_ and t >= after), None)

    async def wait_type(self, type_: str, timeout: float = 30.0, after: float = 0.0) -> tuple[
            float, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first(type_, after)
            if found is not None:
                return found
            if self._reader.done():
                break
            await asyncio.sleep(0.005)
        raise TimeoutError(f"no {type_} within {timeout:g} s")

    async def stream(self, x: np.ndarray, rate: int, *, frame_ms: int = 20,
                     until=None, t0: float | None = None) -> float:
        """Send `x` as a microphone would: frame i leaves when it has been "recorded", at
        t0 + (i + 1) * frame. Stops early once `until()` is true. Returns t0."""
        n = int(rate * frame_ms / 1000)
        t0 = time.perf_counter() if t0 is None else t0
        self.sent_late_s = []
        for i, start in enumerate(range(0, len(x), n)):
            due = t0 + (i + 1) * frame_ms / 1000
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.sent_late_s.append(time.perf_counter() - due)
            await self.send("input_audio_buffer.append", audio=pcm16_b64(x[start:start + n]))
            if until is not None and until():
                break
        return t0

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


def speech_end_s(samples: np.ndarray, rate: int, floor: float = 0.01) -> float:
    """Where the speech really ends: the last sample above -40 dBFS (a synthesized voice
    trails off in near-silence that no listener counts as speech)."""
    loud = np.flatnonzero(np.abs(samples) > floor)
    return (loud[-1] + 1) / rate if loud.size else 0.0
