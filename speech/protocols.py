"""The speech seams: voice activity detection, speech -> text/tokens, text -> audio.

Backends (embedded, Step-Audio, test fakes) implement these protocols; the agent graph only
ever talks to the protocols, so a backend is swapped by passing another object.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from speech.audio import AudioClip
from speech.style import Style


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """One stretch of speech found by a VAD, in seconds from the start of the clip."""

    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Transcription:
    """What a `SpeechTokenizer` heard: text for ASR backends, `<audio_N>` tokens for Step-Audio."""

    text: str
    language: str | None = None
    audio_tokens: str | None = None


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A piece of synthesized speech: mono float32 samples in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int
    text: str = ""  # the sentence this chunk speaks, for captions and history
    extra: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


@runtime_checkable
class VoiceActivityDetector(Protocol):
    """Finds speech in a clip. `sample_rate` is the rate the detector wants its input at."""

    sample_rate: int

    def segments(self, clip: AudioClip) -> list[SpeechSegment]: ...


@runtime_checkable
class SpeechTokenizer(Protocol):
    """Turns a clip of speech into text (ASR) or Step-Audio speech tokens."""

    sample_rate: int

    async def transcribe(self, clip: AudioClip) -> Transcription: ...


@runtime_checkable
class SpeechDecoder(Protocol):
    """Turns text into a stream of audio chunks; the first chunk should come as early as it can.

    `style` is how to speak it (parsed instruction tags; the text itself never holds tags).
    None means the decoder's neutral voice, and a call without `style` must keep working. A
    decoder realises what it can of a style and ignores the rest.
    """

    sample_rate: int

    def synthesize(self, text: str, style: Style | None = None) -> AsyncIterator[AudioChunk]: ...
