"""Character error rate for Chinese (and Chinese with English words), for tests and benchmarks.

Whisper writes Chinese in traditional or simplified characters as it likes, numbers as digits
("2026年") and punctuation of its own. None of that is a speech error, so both sides are
normalised first: traditional -> simplified (OpenCC, the `eval` extra), digits -> the Mandarin
reading (`speech.mandarin.numbers`, the same rules the voice speaks by), Latin letters lower-cased,
punctuation and spaces dropped. The units compared are Chinese characters and whole Latin
words ("starbucks" is one unit, not nine; a run of Latin words is one unit).
"""

from __future__ import annotations

import re
from functools import lru_cache

from speech.mandarin.numbers import read_numbers_chinese

__all__ = ["character_error_rate", "chinese_units", "normalize_chinese_transcript"]

# A run of Latin words is one unit with its spaces removed: Whisper writes "WeChat" as
# "We chat" and "Taylor Swift" as "TaylorSwift", and neither is a speech error.
_UNIT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z0-9'’]+(?:\s+[a-z0-9'’]+)*")


@lru_cache(maxsize=1)
def _to_simplified():
    try:
        import opencc
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("character_error_rate needs OpenCC to compare traditional and "
                          "simplified characters: pip install 'stepvox[eval]'") from exc
    return opencc.OpenCC("t2s").convert


def normalize_chinese_transcript(text: str) -> str:
    """Simplified characters, Mandarin number readings, lower-case Latin, no punctuation."""
    text = _to_simplified()(text)
    text = read_numbers_chinese(text).replace("〇", "零").lower()
    return " ".join(chinese_units(text))


def chinese_units(text: str) -> list[str]:
    """The units an error is counted in: each Chinese character, each Latin word."""
    return [re.sub(r"\s+", "", unit) for unit in _UNIT.findall(text.lower())]


def _edit_distance(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference units, on normalised texts.
    An empty reference gives 0.0 against an empty hypothesis, else 1.0."""
    ref = chinese_units(normalize_chinese_transcript(reference))
    hyp = chinese_units(normalize_chinese_transcript(hypothesis))
    if not ref:
        return 0.0 if not hyp else 1.0
    return _edit_distance(ref, hyp) / len(ref)
