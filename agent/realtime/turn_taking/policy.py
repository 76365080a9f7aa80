"""`semantic_vad`: the end-of-turn silence chosen from what the user said, not only how long
they have been quiet.

A speculative reply starts on each pause; the embedded model's first step scores whether the
words so far are a finished turn (`agent.backends.llama_cpp.turn_end_odds`). Words that look finished end the
turn after a short silence; words that are clearly cut off ("what's the weather like in")
get a longer wait; anything between keeps the configured `silence_duration_ms`. Backends
that send no estimate (vLLM, Realtime, test fakes) leave the silence rule as it is.

The thresholds come from `bench/turn_end_eval.py` on the packaged 0.5B model as loaded (its
IQ4_NL copy; 346 finished requests and their cut-off forms, the turn note before the words):
97 % of finished requests score 0.05 or more, and 2 of 322 cut at a function word do (at
0.1 it would be 94.5 % and none); 1 of 346 finished requests scores under 0.01, and 97.5 %
of those cut at a function word do (under 0.005: none and 94 %). A wrong early end is
taken back when the user goes on (`SemanticTurnEnd`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Eagerness = Literal["low", "medium", "high", "auto"]

# Words after which an English sentence cannot end: articles, prepositions, conjunctions,
# auxiliaries. Short words-so-far ("Two.", "seven of clubs") score low as well, but only
# words that end in one of these, or run to four words or more, are cut off for sure.
CONNECTIVES = frozenset({
    "a", "an", "the", "in", "on", "at", "to", "for", "of", "with", "from", "about", "and",
    "or", "but", "is", "are", "was", "my", "your", "what's", "whats", "if", "that", "like",
    "me", "some", "this", "it's", "be", "by", "do", "does", "can", "could", "will", "would",
})

# eagerness -> (silence after finished-looking words, silence after cut-off words), in ms.
_WAITS: dict[str, tuple[int, int]] = {
    "high": (200, 800),
    "auto": (300, 1200),
    "medium": (300, 1200),
    "low": (500, 2000),
}


@dataclass(frozen=True, slots=True)
class TurnEndPolicy:
    silence_ms: int  # the configured rule, for estimates in between
    finished_ms: int = 300
    unfinished_ms: int = 1200
    finished_at: float = 0.05
    unfinished_below: float = 0.01

    @classmethod
    def for_eagerness(cls, eagerness: Eagerness, silence_ms: int) -> TurnEndPolicy:
        finished, unfinished = _WAITS[eagerness]
        # Never wait longer on finished words, or less on cut-off ones, than the plain rule.
        return cls(silence_ms=silence_ms, finished_ms=min(finished, silence_ms),
                   unfinished_ms=max(unfinished, silence_ms))

    def verdict(self, probability: float,
                words: str = "") -> Literal["finished", "unfinished", "unsure"]:
        """`words`: the transcript scored. A question or exclamation mark the ASR heard is
        evidence the sentence ended that the estimate (scored without it) does not see: such
        words are never taken for cut off (a misheard "how do I boil an eight?" scores ~0);
        nor are short answers ("Two.", 0.002) unless they end in a connective."""
        if probability >= self.finished_at:
            return "finished"
        if probability < self.unfinished_below and _may_be_cut_off(words):
            return "unfinished"
        return "unsure"

    def wait_ms(self, verdict: Literal["finished", "unfinished", "unsure"]) -> int:
        return {"finished": self.finished_ms, "unfinished": self.unfinished_ms,
                "unsure": self.silence_ms}[verdict]

    def end_of_turn_ms(self, probability: float, words: str = "") -> int:
        return self.wait_ms(self.verdict(probability, words))


def _may_be_cut_off(words: str) -> bool:
    text = words.strip()
    if not text:
        return True  # nothing to go by but the estimate
    if text.endswith(("?", "!")):
        return False
    tokens = text.rstrip(".…。").split()
    return len(tokens) >= 4 or tokens[-1].lower().strip(",;:") in CONNECTIVES
