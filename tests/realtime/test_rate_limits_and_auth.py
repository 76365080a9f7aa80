"""Per-connection rate limits (events, audio) and the token check."""

from __future__ import annotations

import asyncio
import json

import pytest
import typer
from typer.testing import CliRunner
from websockets.exceptions import InvalidStatus

import agent.realtime.server as server_module
import agent.realtime.cluster.identity as identity_module  # where tokens are compared
from agent.cli.serve import serve as serve_command
from agent.realtime.protocol import SessionLimits
from agent.realtime.rate_limits import TokenBucket
from realtime_server import make_agent, open_client, serve
from realtime_signals import silence


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_but_never_past_its_burst():
    clock = _Clock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert all(bucket.take() for _ in range(5)) and not bucket.take()
    clock.now = 0.2  # two tokens back
    assert bucket.take() and bucket.take() and not bucket.take()
    clock.now = 600.0  # ten quiet minutes earn the burst, not 6,000 tokens
    assert sum(bucket.take() for _ in range(100)) == 5


async def test_a_flood_of_events_is_answered_with_rate_limit_errors_and_the_session_goes_on():
    agent, _, _ = make_agent()
    limits = SessionLimits(max_events_per_s=20, event_burst=30)
    with serve(agent, limits=limits) as server:
        client = await open_client(server.url)
        for _ in range(200):  # 200 clears at once: 170 past the burst of 30
            await client.ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        await client.wait_for(lambda e: e["type"] == "error")
        await client.wait_for(lambda e: len(client.of("input_audio_buffer.cleared"))
                              + len(client.of("error")) >= 200)
        cleared, limited = len(client.of("input_audio_buffer.cleared")), client.of("error")
        await asyncio.sleep(1.0)  # the bucket refills: the session is served again
        await client.send("conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
        await client.send("response.create")
        done = await client.wait_type("response.done")
        await client.close()
    assert 30 <= cleared < 60
    assert {e["error"]["code"] for e in limited} == {"rate_limit_exceeded"}
    assert limited[0]["error"]["type"] == "rate_limit_error"
    assert done["response"]["status"] == "completed"


async def test_audio_limit_is_a_bucket_not_an_allowance_saved_up_while_idle():
    agent, _, _ = make_agent()
    limits = SessionLimits(max_audio_speed=1.0, audio_burst_s=0.5, max_frame_s=2.0)
    with serve(agent, limits=limits) as server:
        client = await open_client(server.url)
        await asyncio.sleep(2.0)  # with an allowance counted from the start, 2.5 s would pass
        await client.stream(silence(2.0), pace=100.0)
        error = await client.wait_type("error")
        await client.close()
    assert error["error"]["code"] == "rate_limit_exceeded"


def test_default_limits_leave_room_for_a_browser_sending_128_sample_frames():
    limits = SessionLimits()
    assert limits.max_events_per_s >= 48_000 / 128 and limits.event_burst >= 1_000


async def test_tokens_are_compared_in_constant_time(monkeypatch):
    seen = []
    real = identity_module.hmac.compare_digest

    def spy(a, b):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(identity_module.hmac, "compare_digest", spy)
    agent, _, _ = make_agent()
    with serve(agent, token="s3cret") as server:
        with pytest.raises(InvalidStatus):
            await open_client(server.url + "?token=s3creT")  # same length, one letter off
        with pytest.raises(InvalidStatus):
            await open_client(server.url + "?token=%C3%A9")  # non-ASCII
        ok = await open_client(server.url, additional_headers={"Authorization": "Bearer s3cret"})
        await ok.close()
    assert (b"s3creT", b"s3cret") in seen and (b"s3cret", b"s3cret") in seen


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "example.com"])
def test_serving_off_loopback_without_a_token_is_refused(monkeypatch, host):
    monkeypatch.delenv("STEPVOX_TOKEN", raising=False)
    app = typer.Typer()
    app.command()(serve_command)
    result = CliRunner().invoke(app, ["--host", host, "--token", ""])
    assert result.exit_code == 2 and "without a token" in result.output
