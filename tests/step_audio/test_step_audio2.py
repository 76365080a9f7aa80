"""`StepAudio2Model` against the loopback double of StepFun's vLLM fork, over real HTTP."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
import soundfile as sf
from vllm_loopback import Reply

from agent.chat_model import ChatMessage, ModelDone, TextDelta, ToolCallEvent
from agent.backends.step_audio.step_audio2 import AudioTokenSink, StepAudio2Model
from agent.backends.step_audio.errors import (
    AudioChunkTooLongError, MalformedToolCallError, ServerResponseError, ServerUnreachableError,
    StreamCutError,
)
from speech.audio import AudioClip
from speech.errors import AudioTooLongError

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a place",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}


def user(text: str) -> ChatMessage:
    return ChatMessage(role="user", content=text)


def tone(seconds: float, rate: int = 48_000) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    return AudioClip((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


class RecordingSink:
    def __init__(self) -> None:
        self.fed: list[list[int]] = []
        self.ended: list[bool] = []

    async def feed(self, tokens) -> None:
        self.fed.append(list(tokens))

    async def end(self, *, complete: bool) -> None:
        self.ended.append(complete)


async def collect(model, messages, tools=(), **kw) -> list:
    return [event async for event in model.stream(messages, tools, **kw)]


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def model_for(server, **kw) -> StepAudio2Model:
    return StepAudio2Model(base_url=server.base_url, **kw)


async def test_text_turn_uses_the_human_role_and_a_generation_prompt(sa2_server):
    sa2_server.state.replies.append(Reply(pieces=["The Great ", "Wall is long."]))
    events = await collect(model_for(sa2_server), [
        ChatMessage(role="system", content="Be brief."), user("Tell me about the Great Wall")])
    assert text_of(events) == "The Great Wall is long."
    body = sa2_server.state.requests[0]
    assert [m["role"] for m in body["messages"]] == ["system", "human"]
    assert body["add_generation_prompt"] is True and body["continue_final_message"] is False
    assert "tools" not in body


async def test_audio_goes_up_as_16k_wav_chunks_before_the_text(sa2_server):
    await collect(model_for(sa2_server), [user("what is this?")], audio=tone(3.0))
    content = sa2_server.state.requests[0]["messages"][-1]["content"]
    assert [item["type"] for item in content] == ["input_audio", "text"]
    wav = base64.b64decode(content[0]["input_audio"]["data"])
    samples, rate = sf.read(io.BytesIO(wav))
    assert rate == 16_000 and samples.ndim == 1 and len(samples) == 48_000


async def test_long_audio_is_split_into_chunks_of_at_most_25_s(sa2_server):
    await collect(model_for(sa2_server), [user("")], audio=tone(60.0, 16_000))
    content = sa2_server.state.requests[0]["messages"][-1]["content"]
    lengths = [sf.info(io.BytesIO(base64.b64decode(c["input_audio"]["data"]))).duration
               for c in content]
    assert lengths == pytest.approx([25.0, 25.0, 10.0])  # no text item for an empty text


async def test_long_audio_without_splitting_or_over_the_total_is_a_named_error(sa2_server):
    with pytest.raises(AudioChunkTooLongError, match="at most 25 s per input_audio chunk"):
        await collect(model_for(sa2_server, split_long_audio=False), [user("")],
                      audio=tone(26.0, 16_000))
    with pytest.raises(AudioTooLongError, match="more than the 30 s allowed"):
        await collect(model_for(sa2_server, max_audio_s=30), [user("")], audio=tone(31.0, 16_000))
    assert sa2_server.state.requests == []  # nothing was sent


async def test_speech_output_streams_audio_tokens_to_the_sink(sa2_server):
    sa2_server.state.replies.append(Reply(pieces=["Hello", " there."],
                                          audio=[[1, 2, 6560], [4, 5]]))
    sink = RecordingSink()
    assert isinstance(sink, AudioTokenSink)
    events = await collect(model_for(sa2_server, speech_output=True, audio_sink=sink), [user("hi")])
    assert text_of(events) == "Hello there."
    assert sink.fed == [[1, 2, 6560], [4, 5]] and sink.ended == [True]
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.raw["tts_audio_tokens"] == [1, 2, 6560, 4, 5]
    assert done.raw["tts_text"] == "Hello there."
    body = sa2_server.state.requests[0]
    assert body["messages"][-1] == {"role": "assistant", "content": "<tts_start>"}
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["skip_special_tokens"] is False


async def test_filler_then_streamed_tool_call_then_result_as_input_turn(sa2_server):
    sa2_server.state.replies.append(Reply(
        pieces=["Let me check."], tool_calls=[("get_weather", ['{"loca', 'tion": "Paris"}'])]))
    model = model_for(sa2_server)
    history = [user("weather in Paris?")]
    events = await collect(model, history, [WEATHER])
    assert isinstance(events[0], TextDelta) and isinstance(events[-2], ToolCallEvent)
    call = events[-2].call
    assert (call.id, call.name) == ("call_lb0", "get_weather")
    assert call.arguments == {"location": "Paris"}
    assert events[-1].finish_reason == "tool_calls"
    body = sa2_server.state.requests[0]
    assert body["tools"] == [WEATHER] and body["tool_choice"] == "auto"

    sa2_server.state.replies.append(Reply(pieces=["It is sunny."]))
    history += [ChatMessage(role="assistant", content="Let me check.", tool_calls=[call]),
                ChatMessage(role="tool", content="18 C, sunny", tool_call_id=call.id)]
    events = await collect(model, history, [WEATHER])
    assert text_of(events) == "It is sunny."
    sent = sa2_server.state.requests[1]["messages"]
    assert sent[1]["tool_calls"][0]["function"] == {"name": "get_weather",
                                                    "arguments": '{"location": "Paris"}'}
    assert sent[2]["role"] == "input" and sent[2]["tool_call_id"] == "call_lb0"
    assert sent[2]["content"][0]["text"].startswith("18 C, sunny")


async def test_cumulative_argument_fragments_are_accepted(sa2_server):
    sa2_server.state.replies.append(Reply(tool_calls=[("get_weather", [
        '{"location": "Pa', '{"location": "Paris"}'])]))
    events = await collect(model_for(sa2_server), [user("w?")], [WEATHER])
    assert events[-2].call.arguments == {"location": "Paris"}


async def test_a_tool_call_written_as_text_is_parsed_too(sa2_server):
    sa2_server.state.replies.append(Reply(pieces=[
        "One moment.<tool_call>function\nget_weather\n", '{"location": "Oslo"}</tool_call>']))
    events = await collect(model_for(sa2_server), [user("w?")], [WEATHER])
    assert text_of(events) == "One moment."
    assert events[-2].call.arguments == {"location": "Oslo"}


async def test_tool_choice_none_is_sent_and_a_call_anyway_is_dropped(sa2_server):
    sa2_server.state.replies.append(Reply(tool_calls=[("get_weather", ["{}"])]))
    events = await collect(model_for(sa2_server), [user("w?")], [WEATHER], tool_choice="none")
    assert not any(isinstance(e, ToolCallEvent) for e in events)
    assert events[-1].raw["ignored_tool_calls"][0]["name"] == "get_weather"
    assert sa2_server.state.requests[0]["tool_choice"] == "none"


async def test_malformed_streamed_arguments_are_a_named_error(sa2_server):
    sa2_server.state.replies.append(Reply(tool_calls=[("get_weather", ['{"location": '])]))
    with pytest.raises(MalformedToolCallError, match="not valid JSON"):
        await collect(model_for(sa2_server), [user("w?")], [WEATHER])


async def test_a_cut_stream_ends_the_sink_incomplete_and_keeps_partial_text(sa2_server):
    sa2_server.state.replies.append(Reply(pieces=["a", "b", "c"], audio=[[1], [2], [3]],
                                          drop_after=2))
    sink = RecordingSink()
    with pytest.raises(StreamCutError) as info:
        await collect(model_for(sa2_server, speech_output=True, audio_sink=sink), [user("hi")])
    assert info.value.partial_text == "ab" and sink.fed == [[1], [2]] and sink.ended == [False]


async def test_server_down_and_http_errors(sa2_server, dead_url):
    with pytest.raises(ServerUnreachableError):
        await collect(StepAudio2Model(base_url=dead_url), [user("hi")])
    sa2_server.state.replies.append(Reply(status=503))
    with pytest.raises(ServerResponseError, match="HTTP 503"):
        await collect(model_for(sa2_server), [user("hi")])


@pytest.mark.parametrize("message,match", [
    ({"role": "user", "content": "hi"}, "role 'user' is not in the Step-Audio 2 template"),
    ({"role": "input", "tool_call_id": "nope", "content": "x"}, "needs the tool_call_id"),
])
async def test_the_double_rejects_what_the_real_server_would(sa2_server, message, match):
    async with httpx.AsyncClient() as client:
        response = await client.post(sa2_server.base_url + "/chat/completions", json={
            "model": "step-audio-2-mini", "messages": [message], "stream": True})
    assert response.status_code == 400 and match in response.json()["message"]


async def test_the_double_rejects_a_chunk_over_25_s(sa2_server):
    data = base64.b64encode(tone(26.0, 16_000).to_wav_bytes()).decode()
    message = {"role": "human", "content": [{"type": "input_audio",
                                             "input_audio": {"data": data, "format": "wav"}}]}
    async with httpx.AsyncClient() as client:
        response = await client.post(sa2_server.base_url + "/chat/completions", json={
            "model": "step-audio-2-mini", "messages": [message]})
    assert response.status_code == 400 and "longer than 25 s" in response.json()["message"]


async def test_r1_reasoning_is_kept_out_of_the_spoken_text(sa2_server):
    sa2_server.state.replies.append(Reply(reasoning=["The user ", "greets me."], pieces=["Hi!"]))
    events = await collect(model_for(sa2_server, model="step-audio-2-mini"), [user("hello")])
    assert text_of(events) == "Hi!"
    assert events[-1].raw["reasoning"] == "The user greets me."


def test_user_role_can_be_user_for_sglang():
    model = StepAudio2Model(base_url="http://h/v1", user_role="user")
    assert model.request([user("hi")], [])["messages"][0]["role"] == "user"
