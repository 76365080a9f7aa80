"""Values a model copied from a tool's own description instead of hearing them.

Tool descriptions show what a value looks like: "the airport's IATA code, e.g. 'CDG'", "the
surname on the booking, e.g. 'Smith'". Asked "when does the lounge at Oslo airport open?", a
small model writes `find_lounge(airport_code="CDG")`, and a caller in Oslo hears about Paris;
asked to cancel a booking whose code nobody gave, it sends the example code. A string value
that is one of the tool's own examples, and that nothing in the conversation says (the
caller's turns, earlier tool results, the persona's text), was copied, not heard. Such a
value is

- put back as the caller said it, when the caller's latest turn holds exactly one value of
  the example's shape ("any lounges in JFK?": 'CDG' -> 'JFK'; letters-only examples match
  only a word written in the same capitals, so "any" is no airport), or, for a place,
  exactly one place named after a preposition ("what should I wear in Oslo today?": 'Lyon'
  -> 'Oslo');
- dropped, when its argument is optional: the tool's own default applies;
- the caller's own words, when the parameter asks for their need in free words (a topic, a
  reason, a summary: "what the caller needs, in a few words, e.g. 'partly flown trip
  refund'"): the caller is never asked to summarise themselves, and their words are the
  truest summary there is;
- otherwise kept out of the call: the call is not made, and the caller is asked for it.

A value that is no example and that nobody said, where the caller's latest turn names one of
that parameter's examples ("direct flights to Lisbon", model: 'Lisboa', the schema: "e.g.
'LIS' or 'Lisbon'"), is the model's own spelling of what the caller said: it is put back as
said; so is a near spelling of one of their words, and a date is the day they named
(`tools.calls.said_values`). A date nobody named is dropped when optional, else asked for;
so is a code (letters and digits in one word: a booking code, a flight number) that nobody
said and no tool returned. A required number, written while no figure was said or returned
at all, that another offered tool gives (a felt temperature) or only the caller can give (a
budget) is held too (`tools.calls.produced_values`). Any other unsaid value is left to the
tool to judge.

An `enum` parameter is exempt: choosing one of its listed options is the model's job, as is
a code that abbreviates what the caller said ('AAPL' for "apple stock", `stands_for_said`).
So is a value the parameter's own description documents as its choices or its default
("Can be 'summary' or 'detailed'", "Default is 52", `tools.calls.documented_values`): in prose
rather than as an `enum`, it is the same contract; asked for "detail information", the model
that writes 'detailed' chose an option, and the full deck of a poker tool whose `deck_size`
"Default is 52" was not made up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from tools.argument_grounding import is_supported
from tools.calls.documented_values import (
    EXAMPLE_OPENER as _OPENER, QUOTED as _QUOTED, SEGMENT_END as _SEGMENT_END, is_documented,
    value_key as _key,
)
from tools.calls.produced_values import (
    callers_own, first_to_call, holds_a_number, producing_tool,
)
from tools.calls.said_values import (
    date_for_call, is_date_parameter, route_end, route_reversed, said_magnitude, said_spelling,
)

# Written without quotes ("e.g. San Francisco, CA"), only after e.g. / for example.
_UNQUOTED_OPENER = re.compile(r"e\.g\.|eg\.|for example|for instance", re.I)
MIN_CHARS = 2
# What a small model writes when it fills the slot with the schema itself (BFCL v4
# simple_python_227: `type='string'` for "a personality type").
_PLACEHOLDERS = frozenset({"string", "str", "integer", "int", "number", "float", "boolean",
                           "bool", "array", "list", "object", "dict", "null"})
# A code: letters and digits together, one word ('SKW123', 'SK 641' is two and not one).
_CODE = re.compile(r"(?=[A-Za-z-]*\d)(?=[\d-]*[A-Za-z])[A-Za-z0-9-]{3,}")
# A person's name as said: capitalised words, with the particles names carry ("de Vries").
_NAME = r"(?-i:(?:(?:de|van|von|der|den|da|di|du|le|la|al|el)\s+)*[A-Z][\w'’-]+(?:\s+(?:(?:de|van|von|der|den|da|di|du|le|la)\s+)*[A-Z][\w'’-]+)?)"
# A number standing alone: "35 euros", not the 35 inside "SKW357".
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
_GROUPED = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_NUMBER_WORDS.update({"a": 1, "an": 1, "single": 1, "couple": 2, "pair": 2, "dozen": 12})
# A parameter for the caller's need in free words, by its name or description.
_FREE_WORDS = re.compile(
    r"\b(?:topic|reason|summary|summari[sz]e|describ\w*|description|issue|problem|complaint|"
    r"message|note|comment|what the (?:caller|user|customer|client) (?:needs|wants)|"
    r"in (?:a few|their own|your own) words)\b", re.I)


def examples_in(text: str) -> list[str]:
    """The example values a description gives, in order."""
    found: list[str] = []
    for opener in _OPENER.finditer(text or ""):
        rest = text[opener.end():]
        segment = rest[:_SEGMENT_END.search(rest).start()]
        quoted = _QUOTED.findall(segment)
        if quoted:
            found.extend(q.strip() for q in quoted)
        elif _UNQUOTED_OPENER.fullmatch(opener.group(0).rstrip(",: \t").strip()) and \
                0 < len(segment.strip()) <= 40:
            found.append(segment.strip())
    return [f for f in dict.fromkeys(found) if len(f) >= MIN_CHARS]


def tool_examples(function: Mapping[str, Any]) -> list[str]:
    """Every example a tool's schema shows: in its description, its parameters'
    descriptions and their JSON-schema `examples`."""
    found = examples_in(str(function.get("description") or ""))
    for spec in ((function.get("parameters") or {}).get("properties") or {}).values():
        if isinstance(spec, Mapping):
            found += examples_in(str(spec.get("description") or ""))
            found += [e for e in spec.get("examples") or () if isinstance(e, str)]
    return list(dict.fromkeys(found))


def _shape(value: str) -> str:
    """Letters as A/a (case kept), digits as 9, spaces dropped: "SK 482" -> "AA999"."""
    text = re.sub(r"\s+", "", value)
    return re.sub(r"\d", "9", re.sub(r"[A-Z]", "A", re.sub(r"[a-z]", "a", text)))


def said_like(example: str, latest: str) -> str | None:
    """The one value in `latest` shaped like `example`, or None. With a digit in the
    example, case is ignored and two adjacent words may form the value ("sk 640"); a
    letters-only example must be a code in capitals ('CDG'), and needs a word in the same
    capitals ("JFK"). A capitalised name has no shape: 'Smith' would take the first
    five-letter word that opens a sentence ("Could you cancel it?")."""
    if not re.fullmatch(r"[A-Za-z0-9 ]{2,12}", example) or not re.search(r"[A-Z0-9]", example):
        return None  # a phrase ('partly flown trip refund'): no shape
    if not re.search(r"\d", example) and re.search(r"[a-z]", example):
        return None  # a name ('Smith', 'Paris'): any capitalised word has its shape
    tokens = [t.strip(".,;:!?\"'()") for t in latest.split()]
    candidates = [*tokens, *(a + b for a, b in zip(tokens, tokens[1:], strict=False))]
    digits = any(c.isdigit() for c in example)
    want = _shape(example.upper() if digits else example)
    found = {c.upper() if digits else c for c in candidates
             if c and _shape(c.upper() if digits else c) == want}
    if digits:
        found = {f for f in found if any(ch.isdigit() for ch in f) and
                 any(ch.isalpha() for ch in f) == any(ch.isalpha() for ch in example)}
    return found.pop() if len(found) == 1 else None


def said_name(name: str, spec: Mapping[str, Any], latest: str) -> str | None:
    """The name the caller gave in so many words ("my surname is Lindqvist", "surname
    Okafor", "last name: de Vries") for a parameter that asks for a name, or None."""
    about = f"{name.replace('_', ' ')} {spec.get('description') or ''}".lower()
    if re.search(r"surname|last name|family name", about):
        words = r"(?:sur|last |family )name"
    elif "first name" in about:
        words = r"first name"
    elif "name" in about:
        words = r"(?:(?:sur|last |family |first |full )?name)"
    else:
        return None
    found = re.search(rf"\b{words}(?:\s+is|'s|:)?\s+({_NAME})", latest, re.I)
    if found:
        return found.group(1)
    if words.startswith("(?:sur"):  # "my name is Tom Berger": the surname is after the first
        whole = re.search(rf"\b(?:my name is|my name's|name's)\s+({_NAME})", latest, re.I)
        parts = whole.group(1).split(None, 1) if whole else []
        return parts[1] if len(parts) == 2 else None
    return None


# A parameter for a person's own name, by its name or description.
_PERSONS_NAME = re.compile(r"\b(?:surname|last name|family name|first name|full name|"
                           r"(?:passenger|customer|caller|client|guest|user)'?s? name)\b", re.I)


# A parameter for a place, by its name or description.
_PLACE = re.compile(r"\b(?:city|town|place|location|destination|origin|country|region|area|"
                    r"village|state|province)\b", re.I)
# A place as said: capitalised words after a preposition ("in Oslo", "to New York").
_SAID_PLACE = r"\b(?:{})\s+((?-i:[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+){{0,2}}))"
_ANY_PLACE = "in|at|for|near|around|to|from|of"


def said_place(name: str, spec: Mapping[str, Any], latest: str) -> str | None:
    """The one place the caller named after a preposition ("what should I wear in Oslo
    today?") for a parameter that asks for a place, or None (none named, or two). A route's
    end takes only what follows its own word: a destination "to ...", an origin "from ..."."""
    about = f"{name.replace('_', ' ')} {spec.get('description') or ''}"
    if not _PLACE.search(about):
        return None
    words = route_end(name) or _ANY_PLACE
    found = {m.group(1) for m in re.finditer(_SAID_PLACE.format(words), latest)} - {"I"}
    return found.pop() if len(found) == 1 else None


class CopiedValues(BaseModel):
    """What the check did to one call's arguments."""

    arguments: dict[str, Any]  # to send, when `unsaid` is empty
    repaired: dict[str, tuple[str, str]] = {}  # argument -> (copied, as the caller said it)
    dropped: dict[str, str] = {}  # optional arguments removed
    unsaid: dict[str, str] = {}  # required arguments nobody said: ask for them
    fetch_first: dict[str, str] = {}  # of those, argument -> the tool that gives it


def check_copied_values(arguments: Mapping[str, Any], function: Mapping[str, Any],
                        conversation: str, latest: str, caller: str | None = None,
                        tools: Sequence[Mapping[str, Any]] = (), heard: str | None = None
                        ) -> CopiedValues:
    """Find the string arguments that repeat one of the tool's own examples that
    `conversation` (everything said and returned so far) never holds, the numbers taken
    from the tool's description that the caller (`caller`: their turns) never said, and the
    required numbers another of `tools` gives, or only the caller can give, while nothing
    `heard` (the caller's turns and the tools' results) holds a figure
    (`tools.calls.produced_values`); see the module."""
    examples = {_key(e): e for e in tool_examples(function)}
    params = function.get("parameters") or {}
    required = set(params.get("required") or ())
    properties = params.get("properties") or {}
    result = CopiedValues(arguments=dict(arguments))
    described = _numbers(json.dumps(function))
    for name, value in arguments.items():
        spec = properties.get(name) if isinstance(properties.get(name), Mapping) else {}
        if is_documented(value, spec):
            continue  # one of the choices or the default the parameter documents
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            others = [v for k, v in result.arguments.items() if k != name]
            if (said := said_magnitude(value, latest, str(spec.get("description") or ""),
                                       others)) is not None:
                result.arguments[name] = said  # 500000000 for "50 million"
                result.repaired[name] = (value, said)
            elif value in described and not said_number(value, latest if caller is None
                                                        else caller):
                _unsaid(result, name, value, name in required)
            elif name in required and not holds_a_number(latest if heard is None else heard):
                if tools and (maker := producing_tool(name, function, tools)) is not None:
                    _unsaid(result, name, value, True)  # feels_like_c=50: a reading made up
                    result.fetch_first[name] = first_to_call(maker, tools)
                elif callers_own(name):
                    _unsaid(result, name, value, True)  # max_price=200: theirs to say
            continue
        if is_date_parameter(spec):
            _check_date(result, name, value, spec, latest, conversation, name in required)
            continue
        if not isinstance(value, str) or len(value.strip()) < MIN_CHARS or spec.get("enum"):
            continue
        example = examples.get(_key(value))
        if is_supported(value, conversation):
            continue
        if value.strip().lower() in _PLACEHOLDERS | {name.lower()}:
            _unsaid(result, name, value, name in required)  # type='string': a slot, not a value
            continue
        if example is None:
            # Not an example, and nobody said it: the model's own spelling of a value the
            # caller named ("to Lisbon" -> 'Lisboa'; tools.calls.said_values).
            others = [v for k, v in result.arguments.items() if k != name]
            named = _other_example_said(spec, value, latest) or \
                said_spelling(value, latest, others)
            if named is not None and named not in others:
                result.arguments[name] = named
                result.repaired[name] = (value, named)
            elif _CODE.fullmatch(value.strip()):
                # A booking code or flight number nobody said and no tool returned was
                # made up (the 0.5B asked about "my flight last week" looked up SK641),
                # unless the caller's latest turn holds one code of its shape: theirs.
                if (said := said_like(value.strip(), latest)) is not None:
                    result.arguments[name] = said
                    result.repaired[name] = (value, said)
                else:
                    _unsaid(result, name, value, name in required)
            continue
        other = _other_example_said(spec, example, latest)
        if other is None and stands_for_said(value, latest):
            continue  # the model knew the code: 'AAPL' for "apple"
        swapped = other or said_like(example, latest) or said_name(name, spec, latest) or \
            said_place(name, spec, latest)
        if swapped is not None:
            result.arguments[name] = swapped
            result.repaired[name] = (value, swapped)
        elif asks_for_free_words(name, spec) and latest.strip():
            result.arguments[name] = latest.strip()
            result.repaired[name] = (value, latest.strip())
        else:
            _unsaid(result, name, value, name in required)
    for name, spec in properties.items():
        # A name the caller gave in so many words for a parameter the call left out ("booking
        # SKW123, surname Smith" -> get_reservation_details(reservation_id='SKW123')): a
        # desk that checks a surname it is given could not check one it never got.
        if name not in result.arguments and isinstance(spec, Mapping) and \
                spec.get("type", "string") == "string" and \
                _PERSONS_NAME.search(f"{name.replace('_', ' ')} {spec.get('description') or ''}") \
                and (said := said_name(name, spec, latest)) is not None:
            result.arguments[name] = said
            result.repaired[name] = ("", said)
    if (ends := route_reversed(result.arguments, function, latest)) is not None:
        origin, destination = ends  # "from Rome to Amsterdam", written the other way round
        args = result.arguments
        args[origin], args[destination] = args[destination], args[origin]
        result.repaired[origin] = (args[destination], args[origin])
        result.repaired[destination] = (args[origin], args[destination])
    return result


def _unsaid(result: CopiedValues, name: str, value: Any, required: bool) -> None:
    if required:
        result.unsaid[name] = value
    else:
        del result.arguments[name]
        result.dropped[name] = value


def _numbers(text: str) -> set[float]:
    # "$200,000" is one number: thousands separators go before the digits are read.
    return {float(n) for n in _NUMBER.findall(_GROUPED.sub("", text))}


def said_number(value: float, words: str) -> bool:
    """Whether `words` say the number `value`, in digits or as a word ("two bags", "a bag")."""
    if float(value) in _numbers(words):
        return True
    return any(_NUMBER_WORDS.get(w) == value for w in re.findall(r"[a-z]+", words.lower()))


def asks_for_free_words(name: str, spec: Mapping[str, Any]) -> bool:
    """Whether a string parameter takes the caller's need in their own words (no listed
    options, no pattern or format to follow)."""
    if spec.get("enum") or spec.get("pattern") or spec.get("format"):
        return False
    return bool(_FREE_WORDS.search(f"{name.replace('_', ' ')} {spec.get('description') or ''}"))


def stands_for_said(value: str, latest: str) -> bool:
    """Whether a code in capitals abbreviates what the caller said: its letters (doubles
    once) in order within one said word that starts with the same letter ('AAPL' for
    "apple", 'MSFT' for "microsoft"), or the initials of said words in a row ('CDG' for
    "Charles de Gaulle"). The model knew the code; it did not copy the example."""
    if not re.fullmatch(r"[A-Z]{2,5}", value):
        return False
    letters = re.sub(r"(.)\1+", r"\1", value.lower())
    words = re.findall(r"[a-z]+", latest.lower())
    if any(w[0] == letters[0] and len(w) > len(letters) and _in_order(letters, w)
           for w in words):
        return True
    initials = "".join(w[0] for w in words)
    return len(value) >= 3 and value.lower() in initials


def _in_order(letters: str, word: str) -> bool:
    rest = iter(word)
    return all(ch in rest for ch in letters)


def _check_date(result: CopiedValues, name: str, value: Any, spec: Mapping[str, Any],
                latest: str, conversation: str, required: bool) -> None:
    """A date the model wrote is the day the caller named; with none named, it was invented:
    dropped when optional, else the caller is asked for it."""
    date, named = date_for_call(value, spec, latest, conversation)
    if named and date is not None and date != value:
        result.arguments[name] = date
        result.repaired[name] = (str(value), date)
    elif not named and required:
        result.unsaid[name] = str(value)
    elif not named:
        del result.arguments[name]
        result.dropped[name] = str(value)


def _other_example_said(spec: Mapping[str, Any], example: str, latest: str) -> str | None:
    """Another example of the same parameter that the caller said ("e.g. 'AMS' or
    'Amsterdam'": asked about "Amsterdam", the model wrote 'AMS'): the one they meant."""
    own = [*examples_in(str(spec.get("description") or "")),
           *(e for e in spec.get("examples") or () if isinstance(e, str))]
    said = {e for e in own if _key(e) != _key(example) and
            re.search(rf"(?<!\w){re.escape(e)}(?!\w)", latest, re.I)}
    return said.pop() if len(said) == 1 else None


def parameter_phrase(name: str, spec: Mapping[str, Any]) -> str:
    """How to ask for a parameter: "The 6-character booking code, e.g. 'SKW123'." -> "the
    6-character booking code"; its name in words when the description is long or absent."""
    text = re.split(r",? e\.g\.|[.;(]", str(spec.get("description") or ""), maxsplit=1)[0].strip()
    text = re.split(r" as [A-Z]", text, maxsplit=1)[0]  # "date as YYYY-MM-DD" -> "date"
    # Said to the caller: "the caller's surname as they said it" -> "your surname".
    text = re.sub(r"\s+as (?:they|the (?:caller|user|customer)) (?:said|gave|spelled) it\b",
                  "", text, flags=re.I)
    text = re.sub(r"\b(?:the|a) (?:caller|user|customer|client|passenger|patient)'s\b", "your",
                  text, flags=re.I)
    if not text or len(text.split()) > 8:
        return "the " + name.replace("_", " ")
    first = text.split()[0]
    if first[1:] == first[1:].lower():  # "The ..." -> "the ...", but "SkyWay ..." stays
        text = text[:1].lower() + text[1:]
    return text if text.split()[0] in ("the", "a", "an", "your", "which") else "the " + text
