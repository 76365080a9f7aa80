"""Text to speech with Piper (piper-tts, GPL-3.0: installed only with the `embedded` extra)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np

from speech.protocols import AudioChunk

_DONE = object()


class PiperDecoder:
    """`SpeechDecoder` over a Piper ONNX voice. Piper yields one chunk per sentence, so callers
    that feed whole sentences get their first audio after one sentence of synthesis."""

    def __init__(
        self,
        model_path: str | Path,
        config_path: str | Path | None = None,
        *,
        length_scale: float | None = None,
        noise_scale: float | None = None,
        noise_w_scale: float | None = None,
        volume: float = 1.0,
    ) -> None:
        from piper import PiperVoice, SynthesisConfig

        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else model_path.with_suffix(".onnx.json")
        self._voice = PiperVoice.load(model_path, config_path)
        self._config = SynthesisConfig(
            length_scale=length_scale,
            noise_scale=noise_scale,
            noise_w_scale=noise_w_scale,
            volume=volume,
        )
        self.sample_rate: int = int(self._voice.config.sample_rate)
        self.voice_name = model_path.stem
        # onnxruntime sessions are thread-safe, but interleaving two replies' sentences on two
        # cores only makes both late; one synthesis at a time.
        self._lock = threading.Lock()

    def synthesize_sync(self, text: str) -> Iterator[AudioChunk]:
        for chunk in self._voice.synthesize(text, self._config):
            samples = np.asarray(chunk.audio_float_array, dtype=np.float32)
            yield AudioChunk(samples=samples, sample_rate=chunk.sample_rate, text=text)

    def _next_locked(self, iterator: Iterator[AudioChunk]) -> object:
        with self._lock:
            return next(iterator, _DONE)

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        iterator = self.synthesize_sync(text)
        # The lock is held per sentence, not per reply: a cancelled reply (barge-in) leaves its
        # generator suspended outside the lock, and the next reply is not blocked by it.
        while True:
            chunk = await asyncio.to_thread(self._next_locked, iterator)
            if chunk is _DONE:
                break
            yield chunk  # type: ignore[misc]
