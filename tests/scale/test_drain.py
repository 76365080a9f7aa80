"""Graceful drain of a real `stepvox serve` on SIGTERM: `/readyz` turns 503, new sockets are
refused, an idle session is told to reconnect at once, a session in the middle of a reply
hears it to the end and is then told to reconnect, and the process exits by itself, 0."""

from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from cluster_env import stored_turns, url_for
from name_model import STORY, NameEchoServer
from realtime_server import Client
from workers import Worker, wait_until


async def test_sigterm_drains_live_sessions_after_their_turn(tmp_path, pg_schema):
    with NameEchoServer(story_delay_s=0.05) as llm:
        server = Worker("drained", tmp_path, llm_url=llm.base_url,
                        database_url=url_for(pg_schema), redis_url=None)
        try:
            server.wait_ready()
            busy = Client(await connect(f"{server.ws}?conversation_id=busy-call"))
            idle = Client(await connect(f"{server.ws}?conversation_id=idle-call"))
            await busy.wait_type("session.created")
            await idle.wait_type("session.created")
            await busy.send("conversation.item.create", item={
                "type": "message", "role": "user",
                "content": [{"type": "input_text", "text": "tell me a story"}]})
            await busy.send("response.create")
            await busy.wait_type("response.audio.delta", timeout=60)

            server.proc.send_signal(signal.SIGTERM)
            await wait_until(lambda: httpx.get(f"{server.http}/readyz").status_code == 503, 10,
                             "/readyz to say 503")
            ready = httpx.get(f"{server.http}/readyz").json()
            with pytest.raises(InvalidStatus):
                await connect(server.ws)
            await idle.wait_type("error", timeout=10)
            assert not busy.of("error"), "the busy session was told to leave mid-reply"

            done = await busy.wait_type("response.done", timeout=60)
            await busy.wait_type("error", timeout=60)
            played_at = busy.of("conversation.state.changed")[-1]
            deadline = time.monotonic() + 60
            while server.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            server.stop()
    assert ready == {"ready": False, "checks": {"draining": "yes", "database": "ok",
                                                "redis": "not configured"}}
    assert [e["error"]["code"] for e in idle.of("error")] == ["server_draining"]
    assert idle.ws.close_code == 1012
    assert done["response"]["status"] == "completed" and done["response"]["output_text"] == STORY
    assert played_at["reason"] == "reply_played"  # told to leave only once it played out
    assert [e["error"]["code"] for e in busy.of("error")] == ["server_draining"]
    assert "conversation_id=busy-call" in busy.of("error")[0]["error"]["message"]
    assert server.proc.returncode == 0, server.log.read_text()[-3000:]
    assert [t for _, t, _ in stored_turns(pg_schema, "busy-call")] == ["tell me a story", STORY]
