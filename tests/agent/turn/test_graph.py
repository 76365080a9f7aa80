"""The turn graph (perceive -> think -> act -> think ... -> speak -> remember), with fakes only.

Every test drives a real `VoiceAgent` with a `ScriptedChatModel` and a `RecordingDecoder`, and
checks what reached the model, the decoder, the event stream and the memory.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from agent import (
    AudioChunkEvent, SentenceEvent, TextDelta, TextDeltaEvent, ToolCall, ToolCallEvent,
    ToolCallStartedEvent, ToolResultEvent, TranscriptEvent,
)
from fakes import RecordingDecoder
from graph_harness import (
    EXPECTED_NOON_UTC, clock_tool, index_of, make_agent, run_turn, tool_choices,
)
from tools import tool


# --------------------------------------------------------------------------------- no tool


async def test_plain_answer_is_spoken_sentence_by_sentence_and_remembered():
    decoder = RecordingDecoder(sample_rate=22050)
    agent, model, _ = make_agent(["Hello there! How can I help you today?"], decoder=decoder)

    events, reply = await run_turn(agent, "  Hi, Joe.  ", conversation_id="c1")

    assert reply.text == "Hello there! How can I help you today?"
    assert decoder.texts == ["Hello there!", "How can I help you today?"]
    # The reply's audio is the decoder's output at the decoder's rate, nothing else.
    assert reply.sample_rate == 22050
    assert reply.audio.dtype == np.float32
    expected_samples = sum(decoder.samples_for(t) for t in decoder.texts)
    assert len(reply.audio) == expected_samples > 0
    assert reply.audio_duration_s == pytest.approx(expected_samples / 22050)
    assert np.max(np.abs(reply.audio)) > 0.05  # the decoder's sine, not silence
    # The transcript of a text turn is the text itself (stripped).
    assert reply.transcript == "Hi, Joe."
    assert isinstance(events[0], TranscriptEvent) and events[0].text == "Hi, Joe."
    assert [e.text for e in events if isinstance(e, SentenceEvent)] == decoder.texts
    assert [e.index for e in events if isinstance(e, SentenceEvent)] == [0, 1]
    assert "".join(e.text for e in events if isinstance(e, TextDeltaEvent)) == reply.text
    assert reply.tool_results == [] and reply.conversation_id == "c1"
    # One model call: system prompt + the user's words, tools allowed (none registered).
    assert len(model.calls) == 1
    messages, schemas, choice = model.calls[0]
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == agent.persona.full_system_prompt()
    assert messages[1].content == "Hi, Joe."
    assert (schemas, choice) == ([], "auto")
    # Memory holds the user turn and the spoken answer.
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [
        ("user", "Hi, Joe."), ("assistant", "Hello there! How can I help you today?"),
    ]
    assert history[1].tool_calls == []


async def test_synthesize_false_answers_in_text_without_touching_the_decoder():
    agent, _, decoder = make_agent(["Just text. No audio."])
    events, reply = await run_turn(agent, "hi", synthesize=False)
    assert reply.text == "Just text. No audio."
    assert decoder.texts == []
    assert len(reply.audio) == 0 and reply.sample_rate == 0
    assert not any(isinstance(e, AudioChunkEvent) for e in events)
    # Sentences are still found (captions), only not voiced.
    assert [e.text for e in events if isinstance(e, SentenceEvent)] == ["Just text.", "No audio."]


# --------------------------------------------------------------------------------- one tool


async def test_one_tool_call_runs_then_the_model_answers_from_its_result():
    call = ToolCall(id="call_time", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, decoder = make_agent([call, "It is noon on Friday."], tools=[clock_tool()])

    events, reply = await run_turn(agent, "What time is it in UTC?", conversation_id="t1")

    # act ran between the two model calls, and streamed its events before any audio.
    started = index_of(events, ToolCallStartedEvent)
    result_at = index_of(events, ToolResultEvent)
    first_audio = index_of(events, AudioChunkEvent)
    assert 0 < started < result_at < first_audio
    assert events[started].call.id == "call_time"
    result = events[result_at].result
    assert result.call_id == "call_time" and not result.is_error
    assert json.loads(result.content) == EXPECTED_NOON_UTC

    # Second model call: the prompt now ends with the call and its JSON result.
    assert len(model.calls) == 2
    assert tool_choices(model) == ["auto", "auto"]
    second = model.calls[1][0]
    assert [m.role for m in second] == ["system", "user", "assistant", "tool"]
    assistant, tool_msg = second[-2], second[-1]
    assert assistant.content == ""
    assert assistant.tool_calls == [call]
    assert tool_msg.tool_call_id == "call_time" and tool_msg.name == "get_date_time"
    assert json.loads(tool_msg.content) == EXPECTED_NOON_UTC
    # The tools stay in the prompt on every call (a stable prefix for KV-cache reuse).
    assert model.calls[0][1] == model.calls[1][1] == [clock_tool().openai_schema()]

    assert reply.text == "It is noon on Friday."
    assert reply.tool_names == ["get_date_time"]
    assert reply.tool_results[0].content == tool_msg.content
    # Only the speak node's text reaches the decoder: never the call, the JSON or the result.
    assert decoder.texts == ["It is noon on Friday."]
    spoken = " ".join(decoder.texts)
    for leak in ("{", "get_date_time", "2024-05-17", "utc_offset", EXPECTED_NOON_UTC["spoken"]):
        assert leak not in spoken
    assert "llm_tool_call" in reply.timings_ms

    history = await agent.services.memory.history("t1")
    assert history[1].text == "It is noon on Friday."
    [record] = history[1].tool_calls
    assert (record.id, record.name, record.arguments) == ("call_time", "get_date_time",
                                                          {"timezone": "UTC"})
    assert json.loads(record.result) == EXPECTED_NOON_UTC and not record.is_error


async def test_next_turn_replays_a_tool_turn_as_it_was_first_prompted():
    call = ToolCall(id="call_time", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, _ = make_agent([call, "It is 12 noon.", "You are welcome."], tools=[clock_tool()])
    await agent.arespond("Time in UTC?", conversation_id="r")
    await agent.arespond("Thanks!", conversation_id="r")

    last_prompt_of_turn_1 = model.calls[1][0]
    turn_2 = model.calls[2][0]
    # Turn 2 starts with exactly what turn 1's answer was generated from, then that answer:
    # the backend's prefix cache from turn 1 stays valid.
    assert turn_2[: len(last_prompt_of_turn_1)] == last_prompt_of_turn_1
    assert [(m.role, m.content) for m in turn_2[len(last_prompt_of_turn_1):]] == [
        ("assistant", "It is 12 noon."), ("user", "Thanks!"),
    ]


# --------------------------------------------------------------------------------- tool failures


async def test_tool_that_raises_becomes_an_error_message_and_the_turn_still_speaks():
    ran = []

    @tool
    def weather(city: str) -> str:
        """Current weather in a city."""
        ran.append(city)
        raise RuntimeError("weather service down")

    agent, model, decoder = make_agent(
        [ToolCall(id="w1", name="weather", arguments={"city": "Paris"}),
         "Sorry, I cannot get the weather right now."],
        tools=[weather])
    _, reply = await run_turn(agent, "Weather in Paris?")

    assert ran == ["Paris"]
    tool_msg = model.calls[1][0][-1]
    assert tool_msg.role == "tool" and tool_msg.tool_call_id == "w1"
    assert tool_msg.content == "ERROR: RuntimeError: weather service down"
    assert reply.tool_results[0].is_error
    assert decoder.texts == ["Sorry, I cannot get the weather right now."]
    assert len(reply.audio) > 0


async def test_invalid_arguments_from_the_model_become_a_validation_error_result():
    ran = []

    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        ran.append((a, b))
        return a + b

    agent, model, decoder = make_agent(
        [ToolCall(id="a1", name="add", arguments={"a": "three"}), "I could not add those."],
        tools=[add])
    _, reply = await run_turn(agent, "Add three and four.")

    assert ran == []  # the function never ran with bad arguments
    [result] = reply.tool_results
    assert result.is_error and result.call_id == "a1"
    assert "The arguments for tool 'add' are invalid" in result.content
    assert "argument 'a'" in result.content and "integer" in result.content
    assert "argument 'b': missing required argument" in result.content
    tool_msg = model.calls[1][0][-1]
    assert tool_msg.content == "ERROR: " + result.content
    assert decoder.texts == ["I could not add those."]


async def test_unknown_tool_name_becomes_an_error_listing_the_available_tools():
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    agent, model, decoder = make_agent(
        [ToolCall(id="u1", name="get_weather", arguments={"city": "Oslo"}),
         "I cannot check the weather."],
        tools=[clock_tool(), add])
    _, reply = await run_turn(agent, "Weather in Oslo?")

    [result] = reply.tool_results
    assert result.is_error and result.name == "get_weather" and result.call_id == "u1"
    assert "get_weather" in result.content
    assert "get_date_time, add" in result.content  # every tool the model may use, in order
    assert model.calls[1][0][-1].content == "ERROR: " + result.content
    assert decoder.texts == ["I cannot check the weather."]


# --------------------------------------------------------------------------------- loop bounds


async def test_a_model_that_always_calls_a_tool_is_stopped_after_max_tool_rounds():
    executed = []

    @tool
    async def lookup(n: int) -> str:
        """Look a number up."""
        executed.append(n)
        return f"entry {n}"

    def always_call(messages, tools, choice):
        if choice == "none":
            return "I found two entries."
        return ToolCall(name="lookup", arguments={"n": len(messages)})  # new arguments each time

    agent, model, decoder = make_agent([always_call], tools=[lookup], max_tool_rounds=2)
    events, reply = await run_turn(agent, "Look everything up.")

    assert executed == [2, 4]  # exactly two act rounds
    assert sum(isinstance(e, ToolCallStartedEvent) for e in events) == 2
    assert tool_choices(model) == ["auto", "auto", "none"]
    # Past the bound the tools stay in the prompt; only calling them is forbidden.
    assert model.calls[2][1] == model.calls[0][1] == [lookup.openai_schema()]
    assert [m.role for m in model.calls[2][0]] == [
        "system", "user", "assistant", "tool", "assistant", "tool"]
    assert decoder.texts == ["I found two entries."]
    assert reply.text == "I found two entries."


async def test_max_tool_rounds_zero_never_offers_a_tool_call():
    agent, model, decoder = make_agent(["Just an answer."], tools=[clock_tool()],
                                       max_tool_rounds=0)
    _, reply = await run_turn(agent, "What time is it?")
    assert tool_choices(model) == ["none"]
    assert reply.tool_results == [] and decoder.texts == ["Just an answer."]


async def test_a_repeated_identical_call_is_not_run_twice_and_the_model_must_answer():
    executed = []

    @tool
    async def lookup(n: int) -> str:
        """Look a number up."""
        executed.append(n)
        return f"entry {n}"

    agent, model, decoder = make_agent(
        [ToolCall(name="lookup", arguments={"n": 1}),
         ToolCall(name="lookup", arguments={"n": 1}),  # same call again, new id
         "Entry one it is."],
        tools=[lookup])
    events, reply = await run_turn(agent, "Look up one.")

    assert executed == [1]
    assert sum(isinstance(e, ToolCallStartedEvent) for e in events) == 1
    assert tool_choices(model) == ["auto", "auto", "none"]
    # The answer is generated from the same prompt the repeat came from: no duplicate result.
    assert model.calls[2][0] == model.calls[1][0]
    assert decoder.texts == ["Entry one it is."]
    assert reply.text == "Entry one it is."


async def test_a_repeated_call_after_filler_text_is_not_run_twice():
    executed = []

    @tool
    async def lookup(n: int) -> str:
        """Look a number up."""
        executed.append(n)
        return f"entry {n}"

    agent, model, decoder = make_agent(
        [ToolCall(name="lookup", arguments={"n": 1}),
         [TextDelta("Let me look again. "), ToolCallEvent(ToolCall(name="lookup",
                                                                    arguments={"n": 1}))],
         "Entry one it is."],
        tools=[lookup])
    await run_turn(agent, "Look up one.")
    assert executed == [1]


async def test_a_repeated_call_to_a_tool_with_defaults_is_not_run_twice():
    # Tried: the example weather plugin's what_to_wear(feels_like_c=8) ran three times in one
    # turn: its result holds the validated arguments (rain='none' filled in, 8.0), which
    # never equalled the model's call. A call with other values still runs.
    executed = []

    @tool
    async def wear(feels_like_c: float, rain: str = "none") -> str:
        """Suggest clothing."""
        executed.append(feels_like_c)
        return "Wear a warm jacket."

    agent, model, decoder = make_agent(
        [ToolCall(name="wear", arguments={"feels_like_c": 8}),
         ToolCall(name="wear", arguments={"feels_like_c": 8.0}),
         "Wear a warm jacket."],
        tools=[wear])
    await run_turn(agent, "What should I wear? It's 8 degrees.")
    assert executed == [8] and tool_choices(model) == ["auto", "auto", "none"]
    agent, model, decoder = make_agent(
        [ToolCall(name="wear", arguments={"feels_like_c": 8}),
         ToolCall(name="wear", arguments={"feels_like_c": 8, "rain": "likely"}),
         "Wear a warm jacket and take an umbrella."],
        tools=[wear])
    executed.clear()
    await run_turn(agent, "What should I wear? It's 8 degrees and it may rain.")
    assert executed == [8, 8]


# --------------------------------------------------------------------------------- filler text


async def test_filler_sentence_before_a_tool_call_is_spoken_then_the_answer():
    call = ToolCall(id="call_f", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, decoder = make_agent(
        [[TextDelta("Let me "), TextDelta("check. "), ToolCallEvent(call)], "It is 12 noon."],
        tools=[clock_tool()])
    events, reply = await run_turn(agent, "What time is it?", conversation_id="f")

    assert decoder.texts == ["Let me check.", "It is 12 noon."]
    assert reply.text == "Let me check. It is 12 noon."
    assert [(e.text, e.index) for e in events if isinstance(e, SentenceEvent)] == [
        ("Let me check.", 0), ("It is 12 noon.", 1)]
    # The filler is heard before the tool even starts.
    first_audio = index_of(events, AudioChunkEvent)
    assert events[first_audio].sentence_index == 0
    assert first_audio < index_of(events, ToolCallStartedEvent)
    assert reply.tool_names == ["get_date_time"]
    # The model is told what it already said, with the call it made in the same message.
    assert len(model.calls) == 2
    assistant, tool_msg = model.calls[1][0][-2:]
    assert assistant.role == "assistant"
    assert assistant.content == "Let me check."
    assert assistant.tool_calls == [call]
    assert tool_msg.role == "tool" and tool_msg.tool_call_id == "call_f"
    assert json.loads(tool_msg.content) == EXPECTED_NOON_UTC
    assert "Let me check." not in tool_msg.content
    history = await agent.services.memory.history("f")
    assert history[1].text == "Let me check. It is 12 noon."
    assert [r.name for r in history[1].tool_calls] == ["get_date_time"]


async def test_next_turn_replays_a_filler_turn_as_it_was_first_prompted():
    call = ToolCall(id="call_f", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, _ = make_agent(
        [[TextDelta("Let me check. "), ToolCallEvent(call)], "It is 12 noon.", "Bye."],
        tools=[clock_tool()])
    await agent.arespond("What time is it?", conversation_id="f")
    await agent.arespond("Thanks.", conversation_id="f")
    last_prompt_of_turn_1 = model.calls[1][0]
    assert model.calls[2][0][: len(last_prompt_of_turn_1)] == last_prompt_of_turn_1
