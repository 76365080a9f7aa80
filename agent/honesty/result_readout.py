"""A tool's answer read out from its own fields, when the model could not word it.

A tool answered, the model was asked twice to say the answer, and twice it only said the
caller's question back. The answer is still there, in the tool result. Rather than "sorry,
I lost my words", the caller hears the result itself: the tool's ready-to-say line when it
gives one (`spoken`), else its own fields read in order ("Here is what I found: status
confirmed; cabin economy; ..."). Only what the tool returned is said, nothing added, so
this cannot invent a fact; it is plainer than a worded answer, and short enough to speak.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_OPENING = {"en": "Here is what I found: ", "zh": "我查到的是："}
_SEPARATOR = {"en": "; ", "zh": "；"}
_YES_NO = {"en": ("yes", "no"), "zh": ("是", "否")}
_MAX_FIELDS = 8  # read past this and the caller has stopped listening
_MAX_WORDS = 45
# Free-text fields a tool fills for people: read after the facts, never instead of them.
_NOTE_KEYS = ("note", "summary", "message", "detail")
_FIGURE = (r"[\d〇零一二两三四五六七八九十百千万]|\b(?:zero|one|two|three|four|five|six|seven|"
           r"eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|forty|fifty|hundred|minus)\b")
_NAME = r"(?<![.!?:]\s)(?<!^)\b[A-Z][a-z]+"  # a capitalised word, not opening a sentence
_SENTENCE = re.compile(r"[^.!?。！？]+[.!?。！？]")
_MAX_LINES = 3  # results worded for people, read one after another
_BARE_WORDS = 3


def ready_line(results: Sequence[Any]) -> str | None:
    """The ready-to-say line (`spoken`) of the last tool that answered with one this turn:
    the clock and the weather word their answer for the caller, in the reply's language."""
    for result in reversed(results):
        if (line := _spoken(result)) is not None:
            return line
    return None


def _spoken(result: Any) -> str | None:
    data = _answer(result)
    if isinstance(data, Mapping) and isinstance(data.get("spoken"), str) and \
            data["spoken"].strip():
        return data["spoken"].strip()
    return None


def _said_line(result: Any, plain: bool) -> str | None:
    """A result worded for people: its `spoken` line, or with `plain`, plain text of a
    sentence or three that is not data (a plugin's "It feels like -4 degrees Celsius.")."""
    if getattr(result, "is_error", True):
        return None
    if (line := _spoken(result)) is not None or not plain:
        return line
    text = str(getattr(result, "content", "") or "").strip()
    if _answer(result) is not None or not text or len(text.split()) > _MAX_WORDS or \
            len(_SENTENCE.findall(text)) > 3 or not re.search(r"[.!?。！？]$", text):
        return None
    return text


def unanswered(sentence: str, results: Sequence[Any], said: str = "") -> str | None:
    """The tools' ready-to-say lines, when the model's opening sentence leaves their figures
    out. Asked "when is my flight?", the 0.5B read the booking and said "My flight is on
    schedule."; asked "how cold does it feel in Oslo?", after a forecast and a plugin's "It
    feels like -4 degrees Celsius.", it said "Yes". The tools that answered this turn gave
    lines worded for people (a `spoken` field, or, after an opening of three words at most,
    plain sentences; at most three results, 45 words in all) with figures in them (a time,
    a date, a code), and the sentence has no figure and none of the lines' names (a
    weekday, a city): the caller would not hear the
    answer, so the tools' own lines are said instead, in the order they came (when every
    tool that answered worded its answer: a record with no line of its own is not skipped).
    A sentence with any number (the model's "7:40 AM" for "07:40", Chinese numerals) or one
    of those names is the model's answer and is kept. A figure the caller said (`said`:
    "Your flight is on SKW123." for "when is my flight? SKW123") is their question read
    back, not an answer, and does not count."""
    answered = [r for r in results if not getattr(r, "is_error", True)]
    # Plain text is read only for an opening that says next to nothing ("Yes", "Sure."): a
    # page of reviews summed up as "People like the battery." is the model's answer.
    plain = len(re.findall(r"\w+", sentence)) <= _BARE_WORDS
    worded = [_said_line(r, plain) for r in answered]
    lines = list(dict.fromkeys(w for w in worded if w))
    line = " ".join(lines) if answered and all(worded) and len(lines) <= _MAX_LINES and \
        len(" ".join(lines).split()) <= _MAX_WORDS else None
    own = " ".join(_own_words(sentence, said))
    if not line or not re.search(r"\d", line) or re.search(_FIGURE, own):
        return None
    # A name from the line says the answer too: "It is Sunday.", "It has landed in Oslo."
    names = {w.lower() for w in re.findall(_NAME, line)}
    if names & {w.lower() for w in re.findall(r"[A-Za-z]+", sentence)}:
        return None
    return line


