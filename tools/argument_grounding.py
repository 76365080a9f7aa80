"""Dropping optional tool arguments that the user never said.

A small model fills optional parameters with guesses: asked "what time is it", it calls
`get_date_time(timezone="America/New_York")` and the user hears another city's time. An
optional argument is the model's to *copy* from the conversation, not to invent, so before
dispatch every optional string argument is checked against what the user said, and removed
when nothing in the user's words supports it; the tool then uses its own default. Required
arguments, and arguments that are not strings (numbers, flags, lists), are always kept.

A value is supported when one of its parts (split at "/", ",", ";" and brackets) has all its
words among the user's words, ignoring words of one or two characters ("Asia/Tokyo" by "what
time is it in tokyo", "America/New_York" by "in new york" but not by "what's new"), or is
in the user's words written together ("losangeles"), or when one of the value's other
spellings is: `spellings(value)` may list names users say for it ("PST" or "pacific" for
"America/Los_Angeles"), which only the tool knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

Spellings = Callable[[str], Iterable[str]]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PART = re.compile(r"[/,;()]")


class GroundedArguments(BaseModel):
    """The arguments to dispatch, and the optional ones removed (name -> value)."""

    arguments: dict[str, Any]
    dropped: dict[str, Any]


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def is_supported(value: str, said: str, spellings: Spellings | None = None) -> bool:
    """Whether `value` (or one of its spellings) is backed by the words in `said`."""
    heard = set(words(said))
    compact_said = "".join(words(said))
    for candidate in (value, *(spellings(value) if spellings else ())):
        for part in _PART.split(candidate):
            parts = [w for w in words(part) if len(w) > 2] or words(part)
            if parts and all(p in heard for p in parts):
                return True
            if len("".join(parts)) > 3 and "".join(parts) in compact_said:
                return True
    return False


def ground_arguments(arguments: Mapping[str, Any], parameters: Mapping[str, Any] | None,
                     said: str, *, spellings: Mapping[str, Spellings] | None = None
                     ) -> GroundedArguments:
    """Keep required and non-string arguments; keep optional strings the user supports.

    `parameters` is the tool's JSON schema for its arguments (`required` names the required
    ones); `spellings` maps an argument name to the tool's alternative names for a value.
    """
    required = set((parameters or {}).get("required") or ())
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in required or not isinstance(value, str) or not value.strip():
            kept[name] = value
        elif is_supported(value, said, (spellings or {}).get(name)):
            kept[name] = value
        else:
            dropped[name] = value
    return GroundedArguments(arguments=kept, dropped=dropped)
