"""Scoring function calls against BFCL possible answers, by the leaderboard's AST rules.

An implementation written here of the rules BFCL v4's AST checker applies to Python
categories (non-live and live simple/multiple/parallel/parallel_multiple, irrelevance,
relevance). A call is `{"name": str, "arguments": dict}`; the expected calls are BFCL's
`[{function name: {param: [accepted values]}}]`.

Per call (one expected function, its spec from the offered functions):

1. Name: the call names the expected function, either as written (`math.factorial`) or with
   every dot made an underscore (`math_factorial`, what chat APIs allow; BFCL does the same
   for such models).
2. Every parameter the spec lists as required is present.
3. No unknown parameter: each given parameter is in the spec's properties and in the
   possible answer (a parameter the answer does not list may not be given).
4. Types, from the spec's BFCL type name: string/integer/float/boolean/array/tuple/dict
   (`any` is read as string). `bool` is not an integer. An integer is accepted for a float; a
   tuple for an array/tuple (compared as a list). Array items are checked one level deep
   against the item type. A value whose type differs from the spec's but equals the type of
   the accepted values is accepted as such (BFCL's "variable" case) and compared plainly.
5. Values must be among the accepted values. Strings are compared normalised: lowercase,
   spaces and `, . / - _ * ^` removed, `'` read as `"` ("April 1, 2024" = "april 1 2024").
   Lists are compared element by element, their string elements normalised the same way.
   A dict must match one accepted dict: each of its keys accepted, each value (normalised if a
   string) among that key's accepted values, and each accepted key it leaves out allows "".
   A list of dicts must have one accepted list's length and match it dict by dict, in order.
   Anything else (numbers, booleans) by plain equality: 5 equals 5.0.
6. A parameter of the possible answer that the call leaves out must allow "" (BFCL's mark for
   "may be omitted"); otherwise the call is wrong.

Per entry, by category (see `bench.bfcl_data.scoring_kind`):

- simple, multiple: exactly one call (as many as expected), checked against the expected one;
- parallel (and parallel_multiple): as many calls as expected; each expected call, in order,
  takes the first not yet taken call that passes it; any order is fine;
- irrelevance: right when no call is made; relevance: right when at least one call is made.

`score(...)` returns a `Verdict`: `correct` and, when wrong, the first reason found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PY_TYPES: dict[str, type] = {
    "string": str, "str": str, "any": str,
    "integer": int, "int": int,
    "float": float, "number": float,
    "boolean": bool, "bool": bool,
    "array": list, "list": list, "tuple": list,
    "dict": dict, "object": dict,
}
_NORMALISE = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True, slots=True)
class Verdict:
    correct: bool
    reason: str = ""

    @property
    def kind(self) -> str:
        """The reason's first words ("wrong value", "no call", ...), for counting."""
        return self.reason.split(":", 1)[0] if self.reason else "correct"


Call = dict[str, Any]  # {"name": ..., "arguments": {...}}


def normalise(text: str) -> str:
    return _NORMALISE.sub("", text).lower().replace("'", '"')


def _type_name(value: Any) -> str:
    return type(value).__name__


def _first_answer_type(accepted: list) -> type | None:
    for option in accepted:
        if option != "":
            return type(option)
    return None


def _items_fit(value: list, item_type: type, accepted: list) -> bool:
    """One level of item type checking: some accepted option is not a list (e.g. "") or every
    item has the item type or the type of that option's items."""
    for option in accepted:
        if not isinstance(option, list):
            return True
        option_type = _first_answer_type(option)
        if all(type(item) is item_type or (option_type is not None and type(item) is option_type)
               for item in value):
            return True
    return False


def _dict_matches(value: dict, option: Any) -> bool:
    if not isinstance(option, dict):
        return False
    for key, item in value.items():
        if key not in option:
            return False
        wanted = [normalise(o) if isinstance(o, str) else o for o in option[key]]
        if (normalise(item) if isinstance(item, str) else item) not in wanted:
            return False
    return all(key in value or "" in options for key, options in option.items())


def _normalised_list(value: list) -> list:
    return [normalise(v) if isinstance(v, str) else v for v in value]


