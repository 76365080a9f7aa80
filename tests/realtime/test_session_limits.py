"""Per-session limits: audio rate, session length, a client too slow to read, and one bad
session next to a good one."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np

from agent.realtime.persona_agents import PersonaAgents
from agent.realtime.protocol import SessionLimits
from agent.realtime.session import RealtimeSession
from realtime_signals import silence
from realtime_server import make_agent, open_client, serve, utterance


async def test_audio_faster_than_allowed_is_dropped_with_an_error():
    agent, _, _ = make_agent()
    limits = SessionLimits(max_audio_speed=1.0, audio_burst_s=0.2)
    with serve(agent, limits=limits) as server:
        client = await open_client(server.url)
        await client.stream(silence(1.0), pace=50.0)  # 1 s of audio in ~20 ms
        error = await client.wait_type("error")
        await client.close()
    assert error["error"]["code"] == "rate_limit_exceeded"
    assert error["error"]["type"] == "rate_limit_error"


async def test_session_time_limit_closes_with_an_error():
    agent, _, _ = make_agent()
    with serve(agent, limits=SessionLimits(max_session_s=0.2)) as server:
        client = await open_client(server.url)  # and then says nothing
        error = await client.wait_type("error")
        await asyncio.wait_for(client._reader, 5)  # the server closed the socket
    assert error["error"]["code"] == "session_expired"


async def test_a_bad_session_does_not_disturb_a_good_one():
    agent, model, _ = make_agent()
    with serve(agent) as server:
        good = await open_client(server.url)
        bad = await open_client(server.url)
        garbage = [bad.ws.send("}{"), bad.send("nope"),
                   bad.send("input_audio_buffer.append", audio=base64.b64encode(b"\x01").decode())]
        await asyncio.gather(good.stream(utterance(0.6)), *garbage)
        done = await good.wait_type("response.done")
        await bad.wait_for(lambda e: len(bad.of("error")) == 3)
        await good.close()
        await bad.close()
    assert done["response"]["status"] == "completed"
    assert not good.of("error")


class _StuckSocket:
    """A websocket whose client never reads: every send blocks."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.closed_with: int | None = None

    async def receive(self) -> dict:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed_with = code
        await self.incoming.put({"type": "websocket.disconnect"})


async def test_client_too_slow_to_read_is_closed():
    agent, _, _ = make_agent()
    ws = _StuckSocket()
    session = RealtimeSession(ws, PersonaAgents(agent), SessionLimits(max_queued_events=5),
                              vad_kind="energy")
    run = asyncio.create_task(session.run())
    for _ in range(10):
        await ws.incoming.put({"type": "websocket.receive", "text": json.dumps({"type": "x"})})
    await asyncio.wait_for(run, 5)
    assert session.overflowed and ws.closed_with == 1008


async def test_float32_input_at_44k():
    agent, _, _ = make_agent()
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.send("session.update", session={
            "input_audio_format": "float32", "input_sample_rate": 44_100})
        await client.wait_type("session.updated")
        x = utterance(0.6, 44_100)
        n = 882
        for i in range(0, len(x), n):
            audio = base64.b64encode(x[i:i + n].astype("<f4").tobytes()).decode()
            await client.send("input_audio_buffer.append", audio=audio)
            await asyncio.sleep(0.005)
        done = await client.wait_type("response.done")
        await client.close()
    assert done["response"]["status"] == "completed"
    assert np.isclose(agent.services.tokenizer.clips[-1].sample_rate, 16_000)


async def test_client_side_turns_wait_for_commit():
    agent, _, _ = make_agent()
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.send("session.update", session={"turn_detection": {"type": "none"}})
        await client.wait_type("session.updated")
        await client.stream(utterance(0.6))
        await asyncio.sleep(0.2)
        assert not client.of("response.created")  # silence alone does not end the turn
        await client.send("input_audio_buffer.commit")
        done = await client.wait_type("response.done")
        await client.close()
    assert done["response"]["status"] == "completed"
    assert client.of("input_audio_buffer.committed")[0]["forced"] is True
