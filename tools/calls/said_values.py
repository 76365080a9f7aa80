"""Values the caller said, as the model failed to write them: a misspelt name, an invented date.

Asked "are there direct flights from Amsterdam to Lisbon on Friday?", the 0.5B model wrote
`search_direct_flights(origin="Amsterdam", destination="Lisboa", date="2023-05-01")`: the
city in its own spelling, which the desk does not know, and a date from its training data
for "Friday". The caller heard that SkyWay does not fly to Lisbon. Two repairs, both only
for a value that nothing in the conversation says:

- `said_spelling`: a string value one or two letters away from exactly one word (or two
  adjacent words) of the caller's latest turn is that word, as they said it ('Lisboa' ->
  'Lisbon', 'Amsterdm' -> 'Amsterdam'). Translations ('München' for "Munich") are too far
  apart to be caught, and stay the tool's to judge.
- `said_date`: a date parameter (JSON-schema `format: date`, or a description that asks for
  YYYY-MM-DD) gets the day the caller named: "today", "tomorrow", "the day after
  tomorrow", a weekday ("on Friday": the next one; today's own name is today), or a day
  and month ("December 8th", "the 8th of December": this year's, or next year's once
  passed). When the caller named no day at all, the value is the model's invention.
- `said_magnitude`: a number written with the wrong count of zeros (the caller said "a
  total payout of 50 million", the model wrote 500000000) is the number the caller said,
  when exactly one amount they said with a scale word is that value times a power of ten.
- `route_reversed`: a tool with one origin-like and one destination-like parameter (by
  name: origin/from/departure..., destination/to/arrival...) called with the two the wrong
  way round ("from Rome to Amsterdam" -> origin='Amsterdam') gets them turned back.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rapidfuzz.distance import Levenshtein

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\b", re.I)
_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+(?:the\s+)?{_DAY}\b", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
# Words that may name a day this parser does not read ("the eleventh", "next week", "in
# three days"): with one of them said, the model's date is left to the tool to judge.
_DATEISH = re.compile(
    r"\b\d{1,2}(?:st|nd|rd|th)?\b|"
    r"\b(?:week|weekend|month|year|yesterday|tonight|morning|evening|days?|" +
    "|".join(_MONTHS) + r"|(?:twen|thir)t\w*|first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|eleventh|twelfth|\w+teenth)\b", re.I)
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*")
MAX_EDITS = 2
MIN_CHARS = 4


def said_spelling(value: str, latest: str, taken: Iterable[Any] = ()) -> str | None:
    """The one word (or two adjacent words) of `latest` within `MAX_EDITS` letters of
    `value`, as the caller wrote it, unless another argument already holds it."""
    if len(value) < MIN_CHARS or len(value.split()) > 2 or any(c.isdigit() for c in value):
        return None  # codes have their own repair (tools.argument_shapes)
    words = _WORD.findall(latest)
    candidates = [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]
    target = value.lower()
    close = {c for c in candidates if len(c) >= MIN_CHARS and c.lower() != target and
             c[0].lower() == target[0] and
             Levenshtein.distance(c.lower(), target) <= min(MAX_EDITS, len(target) // 4)}
    taken_keys = {str(t).lower() for t in taken}
    close = {c for c in close if c.lower() not in taken_keys}
    if len({c.lower() for c in close}) != 1:
        return None
    found = close.pop()
    return found[:1].upper() + found[1:] if value[:1].isupper() else found


_SCALED = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(thousand|million|billion|trillion|k|bn)\b",
                     re.I)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9,
          "trillion": 1e12}


def said_magnitude(value: float, latest: str, description: str,
                   taken: Iterable[Any] = ()) -> float | int | None:
    """The amount the caller said with a scale word ("50 million", "$20k") that `value`
    misses by a power of ten (10 to 1,000, or the bare 50), when exactly one said amount
    fits and no other argument holds it; None otherwise, and when the description itself
    speaks in such units ("in millions"), where 50 is right."""
    if re.search(r"\b(?:thousand|million|billion|trillion)s?\b", description, re.I):
        return None
    held = {float(t) for t in taken if isinstance(t, (int, float)) and not isinstance(t, bool)}
    said = [(float(n), w.lower(), float(n) * _SCALE[w.lower()])
            for n, w in _SCALED.findall(latest)]
    if not value or any(math.isclose(a, value) for _, _, a in said):
        return None
    fits = set()
    for figure, word, amount in said:
        if amount in held:
            continue
        if math.isclose(figure, value):
            # The bare figure of a worded amount (50 for "50 million"); not of "5k", which
            # may be a run's five kilometres.
            if len(word) > 2:
                fits.add(amount)
        elif any(math.isclose(amount * r, value) or math.isclose(amount, value * r)
                 for r in (10, 100, 1000)):
            fits.add(amount)
    if len(fits) != 1:
        return None
    amount = fits.pop()
    return int(amount) if amount.is_integer() else amount


def is_date_parameter(spec: Mapping[str, Any]) -> bool:
    return spec.get("format") == "date" or bool(
        re.search(r"YYYY-MM-DD|ISO[ -]?8601 date|ISO date", str(spec.get("description") or "")))


def said_date(text: str, today: dt.date) -> dt.date | None:
    """The day `text` names, or None when it names none (or two different ones)."""
    low = text.lower()
    found: set[dt.date] = set()
    for year, month, day in _ISO.findall(low):
        found |= _valid(int(year), int(month), int(day))
    if re.search(r"\bday after tomorrow\b", low):
        found.add(today + dt.timedelta(days=2))
    elif re.search(r"\btomorrow\b", low):
        found.add(today + dt.timedelta(days=1))
    if re.search(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b", low):
        found.add(today)
    for match in re.finditer(r"\b(next\s+)?(" + "|".join(_WEEKDAYS) + r")\b", low):
        ahead = (_WEEKDAYS.index(match.group(2)) - today.weekday()) % 7
        found.add(today + dt.timedelta(days=ahead or (7 if match.group(1) else 0)))
    for day, month in _DAY_MONTH.findall(low):
        found |= _upcoming(today, _month(month), int(day))
    for month, day in _MONTH_DAY.findall(low):
        found |= _upcoming(today, _month(month), int(day))
    return found.pop() if len(found) == 1 else None


def date_for_call(value: Any, spec: Mapping[str, Any], latest: str, conversation: str,
                  today: dt.date | None = None) -> tuple[str | None, bool]:
    """(the date to send, whether anything named one) for a date parameter's `value`: the
    day the caller's latest turn names, else one named earlier in the conversation. A value
    the conversation holds word for word is kept. (None, False): nobody named a day."""
    if not isinstance(value, str) or not value.strip() or value.strip().lower() in \
            ("today", "tomorrow") or value in conversation:
        return (value if isinstance(value, str) else None), True
    today = today or dt.date.today()
    named = said_date(latest, today) or said_date(conversation, today)
    if named is None and _DATEISH.search(latest):
        return value, True  # a day in words this does not read: the tool judges the value
    return (named.isoformat() if named else None), named is not None


def _month(name: str) -> int:
    return next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(name.lower()[:3]))


def _valid(year: int, month: int, day: int) -> set[dt.date]:
    try:
        return {dt.date(year, month, day)}
    except ValueError:
        return set()


def _upcoming(today: dt.date, month: int, day: int) -> set[dt.date]:
    this_year = _valid(today.year, month, day)
    if this_year and next(iter(this_year)) >= today:
        return this_year
    return _valid(today.year + 1, month, day)


# Parameter-name words for the two ends of a route.
_FROM_WORDS = {"origin", "from", "departure", "departing", "source", "start", "pickup", "leaving"}
_TO_WORDS = {"destination", "dest", "to", "arrival", "arriving", "target", "end", "dropoff"}


def name_words(name: str) -> set[str]:
    """The lower-case words of a snake_case, camelCase or dotted name ('IATACode': iata, code)."""
    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)}


def route_end(name: str) -> str | None:
    """'from' for an origin-like parameter name, 'to' for a destination-like one, else None."""
    words = name_words(name)
    start, end = bool(words & _FROM_WORDS), bool(words & _TO_WORDS)
    return "from" if start and not end else "to" if end and not start else None


def route_ends(function: Mapping[str, Any]) -> tuple[str, str] | None:
    """The (origin, destination) parameter names of a route-shaped tool, or None."""
    names = list(((function.get("parameters") or {}).get("properties") or {}))
    starts = [n for n in names if name_words(n) & _FROM_WORDS]
    ends = [n for n in names if name_words(n) & _TO_WORDS]
    return (starts[0], ends[0]) if len(starts) == 1 and len(ends) == 1 else None


def said_after(word: str, value: str, latest: str) -> bool:
    """Whether `latest` says `word` right before `value` ("from Rome", "to the Hague")."""
    parts = _WORD.findall(value)
    if not parts:
        return False
    phrase = r"\W+".join(re.escape(p) for p in parts)
    return re.search(rf"\b{word}\s+(?:the\s+)?{phrase}\b", latest, re.I) is not None


def route_reversed(arguments: Mapping[str, Any], function: Mapping[str, Any],
                   latest: str) -> tuple[str, str] | None:
    """The route's two parameter names when the call has them the wrong way round: the
    caller said "from Rome to Amsterdam" and the model wrote origin='Amsterdam',
    destination='Rome'. None when the call is right, or the words do not say."""
    ends = route_ends(function)
    if ends is None:
        return None
    origin, destination = (arguments.get(n) for n in ends)
    if not (isinstance(origin, str) and isinstance(destination, str)):
        return None
    if said_after("from", destination, latest) and said_after("to", origin, latest) and not (
            said_after("from", origin, latest) or said_after("to", destination, latest)):
        return ends
    return None
