"""A call sent to the wrong one of two look-alike tools, moved by the shape of its value.

A desk has `get_reservation_details(reservation_id)` ("the 6-character booking code, e.g.
'SKW123'") and `get_flight_status(flight_number)` ("e.g. 'SK101'"). Asked "has flight SK640
landed?", a small model picks the booking tool, and the caller hears that booking SK640 does
not exist. The tool descriptions already say what each value looks like: their examples. A
value's *shape* is its letters as A and digits as 9 ("SK640" -> "AA999"), so when the value
of a required argument does not have the shape of any example of its own parameter, and has
the shape of an example of exactly one other offered tool's required parameter (whose other
required parameters the call also holds), the call goes to that tool.

Only shapes with a digit count ('Smith' and 'Amsterdam' say nothing about which tool is
meant), and only string values the model wrote for a required parameter are looked at.

Before that, a code the model miscopied is put back (`repaired_codes`): asked about booking
"skw123", the 0.5B model wrote "SK123". A value with letters and digits that the user never
said, where exactly one code the user did say has the same digits and is at most two letters
away, becomes that code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tools.calls.schema_examples import examples_in

def shape(value: str) -> str:
    """"SK640" -> "AA999", "2026-12-05" -> "9999-99-99" (case and spaces ignored)."""
    text = re.sub(r"\s+", "", value.upper())
    return re.sub(r"\d", "9", re.sub(r"[A-Z]", "A", text))


def example_shapes(spec: Mapping[str, Any]) -> set[str]:
    """The shapes of a parameter's examples that hold a digit: from its description's
    "e.g. 'X'" and from a JSON-schema `examples` list."""
    examples = examples_in(str(spec.get("description") or ""))
    examples += [e for e in spec.get("examples") or () if isinstance(e, str)]
    return {s for s in map(shape, examples) if "9" in s}


def moved_call(name: str, arguments: Mapping[str, Any],
               tools: Sequence[Mapping[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The (tool, arguments) the call belongs to by the shape of its values, or None to
    leave it where the model put it."""
    functions = {t["function"]["name"]: t["function"] for t in tools}
    own = functions.get(name)
    if own is None:
        return None
    params = own.get("parameters") or {}
    for param in params.get("required") or ():
        value = arguments.get(param)
        own_shapes = example_shapes((params.get("properties") or {}).get(param) or {})
        if not isinstance(value, str) or not own_shapes or shape(value) in own_shapes:
            continue
        found = [target for target in (_target(f, shape(value), value, arguments)
                                       for n, f in functions.items() if n != name) if target]
        if len(found) == 1:
            return found[0]
    return None


def _target(function: Mapping[str, Any], value_shape: str, value: str,
            arguments: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    required = list(params.get("required") or ())
    for param in required:
        if value_shape not in example_shapes(properties.get(param) or {}):
            continue
        moved = {param: value}
        moved.update({k: v for k, v in arguments.items() if k in properties and k not in moved
                      and v != value})
        if all(r in moved for r in required):
            return function["name"], moved
    return None


_SAID_CODE = re.compile(r"\b[A-Za-z]{1,4}\s?\d{2,}[A-Za-z]?\b|\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]{3,12}\b")


def code_left_out(name: str, arguments: Mapping[str, Any], tools: Sequence[Mapping[str, Any]],
                  latest: str) -> tuple[str, dict[str, Any]] | None:
    """The (tool, arguments) for the one code the caller's latest turn says, when the model
    called a tool that neither uses it nor has a parameter of its shape, and exactly one
    other offered tool takes a code of that shape: "When does flight SK101 depart?" went to
    `get_date_time()` after a change to another tool's description moved the 0.5B's odds;
    it belongs to `get_flight_status(flight_number='SK101')`."""
    said = {c.upper().replace(" ", "") for c in _SAID_CODE.findall(latest)}
    said = {c for c in said if "A" in shape(c) and "9" in shape(c)}
    functions = {t["function"]["name"]: t["function"] for t in tools}
    own = functions.get(name)
    if len(said) != 1 or own is None:
        return None
    code = said.pop()
    used = {str(v).upper().replace(" ", "") for v in arguments.values()}
    own_shapes = set().union(*(example_shapes(p) for p in
                               ((own.get("parameters") or {}).get("properties") or {}).values()))
    if code in used or shape(code) in own_shapes:
        return None
    found = [t for t in (_target(f, shape(code), code, {}) for n, f in functions.items()
                         if n != name) if t]
    return found[0] if len(found) == 1 else None


def repaired_codes(arguments: Mapping[str, Any], said: str) -> dict[str, Any]:
    """`arguments` with each miscopied code replaced by the one the user said (see above)."""
    said = re.sub(r"\b([A-Za-z]) (?=[A-Za-z]\b)", r"\1", said)  # "s k w 123" -> "skw 123"
    codes = {re.sub(r"\s", "", c).upper() for c in _SAID_CODE.findall(said)}
    repaired = dict(arguments)
    for name, value in arguments.items():
        if not isinstance(value, str) or not re.search(r"\d", value) or \
                not re.search(r"[A-Za-z]", value):
            continue
        written = re.sub(r"\s", "", value).upper()
        if written in codes:
            continue
        digits = re.sub(r"\D", "", written)
        near = [c for c in codes if re.sub(r"\D", "", c) == digits and _distance(c, written) <= 2]
        if len(near) == 1:
            repaired[name] = near[0]
    return repaired


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (codes are short)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]
