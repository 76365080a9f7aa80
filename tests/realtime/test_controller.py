"""The realtime controller's state machine with fake models: turns, backchannels, barge-in."""

from __future__ import annotations

import asyncio

import numpy as np

from agent import VoiceAgent
from agent.events import AudioChunkEvent, TranscriptEvent
from agent.realtime.audio_input import EnergyVad, TurnSegmenter, UtteranceEnded
from agent.realtime.controller import (
    BackchannelIgnored, ConversationState as S, RealtimeController, ReplyEvent, ReplyFinished,
    ReplyStarted, StateChanged,
)
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
from realtime_signals import silence, tone

HEARD = "what time is it"
LONG = "It is noon right now in this town. The sun is high and the shops are open. Bye."


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def make(model=None, *, seconds_per_char=0.001, clock=None):
    model = model or ScriptedChatModel(["It is 12 noon."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=seconds_per_char),
                       tokenizer=FixedTranscriber(HEARD), tools=[])
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    seg = TurnSegmenter(EnergyVad(), pause_ms=160, end_of_turn_ms=480)
    kwargs = {"clock": clock} if clock else {}
    ctl = RealtimeController(agent, seg, emit, conversation_id="c1", **kwargs)
    return ctl, agent, model, events


async def until(cond, timeout=5.0):
    async def poll():
        while not cond():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


async def push(ctl, x):
    for i in range(0, len(x), 320):  # 20 ms frames
        await ctl.push_audio(x[i:i + 320])


async def test_one_turn_walks_the_paper_states():
    ctl, agent, model, events = make()
    await push(ctl, np.concatenate([silence(0.2), tone(0.6), silence(0.6)]))
    await until(lambda: ctl.state == S.SILENCE and any(isinstance(e, ReplyFinished) for e in events))
    states = [(t.previous, t.state) for t in ctl.transitions]
    assert states == [(S.SILENCE, S.USER_SPEAKING), (S.USER_SPEAKING, S.USER_PAUSED),
                      (S.USER_PAUSED, S.BOT_REPLYING), (S.BOT_REPLYING, S.SILENCE)]
    started = next(e for e in events if isinstance(e, ReplyStarted))
    inner = [e.event for e in events if isinstance(e, ReplyEvent)]
    assert isinstance(inner[0], TranscriptEvent) and inner[0].text == HEARD
    assert any(isinstance(e, AudioChunkEvent) for e in inner)
    done = next(e for e in events if isinstance(e, ReplyFinished))
    assert done.response_id == started.response_id and done.status == "completed"
    assert done.text == "It is 12 noon." and done.transcript == HEARD
    assert {"end_of_turn_wait", "transcript", "first_audio_sent", "done", "agent.asr"} <= set(
        done.timings_ms)
    assert done.timings_ms["end_of_turn_wait"] >= 400
    assert model.calls[0][0][-1].content == HEARD
    utt = next(e for e in events if isinstance(e, UtteranceEnded))
    assert 0.55 < utt.speech_s < 0.7


async def test_backchannel_during_reply_is_ignored():
    ctl, agent, model, events = make(ScriptedChatModel([LONG]), seconds_per_char=0.02)
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await until(lambda: any(isinstance(e, ReplyFinished) for e in events))
    assert ctl.state == S.BOT_REPLYING  # audio still playing
    await push(ctl, np.concatenate([tone(0.35), silence(0.6)]))  # "uh-huh"
    assert any(isinstance(e, BackchannelIgnored) for e in events)
    assert ctl.state == S.BOT_REPLYING
    assert [e.status for e in events if isinstance(e, ReplyFinished)] == ["completed"]
    assert model.stopped_early == 0
    await ctl.close()


async def test_barge_in_stops_the_model_and_keeps_only_played_words():
    clock = FakeClock()
    model = ScriptedChatModel([LONG, "Sure."], token_delay_s=0.03)
    ctl, agent, _, events = make(model, seconds_per_char=0.02, clock=clock)
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await until(lambda: any(isinstance(e, ReplyEvent) and isinstance(e.event, AudioChunkEvent)
                            for e in events))
    first = next(e.event for e in events
                 if isinstance(e, ReplyEvent) and isinstance(e.event, AudioChunkEvent))
    # The listener has heard about half of the first sentence when the user talks over it.
    clock.t += first.chunk.duration_s / 2
    await push(ctl, tone(0.7))
    assert ctl.state == S.USER_SPEAKING
    cancelled = [e for e in events if isinstance(e, ReplyFinished)]
    assert [e.status for e in cancelled] == ["cancelled"]
    assert 0 < len(cancelled[0].played_text.split()) < len(first.chunk.text.split())
    assert model.stopped_early == 1
    # The session's view of the history: one cut turn holding exactly the words played,
    # not the whole sentence whose audio was sent.
    history = await ctl.agent.services.memory.history("c1")
    assert [t.role for t in history] == ["user", "assistant"], history
    assert history[1].interrupted and history[1].text == cancelled[0].played_text
    assert await agent.services.memory.history("c1") == []  # held until it is final
    # The interrupting utterance becomes the next turn, and the model sees the cut reply.
    await push(ctl, silence(0.6))
    await until(lambda: len([e for e in events if isinstance(e, ReplyFinished)]) == 2)
    assert history[1].text in model.calls[1][0][-2].content
    assert any(t.reason == "barge_in" for t in ctl.transitions)
    await until(lambda: ctl.state == S.SILENCE)  # the second reply played out
    await ctl.close()
    stored = await agent.services.memory.history("c1")
    assert [t.text for t in stored[:2]] == [HEARD, cancelled[0].played_text]
    assert len(stored) == 4 and not stored[3].interrupted


