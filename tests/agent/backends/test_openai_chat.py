"""`OpenAIChatModel` on scripted streams (the shapes vLLM, SGLang, llama.cpp and Ollama send)
and on servers that fail: nothing listening, and one that accepts and then says nothing.

The tests against a real server (llama-cpp-python serving the packaged GGUF) are in
`test_openai_server.py`.
"""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from agent.turn.apology import APOLOGY
from agent.chat_model import (
    ChatMessage, ModelDone, TextDelta, ToolCall, ToolCallEvent, ToolCallPending,
)
from agent.backends.openai.chat import OpenAIChatModel, wire_messages
from agent.backends.openai.reply import ThinkStripper, repaired_json, sanitised_call
from agent.settings import StepvoxSettings
from agent.backends.step_audio.backends import make_step_audio_model
from agent.backends.step_audio.errors import ServerTimeoutError, ServerUnreachableError
from graph_harness import clock_tool, run_turn
from fakes import RecordingDecoder

CLOCK = {"type": "function", "function": {"name": "get_date_time", "parameters": {
    "type": "object", "properties": {"timezone": {"type": "string"}}}}}


def chunk(**delta) -> dict:
    return {"object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}


def finished(reason: str = "stop") -> dict:
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]}


def scripted(*events: dict, models: tuple[str, ...] = ("served-model",)):
    """A model whose server streams `events`; `requests` keeps each request body."""
    requests: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [
                {"id": name, "object": "model"} for name in models]})
        requests.append(json.loads(request.content))
        body = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return httpx.Response(200, content=body.encode(),
                              headers={"content-type": "text/event-stream"})

    model = OpenAIChatModel(base_url="http://llm.test/v1", transport=httpx.MockTransport(handler))
    return model, requests


async def collect(model, messages=None, tools=(), **kwargs) -> list:
    messages = messages or [ChatMessage(role="user", content="hi")]
    return [e async for e in model.stream(messages, tools, **kwargs)]


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_text_streams_and_the_served_name_is_asked_once():
    model, requests = scripted(chunk(role="assistant"), chunk(content="Hello"),
                               chunk(content=" there."), finished())
    events = await collect(model)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " there."]
    assert isinstance(events[-1], ModelDone) and events[-1].finish_reason == "stop"
    await collect(model)
    assert [r["model"] for r in requests] == ["served-model", "served-model"]
    assert requests[0]["stream"] is True and "tools" not in requests[0]


