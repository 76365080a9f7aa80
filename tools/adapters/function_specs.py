"""Tools from function specs written for other systems: OpenAI, BFCL and NESTFUL.

Benchmarks and customer-service suites describe functions in near-JSON-Schema dialects:
BFCL says `dict`, `float`, `tuple` and `any`; NESTFUL lists `query_parameters` with a
`required` flag on each. Normalising them lets the same `SchemaTool` validation (and its
model-readable errors) check calls against them, so conformance tests exercise real code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from tools.schemas.schema_tool import SchemaTool

# BFCL's Python-flavoured type names and their JSON Schema equivalents; `any` means no check.
_TYPE_NAMES = {"dict": "object", "float": "number", "tuple": "array", "int": "integer",
               "str": "string", "bool": "boolean", "list": "array"}


def api_safe_name(name: str) -> str:
    """`math.factorial` -> `math_factorial`: the chat APIs' name rule has no dots."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]


def normalize_schema(node: Any) -> Any:
    """A copy of `node` with BFCL type names mapped to JSON Schema, recursively."""
    if isinstance(node, list):
        return [normalize_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            if value == "any":
                continue
            out[key] = _TYPE_NAMES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: normalize_schema(sub) for name, sub in value.items()}
        else:
            out[key] = normalize_schema(value)
    return out


def _echo_runner(name: str) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    async def run(arguments: dict[str, Any]) -> str:
        return json.dumps({"called": name, "arguments": arguments}, ensure_ascii=False, sort_keys=True)

    return run


def tool_from_function_spec(
    spec: dict[str, Any],
    runner: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
    **flags: Any,
) -> SchemaTool:
    """A tool from an OpenAI (`{"type": "function", "function": {...}}`) or BFCL spec.

    Without `runner` the tool echoes its call, for dry runs and conformance tests.
    """
    function = spec.get("function", spec) if spec.get("type") == "function" else spec
    name = api_safe_name(function["name"])
    parameters = normalize_schema(function.get("parameters") or {})
    return SchemaTool(name, function.get("description", ""), parameters,
                      runner or _echo_runner(function["name"]), **flags)


def tool_from_nestful_spec(
    spec: dict[str, Any],
    runner: Callable[[dict[str, Any]], Awaitable[Any]] | None = None,
    **flags: Any,
) -> SchemaTool:
    """A tool from a NESTFUL API spec (`query_parameters` with per-parameter `required`)."""
    properties, required = {}, []
    for pname, pspec in (spec.get("query_parameters") or {}).items():
        pspec = dict(pspec)
        if pspec.pop("required", False):
            required.append(pname)
        properties[pname] = normalize_schema(pspec)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return SchemaTool(api_safe_name(spec["name"]), spec.get("description", ""), schema,
                      runner or _echo_runner(spec["name"]), **flags)