def check_call(spec: dict[str, Any], call: Call, expected: dict[str, list]) -> str | None:
    """None when `call` passes the expected call (`{param: [accepted values]}`) of the
    function `spec`; else why not."""
    params = spec.get("parameters") or {}
    properties = params.get("properties") or {}
    arguments = call.get("arguments") or {}
    if not isinstance(arguments, dict):
        return f"arguments not an object: {arguments!r}"
    for name in params.get("required") or []:
        if name not in arguments:
            return f"missing required parameter: {name!r}"
    for name, value in arguments.items():
        if name not in properties or name not in expected:
            return f"unexpected parameter: {name!r}"
        accepted = expected[name]
        type_name = str((properties[name] or {}).get("type", ""))
        want = _PY_TYPES.get(type_name)
        if type_name == "tuple" and isinstance(value, tuple):
            value = list(value)
        if want is float and type(value) is int:
            value = float(value)
        as_variable = False
        if want is not None and type(value) is not want:
            if type(value) is _first_answer_type(accepted):
                as_variable = True  # BFCL: the answer states this parameter in another type
            else:
                return (f"wrong type: {name!r} is {_type_name(value)} {value!r}, "
                        f"expected {type_name}")
        elif want is list:
            item_type = _PY_TYPES.get(str(((properties[name] or {}).get("items") or {})
                                          .get("type", "")))
            if item_type is not None and not _items_fit(value, item_type, accepted):
                return f"wrong type: items of {name!r} {value!r} are not {item_type.__name__}"
        if not as_variable and want is dict:
            if not any(_dict_matches(value, option) for option in accepted if option != ""):
                return f"wrong value: {name!r} = {value!r}, expected one of {accepted!r}"
            continue
        if not as_variable and want is list and value and all(isinstance(v, dict) for v in value):
            if not any(isinstance(option, list) and len(option) == len(value)
                       and all(_dict_matches(v, o) for v, o in zip(value, option))
                       for option in accepted):
                return f"wrong value: {name!r} = {value!r}, expected one of {accepted!r}"
            continue
        if not as_variable and want is str:
            if normalise(value) not in [normalise(o) for o in accepted if isinstance(o, str)]:
                return f"wrong value: {name!r} = {value!r}, expected one of {accepted!r}"
            continue
        if not as_variable and want is list:
            options = [_normalised_list(o) for o in accepted if isinstance(o, list)]
            if _normalised_list(value) not in options:
                return f"wrong value: {name!r} = {value!r}, expected one of {accepted!r}"
            continue
        if value not in accepted:
            return f"wrong value: {name!r} = {value!r}, expected one of {accepted!r}"
    for name, accepted in expected.items():
        if name not in arguments and "" not in accepted:
            return f"missing parameter: {name!r} (the answer needs it: {accepted!r})"
    return None


def _names_match(called: str, expected: str) -> bool:
    return called == expected or called == expected.replace(".", "_")


def _spec(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    for spec in functions:
        if spec.get("name") == name:
            return spec
    return {"name": name, "parameters": {}}


def _check_one(functions: list[dict[str, Any]], call: Call, answer: dict[str, dict]) -> str | None:
    (expected_name, expected), = answer.items()
    if not _names_match(str(call.get("name", "")), expected_name):
        return f"wrong function: called {call.get('name')!r}, expected {expected_name!r}"
    reason = check_call(_spec(functions, expected_name), call, expected)
    return f"{reason} (in {expected_name})" if reason else None


def score(kind: str, functions: list[dict[str, Any]], calls: list[Call],
          possible_answer: list[dict[str, dict]] | None) -> Verdict:
    """The verdict on `calls` for one entry scored as `kind` (see module docstring)."""
    if kind == "irrelevance":
        return Verdict(True) if not calls else Verdict(
            False, f"called: {', '.join(str(c.get('name')) for c in calls)} (no function fits)")
    if kind == "relevance":
        return Verdict(bool(calls), "" if calls else "no call: a function fits")
    answers = possible_answer or []
    if not calls:
        return Verdict(False, "no call")
    if len(calls) != len(answers):
        return Verdict(False, f"wrong count: {len(calls)} calls, expected {len(answers)}")
    if kind in ("simple", "multiple"):
        reason = _check_one(functions, calls[0], answers[0])
        return Verdict(reason is None, reason or "")
    taken: set[int] = set()
    for number, answer in enumerate(answers):
        reasons = []
        for index, call in enumerate(calls):
            if index in taken:
                continue
            reason = _check_one(functions, call, answer)
            if reason is None:
                taken.add(index)
                break
            reasons.append(reason)
        else:
            # The most telling reason: from a call to the right function, when there is one.
            named = [r for r in reasons if not r.startswith("wrong function")]
            return Verdict(False, f"{(named or reasons)[0]} [expected call {number + 1} of "
                                  f"{len(answers)} matches no remaining call]")
    return Verdict(True)


def score_case(case, calls: list[Call]) -> Verdict:
    """`score` for a `bench.bfcl_data.BfclCase`."""
    return score(case.kind, case.functions, calls, case.possible_answer)
