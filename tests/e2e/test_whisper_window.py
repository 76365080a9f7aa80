"""Whisper on a window just long enough for the clip (speech/whisper/asr.py): short turns go
through a 10 s encoder window instead of 30 s, as well heard as before, and anything that
does not fit or loops takes the standard faster-whisper path."""

from __future__ import annotations

import numpy as np
import pytest

from embedded_gate import EVAL_MODULES, require

require("faster_whisper")
require(*EVAL_MODULES, extra="eval")

from agent.models.cache import ModelStore  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from speech import AudioClip, load_audio  # noqa: E402
from speech.whisper.asr import WhisperSpeechTokenizer  # noqa: E402
from speech.scoring.word_error_rate import word_error_rate  # noqa: E402

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(300)]

LIBRIVOX = [f"sense_and_sensibility_01_austen_64kb-{n}" for n in ("0870", "0880", "0890", "0920",
                                                                 "0930")]


@pytest.fixture(scope="module")
def asr() -> WhisperSpeechTokenizer:
    try:
        path = ModelStore(progress=False).resolve("whisper-tiny.en")
    except ModelUnavailableError as exc:
        pytest.skip(f"the packaged Whisper tiny.en is not installed: {exc}")
    return WhisperSpeechTokenizer(path, cpu_threads=2)


def transcribe(asr: WhisperSpeechTokenizer, clip: AudioClip, window_s: float | None) -> str:
    asr.window_s = window_s
    try:
        return asr.transcribe_sync(clip).text
    finally:
        asr.window_s = 10.0


@pytest.mark.shared
def test_short_window_hears_read_speech_as_well_as_the_full_window(asr, shared_file):
    """Five LibriVox sentences (3-7 s, human reader): every one takes the short window, and
    the mean word error rate is no worse than 30 s windows give (+2 points of slack)."""
    short, full = [], []
    for name in LIBRIVOX:
        reference = shared_file(f"pocketsphinx/{name}.txt").read_text().strip()
        clip = load_audio(shared_file(f"pocketsphinx/{name}.wav"))
        before = asr.short_path_runs
        short.append(word_error_rate(reference, transcribe(asr, clip, 10.0)))
        assert asr.short_path_runs == before + 1, f"{name} did not take the short window"
        full.append(word_error_rate(reference, transcribe(asr, clip, None)))
        assert asr.short_path_runs == before + 1  # window_s=None: the standard path
    print(f"\nmean WER short window {np.mean(short):.3f}, 30 s window {np.mean(full):.3f}")
    assert np.mean(short) <= np.mean(full) + 0.02, (short, full)
    assert np.mean(short) <= 0.15


@pytest.mark.shared
def test_a_clip_too_long_for_a_short_window_takes_the_standard_path(asr, shared_file):
    """The JFK clip repeated to ~29 s: with the 2 s of padding it would need a 31 s window."""
    jfk = load_audio(shared_file("whisper/jfk.flac")).resampled(16_000)
    clip = AudioClip(np.concatenate([jfk.samples] * 3)[:29 * 16_000], 16_000)
    before = asr.short_path_runs
    heard = transcribe(asr, clip, 10.0)
    assert asr.short_path_runs == before
    assert "fellow americans" in heard.lower()


@pytest.mark.parametrize("loop", [" ask not" * 40, " 10 of clubs" * 4])
def test_a_looping_short_transcript_is_redone_the_standard_way(asr, monkeypatch, loop):
    """Whisper on a too-short window can repeat one phrase until its length cap, or a few
    times and stop (too short a text for the compression ratio to show it); such a result
    (here forced by a model that always loops) must not reach the caller."""
    t = np.arange(16_000 * 2) / 16_000
    clip = AudioClip((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16_000)
    inner = asr._model.model
    loop_ids = asr._model.hf_tokenizer.encode(loop).ids

    class Looping:
        def __getattr__(self, name):
            return getattr(inner, name)

        def generate(self, features, prompts, **kwargs):
            # The encoder's output of a window shorter than 30 s (1,500 frames): the short
            # window.
            if features.shape[1] < 1500:
                class Result:
                    sequences_ids = [loop_ids[: kwargs["max_length"] - len(prompts[0])]]
                return [Result()]
            return inner.generate(features, prompts, **kwargs)

    monkeypatch.setattr(asr._model, "model", Looping())
    before = asr.short_path_runs
    heard = asr.transcribe_sync(clip).text
    assert asr.short_path_runs == before
    assert loop.strip() not in heard.lower()


def test_a_transcription_nobody_waits_for_stops_early(asr, monkeypatch):
    """Tried: a run cancelled before it got the model (skipped: no encoder), one cancelled
    while its encoder ran (no decoder; empty text), and an awaited run cancelled at once
    (CancelledError; the next run hears the clip as before)."""
    import asyncio
    import threading

    t = np.arange(16_000) / 16_000
    clip = AudioClip((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16_000)
    inner = asr._model.model
    calls: list[str] = []
    cancel = threading.Event()

    class Watching:
        def __getattr__(self, name):
            return getattr(inner, name)

        def encode(self, features, **kwargs):
            calls.append("encode")
            out = inner.encode(features, **kwargs)
            cancel.set()  # the caller leaves while the encoder runs
            return out

        def generate(self, features, prompts, **kwargs):
            calls.append("generate")
            return inner.generate(features, prompts, **kwargs)

    already = threading.Event()
    already.set()
    runs = asr.runs
    assert asr.transcribe_sync(clip, already).text == ""
    assert asr.runs == runs  # never reached the model

    monkeypatch.setattr(asr._model, "model", Watching())
    assert asr.transcribe_sync(clip, cancel).text == ""
    assert calls == ["encode"]
    monkeypatch.undo()

    async def cancelled_then_heard() -> str:
        task = asyncio.create_task(asr.transcribe(clip))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return (await asr.transcribe(clip)).text

    assert asyncio.run(cancelled_then_heard()) == asr.transcribe_sync(clip).text