async def test_stage_times_count_from_the_end_of_speech_and_are_logged(caplog):
    caplog.set_level("INFO", logger="stepvox.realtime")
    ctl, agent, model, events = make()
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await until(lambda: any(isinstance(e, ReplyFinished) for e in events))
    done = next(e for e in events if isinstance(e, ReplyFinished))
    stages = done.stages_ms
    order = ["end_of_speech_detected", "final_transcript", "llm_first_token", "first_sentence",
             "first_audio_sent"]
    assert list(stages) == order
    assert [stages[k] for k in order] == sorted(stages[k] for k in order)
    # The segmenter waited for the end-of-turn silence (480 ms) before the turn started.
    assert stages["end_of_speech_detected"] >= 400
    assert stages["first_audio_sent"] == round(
        done.timings_ms["end_of_turn_wait"] + done.timings_ms["first_audio_sent"], 1)
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("turn stages")]
    assert len(logged) == 1 and f'"response_id": "{done.response_id}"' in logged[0]
    assert '"first_audio_sent"' in logged[0]
    await ctl.close()


async def test_failed_turn_reports_and_returns_to_silence():
    ctl, agent, model, events = make()
    ctl.agent.services.tokenizer = FixedTranscriber("   ")  # the ASR hears nothing
    await push(ctl, np.concatenate([tone(0.5), silence(0.6)]))
    await until(lambda: any(isinstance(e, ReplyFinished) for e in events))
    done = next(e for e in events if isinstance(e, ReplyFinished))
    assert done.status == "failed" and "SilentAudioError" in done.error
    assert ctl.state == S.SILENCE
    assert isinstance(ctl.transitions[-1], StateChanged)


async def test_text_turn_and_commit():
    ctl, agent, model, events = make()
    await ctl.respond_to_text("hello there")
    await until(lambda: any(isinstance(e, ReplyFinished) for e in events))
    assert model.calls[0][0][-1].content == "hello there"
    assert not await ctl.commit()
    await push(ctl, tone(0.4))
    assert await ctl.commit()
    await until(lambda: len([e for e in events if isinstance(e, ReplyFinished)]) == 2)
    await ctl.close()


async def test_a_reply_cut_between_its_turn_done_and_its_done_event_still_reports_one():
    # Tried: a barge-in that lands while the TurnDone event is being sent, before the
    # reply's ReplyFinished: the client must still get exactly one ReplyFinished for it.
    from agent.events import TurnDoneEvent

    ctl, agent, model, events = make()
    sending_done, hold = asyncio.Event(), asyncio.Event()

    async def emit(event) -> None:
        events.append(event)
        if isinstance(event, ReplyEvent) and isinstance(event.event, TurnDoneEvent):
            sending_done.set()
            await hold.wait()  # a slow transport, right at that moment

    ctl.emit = emit
    await ctl.respond_to_text("what time is it")
    await asyncio.wait_for(sending_done.wait(), 5)
    assert await ctl.interrupt("barge_in")
    finished = [e for e in events if isinstance(e, ReplyFinished)]
    assert [e.status for e in finished] == ["cancelled"]
    await ctl.close()


class AnticipatingModel(ScriptedChatModel):
    """Records what the controller lets it prepare while the user speaks."""

    def __init__(self, replies) -> None:
        super().__init__(replies)
        self.anticipated: list[list[str]] = []

    async def anticipate(self, messages, tools=()) -> bool:
        self.anticipated.append([f"{m.role}:{m.content}" for m in messages])
        return True


async def test_the_model_prepares_each_turn_before_the_users_words_not_while_it_replies():
    # Tried: two turns, and a backchannel while the second reply plays. The model is asked
    # to prepare when the user starts speaking and when a reply has played out (history is
    # final then), with the conversation as the next turn will see it (the first turn: the
    # system prompt alone; the second: the first exchange too), and not for speech over its
    # own reply, when the reply owns the model.
    model = AnticipatingModel(["It is 12 noon.", LONG])
    ctl, agent, _, events = make(model, seconds_per_char=0.02)
    await push(ctl, np.concatenate([silence(0.2), tone(0.6)]))
    await until(lambda: len(model.anticipated) == 1)  # speech started
    assert model.anticipated[0] == [model.anticipated[0][0]]
    assert model.anticipated[0][0].startswith("system:")
    await push(ctl, silence(0.6))
    await until(lambda: ctl.state == S.SILENCE and len(model.anticipated) == 2)  # played out
    assert model.anticipated[1][1:] == [f"user:{HEARD}", "assistant:It is 12 noon."]
    await push(ctl, np.concatenate([tone(0.6), silence(0.6)]))
    await until(lambda: len([e for e in events if isinstance(e, ReplyFinished)]) == 2)
    assert model.anticipated[2] == model.anticipated[1]  # speech started: the same head
    # Exactly each turn's own messages before the user's words, system prompt included.
    for prepared, (messages, _, _) in zip(model.anticipated[::2], model.calls, strict=True):
        assert prepared == [f"{m.role}:{m.content}" for m in messages[:-1]]
    await push(ctl, np.concatenate([tone(0.35), silence(0.6)]))  # "uh-huh" over the reply
    assert any(isinstance(e, BackchannelIgnored) for e in events)
    assert len(model.anticipated) == 3
    await ctl.close()
