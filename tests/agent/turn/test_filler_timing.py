"""The filler after a tool call is timed from the call decision through the answer (at once
when recent answers were all late), and its audio is rendered once per voice (agent/turn/nodes.py
`filler_delay_s`, agent/turn/waits.py, speech/phrase_cache.py)."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing

import numpy as np
import pytest
from pydantic import ValidationError

from agent import (
    AudioChunkEvent, SentenceEvent, TextDeltaEvent, ToolCall, ToolCallEvent,
    ToolCallStartedEvent, VoiceAgent,
)
from agent.turn.waits import AnswerWaits
from agent.chat_model import ToolCallPending
from agent.settings import StepvoxSettings
from fakes import RecordingDecoder, ScriptedChatModel
from graph_harness import clock_tool, run_turn
from speech.phrase_cache import PhraseCache
from tools import tool

CLOCK_FILLER = "Let me check the time."


@pytest.fixture(autouse=True, scope="module")
async def injection_detector_loaded():
    # A served agent loads the tool-output instruction detector when it warms up; on a cold
    # agent its model loads on the first tool result (seconds on a loaded CPU), which is not
    # the wait these timings are about.
    from agent.turn.provenance import InjectionDefence, warm_up_injection_defence

    await warm_up_injection_defence(InjectionDefence())


def clock_with_filler():
    clock = clock_tool()
    clock.filler = CLOCK_FILLER
    return clock


def slow_answer_agent(answer_delay_s: float, filler_after_s: float, decoder=None, turns=1):
    # The tool returns at once; the model's answer after it is what keeps the caller waiting,
    # as with the embedded LLM's second pass on a CPU.
    model = ScriptedChatModel([ToolCall(name="get_date_time", arguments={}), "It is 12 noon."]
                              * turns, first_token_delay_s=answer_delay_s)
    decoder = decoder or RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[clock_with_filler()],
                       filler_after_s=filler_after_s)
    return agent, model, decoder


async def test_a_late_answer_after_a_fast_tool_gets_the_filler_first():
    agent, _, decoder = slow_answer_agent(answer_delay_s=0.6, filler_after_s=0.1)
    started = time.perf_counter()
    events, stamps = [], []
    async for event in agent.stream("What time is it?", conversation_id="late"):
        events.append(event)
        stamps.append(time.perf_counter() - started)
    sentences = [e.text for e in events if isinstance(e, SentenceEvent)]
    assert sentences == [CLOCK_FILLER, "It is 12 noon."]
    assert decoder.texts == sentences
    first_audio = next(i for i, e in enumerate(events) if isinstance(e, AudioChunkEvent))
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDeltaEvent))
    assert first_audio < first_text  # the filler is heard while the model still thinks
    # Due 0.1 s after the call (itself 0.6 s in: the scripted model delays every stream),
    # well before the answer's first token at ~1.2 s.
    assert stamps[first_audio] < stamps[first_text] - 0.3
    reply = events[-1].reply
    assert reply.text == f"{CLOCK_FILLER} It is 12 noon."
    stored = await agent.services.memory.history("late")
    assert [t.text for t in stored] == ["What time is it?", f"{CLOCK_FILLER} It is 12 noon."]


async def test_an_answer_within_the_delay_gets_no_filler():
    agent, _, decoder = slow_answer_agent(answer_delay_s=0.05, filler_after_s=0.5)
    _, reply = await run_turn(agent, "What time is it?")
    assert reply.text == "It is 12 noon."
    assert decoder.texts == ["It is 12 noon."]


async def test_zero_delay_says_the_filler_at_once_even_for_an_instant_turn():
    agent, _, decoder = slow_answer_agent(answer_delay_s=0.0, filler_after_s=0.0)
    _, reply = await run_turn(agent, "What time is it?")
    assert decoder.texts == [CLOCK_FILLER, "It is 12 noon."]
    assert reply.text == f"{CLOCK_FILLER} It is 12 noon."


async def test_a_turn_without_tools_never_gets_a_filler():
    model = ScriptedChatModel(["Hello there."], first_token_delay_s=0.3)
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[clock_with_filler()], filler_after_s=0.0)
    _, reply = await run_turn(agent, "Hi!")
    assert decoder.texts == ["Hello there."]


async def test_closing_the_turn_during_the_filler_stops_the_model():
    """A barge-in while the filler plays: the answer still being computed is abandoned, and
    history keeps the filler as the interrupted reply (what the caller heard)."""
    # The tool is done long before the filler is due (0.2 s), so the filler is spoken by
    # the thinking node while the answer's first token is awaited.
    agent, model, _ = slow_answer_agent(answer_delay_s=1.0, filler_after_s=0.2,
                                        decoder=RecordingDecoder(delay_s=0.05))
    async with aclosing(agent.stream("What time is it?", conversation_id="cut")) as events:
        async for event in events:
            if isinstance(event, AudioChunkEvent):
                break
    await asyncio.sleep(0.05)
    assert (model.completed, model.stopped_early) == (1, 1)  # the answer was abandoned
    await asyncio.sleep(1.1)
    assert model.completed == 1
    stored = await agent.services.memory.history("cut")
    assert [(t.role, t.text, t.interrupted) for t in stored] == [
        ("user", "What time is it?", False), ("assistant", CLOCK_FILLER, True)]


async def test_the_filler_audio_is_rendered_once_per_voice():
    decoder = RecordingDecoder()
    agent, _, _ = slow_answer_agent(answer_delay_s=0.0, filler_after_s=0.0, decoder=decoder,
                                    turns=2)
    first, _ = await run_turn(agent, "What time is it?", conversation_id="a")
    second, _ = await run_turn(agent, "And now?", conversation_id="b")
    assert decoder.texts.count(CLOCK_FILLER) == 1
    audio = [[e.chunk.samples for e in events if isinstance(e, AudioChunkEvent)][0]
             for events in (first, second)]
    np.testing.assert_array_equal(audio[0], audio[1])
    # Each turn gets its own copy: scaling one in place leaves the cached audio alone.
    audio[0] *= 0
    assert np.any(audio[1] != 0)


async def test_phrase_cache_keeps_only_whole_renderings_and_evicts_the_oldest():
    cache = PhraseCache(max_phrases=2)
    decoder = RecordingDecoder()
    stream = cache.synthesize(decoder, "one")
    await anext(stream)
    await stream.aclose()  # cut off (a barge-in): nothing cached
    assert [c async for c in cache.synthesize(decoder, "one")]
    assert decoder.texts == ["one", "one"]
    for text in ("two", "three", "one"):
        [c async for c in cache.synthesize(decoder, text)]
    # "one" was evicted by "two" and "three" (two phrases kept), so it was rendered again.
    assert decoder.texts == ["one", "one", "two", "three", "one"]
    assert cache.hits == 0


async def test_a_call_announced_early_gets_its_filler_while_the_arguments_are_written():
    """The embedded backend decides to call, then writes the arguments under a grammar
    (hundreds of ms on a CPU): the filler clock starts at the decision."""
    call = ToolCall(name="get_date_time", arguments={"timezone": "Asia/Tokyo"})
    model = ScriptedChatModel([[ToolCallPending("get_date_time"), ToolCallEvent(call)],
                               "It is nine in Tokyo."], token_delay_s=0.4)
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[clock_with_filler()], filler_after_s=0.1)
    events, reply = await run_turn(agent, "What time is it in Tokyo?")
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("AudioChunkEvent") < kinds.index("ToolCallStartedEvent")
    assert decoder.texts[0] == CLOCK_FILLER
    assert reply.text.startswith(CLOCK_FILLER)
    assert reply.tool_results[0].arguments == {"timezone": "Asia/Tokyo"}
    timings = reply.timings_ms
    assert timings["llm_call_decided"] < timings["tts_first_audio"] < timings["llm_tool_call"]


async def test_a_filler_that_needs_the_arguments_waits_for_the_whole_call():
    """"Let me look up the weather in {city}." cannot be said before the city is known: it
    is said as soon as the call is complete (already past the deadline), with the city."""
    @tool(filler="Let me look up the weather in {city}.")
    async def weather(city: str) -> str:
        """Weather for a city."""
        await asyncio.sleep(0.3)
        return "sunny"

    call = ToolCall(name="weather", arguments={"city": "Paris"})
    model = ScriptedChatModel([[ToolCallPending("weather"), ToolCallEvent(call)],
                               "Sunny in Paris."], token_delay_s=0.3)
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[weather], filler_after_s=0.05)
    events, reply = await run_turn(agent, "Weather in Paris?")
    assert decoder.texts[0] == "Let me look up the weather in Paris."
    started = next(i for i, e in enumerate(events) if isinstance(e, ToolCallStartedEvent))
    first_audio = next(i for i, e in enumerate(events) if isinstance(e, AudioChunkEvent))
    assert started < first_audio
    assert reply.text == "Let me look up the weather in Paris. Sunny in Paris."


def test_a_negative_filler_delay_is_refused():
    with pytest.raises(ValueError, match="filler_after_s must be >= 0"):
        VoiceAgent(ScriptedChatModel(["x"]), filler_after_s=-1)
    with pytest.raises(ValidationError):
        StepvoxSettings(filler_after_s=-0.5)


# -- a filler certain to be needed starts at the decision (agent.turn.waits) ------------


def test_the_median_of_recent_waits_decides_once_enough_were_seen():
    waits = AnswerWaits(keep=3, min_seen=2)
    assert waits.expected_s() is None and waits.filler_delay_s(0.5) == 0.5
    waits.observe(1.7)
    assert waits.filler_delay_s(0.5) == 0.5  # one turn is not a pattern
    waits.observe(1.5)
    assert waits.filler_delay_s(0.5) == 0.0
    waits.observe(-1.0)  # tried: a negative wait (clock marks out of order) is ignored
    waits.observe(0.1)
    waits.observe(0.2)  # the oldest (1.7) and 1.5 fall out or are outvoted
    assert waits.expected_s() == 0.2 and waits.filler_delay_s(0.5) == 0.5


async def filler_gaps(agent, turns: int) -> tuple[list[float | None], list[list[str]]]:
    """Per turn: seconds from the tool call starting to the first audio (None: no audio),
    and the sentences spoken."""
    gaps, spoken = [], []
    for i in range(turns):
        called = first_audio = None
        spoken.append([])
        async for event in agent.stream("What time is it?", conversation_id=f"t{i}"):
            now = time.perf_counter()
            if isinstance(event, ToolCallStartedEvent) and called is None:
                called = now
            elif isinstance(event, AudioChunkEvent) and first_audio is None:
                first_audio = now
            elif isinstance(event, SentenceEvent):
                spoken[-1].append(event.text)
        gaps.append(None if called is None or first_audio is None else first_audio - called)
    return gaps, spoken


async def test_after_two_slow_answers_the_filler_starts_at_the_decision():
    agent, _, _ = slow_answer_agent(answer_delay_s=0.4, filler_after_s=0.2, turns=3)
    gaps, spoken = await filler_gaps(agent, 3)
    assert spoken == [[CLOCK_FILLER, "It is 12 noon."]] * 3
    assert gaps[0] >= 0.15 and gaps[1] >= 0.15  # the delay, while nothing was known
    assert gaps[2] < 0.1  # at once: the answer was known to come late
    assert agent.services.answer_waits.expected_s() >= 0.35


async def test_fast_answers_keep_the_delay_and_need_no_filler():
    agent, _, decoder = slow_answer_agent(answer_delay_s=0.02, filler_after_s=0.3, turns=3)
    _, spoken = await filler_gaps(agent, 3)
    assert spoken == [["It is 12 noon."]] * 3 and CLOCK_FILLER not in decoder.texts
    assert agent.services.answer_waits.expected_s() < 0.3
