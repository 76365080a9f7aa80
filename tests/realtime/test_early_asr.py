"""The pause's ASR starts at the first quiet window (`agent/realtime/turn_taking/early_asr.py`): the
speculation uses it when the quiet lasts, and a gap inside the speech leaves no trace."""

from __future__ import annotations

import asyncio

import numpy as np

from agent import VoiceAgent
from agent.realtime.audio_input import EnergyVad, SpeechPaused, TurnSegmenter
from agent.realtime.controller import RealtimeController
from fakes import RecordingDecoder, ScriptedChatModel
from controller_driving import finished, played_out, push
from realtime_signals import silence, tone
from speech.protocols import Transcription


class WatchingTranscriber:
    """Hears `texts` in order (the last one from then on) and notes, for each clip, how
    many pauses the controller had reported when the clip was handed over."""

    sample_rate = 16_000

    def __init__(self, events: list, *texts: str) -> None:
        self.events, self.texts = events, list(texts)
        self.calls: list[tuple[float, int]] = []  # (clip seconds, pauses reported so far)
        self.cancelled = 0  # runs whose caller stopped waiting

    async def transcribe(self, clip):
        pauses = sum(isinstance(e, SpeechPaused) for e in self.events)
        self.calls.append((clip.duration_s, pauses))
        text = self.texts[min(len(self.calls), len(self.texts)) - 1]
        try:
            await asyncio.sleep(0.05)  # an ASR takes time: the pause may come meanwhile
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return Transcription(text)


def make(*texts: str, pause_ms: int = 160, speculate: bool = True, early_asr: bool = True):
    events: list = []
    transcriber = WatchingTranscriber(events, *texts)
    model = ScriptedChatModel(["It is 12 noon."])
    agent = VoiceAgent(model, decoder=RecordingDecoder(seconds_per_char=0.001),
                       tokenizer=transcriber, tools=[])

    async def emit(event) -> None:
        events.append(event)

    seg = TurnSegmenter(EnergyVad(), pause_ms=pause_ms, end_of_turn_ms=480)
    ctl = RealtimeController(agent, seg, emit, conversation_id="c1", speculate=speculate,
                             early_asr=early_asr)
    return ctl, agent, model, transcriber, events


async def test_the_pause_uses_the_asr_started_at_the_first_quiet_window():
    # Tried: 0.6 s of tone, then silence, with a 160 ms (five-window) pause rule.
    ctl, agent, model, transcriber, events = make("what time is it")
    await push(ctl, np.concatenate([tone(0.6), silence(0.7)]))
    done = (await finished(events))[0]
    assert done.status == "completed" and done.speculation == "committed"
    # One ASR pass for the whole turn, handed over before any pause had been reported.
    assert len(transcriber.calls) == 1 and transcriber.calls[0][1] == 0
    assert transcriber.cancelled == 0  # taken over by the pause's speculation, not dropped
    # Its clip ends one quiet window after the tone (plus the segmenter's preroll).
    assert 0.6 <= transcriber.calls[0][0] <= 0.6 + 0.2 + 0.033
    assert model.calls[0][0][-1].content == "what time is it"
    await played_out(ctl)
    await ctl.close()
    history = await agent.services.memory.history("c1")
    assert [(t.role, t.text) for t in history] == [
        ("user", "what time is it"), ("assistant", "It is 12 noon.")]


async def test_a_gap_inside_the_speech_leaves_no_trace():
    # Tried: tone, a 64 ms gap (two quiet windows, under the 160 ms pause), more tone, then
    # silence. The gap's ASR ("what time") is dropped: no speculation, no model call on it;
    # the turn is answered on the words at the real pause.
    ctl, agent, model, transcriber, events = make("what time", "what time is it")
    await push(ctl, np.concatenate([tone(0.5), silence(0.064), tone(0.4), silence(0.7)]))
    done = (await finished(events))[0]
    assert done.speculation == "committed"
    assert len(transcriber.calls) == 2
    assert transcriber.cancelled == 1  # the gap's, as soon as the tone came back
    assert ctl.speculation_stats == {"started": 1, "committed": 1, "discarded": 0}
    assert [m[0][-1].content for m in model.calls] == ["what time is it"]
    await played_out(ctl)
    await ctl.close()
    history = await agent.services.memory.history("c1")
    assert [t.text for t in history if t.role == "user"] == ["what time is it"]


async def test_sound_after_the_early_clip_is_transcribed_at_the_pause():
    # Tried: tone, two silent windows (the early ASR starts), then two faint windows at
    # -53 dBFS (quiet for the VAD, not silent: a final consonant's release), then silence.
    # The early transcript ("as not") did not hear them: the pause transcribes its own clip
    # ("ask not") and that is what the model answers.
    ctl, agent, model, transcriber, events = make("as not", "ask not")
    await push(ctl, np.concatenate([tone(0.6), silence(0.064), tone(0.064, level=0.003),
                                    silence(0.7)]))
    done = (await finished(events))[0]
    assert done.speculation == "committed"
    assert [pauses for _, pauses in transcriber.calls] == [0, 1]
    assert transcriber.calls[1][0] > transcriber.calls[0][0]
    assert transcriber.cancelled == 1  # the early run, dropped at the pause
    assert [m[0][-1].content for m in model.calls] == ["ask not"]
    await played_out(ctl)
    await ctl.close()


async def test_no_early_asr_without_speculation_or_when_switched_off():
    # Tried: the same turn with speculation off (one ASR pass, at the end of the turn) and
    # with speculation on but early_asr off (one pass, at the pause, as the session's
    # `turn_detection.early_transcription: false` asks).
    ctl, agent, model, transcriber, events = make("what time is it", speculate=False)
    await push(ctl, np.concatenate([tone(0.6), silence(0.7)]))
    done = (await finished(events))[0]
    assert done.speculation == "none"
    assert len(transcriber.calls) == 1 and transcriber.calls[0][1] == 1
    await ctl.close()
    ctl, agent, model, transcriber, events = make("what time is it", early_asr=False)
    await push(ctl, np.concatenate([tone(0.5), silence(0.064), tone(0.4), silence(0.7)]))
    done = (await finished(events))[0]
    assert done.speculation == "committed"
    assert len(transcriber.calls) == 1 and transcriber.calls[0][1] == 1
    await ctl.close()
