"""`semantic_vad`: a speculation's turn-end estimate ends the turn early on finished words,
waits longer on cut-off ones, and leaves the silence rule alone when unsure or absent."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from agent import VoiceAgent
from agent.chat_model import TurnEndEstimate
from agent.realtime.audio_input import EnergyVad, TurnSegmenter, UtteranceEnded
from agent.realtime.controller import RealtimeController
from agent.realtime.controller_events import (
    ReplyFinished, ReplyStarted, ReplyTruncated, TurnEndPredicted,
)
from agent.realtime.event_mapping import EventMapper
from agent.realtime.protocol import TurnDetection
from agent.realtime.turn_taking.policy import TurnEndPolicy
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel, text_deltas
from realtime_signals import silence, tone

PAUSE_MS, SILENCE_MS = 160, 480


class GatedEstimateModel(ScriptedChatModel):
    """Sends `TurnEndEstimate(probability)` first, once `gate` is open, then the reply."""

    def __init__(self, probability: float, gate: asyncio.Event | None = None) -> None:
        super().__init__([[TurnEndEstimate(probability), *text_deltas("It is 12 noon.")]])
        self.gate = gate

    async def _play(self, events):
        if self.gate is not None:
            await self.gate.wait()
        async for event in super()._play(events):
            yield event


def make(model, policy: TurnEndPolicy | None, *, heard: str = "what time is it",
         seconds_per_char: float = 0.001):
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=seconds_per_char),
                       tokenizer=FixedTranscriber(heard), tools=[])
    events: list = []

    async def emit(event) -> None:
        events.append(event)

    seg = TurnSegmenter(EnergyVad(), pause_ms=PAUSE_MS, end_of_turn_ms=SILENCE_MS)
    ctl = RealtimeController(agent, seg, emit, conversation_id="c1", speculate=True,
                             turn_end_policy=policy)
    return ctl, events


def policy(**kw) -> TurnEndPolicy:
    return TurnEndPolicy(silence_ms=SILENCE_MS, finished_ms=300, unfinished_ms=1200, **kw)


async def push(ctl, x):
    for i in range(0, len(x), 320):
        await ctl.push_audio(x[i:i + 320])
        await asyncio.sleep(0)


async def until(predicate, timeout=5.0):
    async def poll():
        while not predicate():
            await asyncio.sleep(0.002)
    await asyncio.wait_for(poll(), timeout)


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


async def settle(ctl, events):
    await until(lambda: of(events, ReplyFinished))
    await until(lambda: ctl.state == "silence")
    await ctl.close()


async def test_finished_words_end_the_turn_after_the_short_silence():
    ctl, events = make(GatedEstimateModel(0.9), policy())
    await push(ctl, np.concatenate([tone(0.6), silence(0.22)]))
    await until(lambda: of(events, TurnEndPredicted))
    assert of(events, TurnEndPredicted)[0] == TurnEndPredicted(0.9, "finished", 300)
    assert not of(events, ReplyStarted)  # 220 ms of silence: not yet
    await push(ctl, silence(0.12))  # 340 ms: past the short rule, before the 480 ms one
    ended = of(events, UtteranceEnded)
    assert len(ended) == 1 and not ended[0].forced and of(events, ReplyStarted)
    await settle(ctl, events)
    assert of(events, ReplyFinished)[0].speculation == "committed"


async def test_cut_off_words_wait_past_the_silence_rule():
    ctl, events = make(GatedEstimateModel(0.001), policy())
    await push(ctl, np.concatenate([tone(0.6), silence(0.22)]))
    await until(lambda: of(events, TurnEndPredicted))
    assert of(events, TurnEndPredicted)[0].verdict == "unfinished"
    await push(ctl, silence(0.5))  # 720 ms: the plain rule would have ended the turn
    assert not of(events, UtteranceEnded)
    await push(ctl, silence(0.52))  # 1,240 ms
    assert len(of(events, UtteranceEnded)) == 1
    await settle(ctl, events)


async def test_an_estimate_that_comes_after_the_short_silence_ends_the_turn_at_once():
    gate = asyncio.Event()
    ctl, events = make(GatedEstimateModel(0.95, gate), policy())
    await push(ctl, np.concatenate([tone(0.6), silence(0.4)]))  # 400 ms quiet, rule 480
    assert not of(events, UtteranceEnded)
    gate.set()  # the model was slow; its estimate says finished
    await until(lambda: of(events, ReplyStarted))
    assert len(of(events, UtteranceEnded)) == 1
    await settle(ctl, events)


async def test_unsure_estimates_and_server_vad_keep_the_silence_rule():
    for model, turn_policy in ((GatedEstimateModel(0.02), policy()),  # unsure
                               (GatedEstimateModel(0.99), None)):    # server_vad
        ctl, events = make(model, turn_policy)
        await push(ctl, np.concatenate([tone(0.6), silence(0.4)]))
        await asyncio.sleep(0.05)  # the speculation has long sent its estimate
        assert not of(events, UtteranceEnded)
        await push(ctl, silence(0.1))  # 500 ms >= 480
        assert len(of(events, UtteranceEnded)) == 1
        await settle(ctl, events)


async def test_an_estimate_for_words_the_user_went_on_from_is_ignored():
    gate = asyncio.Event()
    ctl, events = make(GatedEstimateModel(0.99, gate), policy())
    await push(ctl, np.concatenate([tone(0.6), silence(0.2), tone(0.3)]))  # resumed
    gate.set()
    await asyncio.sleep(0.05)
    assert not of(events, TurnEndPredicted)  # the first speculation was discarded
    await push(ctl, silence(0.6))
    await settle(ctl, events)


def test_the_segmenter_rule_is_per_utterance_and_reset_on_resume():
    seg = TurnSegmenter(EnergyVad(), pause_ms=PAUSE_MS, end_of_turn_ms=SILENCE_MS)
    seg.push(np.concatenate([tone(0.5), silence(0.2)]))
    assert seg.quiet_ms == pytest.approx(192, abs=32)
    assert seg.set_end_of_turn_ms(1000) is None
    assert not [e for e in seg.push(silence(0.6)) if isinstance(e, UtteranceEnded)]
    seg.push(tone(0.3))  # resumed: back to the configured 480 ms
    assert [e for e in seg.push(silence(0.5)) if isinstance(e, UtteranceEnded)]
    seg.push(np.concatenate([tone(0.5), silence(0.35)]))
    ended = seg.set_end_of_turn_ms(300)  # already 350 ms quiet: ends now
    assert isinstance(ended, UtteranceEnded) and not ended.forced
    assert seg.set_end_of_turn_ms(300) is None  # nothing in progress


def test_policy_thresholds_and_eagerness():
    p = TurnEndPolicy.for_eagerness("auto", 640)
    assert (p.end_of_turn_ms(0.5), p.end_of_turn_ms(0.05), p.end_of_turn_ms(0.02),
            p.end_of_turn_ms(0.004)) == (300, 300, 640, 1200)
    assert TurnEndPolicy.for_eagerness("high", 640).finished_ms < p.finished_ms
    assert TurnEndPolicy.for_eagerness("low", 640).unfinished_ms > p.unfinished_ms
    # A short configured rule is never lengthened for finished words.
    short = TurnEndPolicy.for_eagerness("low", 200)
    assert short.finished_ms == 200 and short.unfinished_ms == 2000


def test_protocol_default_and_the_estimate_event():
    assert TurnDetection().type == "semantic_vad" and TurnDetection().eagerness == "auto"
    with pytest.raises(ValueError):
        TurnDetection(eagerness="eager")  # tried: an eagerness that does not exist
    [message] = EventMapper().map(TurnEndPredicted(0.42, "finished", 300))
    assert message["type"] == "input_audio_buffer.turn_end_estimate"
    assert (message["probability"], message["verdict"], message["end_of_turn_ms"]) == (
        0.42, "finished", 300)


async def test_speech_right_after_an_early_end_continues_the_same_turn():
    # Tried: "what time is it" ended early on a finished-looking estimate, then the user goes
    # on ("... in Tokyo") before the reply has played: one turn, asked again as a whole.
    ctl, events = make(GatedEstimateModel(0.9), policy(), heard="what time is it in tokyo",
                       seconds_per_char=0.1)
    agent = ctl.base_agent
    ctl.continue_played_s = 5.0  # a slow test machine must not turn this into a backchannel
    await push(ctl, np.concatenate([tone(0.6), silence(0.22)]))
    await until(lambda: of(events, TurnEndPredicted))
    await push(ctl, silence(0.12))
    assert len(of(events, ReplyStarted)) == 1
    await push(ctl, tone(0.3))  # the user goes on
    assert ctl.state == "user_speaking"
    # Stopped: cancelled while generating, or cut while its audio plays (a fast fake model
    # may have finished writing it already); either way the client is told.
    first_id = of(events, ReplyStarted)[0].response_id
    assert any(e.response_id == first_id for e in of(events, ReplyTruncated)) or [
        e.status for e in of(events, ReplyFinished)] == ["cancelled"]
    await push(ctl, silence(0.22))
    await until(lambda: len(of(events, TurnEndPredicted)) == 2)
    await push(ctl, silence(0.12))
    await until(lambda: len(of(events, ReplyFinished)) == 2)
    ended = of(events, UtteranceEnded)
    assert ended[-1].clip.duration_s >= 0.9  # both parts, in one clip
    assert agent.services.tokenizer.clips[-1].duration_s >= 0.9
    await until(lambda: ctl.state == "silence", timeout=10)
    await ctl.close()
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [
        ("user", "what time is it in tokyo"), ("assistant", "It is 12 noon.")]


async def test_speech_after_a_plain_end_is_still_a_backchannel():
    # Unsure: the 480 ms rule ended it.
    ctl, events = make(GatedEstimateModel(0.02), policy(), seconds_per_char=0.1)
    await push(ctl, np.concatenate([tone(0.6), silence(0.5)]))
    assert len(of(events, ReplyStarted)) == 1
    await push(ctl, np.concatenate([tone(0.3), silence(0.5)]))
    assert ctl.state == "bot_replying"  # "uh-huh": the reply goes on
    await settle(ctl, events)
    assert [e.status for e in of(events, ReplyFinished)] == ["completed"]


class LaggingVad(EnergyVad):
    """Scores speech like Silero does at a word's end: still speech for `lag` windows after
    the sound has stopped."""

    def __init__(self, lag: int = 3) -> None:
        super().__init__(-35.0)
        self.lag, self._since = lag, lag

    def probability(self, window):
        if super().probability(window) > 0:
            self._since = 0
            return 1.0
        self._since += 1
        return 1.0 if self._since <= self.lag else 0.0


def pause_at_s(quiet_below_dbfs, after) -> float:
    from agent.realtime.audio_input import SpeechPaused

    seg = TurnSegmenter(LaggingVad(), pause_ms=64, end_of_turn_ms=480,
                        quiet_below_dbfs=quiet_below_dbfs)
    events = seg.push(np.concatenate([tone(0.64), after]))
    return next(e.at_s for e in events if isinstance(e, SpeechPaused))


def test_digital_quiet_ends_speech_without_waiting_for_the_vads_lag():
    quiet = silence(0.5)
    # Tried: the VAD's lag (3 windows of "speech" after the tone) with and without the rule.
    assert pause_at_s(None, quiet) - pause_at_s(-60.0, quiet) == pytest.approx(0.096, abs=1e-3)
    # Background noise at -40 dBFS is louder than the rule: the VAD alone decides there.
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(8000) * 10 ** (-40 / 20)).astype(np.float32)
    assert pause_at_s(-60.0, noise) == pytest.approx(pause_at_s(None, noise))


def test_a_question_mark_the_asr_heard_is_never_taken_for_cut_off_words():
    # Tried: a misheard finished question ("how do I boil an eight?") that the model scores
    # as unfinished: the ASR's "?" keeps it from the long wait (the plain rule applies).
    p = TurnEndPolicy.for_eagerness("auto", 640)
    assert p.verdict(0.001, "How do I boil an eight?") == "unsure"
    assert p.end_of_turn_ms(0.001, "Is it really!") == 640
    assert p.verdict(0.001, "What's the weather like in.") == "unfinished"
    assert p.verdict(0.5, "What time is it?") == "finished"


def test_short_answers_are_not_held_for_the_long_wait():
    # Tried: one- to three-word answers the model scores as unfinished without context
    # ("Two." 0.002, "seven of clubs" misheard as "10 of close" 0.000): the plain rule.
    p = TurnEndPolicy.for_eagerness("auto", 640)
    assert p.verdict(0.002, "Two.") == "unsure"
    assert p.verdict(0.0, "10 of close") == "unsure"
    assert p.verdict(0.001, "I want to") == "unfinished"  # ends in a connective
    assert p.verdict(0.001, "Could you maybe also check") == "unfinished"  # four words
    assert p.verdict(0.001) == "unfinished"  # no words given: the estimate alone