def _own_words(sentence: str, said: str) -> list[str]:
    """The sentence's words that the caller did not say (their question read back is no answer)."""
    theirs = {t.lower() for t in re.findall(r"\w+", said)}
    return [t for t in re.findall(r"\w+", sentence) if t.lower() not in theirs]


def carries_result(sentence: str, results: Sequence[Any], said: str = "") -> bool:
    """Whether the sentence says a figure or a name of a result that answered this turn
    ("leaving at 07:40", "arrives on Friday"), one the caller did not say. Asked twice about
    one booking, the model reads it out twice: the second time repeats its earlier line, and
    is still the answer."""
    found = " ".join(getattr(r, "content", "") for r in results
                     if not getattr(r, "is_error", True))
    own = _own_words(sentence, said)
    names = {w.lower() for w in re.findall(_NAME, found)}  # not a sentence's first word
    figures = [t for t in own if t.isdigit()]
    return any(t.lower() in names for t in own) or \
        any(re.search(rf"(?<!\d){f}(?!\d)", found) for f in figures)


def readout(results: Sequence[Any], language: str = "en") -> str | None:
    """What the last successful tool returned, as one spoken line, or None when no tool
    answered. `spoken` wins; otherwise scalar fields, then the first item of a list."""
    line = ready_line(results)
    if line:
        return line
    for result in reversed(results):
        if getattr(result, "is_error", True):
            continue
        data = _answer(result)
        lang = language if language in _OPENING else "en"
        if isinstance(data, Mapping):
            parts = _fields(data, lang)
        elif isinstance(data, list):
            parts = _items(data, lang, "")
        else:
            text = str(getattr(result, "content", "") or "").strip()
            parts = [text] if text else []
        if parts:
            return _trimmed(_OPENING[lang] + _SEPARATOR[lang].join(parts), lang)
    return None


def _answer(result: Any) -> Any:
    if getattr(result, "is_error", True):
        return None
    try:
        return json.loads(getattr(result, "content", "") or "")
    except ValueError:
        return None


def _fields(data: Mapping[str, Any], lang: str) -> list[str]:
    parts: list[str] = []
    lists: list[tuple[str, list]] = []
    for key, value in data.items():
        if key in _NOTE_KEYS or value is None or value == "" or value == []:
            continue
        if isinstance(value, list):
            lists.append((key, value))
        elif not isinstance(value, Mapping):
            parts.append(f"{_label(key, lang)} {_value(value, lang)}")
    for key, value in lists:  # the list after the record's own fields ("flights: ...")
        parts += _items(value, lang, _label(key, lang))
    notes = [str(data[k]).strip() for k in _NOTE_KEYS if isinstance(data.get(k), str) and data[k].strip()]
    return parts[:_MAX_FIELDS] + notes


def _items(items: list, lang: str, label: str) -> list[str]:
    scalars = [_value(i, lang) for i in items if not isinstance(i, Mapping | list)]
    if scalars:
        return [f"{label} {', '.join(scalars)}".strip()]
    first = next((i for i in items if isinstance(i, Mapping)), None)
    if first is None:
        return []
    inner = [f"{_label(k, lang)} {_value(v, lang)}" for k, v in first.items()
             if v not in (None, "") and not isinstance(v, Mapping | list)]
    head = f"{label} ({len(items)})" if len(items) > 1 else label
    return [f"{head}: {', '.join(inner[:5])}".strip(" :")] if inner else []


def _label(key: str, lang: str) -> str:
    # Field names are the tool author's words; "fare_paid_eur" reads as "fare paid eur".
    return re.sub(r"[_\-]+", " ", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key)).strip().lower()


def _value(value: Any, lang: str) -> str:
    if isinstance(value, bool):
        return _YES_NO[lang][0 if value else 1]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).strip()


def _trimmed(line: str, lang: str) -> str:
    if lang == "zh":
        return line + "。" if len(line) <= 3 * _MAX_WORDS else line[: 3 * _MAX_WORDS] + "……"
    words = line.split()
    if len(words) > _MAX_WORDS:
        line = " ".join(words[:_MAX_WORDS]).rstrip(";,:") + " ..."
    return line if line.endswith((".", "...", "!", "?")) else line + "."
