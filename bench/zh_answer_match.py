"""Scoring a Chinese spoken-QA reply: does it contain one of the question's accepted answers?

`bench/answer_match.py` scores English by words; Chinese has no spaces, so an answer is found
as a run of characters after both sides are normalised the way the Chinese character error
rate is (`speech.scoring.character_error_rate`): traditional -> simplified, digits -> their Mandarin
reading ("12个月" = "十二个月"), Latin lower-cased, punctuation and spaces dropped. A numeral
answer must not sit inside a longer number: "七" is not found in "十七天".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from speech.scoring.character_error_rate import normalize_chinese_transcript

_NUMERALS = "零〇一二两三四五六七八九十百千万亿点"


def normalize_zh_answer(text: str) -> str:
    # NFKC first: "H₂O" and full-width "１２" are the same answer as "H2O" and "12".
    return normalize_chinese_transcript(unicodedata.normalize("NFKC", text)).replace(" ", "")


@lru_cache(maxsize=4096)
def _answer_pattern(answer: str) -> re.Pattern[str]:
    said = normalize_zh_answer(answer)
    before = rf"(?<![{_NUMERALS}])" if said[:1] in _NUMERALS else ""
    after = rf"(?![{_NUMERALS}])" if said[-1:] in _NUMERALS else ""
    return re.compile(before + re.escape(said) + after)


def is_correct_zh(reply: str, answers: tuple[str, ...] | list[str]) -> bool:
    """True when any accepted answer occurs in `reply` (see the module docstring)."""
    said = normalize_zh_answer(reply)
    return any(_answer_pattern(a).search(said) for a in answers if normalize_zh_answer(a))
