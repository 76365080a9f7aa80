"""How long an agent's answers after a tool call have been taking, to time the filler.

A filler is due `filler_after_s` after a tool call is decided. When the last few tool turns
all took longer than that from the decision to the answer's first token (on two CPU cores:
~1.7 s, most of it the second model pass), waiting out the delay only adds silence before a
filler that is certain to come: the filler then starts at the decision. One slow outlier
does not flip it: the median of the recent waits decides.
"""

from __future__ import annotations

import statistics
from collections import deque


class AnswerWaits:
    def __init__(self, keep: int = 8, min_seen: int = 2) -> None:
        self._waits: deque[float] = deque(maxlen=keep)
        self.min_seen = min_seen

    def observe(self, seconds: float) -> None:
        """One tool turn's wait from the call decision to the answer's first token."""
        if seconds >= 0:
            self._waits.append(seconds)

    def observe_turn(self, marks: dict[str, float]) -> None:
        """A finished turn's stage marks (ms): its wait, when it was a tool turn."""
        decided = marks.get("llm_call_decided", marks.get("llm_tool_call"))
        if decided is not None and "llm_first_token" in marks:
            self.observe((marks["llm_first_token"] - decided) / 1000)

    def expected_s(self) -> float | None:
        """The median recent wait; None until `min_seen` tool turns were measured."""
        if len(self._waits) < self.min_seen:
            return None
        return statistics.median(self._waits)

    def filler_delay_s(self, filler_after_s: float) -> float:
        """`filler_after_s`, or 0 when the answer is expected later than that anyway."""
        expected = self.expected_s()
        return 0.0 if expected is not None and expected > filler_after_s else filler_after_s
