"""`StepFunRealtimeModel` against the loopback Realtime websocket double on 127.0.0.1."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from realtime_loopback import RealtimeScript, realtime_server

from agent.chat_model import ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent
from agent.backends.step_audio.errors import (
    ServerResponseError, ServerTimeoutError, ServerUnreachableError, StreamCutError,
)
from agent.backends.step_audio.stepfun_realtime import MissingApiKeyError, StepFunRealtimeModel
from speech.audio import AudioClip

WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                            "parameters": {"type": "object", "properties": {}}}}
DONE = {"type": "response.done", "response": {"status": "completed", "usage": {"total_tokens": 9}}}


class Pcm:
    def __init__(self) -> None:
        self.data = b""

    async def feed(self, pcm16: bytes) -> None:
        self.data += pcm16


async def collect(model, messages, tools=(), **kw):
    return [e async for e in model.stream(messages, tools, **kw)]


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


async def test_text_and_audio_reply_with_history_and_user_audio():
    audio_out = base64.b64encode(np.zeros(240, "<i2").tobytes()).decode()
    script = RealtimeScript(replies=[[
        {"type": "response.created"},
        {"type": "response.audio_transcript.delta", "delta": "Hi "},
        {"type": "response.audio.delta", "delta": audio_out},
        {"type": "response.audio_transcript.delta", "delta": "there."}, DONE]])
    sink = Pcm()
    clip = AudioClip(np.zeros(16_000, np.float32), 16_000)  # 1 s, resampled to 24 kHz
    async with realtime_server(script) as url:
        model = StepFunRealtimeModel(url=url, api_key="test-key", voice="linjiajiejie",
                                     pcm_sink=sink)
        history = [ChatMessage(role="system", content="Be kind."), user("hello"),
                   ChatMessage(role="assistant", content="Hi!"), user("")]
        events = await collect(model, history, audio=clip)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hi there."
    assert isinstance(events[-1], ModelDone) and events[-1].finish_reason == "completed"
    assert len(sink.data) == 480 and script.audio_bytes == 24_000 * 2
    session = script.received[0]["session"]
    assert session["instructions"] == "Be kind." and session["turn_detection"] is None
    assert session["voice"] == "linjiajiejie"
    kinds = [e["type"] for e in script.received]
    assert kinds[-2:] == ["input_audio_buffer.commit", "response.create"]


async def test_tool_calls_and_results_round_trip():
    script = RealtimeScript(replies=[[
        {"type": "response.function_call_arguments.done", "call_id": "c9",
         "name": "get_weather", "arguments": '{"location": "Oslo"}'}, DONE]])
    call = ToolCall(id="c1", name="get_weather", arguments={})
    history = [user("weather?"), ChatMessage(role="assistant", tool_calls=[call]),
               ChatMessage(role="tool", content="cold", tool_call_id="c1"), user("and Oslo?")]
    async with realtime_server(script) as url:
        events = await collect(StepFunRealtimeModel(url=url, api_key="test-key"), history,
                               [WEATHER])
    assert events[0] == ToolCallEvent(ToolCall(id="c9", name="get_weather",
                                               arguments={"location": "Oslo"}))
    items = [e["item"] for e in script.received if e["type"] == "conversation.item.create"]
    assert [i["type"] for i in items] == ["message", "function_call", "function_call_output",
                                          "message"]
    assert script.received[0]["session"]["tools"][0]["name"] == "get_weather"


async def test_missing_key_and_refused_key(monkeypatch):
    monkeypatch.delenv("STEPFUN_API_KEY", raising=False)
    with pytest.raises(MissingApiKeyError, match="STEPFUN_API_KEY"):
        await collect(StepFunRealtimeModel(url="ws://127.0.0.1:9"), [user("hi")])
    monkeypatch.setenv("STEPFUN_API_KEY", "wrong")
    async with realtime_server(RealtimeScript()) as url:
        with pytest.raises(ServerResponseError, match="HTTP 401. Check STEPFUN_API_KEY") as info:
            await collect(StepFunRealtimeModel(url=url), [user("hi")])
    assert info.value.status == 401


async def test_key_from_the_environment_is_used(monkeypatch):
    monkeypatch.setenv("STEPFUN_API_KEY", "test-key")
    async with realtime_server(RealtimeScript(replies=[[DONE]])) as url:
        events = await collect(StepFunRealtimeModel(url=url), [user("hi")])
    assert isinstance(events[-1], ModelDone)


async def test_server_down(dead_url):
    url = dead_url.replace("http://", "ws://")
    with pytest.raises(ServerUnreachableError):
        await collect(StepFunRealtimeModel(url=url, api_key="k"), [user("hi")])


async def test_closed_mid_reply_keeps_partial_text():
    script = RealtimeScript(replies=[[{"type": "response.text.delta", "delta": "par"}, "CLOSE"]])
    async with realtime_server(script) as url:
        with pytest.raises(StreamCutError, match="closed mid-reply") as info:
            await collect(StepFunRealtimeModel(url=url, api_key="test-key"), [user("hi")])
    assert info.value.partial_text == "par"


async def test_error_event_and_silence():
    script = RealtimeScript(replies=[[{"type": "error", "error": {"message": "quota"}}],
                                     [("SLEEP", 1.0), DONE]])
    async with realtime_server(script) as url:
        model = StepFunRealtimeModel(url=url, api_key="test-key", read_timeout_s=0.2)
        with pytest.raises(ServerResponseError, match="quota"):
            await collect(model, [user("hi")])
        with pytest.raises(ServerTimeoutError, match="sent nothing for 0.2 s"):
            await collect(model, [user("hi")])


async def test_doctor_check_needs_the_key_and_an_endpoint_that_accepts_it(monkeypatch, dead_url):
    from agent.backends.step_audio.backends import check_realtime

    monkeypatch.delenv("STEPFUN_API_KEY", raising=False)
    check = await check_realtime(StepFunRealtimeModel(url="ws://127.0.0.1:9"))
    assert "set STEPFUN_API_KEY" in check.problems[0]
    monkeypatch.setenv("STEPFUN_API_KEY", "test-key")
    async with realtime_server(RealtimeScript()) as url:
        assert (await check_realtime(StepFunRealtimeModel(url=url))).ok
        monkeypatch.setenv("STEPFUN_API_KEY", "wrong")
        check = await check_realtime(StepFunRealtimeModel(url=url))
    assert check.problems == ["the server refused the websocket with HTTP 401. Check "
                              "STEPFUN_API_KEY."]
    down = dead_url.replace("http://", "ws://").removesuffix("/v1")
    assert "could not connect" in (await check_realtime(StepFunRealtimeModel(url=down))).problems[0]