async def test_parallel_streamed_tool_calls_become_events_in_index_order():
    model, requests = scripted(
        chunk(tool_calls=[{"index": 0, "id": "call_a", "type": "function",
                           "function": {"name": "get_date_time", "arguments": ""}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"timezone": '}}]),
        chunk(tool_calls=[{"index": 1, "id": "call_b", "type": "function",
                           "function": {"name": "get_date_time", "arguments": '{"timezone"'}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"Asia/Tokyo"}'}}]),
        chunk(tool_calls=[{"index": 1, "function": {"arguments": ': "Europe/Paris"}'}}]),
        finished("tool_calls"))
    events = await collect(model, tools=[CLOCK])
    assert [e.name for e in events if isinstance(e, ToolCallPending)] == ["get_date_time"] * 2
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.id, c.arguments) for c in calls] == [
        ("call_a", {"timezone": "Asia/Tokyo"}), ("call_b", {"timezone": "Europe/Paris"})]
    assert events[-1].finish_reason == "tool_calls"
    assert requests[0]["tool_choice"] == "auto" and requests[0]["parallel_tool_calls"] is True
    assert requests[0]["chat_template_kwargs"] == {"enable_thinking": False}


async def test_reasoning_is_never_spoken():
    model, _ = scripted(chunk(reasoning_content="The user greets me."),
                        chunk(reasoning="Be brief."),
                        chunk(content="<thi"), chunk(content="nk>hidden plan</th"),
                        chunk(content="ink>\n\nHi! "), chunk(content="a < b, <b>ok</b>"),
                        finished())
    events = await collect(model)
    assert text_of(events) == "Hi! a < b, <b>ok</b>"
    assert events[-1].raw["reasoning"] == "The user greets me.Be brief.hidden plan"


def test_think_stripper_edge_cases():
    unclosed = ThinkStripper()
    assert unclosed.feed("<think>still thinking") == "" and unclosed.finish() == ""
    stray = ThinkStripper()  # the template opened the block in the prompt
    assert stray.feed("plan</think>Answer") == "planAnswer"


async def test_a_call_written_as_text_is_parsed_and_not_spoken():
    # llama.cpp's server without a tool parser: Qwen's call arrives as content (the
    # <tool_call> tags are special tokens the server does not print).
    model, _ = scripted(chunk(content="Let me check. "),
                        chunk(content='{"name": "get_date_time", "arguments": '),
                        chunk(content='{"timezone": "Asia/Tokyo"}}'), finished())
    events = await collect(model, tools=[CLOCK])
    assert text_of(events) == "Let me check. "
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("get_date_time",
                                                       {"timezone": "Asia/Tokyo"})]


async def test_json_that_is_not_a_call_is_not_read_aloud():
    # The 0.5B model sometimes echoes a tool result instead of answering.
    model, _ = scripted(chunk(content='{"time": "09:30"}'), chunk(content='{"time": "09:30"}'),
                        finished())
    events = await collect(model, tools=[CLOCK])
    assert text_of(events) == "" and isinstance(events[-1], ModelDone)
    model, _ = scripted(chunk(content='Use {"a": 1} here.'), finished())
    assert text_of(await collect(model, tools=[CLOCK])) == 'Use {"a": 1} here.'


async def test_tool_choice_none_keeps_the_tools_but_drops_calls():
    model, requests = scripted(
        chunk(tool_calls=[{"index": 0, "id": "c", "function": {"name": "get_date_time",
                                                              "arguments": "{}"}}]),
        finished("tool_calls"))
    events = await collect(model, tools=[CLOCK], tool_choice="none")
    assert not [e for e in events if isinstance(e, (ToolCallEvent, ToolCallPending))]
    assert events[-1].raw["ignored_tool_calls"] == ["get_date_time"]
    assert requests[0]["tool_choice"] == "none" and requests[0]["tools"] == [CLOCK]
    assert "parallel_tool_calls" not in requests[0]


def test_arguments_are_sanitised():
    assert sanitised_call("f", '{"a": 1} trailing').arguments == {"a": 1}
    assert sanitised_call("f", '```json\n{"a": [1, 2]}\n```').arguments == {"a": [1, 2]}
    assert sanitised_call("f", '{"a": {"b": true').arguments == {"a": {"b": True}}
    assert sanitised_call("f", "").arguments == {}
    assert repaired_json('{"tz": "Europe/Par') is None  # a cut value is not guessed
    assert repaired_json('{"n": 12') is None


async def test_unreadable_arguments_reach_the_tool_which_asks_again():
    call = sanitised_call("get_date_time", '{"timezone": "Asia/Tok')
    assert call.arguments == '{"timezone": "Asia/Tok'  # unvalidated on purpose
    result = await clock_tool().invoke(call.arguments, call_id=call.id)
    assert result.is_error and "not valid JSON" in result.content
    # The assistant turn that carried it goes back to the server as the text it was.
    sent = wire_messages([ChatMessage(role="assistant", tool_calls=[call])])
    assert sent[0]["tool_calls"][0]["function"]["arguments"] == '{"timezone": "Asia/Tok'


def test_history_goes_out_in_the_openai_format():
    call = ToolCall(id="call_1", name="get_date_time", arguments={"timezone": "UTC"})
    sent = wire_messages([
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Time?"),
        ChatMessage(role="assistant", tool_calls=[call]),
        ChatMessage(role="tool", content="12:00", tool_call_id="call_1", name="get_date_time"),
    ])
    assert sent[2] == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "get_date_time", "arguments": '{"timezone": "UTC"}'}}]}
    assert sent[3] == {"role": "tool", "tool_call_id": "call_1", "content": "12:00"}
    # The backend adds a nudge to answer after each result (small models echo it otherwise).
    nudged = wire_messages([ChatMessage(role="tool", content="12:00", tool_call_id="c")],
                           "Now answer.")
    assert nudged[0]["content"] == "12:00\n\nNow answer."


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_dead_server_is_a_named_error():
    model = OpenAIChatModel(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m")
    with pytest.raises(ServerUnreachableError, match="No server answered"):
        await collect(model)


async def test_a_dead_server_gets_a_spoken_apology_and_the_turn_is_kept(caplog):
    from agent import VoiceAgent

    model = OpenAIChatModel(base_url=f"http://127.0.0.1:{closed_port()}/v1", model="m")
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[clock_tool()])
    with caplog.at_level("ERROR", logger="agent.turn.apology"):
        _, reply = await run_turn(agent, "What time is it?", conversation_id="c1")
    assert reply.text == APOLOGY and " ".join(decoder.texts) == APOLOGY and len(reply.audio) > 0
    assert "ServerUnreachableError" in caplog.text and "No server answered" in caplog.text
    turns = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in turns] == [("user", "What time is it?"),
                                                  ("assistant", APOLOGY)]


@pytest.fixture()
async def silent_server():
    """Accepts connections and reads the request, then never answers."""
    held: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read(65536)

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    for writer in held:
        writer.close()
    server.close()


async def test_a_silent_server_hits_the_first_token_timeout(silent_server):
    model = OpenAIChatModel(base_url=silent_server, first_token_timeout_s=0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ServerTimeoutError, match=r"sent no token within 0.5 s"):
        await collect(model)  # the served-name look-up is what stalls here
    model = OpenAIChatModel(base_url=silent_server, model="m", first_token_timeout_s=0.5)
    with pytest.raises(ServerTimeoutError, match="first_token_timeout_s"):
        await collect(model)
    assert loop.time() - started < 5


def test_settings_and_factory_wire_the_openai_model(monkeypatch):
    monkeypatch.setenv("STEPVOX_LLM_URL", "http://gpu:8000/v1")
    settings = StepvoxSettings()
    assert (settings.model, settings.base_url) == ("openai", "http://gpu:8000/v1")
    model = make_step_audio_model(settings.model, base_url=settings.base_url,
                                  served_name="qwen3-8b")
    assert isinstance(model, OpenAIChatModel) and model.settings.model == "qwen3-8b"
    monkeypatch.delenv("STEPVOX_LLM_URL")
    with pytest.raises(ValueError, match="STEPVOX_LLM_URL"):
        make_step_audio_model("openai")
