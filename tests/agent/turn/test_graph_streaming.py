"""The turn graph, continued: parallel calls, edge replies, streaming and history, with fakes only.

Every test drives a real `VoiceAgent` with a `ScriptedChatModel` and a `RecordingDecoder`, and
checks what reached the model, the decoder, the event stream and the memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from agent import (
    AudioChunkEvent, ChatMessage, ModelDone, SentenceEvent, TextDeltaEvent, ToolCall,
    ToolCallEvent, ToolCallStartedEvent, ToolResultEvent, TurnDoneEvent, VoiceAgent,
)
from agent.turn.nodes import NO_ANSWER
from fakes import RecordingDecoder, ScriptedChatModel
from graph_harness import index_of, make_agent, run_turn
from tools import tool


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

    fast_model = ScriptedChatModel([ToolCall(name="get_date_time", arguments={}), "12 noon."])
    fast = VoiceAgent(fast_model, decoder=RecordingDecoder())
    reply = await fast.arespond("Time?")
    assert reply.text == "12 noon."


# --------------------------------------------------------------------------- first chunk first


class PullTimes(ScriptedChatModel):
    """Records when the speaking node took each event from the model's stream."""

    def __init__(self, replies) -> None:
        super().__init__(replies)
        self.pulled: list[tuple[str, float]] = []

    async def _play(self, events):
        played = super()._play(events)
        while True:
            asked = time.perf_counter()  # the reader has come back for the next event
            try:
                event = await anext(played)
            except StopAsyncIteration:
                return
            self.pulled.append((getattr(event, "text", type(event).__name__), asked))
            yield event


async def test_the_model_is_not_read_while_the_first_chunk_is_synthesized():
    model = PullTimes(["Yes, it is true. And here is more."])
    decoder = RecordingDecoder(delay_s=0.15)
    agent, _, _ = make_agent(model, decoder=decoder)
    events, reply = await run_turn(agent, "Is it true?")
    assert reply.text == "Yes, it is true. And here is more."
    assert decoder.texts == ["Yes, it is true.", "And here is more."]
    pulled = dict(model.pulled)
    # "true. " completed the first sentence; the next piece waited for its audio.
    assert pulled["And "] - pulled["true. "] >= 0.12
    assert pulled["here "] - pulled["And "] < 0.1  # then reading goes on as usual
    first_audio = index_of(events, AudioChunkEvent)
    assert events[first_audio].chunk.text == "Yes, it is true."


async def test_a_failing_first_synthesis_does_not_hang_the_turn():
    class Broken(RecordingDecoder):
        async def synthesize(self, text, style=None):
            raise RuntimeError("decoder died")
            yield  # pragma: no cover

    agent, _, _ = make_agent(["One. Two. Three."], decoder=Broken())
    with pytest.raises(RuntimeError, match="decoder died"):
        await asyncio.wait_for(run_turn(agent, "Count"), 5)


async def test_a_reply_stuck_in_a_loop_is_cut_and_the_model_stopped():
    # Tried: a scripted model that says one 12-word phrase over and over, as a greedy 0.5B
    # model did for "Tell me a story about the sea."
    loop = "the captain is in charge of keeping the ships safe, and "
    agent, model, decoder = make_agent(["Here is a story. " + loop * 12])
    events, reply = await run_turn(agent, "Tell me a story about the sea.", conversation_id="s1")
    kept = "Here is a story. the captain is in charge of keeping the ships safe."
    assert reply.text == kept
    assert " ".join(decoder.texts).count("keeping the ships safe") == 1
    # The caption shows no part of the second copy either (it was streamed word by word).
    caption = "".join(e.text for e in events if isinstance(e, TextDeltaEvent))
    assert caption.lower().count("the captain is") == 1
    assert caption.startswith("Here is a story. the captain is in charge")
    assert model.stopped_early == 1
    history = await agent.services.memory.history("s1")
    assert history[-1].text == kept


async def test_a_reply_looping_on_tags_is_cut_and_the_model_stopped():
    # Tried: Captain Bram to "I just got a puppy!" (greedy 0.5B): "Puppy! (laugh) (laugh) ..."
    # to the token limit, ending in a lone "(" that was spoken. The tags are not words, so the
    # word-loop check never saw it.
    agent, model, decoder = make_agent(["Puppy! " + "(laugh) " * 40 + "("])
    events, reply = await run_turn(agent, "I just got a puppy!", conversation_id="t1")
    assert reply.text == "Puppy!"
    assert "(" not in " ".join(decoder.texts)
    assert model.stopped_early == 1
    history = await agent.services.memory.history("t1")
    assert history[-1].text == "Puppy!"
