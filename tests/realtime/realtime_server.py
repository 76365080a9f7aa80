"""Test helpers: the realtime app on uvicorn at 127.0.0.1 (free port, own thread), and a
small websocket client that streams audio and collects server events."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import numpy as np
from websockets.asyncio.client import connect

from agent import VoiceAgent
from agent.realtime.server import RealtimeServerConfig, create_app
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from loopback_server import LoopbackServer
from realtime_signals import pcm16, silence, tone

HEARD = "what time is it"
SHORT = "It is 12 noon."
# Twenty words, streamed a word every 80 ms: the reply is still being written for ~1.6 s.
LONG = ("It is noon right now here in town. The sun is high, the shops are open, "
        "and the bakery still has bread.")


def make_agent(replies=(SHORT,), *, token_delay_s=0.0, seconds_per_char=0.002,
               rate=16_000):
    model = ScriptedChatModel(list(replies), token_delay_s=token_delay_s)
    decoder = RecordingDecoder(rate, seconds_per_char=seconds_per_char)
    agent = VoiceAgent(model, decoder=decoder, tokenizer=FixedTranscriber(HEARD), tools=[])
    return agent, model, decoder


def serve(agents, **config) -> LiveServer:
    config.setdefault("vad", "energy")
    return LiveServer(agents, RealtimeServerConfig(**config))


def utterance(speech_s=0.8, rate=16_000):
    return np.concatenate([silence(0.3, rate), tone(speech_s, rate), silence(1.0, rate)])


class LiveServer(LoopbackServer):
    def __init__(self, agents, config: RealtimeServerConfig) -> None:
        super().__init__(create_app(agents, config), ws="websockets-sansio")
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        self.http = f"http://127.0.0.1:{self.port}"


class Client:
    """Reads server events in the background into `events`, so a test can stream audio and
    look at what came back at any point."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.events: list[dict] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                self.events.append(json.loads(message))
        except Exception:
            pass

    async def send(self, type_: str, **fields) -> None:
        await self.ws.send(json.dumps({"type": type_, **fields}))

    async def stream(self, x: np.ndarray, rate: int = 16_000, *, pace: float = 4.0,
                     frame_ms: int = 20) -> None:
        """Send float samples as pcm16 appends, `pace` times faster than real time."""
        n = int(rate * frame_ms / 1000)
        for i in range(0, len(x), n):
            audio = base64.b64encode(pcm16(x[i:i + n])).decode()
            await self.send("input_audio_buffer.append", audio=audio)
            await asyncio.sleep(frame_ms / 1000 / pace)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def of(self, type_: str) -> list[dict]:
        return [e for e in self.events if e["type"] == type_]

    async def wait_for(self, predicate, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for event in self.events[seen:]:
                if predicate(event):
                    return event
            seen = len(self.events)
            if self._reader.done():
                break
            await asyncio.sleep(0.01)
        raise AssertionError(f"event not received; got {self.types()}")

    async def wait_type(self, type_: str, timeout: float = 10.0, **match) -> dict:
        def ok(e: dict) -> bool:
            return e["type"] == type_ and all(
                e.get(k) == v or (isinstance(e.get("response"), dict)
                                  and e["response"].get(k) == v) for k, v in match.items())
        return await self.wait_for(ok, timeout)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def open_client(url: str, **kwargs) -> Client:
    ws = await connect(url, max_size=None, **kwargs)
    client = Client(ws)
    await client.wait_type("session.created")
    return client
