"""Numbers one tool needs that another tool gives: to be fetched, not made up.

A plugin with `forecast(city)`, `feels_like(temperature_c, wind_kmh)` and
`what_to_wear(feels_like_c)`: asked "what should I wear in Oslo today?", the 0.5B model
wrote `what_to_wear(feels_like_c=50)`, and a caller in Oslo in December heard "wear light
clothes". The felt temperature is a reading of the world: nobody said it, no tool had
returned it, and the toolset has a tool that gives it. Such a value is held like any other
unsaid value (`tools.calls.schema_examples`), and the result names the tool to call first.

Which tool gives a parameter, by the words of its name (`feels_like_c` -> "feels like", the
unit suffix dropped):

- a tool whose name says it, less a verb of fetching: `feels_like`, `get_energy` and
  `calc_energy` give `energy`; `set_volume` takes a volume and gives none;
- else the one tool whose description speaks of it ("high and low temperature" gives
  `temperature_c`), unless one of that tool's own parameters does too: then the tool takes
  it ("Suggest clothing for the felt temperature": `what_to_wear` takes a temperature).

A number only the caller can give (a price or a bound, a count of people, rooms or nights:
`callers_own`) is held the same way, and the caller is asked for it.

Both rules hold only while nothing numeric was said or returned: once the caller has given
any figure, or a tool has returned one, a number the model wrote may be derived from it (a
forecast's high of 2 °C as the temperature; "the past hour" as 3600 seconds). Over every
AST category of BFCL v4 (live and executable included) the rule holds back no accepted
answer (bench/produced_values_check.py); without that guard it would hold back one in 2,591.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tools.calls.said_values import name_words

# Words that carry no meaning of their own in a parameter's name.
_FILLER = frozenset({"the", "a", "an", "of", "in", "to", "for", "and", "or", "by", "is", "with",
                     "on", "at", "id", "num", "number", "value", "count", "total", "amount"})
# Unit suffixes: `temperature_c`, `wind_kmh`, `distance_km`.
_UNITS = frozenset({"c", "f", "k", "kmh", "mph", "ms", "s", "sec", "min", "pct", "percent",
                    "km", "m", "cm", "mm", "kg", "g", "lb", "lbs", "usd", "eur", "hz"})
_FETCH_VERBS = frozenset({"get", "calc", "calculate", "compute", "find", "estimate", "lookup",
                          "fetch", "check", "retrieve", "measure", "read", "determine"})
# A tool named with one of these acts on a value it is given; it gives none back.
_ACTION_WORDS = frozenset({"set", "update", "change", "book", "buy", "reserve", "add",
                           "create", "delete", "remove", "send", "make", "play", "search",
                           "cancel", "save", "write", "post", "put", "start", "stop"})
_DIGIT = re.compile(r"\d")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion dozen half quarter twice double triple "
    "couple pair".split())


# Numbers only the caller can give: what they will pay, how many of them there are. Asked
# "find a pet-friendly train station in Miami", the 0.5B wrote find_hotel(location='Miami',
# max_price_per_night=200).
_CALLERS_OWN = frozenset({"max", "min", "maximum", "minimum", "budget", "price", "cost", "fare",
                          "amount", "salary", "fee", "guests", "people", "persons", "adults",
                          "children", "passengers", "travelers", "travellers", "tickets",
                          "seats", "rooms", "nights", "party"})


def callers_own(parameter: str) -> bool:
    """Whether a number parameter is one only the caller can give (a price, a bound, a count
    of people, rooms or nights), by the words of its name."""
    return not name_words(parameter).isdisjoint(_CALLERS_OWN)


def _text_words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", text)}


def holds_a_number(text: str) -> bool:
    """Whether `text` holds a figure: a digit or a number word ("two", "a dozen")."""
    return bool(_DIGIT.search(text)) or not _NUMBER_WORDS.isdisjoint(_text_words(text))


def _takes(function: Mapping[str, Any], words: set[str]) -> bool:
    """Whether one of the tool's own parameters speaks of `words` (by name or description)."""
    properties = (function.get("parameters") or {}).get("properties") or {}
    return any(words <= name_words(n) | _text_words(str((s or {}).get("description") or ""))
               for n, s in properties.items())


def producing_tool(parameter: str, function: Mapping[str, Any],
                   tools: Sequence[Mapping[str, Any]]) -> str | None:
    """The name of the other tool in `tools` that gives `parameter` of `function` (see the
    module), or None when none does or the words do not single one out."""
    wanted = name_words(parameter) - _FILLER - _UNITS
    if not wanted:
        return None
    own = function.get("name")
    by_name, by_description = [], []
    for tool in tools:
        name = str(tool.get("name") or "")
        if not name or name == own:
            continue
        words = name_words(name.rsplit(".", 1)[-1])
        if words & _ACTION_WORDS:
            continue
        if words - _FETCH_VERBS - _FILLER == wanted:
            by_name.append(name)
        elif wanted <= _text_words(str(tool.get("description") or "")) and \
                not _takes(tool, wanted):
            by_description.append(name)
    found = by_name or by_description
    return found[0] if len(found) == 1 else None


def first_to_call(maker: str, tools: Sequence[Mapping[str, Any]]) -> str:
    """The tool to call first for a value `maker` gives: `maker` itself, unless it needs a
    number of its own that another tool gives, and so on down (`what_to_wear` needs a felt
    temperature that `feels_like` gives, which needs a temperature that `forecast` gives:
    `forecast`, which needs only a city, is called first)."""
    by_name = {str(t.get("name")): t for t in tools}
    seen = {maker}
    while (function := by_name.get(maker)) is not None:
        params = function.get("parameters") or {}
        properties = params.get("properties") or {}
        needed = [producing_tool(p, function, tools) for p in params.get("required") or ()
                  if (properties.get(p) or {}).get("type") in ("number", "integer")]
        deeper = next((n for n in needed if n is not None and n not in seen), None)
        if deeper is None:
            return maker
        seen.add(deeper)
        maker = deeper
    return maker
