"""Speculative replies on pauses: commit on the same words, discard on resume, rerun on
other words, and no side effects from a speculation that is thrown away."""

from __future__ import annotations

import asyncio

import numpy as np

from agent import VoiceAgent
from agent.chat_model import ToolCall
from agent.realtime.audio_input import EnergyVad, TurnSegmenter
from agent.realtime.controller import RealtimeController
from agent.realtime.controller_events import SpeculationEvent
from agent.realtime.turn_taking.speculation import Speculation, commit_or_rerun, same_words
from agent.realtime.stats import RealtimeStats
from speech.audio import AudioClip
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from controller_driving import finished, played_out, push
from realtime_signals import silence, tone
from speech.protocols import Transcription
from tools import Tool

HEARD = "what time is it"


class SequenceTranscriber(FixedTranscriber):
    """Hears the given texts in order (the last one from then on)."""

    def __init__(self, *texts: str) -> None:
        super().__init__(texts[-1])
        self.texts = list(texts)

    async def transcribe(self, clip):
        self.clips.append(clip)
        return Transcription(self.texts[min(len(self.clips), len(self.texts)) - 1])


def make(model=None, transcriber=None, tools=()):
    model = model or ScriptedChatModel(["It is 12 noon."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=transcriber or FixedTranscriber(HEARD), tools=list(tools))
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    seg = TurnSegmenter(EnergyVad(), pause_ms=160, end_of_turn_ms=480)
    ctl = RealtimeController(agent, seg, emit, conversation_id="c1", speculate=True)
    return ctl, agent, model, events


def test_same_words():
    assert same_words("What time is it?", "what time, is it")
    assert not same_words("what time", "what time is it")


async def test_same_words_commit_the_speculation():
    ctl, agent, model, events = make()
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    done = await finished(events)
    assert done[0].status == "completed" and done[0].speculation == "committed"
    assert "speculation_head_start" in done[0].timings_ms
    assert ctl.speculation_stats == {"started": 1, "committed": 1, "discarded": 0}
    assert len(model.calls) == 1  # the reply was generated once, during the pause
    saved = done[0].speculation_saved_ms
    assert saved is not None and 0 < saved <= done[0].timings_ms["speculation_head_start"]
    await played_out(ctl)
    await ctl.close()
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [("user", HEARD), ("assistant", "It is 12 noon.")]


async def test_resumed_speech_discards_the_first_speculation():
    transcriber = SequenceTranscriber("what time", "what time is it")
    ctl, agent, model, events = make(transcriber=transcriber)
    await push(ctl, np.concatenate([tone(0.5), silence(0.3), tone(0.5), silence(0.6)]))
    done = await finished(events)
    assert done[0].status == "completed" and done[0].speculation == "committed"
    assert ctl.speculation_stats == {"started": 2, "committed": 1, "discarded": 1}
    stats = RealtimeStats()
    for event in events:
        stats.observe(event)
    figures = stats.snapshot()["speculation"]
    assert figures["commit_rate"] == 0.5 and figures["saved_ms_total"] > 0
    assert [(e.outcome, e.reason) for e in events if isinstance(e, SpeculationEvent)] == [
        ("started", "pause"), ("discarded", "speech_resumed"), ("started", "pause"),
        ("committed", "same_words")]
    await played_out(ctl)
    await ctl.close()
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [
        ("user", "what time is it"), ("assistant", "It is 12 noon.")]


async def test_other_final_words_rerun_the_turn():
    # Through the segmenter the final audio of a committed pause is the paused audio itself;
    # the rerun path is for audio that differs, driven here directly.
    transcriber = SequenceTranscriber("what time", "what time is it")
    model = ScriptedChatModel(["It is 12 noon."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=transcriber, tools=[])
    paused = AudioClip(tone(0.5), 16_000)
    final = AudioClip(tone(0.9), 16_000)
    speculation = Speculation(agent, paused, "c1")
    await speculation.transcribed.wait()
    decisions: list[bool] = []
    events = [e async for e in commit_or_rerun(agent, speculation, final, "c1", decisions.append)]
    assert decisions == [False]
    assert events[0].text == "what time is it"
    assert model.calls[-1][0][-1].content == "what time is it"
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [
        ("user", "what time is it"), ("assistant", "It is 12 noon.")]


async def test_the_end_of_turn_reuses_the_pause_transcript():
    ctl, agent, model, events = make()
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await finished(events)
    assert len(agent.services.tokenizer.clips) == 1  # one ASR pass for the whole turn
    await ctl.close()


async def test_a_pause_shorter_than_the_kept_tail_still_reuses_the_transcript():
    # Tried: a 64 ms pause (two VAD windows) under the segmenter's 100 ms kept tail: the
    # final clip is the paused one plus a quiet window, not new words.
    agent = VoiceAgent(ScriptedChatModel(["It is 12 noon."]),
                       decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=FixedTranscriber(HEARD), tools=[])
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    seg = TurnSegmenter(EnergyVad(), pause_ms=64, end_of_turn_ms=480, tail_ms=100)
    ctl = RealtimeController(agent, seg, emit, conversation_id="c1", speculate=True)
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    done = await finished(events)
    assert done[0].speculation == "committed"
    assert len(agent.services.tokenizer.clips) == 1
    await ctl.close()


def test_other_audio_is_not_the_same_audio():
    agent = VoiceAgent(ScriptedChatModel(["ok"]), tokenizer=FixedTranscriber(HEARD), tools=[])
    paused = AudioClip(tone(0.5), 16_000)

    async def check():
        speculation = Speculation(agent, paused, "c1")
        try:
            more_words = AudioClip(np.concatenate([tone(0.5), tone(0.5)]), 16_000)
            other = AudioClip(tone(0.5, freq=500.0), 16_000)
            assert speculation.heard_same_audio(AudioClip(np.concatenate(
                [tone(0.5), silence(0.032)]), 16_000))
            assert not speculation.heard_same_audio(more_words)  # a second longer
            assert not speculation.heard_same_audio(other)
            assert not speculation.heard_same_audio(AudioClip(tone(0.4), 16_000))  # shorter
        finally:
            await speculation.cancel()

    asyncio.run(check())


def _booking(calls: list):
    def book_table() -> str:
        """Book a table (a side effect: must run at most once)."""
        calls.append(1)
        return "booked"
    return Tool(book_table, safe_to_repeat=False)


def _books_then_answers(messages, tools, tool_choice):
    return "Your table is booked." if messages[-1].role == "tool" else ToolCall(name="book_table")


async def test_unsafe_tool_waits_for_commit_and_runs_once():
    calls: list = []
    ctl, agent, model, events = make(ScriptedChatModel([_books_then_answers]),
                                     tools=[_booking(calls)])
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    done = await finished(events)
    assert done[0].speculation == "committed" and done[0].text == "Your table is booked."
    assert calls == [1]
    await ctl.close()


async def test_discarded_speculation_never_runs_an_unsafe_tool():
    calls: list = []
    model = ScriptedChatModel([_books_then_answers])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=SequenceTranscriber("book", "book a table"),
                       tools=[_booking(calls)])
    speculation = Speculation(agent, AudioClip(tone(0.4), 16_000), "c1")
    await asyncio.wait_for(_until(lambda: speculation.held_tool == "book_table"), 5)
    assert calls == []  # the speculative call waits for a commit
    final = AudioClip(tone(0.8), 16_000)
    events = [e async for e in commit_or_rerun(agent, speculation, final, "c1", lambda c: None)]
    assert events[-1].reply.text == "Your table is booked."
    assert calls == [1]  # from the rerun only
    history = await agent.services.memory.history("c1")
    assert [t.text for t in history] == ["book a table", "Your table is booked."]


async def _until(cond):
    while not cond():
        await asyncio.sleep(0.005)


async def test_barge_in_on_a_committed_speculation_keeps_one_cut_turn():
    long = "It is noon right now in this town. The sun is high and the shops are open."
    ctl, agent, model, events = make(ScriptedChatModel([long], token_delay_s=0.05))
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await push(ctl, tone(0.8))  # talks over the reply while it is still being written
    done = await finished(events)
    assert done[0].status == "cancelled"
    assert ctl.speculation_stats["committed"] == 1 and model.stopped_early == 1
    await ctl.close()
    assert ctl._speculation is None
    history = await agent.services.memory.history("c1")
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[0].text == HEARD and history[1].interrupted
    assert history[1].text == done[0].played_text


async def test_speculation_keeps_turn_audio_files_only_when_committed(tmp_path):
    # Input tried: two speculations with an audio folder set; one thrown away after its whole
    # reply was written, one committed. Only the committed one may leave files.
    model = ScriptedChatModel(["It is 12 noon."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=SequenceTranscriber("what time", "what time is it"), tools=[],
                       audio_dir=tmp_path)
    discarded = Speculation(agent, AudioClip(tone(0.5), 16_000), "c1")
    await asyncio.wait_for(discarded._task, 5)  # its reply ran to the end, audio included
    await discarded.cancel()
    assert list(tmp_path.rglob("*.wav")) == []
    assert await agent.services.memory.history("c1") == []

    paused = AudioClip(tone(0.5), 16_000)
    committed = Speculation(agent, paused, "c2")
    events = [e async for e in commit_or_rerun(agent, committed, paused, "c2", lambda c: None)]
    assert events[-1].reply.text == "It is 12 noon."
    files = list(tmp_path.rglob("*.wav"))
    assert [f.parent.name for f in files] == ["c2"] and files[0].stat().st_size > 44
    history = await agent.services.memory.history("c2")
    assert history[-1].audio_path == str(files[0])
