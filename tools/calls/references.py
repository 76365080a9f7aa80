"""Chained calls: arguments that name an earlier call's result (`$var1.skyId$`).

Planners (and benchmarks such as NESTFUL) emit several calls at once where a later call
uses a field of an earlier result. Such a call cannot run in parallel with its source;
`references_in` tells a dispatcher which labels a call waits for, and `resolve_references`
fills the values in once those results exist.
"""

from __future__ import annotations

import re
from typing import Any

# `$label$` or `$label.field.sub[0]$`; the whole string must be the reference to be replaced
# by the value itself (keeping its type), otherwise it is spliced into the text.
_REFERENCE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\$")


class UnresolvedReferenceError(LookupError):
    """A reference names a result that does not exist or a field it lacks."""


def references_in(arguments: Any) -> set[str]:
    """The labels `arguments` refer to, anywhere inside it."""
    if isinstance(arguments, str):
        return {m.group(1) for m in _REFERENCE.finditer(arguments)}
    if isinstance(arguments, dict):
        return set().union(*(references_in(v) for v in arguments.values())) if arguments else set()
    if isinstance(arguments, list):
        return set().union(*(references_in(v) for v in arguments)) if arguments else set()
    return set()


def resolve_references(arguments: Any, results: dict[str, Any]) -> Any:
    """`arguments` with every reference replaced by the value it names in `results`."""
    if isinstance(arguments, dict):
        return {k: resolve_references(v, results) for k, v in arguments.items()}
    if isinstance(arguments, list):
        return [resolve_references(v, results) for v in arguments]
    if not isinstance(arguments, str):
        return arguments
    whole = _REFERENCE.fullmatch(arguments)
    if whole:
        return _lookup(whole, results)
    return _REFERENCE.sub(lambda m: str(_lookup(m, results)), arguments)


def _lookup(match: re.Match[str], results: dict[str, Any]) -> Any:
    label, path = match.group(1), match.group(2)
    if label not in results:
        raise UnresolvedReferenceError(f"{match.group(0)} names {label!r}, which has no result yet")
    value = results[label]
    for part in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        key, index = part
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            raise UnresolvedReferenceError(f"{match.group(0)}: the result of {label!r} has no {key or index!r}") from None
    return value
