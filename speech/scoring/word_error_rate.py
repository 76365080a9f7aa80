"""Word error rate with number normalisation, for tests, benchmarks and your own evaluations.

Whisper writes numbers as digits ("8:14 a.m.", "2026", "3rd") while a reference may spell them
out, and punctuation or case never count as errors when speech is compared. So both sides go
through `normalize_transcript` first: lower case, numbers as words (num2words), punctuation
dropped, whitespace collapsed. Contractions stay one word ("i'm", "don't").

Needs the `eval` extra (`pip install 'stepvox[eval]'`): jiwer and num2words are imported only
when these functions are called.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = ["normalize_transcript", "word_error_rate"]

_EVAL_HINT = "pip install 'stepvox[eval]'"

# Spoken forms of written abbreviations (English), matched lower-cased with their dot.
_ABBREVIATIONS = {"mr.": "mister", "mrs.": "missus", "dr.": "doctor", "vs.": "versus"}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"})
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})

_ABBREVIATION_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(a) for a in _ABBREVIATIONS)
                              + r")(?=\s|$)")
# "a.m.", "a. m.", "p.m" -> "am"/"pm" ("AM" is lower-cased already).
_MERIDIEM_RE = re.compile(r"\b([ap])\.\s?m\b\.?")
# 8:14, 08:14:30 (seconds dropped), and 8.14 when am/pm follows (Whisper writes "8.14 a.m.").
_TIME_RE = re.compile(r"\b(\d{1,2}):(\d{2})(?::\d{2})?\b|\b(\d{1,2})\.(\d{2})(?=\s*[ap]m\b)")
_CURRENCY_RE = re.compile(r"\$(\d+(?:,\d{3})*)(?:\.(\d{2}))?\b")
_PERCENT_RE = re.compile(r"(\d)\s?%")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b")
_DECIMAL_RE = re.compile(r"(?<![\w.])(-?)(\d+)\.(\d+)\b")
_INTEGER_RE = re.compile(r"(?<![\w.])(-?)(\d+)\b")
_NUMBER_IN_WORD_RE = re.compile(r"\d+")
# Anything but letters, digits, apostrophes and whitespace separates words.
_PUNCTUATION_RE = re.compile(r"[^\w\s']|_")
# An apostrophe that is not between two letters is a quote mark, not part of a contraction.
_STRAY_APOSTROPHE_RE = re.compile(r"(?<!\w)'|'(?!\w)")
_SPACES_RE = re.compile(r"\s+")


def _num2words() -> Callable[..., str]:
    try:
        from num2words import num2words
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"normalize_transcript needs num2words for spelling out numbers: {_EVAL_HINT}"
        ) from exc
    return num2words


def normalize_transcript(text: str, language: str = "en") -> str:
    """`text` as lower-case words for comparing transcripts.

    Numbers become words with num2words: integers ("42" -> "forty two"), decimals ("3.5" ->
    "three point five"), ordinals ("1st" -> "first"), clock times ("8:13" -> "eight thirteen",
    "8:05" -> "eight oh five", "8:00" -> "eight"), and four-digit numbers from 1100 to 2099 as
    years ("2026" -> "twenty twenty six"). Thousands separators, "$5" and "50%" are read out;
    "a.m." becomes "am"; "Mr." becomes "mister". Hyphens and all other punctuation separate
    words and are dropped, except apostrophes inside words: contractions stay one word.

    English rules (times, years, abbreviations) apply only when `language` is English; other
    languages get num2words' integers and decimals in that language where it supports them.
    Scripts without spaces between words (Chinese, Japanese) are not split into words here.
    """
    n2w = _num2words()
    english = language.lower().split("-")[0].split("_")[0] == "en"
    lang = language.replace("-", "_")
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).translate(_DASHES)
    text = text.lower()
    text = _THOUSANDS_RE.sub("", text)

    def words(value: int | str, **kwargs) -> str:
        """num2words, hyphens as spaces and without the British "and" (en); digits as a
        fallback where num2words cannot say the number."""
        try:
            said = n2w(value, lang=lang, **kwargs)
        except (NotImplementedError, OverflowError, ValueError, TypeError, KeyError):
            return f" {value} "
        said = said.replace("-", " ").replace(",", " ")
        if english:
            said = re.sub(r"\band\b", " ", said)
        return f" {said} "

    if english:
        text = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m.group(1)], text)
        text = _MERIDIEM_RE.sub(r"\1m", text)
        text = _TIME_RE.sub(lambda m: _time_words(m, words), text)
        text = _CURRENCY_RE.sub(lambda m: _money_words(m, words), text)
        text = _PERCENT_RE.sub(r"\1 percent", text)
        text = _ORDINAL_RE.sub(lambda m: words(int(m.group(1)), to="ordinal"), text)
    text = _DECIMAL_RE.sub(lambda m: _decimal_words(m, words, english), text)
    text = _INTEGER_RE.sub(lambda m: _integer_words(m, words, english), text)
    # Digits glued to letters ("mp3", "4k") are still said as numbers.
    text = _NUMBER_IN_WORD_RE.sub(lambda m: words(int(m.group(0))), text)
    text = _PUNCTUATION_RE.sub(" ", text)
    text = _STRAY_APOSTROPHE_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


def _time_words(match: re.Match[str], words: Callable[..., str]) -> str:
    hour_text, minute_text = (match.group(1), match.group(2)) if match.group(1) else (
        match.group(3), match.group(4))
    hour, minute = int(hour_text), int(minute_text)
    if hour > 24 or minute > 59:  # not a clock time ("99:99", a score): leave it to the rest
        return match.group(0).replace(":", " ").replace(".", " ")
    if minute == 0:
        return words(hour)
    if minute < 10:
        return f"{words(hour)} oh {words(minute)}"
    return f"{words(hour)} {words(minute)}"


def _money_words(match: re.Match[str], words: Callable[..., str]) -> str:
    dollars = int(match.group(1).replace(",", ""))
    out = f"{words(dollars)} dollar{'' if dollars == 1 else 's'}"
    cents = int(match.group(2) or 0)
    if cents:
        out += f" {words(cents)} cent{'' if cents == 1 else 's'}"
    return f" {out} "


def _decimal_words(match: re.Match[str], words: Callable[..., str], english: bool) -> str:
    sign, whole, fraction = match.groups()
    if not english:
        from decimal import Decimal

        return words(Decimal(f"{sign}{whole}.{fraction}"))
    digits = " ".join(words(int(d)).strip() for d in fraction)
    return f" {'minus ' if sign else ''}{words(int(whole)).strip()} point {digits} "


def _integer_words(match: re.Match[str], words: Callable[..., str], english: bool) -> str:
    sign, digits = match.groups()
    value = int(digits)
    if not english:
        return words(-value if sign else value)
    if not sign and len(digits) == 4 and 1100 <= value <= 2099:
        return words(value, to="year")
    return f" minus {words(value).strip()} " if sign else words(value)


def _jiwer():
    try:
        import jiwer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"word_error_rate needs jiwer: {_EVAL_HINT}") from exc
    return jiwer


def word_error_rate(reference: str, hypothesis: str, *, language: str = "en") -> float:
    """(substitutions + deletions + insertions) / reference words, on normalised texts.

    An empty reference (after normalisation) gives 0.0 against an empty hypothesis and 1.0
    against anything else. The result can exceed 1.0 when the hypothesis adds many words.
    """
    jiwer = _jiwer()
    ref = normalize_transcript(reference, language)
    hyp = normalize_transcript(hypothesis, language)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0
    return float(jiwer.wer(ref, hyp))
