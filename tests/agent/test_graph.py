"""The turn graph (perceive -> think -> act -> think ... -> speak -> remember), with fakes only.

Every test drives a real `VoiceAgent` with a `ScriptedChatModel` and a `RecordingDecoder`, and
checks what reached the model, the decoder, the event stream and the memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from agent import (
    AudioChunkEvent, ChatMessage, ModelDone, SentenceEvent, TextDelta, TextDeltaEvent, ToolCall,
    ToolCallEvent, ToolCallStartedEvent, ToolResultEvent, TranscriptEvent, TurnDoneEvent,
    VoiceAgent,
)
from agent.nodes import NO_ANSWER
from fakes import RecordingDecoder, ScriptedChatModel
from tools import make_get_date_time, tool

NOON = datetime(2024, 5, 17, 12, 0, tzinfo=UTC)  # a Friday
EXPECTED_NOON_UTC = {
    "iso": "2024-05-17T12:00:00+00:00",
    "date": "2024-05-17",
    "time": "12:00",
    "weekday": "Friday",
    "timezone": "UTC",
    "utc_offset": "+00:00",
    "spoken": "It is 12:00 PM on Friday, May 17, 2024 (UTC).",
}


def clock_tool():
    return make_get_date_time(lambda: NOON)


def make_agent(replies, *, tools=(), decoder=None, **kwargs):
    model = replies if isinstance(replies, ScriptedChatModel) else ScriptedChatModel(replies)
    decoder = decoder or RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=list(tools), **kwargs)
    return agent, model, decoder


async def run_turn(agent, text, **kwargs):
    """All events of one turn, and the reply from its TurnDoneEvent."""
    events = [e async for e in agent.stream(text, **kwargs)]
    assert isinstance(events[-1], TurnDoneEvent), "a finished turn ends with TurnDoneEvent"
    return events, events[-1].reply


def index_of(events, kind, start=0):
    return next(i for i, e in enumerate(events) if i >= start and isinstance(e, kind))


def tool_choices(model):
    return [choice for _, _, choice in model.calls]


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
    agent, model, _ = make_agent([call, "It is noon.", "You are welcome."], tools=[clock_tool()])
    await agent.arespond("Time in UTC?", conversation_id="r")
    await agent.arespond("Thanks!", conversation_id="r")

    last_prompt_of_turn_1 = model.calls[1][0]
    turn_2 = model.calls[2][0]
    # Turn 2 starts with exactly what turn 1's answer was generated from, then that answer:
    # the backend's prefix cache from turn 1 stays valid.
    assert turn_2[: len(last_prompt_of_turn_1)] == last_prompt_of_turn_1
    assert [(m.role, m.content) for m in turn_2[len(last_prompt_of_turn_1):]] == [
        ("assistant", "It is noon."), ("user", "Thanks!"),
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


# --------------------------------------------------------------------------------- filler text


async def test_filler_sentence_before_a_tool_call_is_spoken_then_the_answer():
    call = ToolCall(id="call_f", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, decoder = make_agent(
        [[TextDelta("Let me "), TextDelta("check. "), ToolCallEvent(call)], "It is noon."],
        tools=[clock_tool()])
    events, reply = await run_turn(agent, "What time is it?", conversation_id="f")

    assert decoder.texts == ["Let me check.", "It is noon."]
    assert reply.text == "Let me check. It is noon."
    assert [(e.text, e.index) for e in events if isinstance(e, SentenceEvent)] == [
        ("Let me check.", 0), ("It is noon.", 1)]
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
    assert history[1].text == "Let me check. It is noon."
    assert [r.name for r in history[1].tool_calls] == ["get_date_time"]


async def test_next_turn_replays_a_filler_turn_as_it_was_first_prompted():
    call = ToolCall(id="call_f", name="get_date_time", arguments={"timezone": "UTC"})
    agent, model, _ = make_agent(
        [[TextDelta("Let me check. "), ToolCallEvent(call)], "It is noon.", "Bye."],
        tools=[clock_tool()])
    await agent.arespond("What time is it?", conversation_id="f")
    await agent.arespond("Thanks.", conversation_id="f")
    last_prompt_of_turn_1 = model.calls[1][0]
    assert model.calls[2][0][: len(last_prompt_of_turn_1)] == last_prompt_of_turn_1


# --------------------------------------------------------------------------------- parallel calls


async def test_parallel_calls_in_one_reply_run_concurrently():
    spans: dict[str, tuple[float, float]] = {}

    def slow(label):
        @tool(name=f"slow_{label}")
        async def slow_tool() -> str:
            """Sleep a little."""
            start = time.perf_counter()
            await asyncio.sleep(0.2)
            spans[label] = (start, time.perf_counter())
            return f"{label} done"
        return slow_tool

    call_a = ToolCall(id="ca", name="slow_a")
    call_b = ToolCall(id="cb", name="slow_b")
    agent, model, decoder = make_agent(
        [[ToolCallEvent(call_a), ToolCallEvent(call_b)], "Both are done."],
        tools=[slow("a"), slow("b")])

    started = time.perf_counter()
    events, reply = await run_turn(agent, "Do both.")
    elapsed = time.perf_counter() - started

    # Sequential runs would take >= 0.4 s; concurrent ones ~0.2 s. Wide margin on purpose.
    assert elapsed < 0.35
    (a0, a1), (b0, b1) = spans["a"], spans["b"]
    assert a0 < b1 and b0 < a1  # the two runs overlapped
    kinds = [type(e) for e in events if isinstance(e, (ToolCallStartedEvent, ToolResultEvent))]
    assert kinds == [ToolCallStartedEvent, ToolCallStartedEvent, ToolResultEvent, ToolResultEvent]
    # One assistant message carries both calls; results follow in call order.
    tail = model.calls[1][0][-3:]
    assert [m.role for m in tail] == ["assistant", "tool", "tool"]
    assert tail[0].tool_calls == [call_a, call_b]
    assert [(m.tool_call_id, m.content) for m in tail[1:]] == [("ca", "a done"), ("cb", "b done")]
    assert reply.tool_names == ["slow_a", "slow_b"]
    assert decoder.texts == ["Both are done."]


# --------------------------------------------------------------------------------- edge replies


@pytest.mark.parametrize("empty_reply", [[ModelDone()], "", "   \n "],
                         ids=["only-ModelDone", "empty-string", "whitespace"])
async def test_an_empty_model_reply_speaks_the_no_answer_sentence(empty_reply):
    agent, _, decoder = make_agent([empty_reply])
    _, reply = await run_turn(agent, "Hmm?", conversation_id="e")
    assert NO_ANSWER.strip()
    assert decoder.texts == [NO_ANSWER]
    assert reply.text == NO_ANSWER
    assert len(reply.audio) > 0
    history = await agent.services.memory.history("e")
    assert history[1].text == NO_ANSWER


async def test_first_audio_arrives_before_the_reply_is_fully_written():
    model = ScriptedChatModel(
        ["The first sentence is short. The second one takes longer to write. The third ends it."],
        token_delay_s=0.02)
    agent, _, decoder = make_agent(model)
    events, reply = await run_turn(agent, "Tell me three things.")

    first_audio = index_of(events, AudioChunkEvent)
    last_delta = max(i for i, e in enumerate(events) if isinstance(e, TextDeltaEvent))
    assert first_audio < last_delta
    assert events[first_audio].sentence_index == 0
    assert events[first_audio].chunk.text == "The first sentence is short."
    assert len(decoder.texts) == 3
    assert reply.timings_ms["tts_first_audio"] < reply.timings_ms["done"]


async def test_stopping_the_stream_early_closes_the_model_and_keeps_only_what_was_voiced():
    """Barge-in: the caller stops after the first audio chunk. The model stream gets closed,
    and history keeps the user's words and only the sentence whose audio went out, marked
    interrupted."""
    model = ScriptedChatModel(
        ["One sentence here. Two sentences here. Three sentences here. Four at last."],
        token_delay_s=0.02)
    agent, _, decoder = make_agent(model)

    seen = []
    async with contextlib.aclosing(agent.stream("Talk to me.", conversation_id="b")) as events:
        async for event in events:
            seen.append(event)
            if isinstance(event, AudioChunkEvent):
                break
    for _ in range(100):  # the graph's clean-up may take a few loop iterations
        if model.stopped_early:
            break
        await asyncio.sleep(0.01)

    assert model.stopped_early == 1 and model.completed == 0
    assert not any(isinstance(e, TurnDoneEvent) for e in seen)
    await asyncio.sleep(0.1)  # long enough for the rest of the reply, had it kept going
    assert len(decoder.texts) == 1
    stored = await agent.services.memory.history("b")
    assert [(t.role, t.text, t.interrupted) for t in stored] == [
        ("user", "Talk to me.", False), ("assistant", "One sentence here.", True)]
    # The conversation is usable again right away.
    model.replies.append("Sure.")
    model.token_delay_s = 0.0
    reply = await agent.arespond("Go on.", conversation_id="b")
    assert reply.text == "Sure."
    assert [t.text for t in await agent.services.memory.history("b")] == [
        "Talk to me.", "One sentence here.", "Go on.", "Sure."]


async def test_closing_the_stream_stops_the_model_before_aclose_returns():
    model = ScriptedChatModel(["One sentence here. Two sentences here. Three here."],
                              token_delay_s=0.02)
    agent, _, _ = make_agent(model)
    async with contextlib.aclosing(agent.stream("Talk to me.")) as events:
        async for event in events:
            if isinstance(event, AudioChunkEvent):
                break
    assert model.stopped_early == 1


# --------------------------------------------------------------------------------- history


async def test_conversations_never_see_each_others_turns():
    def echo(messages, tools, choice):
        return f"Noted: {messages[-1].content}"

    agent, model, _ = make_agent([echo])
    await agent.arespond("My name is Ann.", conversation_id="ann")
    await agent.arespond("My name is Bob.", conversation_id="bob")
    await agent.arespond("What is my name?", conversation_id="ann")
    await agent.arespond("What is my name?", conversation_id="bob")

    def turns(call):
        return [(m.role, m.content) for m in model.calls[call][0][1:]]

    assert turns(1) == [("user", "My name is Bob.")]
    assert turns(2) == [("user", "My name is Ann."), ("assistant", "Noted: My name is Ann."),
                        ("user", "What is my name?")]
    assert turns(3) == [("user", "My name is Bob."), ("assistant", "Noted: My name is Bob."),
                        ("user", "What is my name?")]
    # A fresh conversation id (the default) starts with no history at all.
    reply = await agent.arespond("Who am I?")
    assert reply.conversation_id not in ("ann", "bob")
    assert turns(4) == [("user", "Who am I?")]


async def test_concurrent_turns_of_one_conversation_run_one_after_another():
    def echo(messages, tools, choice):
        return f"Reply {sum(m.role == 'user' for m in messages)}."

    model = ScriptedChatModel([echo], token_delay_s=0.005)
    agent, _, _ = make_agent(model)
    first, second = await asyncio.gather(agent.arespond("One.", conversation_id="same"),
                                         agent.arespond("Two.", conversation_id="same"))
    assert (first.text, second.text) == ("Reply 1.", "Reply 2.")
    # The second turn was prompted with the first one's finished exchange.
    assert [(m.role, m.content) for m in model.calls[1][0][1:]] == [
        ("user", "One."), ("assistant", "Reply 1."), ("user", "Two.")]


async def test_history_turns_limits_the_prompt_to_the_newest_turns():
    agent, model, _ = make_agent([lambda m, t, c: f"Ok {len(m)}."], history_turns=2)
    for text in ("First.", "Second.", "Third."):
        await agent.arespond(text, conversation_id="h")
    assert [(m.role, m.content) for m in model.calls[2][0]][1:] == [
        ("user", "Second."), ("assistant", "Ok 4."), ("user", "Third.")]


def test_chat_message_copies_in_the_fake_are_independent():
    """Guard for the fake itself: recorded prompts must not change when the agent builds the
    next prompt, or every assertion about `calls` above would be meaningless."""
    model = ScriptedChatModel(["ok"])
    messages = [ChatMessage(role="system", content="s"), ChatMessage(role="user", content="u")]
    model.stream(messages)
    messages[1].content = "changed"
    messages.append(ChatMessage(role="user", content="more"))
    assert [m.content for m in model.calls[0][0]] == ["s", "u"]


async def test_history_keeps_the_reply_text_and_its_style_apart():
    """Tags the model wrote are neither spoken nor stored in the text; the turn's `style`
    lists the tag strings its sentences were spoken with."""
    model = ScriptedChatModel(["(高兴1)(快速1)That is great news! (sad)Sadly it rains."])
    agent, _, decoder = make_agent(model)
    reply = await agent.arespond("Any news?", conversation_id="styled")
    assert reply.text == "That is great news! Sadly it rains."
    assert all("(" not in t for t in decoder.texts)
    stored = (await agent.services.memory.history("styled"))[-1]
    assert stored.text == "That is great news! Sadly it rains."
    assert stored.style.startswith("(高兴1)(快速1)")
    assert "(悲伤1)" in stored.style


async def test_stage_directions_are_not_read_aloud():
    model = ScriptedChatModel(["*smiles warmly* Welcome back, traveller. *bows* Sit down."])
    agent, _, decoder = make_agent(model)
    reply = await agent.arespond("Hello!")
    assert "*smiles warmly*" in reply.text  # still in the caption/history text
    assert decoder.texts and all("*" not in t and "smiles" not in t for t in decoder.texts)
    assert "Welcome back, traveller." in " ".join(decoder.texts)


async def test_a_slow_tool_gets_a_filler_sentence_while_it_runs():
    """A tool still running after 0.7 s: its own filler is spoken (and kept in the reply)
    before the answer; a fast tool gets none."""
    @tool(filler="Let me look up the weather in {city}.")
    async def slow_weather(city: str) -> str:
        """Weather for a city."""
        await asyncio.sleep(1.0)
        return "sunny"

    model = ScriptedChatModel([ToolCall(name="slow_weather", arguments={"city": "Paris"}),
                               "It is sunny in Paris."])
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[slow_weather])
    events = [e async for e in agent.stream("Weather in Paris?")]
    sentences = [e.text for e in events if isinstance(e, SentenceEvent)]
    assert sentences == ["Let me look up the weather in Paris.", "It is sunny in Paris."]
    assert decoder.texts == sentences
    # The filler's audio went out before the tool finished.
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("AudioChunkEvent") < kinds.index("ToolResultEvent")
    done = events[-1].reply
    assert done.text == "Let me look up the weather in Paris. It is sunny in Paris."

    fast_model = ScriptedChatModel([ToolCall(name="get_date_time", arguments={}), "Noon."])
    fast = VoiceAgent(fast_model, decoder=RecordingDecoder())
    reply = await fast.arespond("Time?")
    assert reply.text == "Noon."
