"""What of a reply the listener has heard so far, estimated from when its audio went out.

The server cannot see the client's speaker, so it assumes playback starts when the first
chunk is sent and runs in real time. A client that knows better can say so with
`conversation.item.truncate` (audio_end_ms), as in the OpenAI Realtime API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Sentence:
    text: str
    seconds: float = 0.0


@dataclass
class PlaybackTracker:
    clock: Callable[[], float] = time.monotonic
    started_at: float | None = None
    _sentences: dict[int, _Sentence] = field(default_factory=dict)

    def add(self, sentence_index: int, text: str, seconds: float) -> None:
        if self.started_at is None:
            self.started_at = self.clock()
        # A decoder may split one sentence into several chunks, each carrying the sentence.
        sentence = self._sentences.setdefault(sentence_index, _Sentence(text))
        sentence.seconds += seconds

    @property
    def total_s(self) -> float:
        return sum(s.seconds for s in self._sentences.values())

    def played_s(self, at: float | None = None) -> float:
        if self.started_at is None:
            return 0.0
        elapsed = (self.clock() if at is None else at) - self.started_at
        return min(max(elapsed, 0.0), self.total_s)

    def remaining_s(self) -> float:
        return self.total_s - self.played_s()

    def played_text(self, played_s: float | None = None) -> str:
        """The words heard: whole sentences, then the share of the current sentence's words
        that fits the time played (words take roughly equal time at sentence scale)."""
        left = self.played_s() if played_s is None else played_s
        words: list[str] = []
        for sentence in self._sentences.values():
            parts = sentence.text.split()
            if left >= sentence.seconds - 1e-6:
                words += parts
                left -= sentence.seconds
                continue
            if sentence.seconds > 0:
                words += parts[:int(len(parts) * left / sentence.seconds)]
            break
        return " ".join(words)
