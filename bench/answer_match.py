"""Scoring a spoken-QA reply: does it contain one of the question's accepted answers?

A reply counts as correct when any accepted answer appears in it as a whole phrase after both
sides are normalised the same way: accents dropped ("Pelé" = "Pele"), numbers read as words by
`speech.scoring.word_error_rate.normalize_transcript` ("206" = "two hundred and six", "1969" =
"nineteen sixty-nine"), case and punctuation ignored, possessives and plurals folded
("Shakespeare's", "mammals"). No answer list is tuned to a model's wording: aliases are the
forms a person would accept (a surname, a common spelling), written with the questions.

A reply that refuses, or that names a wrong answer and no right one, scores 0; a reply that
hedges between several candidates including the right one scores 1 (rare for short answers,
and the same rule applies to the framework and the bare model alike).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A number's spelling may or may not hold "and" or a leading "a"/"one" ("a hundred and six");
# both are dropped on both sides so every spelling compares equal to the digits.
_SCALES = {"hundred", "thousand", "million"}
_NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "point",
}


class QAItem(BaseModel):
    """One question of `bench/data/spoken_qa.jsonl`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    question: str = Field(min_length=3)
    answers: tuple[str, ...] = Field(min_length=1)

    @field_validator("answers")
    @classmethod
    def _no_blank_answers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not normalize_answer(a) for a in value):
            raise ValueError("an accepted answer normalises to nothing")
        return value


def load_items(path: Path) -> list[QAItem]:
    """The questions of a JSONL file, one object a line; ids must be unique."""
    items = [QAItem.model_validate(json.loads(line))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"{path}: duplicate id {item.id!r}")
        seen.add(item.id)
    return items


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def normalize_answer(text: str) -> str:
    """Lower-case words, numbers spelled out, no accents, no punctuation, no possessive 's."""
    from speech.scoring.word_error_rate import normalize_transcript

    words = [re.sub(r"'s$", "", w).replace("'", "")
             for w in normalize_transcript(_strip_accents(text)).split()]
    out = []
    for i, word in enumerate(words):
        after = words[i + 1] if i + 1 < len(words) else ""
        before = words[i - 1] if i else ""
        if word in {"a", "one"} and after in _SCALES:
            continue  # "a hundred" = "one hundred" = "100"
        if word == "and" and before in _NUMBER_WORDS and after in _NUMBER_WORDS:
            continue  # "two hundred and six" = "206"
        if word:
            out.append(word)
    return " ".join(out)


@lru_cache(maxsize=4096)
def _answer_pattern(answer: str) -> re.Pattern[str]:
    """The answer's words in order, each allowed a plural ending, as a whole phrase."""
    words = normalize_answer(answer).split()
    body = r"\s+".join(re.escape(w) + r"(?:s|es)?" for w in words)
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


def is_correct(reply: str, answers: tuple[str, ...] | list[str]) -> bool:
    """True when any accepted answer occurs in `reply` (see the module docstring)."""
    said = normalize_answer(reply)
    return any(_answer_pattern(a).search(said) for a in answers)
