"""The caller's end of a `/v1/realtime` call, as a phone or a browser would hold it: a
microphone that sends 20 ms frames at real-time pace (the caller's speech when it talks,
silence otherwise), a loudspeaker that plays the agent's audio as it arrives, and a log of
every server event with its arrival time.

The loudspeaker behaves like a client's playback buffer: audio that arrives while earlier
audio still plays waits its turn, and audio that arrives late leaves a gap. When the server
clears the output (the caller talked over the reply), the loudspeaker stops and tells the
server how much it really played (`conversation.item.truncate`), as an OpenAI Realtime
client does; the server then keeps only those words in the conversation's history.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FRAME_S = 0.02
_MAX_LAG_S = 0.25


def pcm16_b64(samples: np.ndarray) -> str:
    return base64.b64encode((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()).decode()


@dataclass
class Loudspeaker:
    """Per response: when its audio started playing and how many seconds were queued."""

    _queued_until: float = 0.0
    _spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _stopped: dict[str, float] = field(default_factory=dict)

    def add(self, response_id: str, seconds: float, now: float) -> None:
        if response_id in self._stopped:
            return  # cleared: what is still in flight is never played
        start = max(now, self._queued_until)
        self._queued_until = start + seconds
        self._spans.setdefault(response_id, []).append((start, seconds))

    def played_s(self, response_id: str, now: float) -> float:
        until = min(now, self._stopped.get(response_id, now))
        return sum(min(max(until - start, 0.0), length)
                   for start, length in self._spans.get(response_id, ()))

    def audio_s(self, response_id: str) -> float:
        return sum(length for _, length in self._spans.get(response_id, ()))

    def stop(self, response_id: str, now: float) -> float:
        """Stop playing `response_id` now; returns the seconds played."""
        played = self.played_s(response_id, now)
        self._stopped[response_id] = now
        self._queued_until = min(self._queued_until, now)
        return played

    def idle(self, now: float) -> bool:
        return now >= self._queued_until


class RealtimeLine:
    """An open websocket to `/v1/realtime` with a live microphone and loudspeaker.

    `events` holds (arrival time, event) pairs, times from `time.perf_counter()`."""

    def __init__(self, ws, sample_rate: int) -> None:
        self.ws = ws
        self.sample_rate = sample_rate
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.speaker = Loudspeaker()
        self._speech: list[np.ndarray] = []
        self._speech_done: asyncio.Event = asyncio.Event()
        self._speech_done.set()
        self._reader = asyncio.create_task(self._read())
        self._mic = asyncio.create_task(self._microphone())

    @classmethod
    async def open(cls, url: str, sample_rate: int,
                   turn_detection: dict[str, Any] | None = None) -> RealtimeLine:
        from websockets.asyncio.client import connect

        line = cls(await connect(url, max_size=None), sample_rate)
        await line.wait_for(lambda e: e["type"] == "session.created", timeout=30)
        session: dict[str, Any] = {"input_audio_format": "pcm16", "input_sample_rate": sample_rate}
        if turn_detection:
            session["turn_detection"] = turn_detection
        mark = len(line.events)
        await line.send("session.update", session=session)
        event = await line.wait_for(lambda e: e["type"] in ("session.updated", "error"),
                                    timeout=30, start=mark)
        if event["type"] == "error":
            raise RuntimeError(f"the server refused the session settings: {event['error']}")
        return line

    async def send(self, type_: str, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                event = json.loads(message)
                now = time.perf_counter()
                self.events.append((now, event))
                kind = event["type"]
                if kind == "response.audio.delta":
                    seconds = len(base64.b64decode(event["delta"])) / 2 / event["sample_rate"]
                    self.speaker.add(event["response_id"], seconds, now)
                elif kind == "output_audio_buffer.cleared":
                    rid = event["response_id"]
                    played = self.speaker.stop(rid, now)
                    await self.send("conversation.item.truncate", item_id=f"{rid}_output",
                                    content_index=0, audio_end_ms=int(played * 1000))
        except Exception:  # the socket closed: `wait_for` reports it
            pass

    async def _microphone(self) -> None:
        """20 ms frames at real-time pace, due times from a fixed start so small delays do
        not add up. After a long stall of the event loop (a model loading in it) the clock
        restarts instead of sending the missed frames in a burst, which the server's audio
        rate limit would drop: a microphone's driver drops them too."""
        n = int(self.sample_rate * FRAME_S)
        silence = np.zeros(n, dtype=np.float32)
        buffered = np.zeros(0, dtype=np.float32)
        start, sent = time.perf_counter(), 0
        while True:
            sent += 1
            delay = start + sent * FRAME_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -_MAX_LAG_S:
                start, sent = time.perf_counter(), 0
            if buffered.size == 0 and self._speech:
                buffered = np.concatenate(self._speech)
                self._speech.clear()
            if buffered.size:
                frame, buffered = buffered[:n], buffered[n:]
                if buffered.size == 0 and not self._speech:
                    self._speech_done.set()
            else:
                frame = silence
            await self.send("input_audio_buffer.append", audio=pcm16_b64(frame))

    async def speak(self, samples: np.ndarray) -> float:
        """Say `samples` into the microphone; returns when the last of it has been sent
        (the end of the caller's speech, `time.perf_counter()`)."""
        self._speech_done.clear()
        self._speech.append(samples.astype(np.float32))
        await self._speech_done.wait()
        return time.perf_counter()

    async def wait_for(self, predicate, *, timeout: float, start: int = 0) -> dict[str, Any]:
        """The first event from index `start` on that `predicate` accepts."""
        deadline = time.monotonic() + timeout
        seen = start
        while time.monotonic() < deadline:
            for _, event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = max(seen, len(self.events))
            if self._reader.done():
                raise self.closed_error()
            await asyncio.sleep(0.01)
        raise TimeoutError(f"no matching server event within {timeout:g} s")

    def closed_error(self) -> ConnectionError:
        """What ended the connection: the server's close code and reason, and its last
        error event, if it sent one."""
        last = next((e["error"] for _, e in reversed(self.events) if e["type"] == "error"), None)
        code, reason = getattr(self.ws, "close_code", None), getattr(self.ws, "close_reason", "")
        return ConnectionError(f"the realtime server closed the connection (code {code} "
                               f"{reason!r}; last error: {last})")

    def reader_done(self) -> bool:
        return self._reader.done()

    async def close(self) -> None:
        self._mic.cancel()
        await asyncio.gather(self._mic, return_exceptions=True)
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)
