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

The reverse mistake is as common: asked "what day is it in Tokyo", the model writes
`get_date_time({})` and the user hears their own day. So an optional argument the model left
out (or that was just dropped) is filled when the user's latest words clearly name a value
for it: found by the tool's own `find` (the clock tool reads zone and city names), or, for
any tool, the one `enum` option the words contain, or the one word (or two words written
together) that a `pattern` accepts, when that pattern is strict enough to reject ordinary
words. Values are then put in the tool's own form (`canonical`: "tokyo" -> "Asia/Tokyo",
an `enum` option in its schema's case), so the call reads the same however it was said.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

Spellings = Callable[[str], Iterable[str]]
# A value -> the tool's own name for it, or None when the tool cannot place it.
Canonical = Callable[[str], str | None]
# The user's words -> the one value they clearly name for an argument, or None.
Finder = Callable[[str], str | None]

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_PART = re.compile(r"[/,;()]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Words any request may share with an unrelated line ("what", "your").
_FUNCTION_WORDS = frozenset({"the", "and", "you", "your", "what", "for", "with", "can", "are",
                             "this", "that", "please", "about", "how", "from", "just", "some"})
# Ordinary words: a `pattern` that accepts any of them matches too much to identify a value.
_PROBES = ("what", "the", "please", "time", "weather", "hello", "today", "tokyo", "a", "it")


class ArgumentResolver(BaseModel):
    """What a tool knows about the values of one of its arguments (all parts optional)."""

    model_config = ConfigDict(frozen=True)

    spellings: Spellings | None = None  # other names users say for a value
    canonical: Canonical | None = None  # the tool's own form of a value
    find: Finder | None = None  # the value the user's words name
    # The argument is the user's own words for what they want (a search query): see
    # `ground_arguments`.
    user_words: bool = False


class GroundedArguments(BaseModel):
    """The arguments to dispatch, and the optional ones removed (name -> value)."""

    arguments: dict[str, Any]
    dropped: dict[str, Any]
    filled: dict[str, Any] = {}  # optional arguments added from the user's words
    replaced: dict[str, Any] = {}  # user-words arguments copied from elsewhere (old values)


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
            # Written together ("losangeles"); two characters suffice for Chinese or
            # Japanese names (东京), whose words are not separated by spaces.
            joined = "".join(parts)
            if len(joined) > (1 if _CJK.search(joined) else 3) and joined in compact_said:
                return True
    return False


def ground_arguments(arguments: Mapping[str, Any], parameters: Mapping[str, Any] | None,
                     said: str, *, spellings: Mapping[str, Spellings] | None = None,
                     resolvers: Mapping[str, ArgumentResolver] | None = None,
                     latest: str | None = None) -> GroundedArguments:
    """Keep required and non-string arguments; keep optional strings the user supports; then
    fill the optional arguments still missing that `latest` (the user's newest turn; `said`
    when not given) clearly names, and put string values in the tool's own form.

    `parameters` is the tool's JSON schema for its arguments (`required` names the required
    ones); `spellings` maps an argument name to the tool's alternative names for a value,
    `resolvers` to everything the tool knows about its values (its spellings included).

    An argument the tool marks as the user's own words (`user_words`: a query) whose words
    are mostly not in `latest` was copied from somewhere else: a small model writes a line
    of the history ("I just got home") or of the schema ("voice or sound they want", around
    the one word it shares with the request) into it. It is replaced by `latest` itself,
    which names what the user wants in their words.
    """
    resolvers = resolvers or {}
    heard = said if latest is None else latest
    replaced: dict[str, Any] = {}
    required = set((parameters or {}).get("required") or ())
    properties = (parameters or {}).get("properties") or {}
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for name, value in arguments.items():
        resolver = resolvers.get(name) or ArgumentResolver()
        alternatives = resolver.spellings or (spellings or {}).get(name)
        if resolver.user_words and isinstance(value, str) and heard.strip() and \
                not mostly_said(value, heard):
            replaced[name] = value
            kept[name] = " ".join(heard.split())
        elif name in required or not isinstance(value, str) or not value.strip():
            kept[name] = value
        elif is_supported(value, said, alternatives):
            kept[name] = value
        else:
            dropped[name] = value
    filled: dict[str, Any] = {}
    for name, schema in properties.items():
        if name in kept or name in required or not isinstance(schema, Mapping):
            continue
        value = find_value(schema, heard, resolvers.get(name))
        if value is not None:
            filled[name] = value
    kept.update(filled)
    for name, value in kept.items():
        if isinstance(value, str) and value.strip():
            kept[name] = canonical_value(value, properties.get(name), resolvers.get(name))
    return GroundedArguments(arguments=kept, dropped=dropped, filled=filled, replaced=replaced)


def shares_a_word(value: str, said: str) -> bool:
    """Whether `value` has a word of three letters or more (other than a few function words)
    that `said` has too, a word and its longer form counting as one ("sing", "singing")."""
    heard = [w for w in words(said) if len(w) > 2]
    return any(_heard(word, heard) for word in _content_words(value))


def mostly_said(value: str, said: str) -> bool:
    """Whether at least half of `value`'s content words (as in `shares_a_word`) are in
    `said`: a query in the user's words, perhaps shortened, not a sentence from elsewhere
    that happens to share one word with the request."""
    heard = [w for w in words(said) if len(w) > 2]
    content = _content_words(value)
    found = sum(_heard(word, heard) for word in content)
    return found > 0 and 2 * found >= len(content)


def _content_words(value: str) -> list[str]:
    return [w for w in words(value) if len(w) >= 3 and w not in _FUNCTION_WORDS]


def _heard(word: str, heard: list[str]) -> bool:
    for other in heard:
        if word == other or (min(len(word), len(other)) >= 4 and
                             (other.startswith(word) or word.startswith(other))):
            return True
        if _CJK.search(word) and (word in other or other in word):
            return True
    return False


def find_value(schema: Mapping[str, Any], said: str,
               resolver: ArgumentResolver | None = None) -> str | None:
    """The value `said` clearly names for a parameter with this JSON schema, or None: the
    tool's finder first, then the schema's `enum`, then its `pattern` (strings only)."""
    if resolver is not None and resolver.find is not None:
        found = resolver.find(said)
        if found:
            return found
    options = [o for o in schema.get("enum") or () if isinstance(o, str)]
    if options:
        return _one_option(options, said)
    if isinstance(schema.get("pattern"), str) and schema.get("type", "string") == "string":
        return _one_pattern_match(schema["pattern"], said)
    return None


def canonical_value(value: str, schema: Mapping[str, Any] | None,
                    resolver: ArgumentResolver | None = None) -> str:
    """`value` in the tool's own form where the tool or the schema defines one."""
    if resolver is not None and resolver.canonical is not None:
        return resolver.canonical(value) or value
    for option in (schema or {}).get("enum") or ():
        if isinstance(option, str) and option.lower() == value.strip().lower():
            return option
    return value


def _one_option(options: list[str], said: str) -> str | None:
    """The single `enum` option whose words the user said, in order; none when several are
    (the user compares them) or when an option is a word of under three letters ("on")."""
    heard = " " + " ".join(words(said)) + " "
    found = []
    for option in options:
        option_words = words(option)
        if option_words and len("".join(option_words)) >= 3 and \
                f" {' '.join(option_words)} " in heard:
            found.append(option)
    return found[0] if len(found) == 1 else None


def _one_pattern_match(pattern: str, said: str) -> str | None:
    """The single word (or two adjacent words written together: "ua 123") that `pattern`
    accepts, tried as said and in capitals (speech arrives in lower case); None when the
    pattern also accepts ordinary words, or when several values match."""
    try:
        rule = re.compile(pattern)
    except re.error:
        return None
    if any(rule.search(probe) or rule.search(probe.upper()) for probe in _PROBES):
        return None
    tokens = said.split()
    tokens = [t.strip(".,;:!?\"'()") for t in tokens]
    candidates = [*tokens, *(a + b for a, b in zip(tokens, tokens[1:], strict=False))]
    found: list[str] = []
    for candidate in candidates:
        for form in (candidate, candidate.upper()):
            if form and rule.search(form) and form not in found:
                found.append(form)
                break
    # A pair can contain a word that matched alone ("ua123" and "123"): keep the longest.
    found = [f for f in found if not any(f != g and f in g for g in found)]
    return found[0] if len(found) == 1 else None
