"""What a parameter's description documents as the tool's own values: the choices it lists
in prose ("Can be 'summary' or 'detailed'") and its default ("Default is 52").

Written in prose rather than as an `enum` or a JSON-schema `default`, they are the same
contract. So a value among them is the model choosing, not copying from the description
(`tools.calls.schema_examples`), and the listed choices can bind the argument grammar like
an `enum` (`with_choices_as_enums`; `agent.backends.llama_cpp.chatml_prompt`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# "e.g. 'AMS' or 'Amsterdam'", "for example: \"SK101\"", "such as 'P1001'".
EXAMPLE_OPENER = re.compile(r"\b(?:e\.g\.|eg\.|for example|for instance|such as|like)[,:]?\s*",
                            re.I)
# Where a list of examples or choices ends: a sentence end, a bracket, a semicolon.
SEGMENT_END = re.compile(r"(?<=[\w'\"])\.(?:\s|$)|[);]|$")
QUOTED = re.compile(r"""['"‘“]([^'"‘’“”]{1,40})['"’”]""")


def value_key(value: str) -> str:
    """A value compared as written, spaces and case aside."""
    return re.sub(r"\s+", "", value).lower()


# "Can be 'summary' or 'detailed'", "one of: 'asc', 'desc'", "Options are 'metric' and ...".
_OPTIONS = re.compile(
    r"\b(?:can be|could be|one of|either|options?(?: are| include)?|(?:possible|allowed|"
    r"accepted|valid|supported) values?(?: are| include)?|choose from)"
    r"\b[,:]?\s*", re.I)
# A list that says it is not complete.
_OPEN_LIST = re.compile(r"\betc\b|\.\.\.|…|\band so on\b|\bamong others\b|\bor others?\b|"
                        r"\band more\b|\bor similar\b", re.I)
# "Default is 52", "defaults to 'NASDAQ'", "default: true", "(default 10)".
_DEFAULT = re.compile(
    r"\bdefaults?(?: value)?(?: is| to| of|:|=)?\s*(?:set to\s*)?"
    r"(?:['\"‘“]([^'\"‘’“”]{1,40})['\"’”]|(-?\d+(?:\.\d+)?|true|false)\b)", re.I)


def documented_choices(spec: Mapping[str, Any]) -> list[str]:
    """The values a parameter's description lists as its choices ("Can be 'melting',
    'freezing' or 'vaporization'"), in order; none for a single quoted value, which is a
    format or an example more often than a choice."""
    text = str(spec.get("description") or "")
    found: list[str] = []
    for opener in _OPTIONS.finditer(text):
        rest = text[opener.end():]
        segment = rest[:SEGMENT_END.search(rest).start()]
        # "one of the codes, e.g. 'CDG'": what follows e.g. is an example, not a choice.
        segment = segment[:m.start()] if (m := EXAMPLE_OPENER.search(segment)) else segment
        if _OPEN_LIST.search(segment):
            return []  # "'US', 'UK', etc.": a sample of the choices, not all of them
        found.extend(q.strip() for q in QUOTED.findall(segment))
    found = list(dict.fromkeys(f for f in found if f))
    return found if len(found) >= 2 else []


def with_choices_as_enums(schema: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with each string parameter's prose-listed choices as its `enum`, so a
    grammar built from it lets the model write only one of them ('boiling' where the tool
    takes 'vaporization' cannot be written). Other parameters are unchanged."""
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return dict(schema)
    changed = {}
    for name, spec in properties.items():
        if isinstance(spec, Mapping) and spec.get("type") == "string" and "enum" not in spec \
                and (choices := documented_choices(spec)):
            changed[name] = {**spec, "enum": choices}
    return {**schema, "properties": {**properties, **changed}} if changed else dict(schema)


def documented_values(spec: Mapping[str, Any]) -> list[Any]:
    """The values a parameter's description documents as its choices or its default, and
    its JSON-schema `default`: the tool's own contract, like an `enum` written in prose."""
    text = str(spec.get("description") or "")
    found: list[Any] = list(documented_choices(spec))
    for quoted, bare in _DEFAULT.findall(text):
        if quoted:
            found.append(quoted.strip())
        elif bare.lower() in ("true", "false"):
            found.append(bare.lower() == "true")
        else:
            found.append(float(bare))
    if "default" in spec and spec["default"] is not None:
        found.append(spec["default"])
    return found


def is_documented(value: Any, spec: Mapping[str, Any]) -> bool:
    """Whether `value` is one of the choices or the default `spec` documents."""
    for known in documented_values(spec):
        if isinstance(value, bool) or isinstance(known, bool):
            if value is known:
                return True
        elif isinstance(value, (int, float)) and isinstance(known, (int, float)):
            if float(value) == float(known):
                return True
        elif isinstance(value, str) and isinstance(known, str) and \
                value_key(value) == value_key(known):
            return True
    return False
