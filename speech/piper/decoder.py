"""Text to speech with Piper (piper-tts, GPL-3.0: installed only with the `embedded` extra)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import numpy as np

from speech.piper.style import MELODY_NOTE_S, PiperRendering, piper_rendering
from speech.protocols import AudioChunk
from speech.style import Style
from speech.voice_effects import (
    apply_gain, contour_mean_rate, contour_resample, resample_by, whisper,
)

_DONE = object()


def _load_voice(model_path: Path, config_path: Path):
    """`PiperVoice.load`, but with onnxruntime's worker threads told not to spin: a spinning
    pool next to a decoding LLM on two cores made a short sentence take ~180 ms instead of
    ~135 (70 ms alone either way)."""
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    with open(config_path, encoding="utf-8") as fh:
        config = PiperConfig.from_dict(json.load(fh))
    session = onnxruntime.InferenceSession(str(model_path), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return PiperVoice(config=config, session=session)


class PiperDecoder:
    """`SpeechDecoder` over a Piper ONNX voice. Piper yields one chunk per sentence, so callers
    that feed whole sentences get their first audio after one sentence of synthesis.

    A `Style` is realised for real (`speech.piper.style`): speed through `length_scale`,
    expressiveness through the noise scales, pitch by synthesizing slower and resampling,
    singing as a pitch contour, whisper as noise under the speech's spectral envelope, and
    volume as gain (a soft limiter for louder, since Piper normalizes peaks)."""

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
        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else model_path.with_suffix(".onnx.json")
        self._voice = _load_voice(model_path, config_path)
        voice_config = self._voice.config
        self._length_scale = length_scale or voice_config.length_scale
        self._noise_scale = voice_config.noise_scale if noise_scale is None else noise_scale
        self._noise_w_scale = voice_config.noise_w_scale if noise_w_scale is None else noise_w_scale
        self._volume = volume
        self.sample_rate: int = int(voice_config.sample_rate)
        self.voice_name = model_path.stem
        # onnxruntime sessions are thread-safe, but interleaving two replies' sentences on two
        # cores only makes both late; one synthesis at a time.
        self._lock = threading.Lock()

    def _config(self, rendering: PiperRendering):
        from piper import SynthesisConfig

        # Synthesizing k times slower and resampling by k raises the pitch by k at the
        # intended speed; a melody needs its mean rate compensated the same way.
        stretch = rendering.pitch_factor
        if rendering.melody:
            stretch *= contour_mean_rate(np.asarray(rendering.melody))
        return SynthesisConfig(
            length_scale=self._length_scale * rendering.length_factor * stretch,
            noise_scale=self._noise_scale * rendering.noise_factor,
            noise_w_scale=self._noise_w_scale * rendering.noise_w_factor,
            volume=self._volume,
        )

    def _render(self, samples: np.ndarray, rendering: PiperRendering) -> np.ndarray:
        samples = resample_by(samples, rendering.pitch_factor)
        if rendering.melody:
            samples = contour_resample(samples, self.sample_rate, np.asarray(rendering.melody),
                                       MELODY_NOTE_S)
        if rendering.whisper:
            samples = whisper(samples, self.sample_rate)
        if rendering.gain_db:
            samples = apply_gain(samples, 10 ** (rendering.gain_db / 20))
        return np.clip(samples, -1.0, 1.0).astype(np.float32)

    def synthesize_sync(self, text: str, style: Style | None = None) -> Iterator[AudioChunk]:
        rendering = piper_rendering(style)
        for chunk in self._voice.synthesize(text, self._config(rendering)):
            samples = np.asarray(chunk.audio_float_array, dtype=np.float32)
            if rendering != PiperRendering():
                samples = self._render(samples, rendering)
            yield AudioChunk(samples=samples, sample_rate=chunk.sample_rate, text=text)

    def _next_locked(self, iterator: Iterator[AudioChunk]) -> object:
        with self._lock:
            return next(iterator, _DONE)

    async def synthesize(self, text: str, style: Style | None = None) -> AsyncIterator[AudioChunk]:
        if not text.strip():
            return
        iterator = self.synthesize_sync(text, style)
        # The lock is held per sentence, not per reply: a cancelled reply (barge-in) leaves its
        # generator suspended outside the lock, and the next reply is not blocked by it.
        while True:
            chunk = await asyncio.to_thread(self._next_locked, iterator)
            if chunk is _DONE:
                break
            yield chunk  # type: ignore[misc]
