"""Shapes pydantic's JSON schema into what a model should see, and names types in words.

Pydantic's schema is correct but noisy for function calling: every node carries a "title"
the model does not need, and `x: str | None = None` becomes an `anyOf` with `null` that
small local models handle worse than a plain optional `string`. Tokens spent on the
schema are paid on every turn, so the cleaned schema keeps only what changes behaviour.
"""

from __future__ import annotations

import copy
import json
from typing import Any

# Keys whose value is a single sub-schema / a list of sub-schemas / a name -> sub-schema map.
_ONE_SCHEMA = ("items", "additionalProperties", "not", "contains", "propertyNames")
_SCHEMA_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAP = ("properties", "$defs", "patternProperties")


def clean_parameters_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an object schema with titles dropped and a `required` list always present."""
    cleaned = _clean_node(copy.deepcopy(schema))
    # Conventional key order (type, properties, required, ...): this is text a model reads.
    head = {
        "type": cleaned.pop("type", "object"),
        "properties": cleaned.pop("properties", {}),
        "required": cleaned.pop("required", []),
    }
    if "additionalProperties" in cleaned:
        head["additionalProperties"] = cleaned.pop("additionalProperties")
    return {**head, **cleaned}


def _clean_node(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    # Only a string "title" is the annotation keyword; a property *named* title lives
    # inside "properties" and is never touched here.
    if isinstance(node.get("title"), str):
        del node["title"]
    for key in _ONE_SCHEMA:
        if isinstance(node.get(key), dict):
            node[key] = _clean_node(node[key])
    for key in _SCHEMA_LIST:
        if isinstance(node.get(key), list):
            node[key] = [_clean_node(item) for item in node[key]]
    for key in _SCHEMA_MAP:
        if isinstance(node.get(key), dict):
            node[key] = {name: _clean_node(sub) for name, sub in node[key].items()}
    if isinstance(node.get("properties"), dict):
        required = set(node.get("required", ()))
        for name, sub in node["properties"].items():
            if name not in required:
                node["properties"][name] = _drop_null_default(sub)
    return node


def _drop_null_default(prop: dict[str, Any]) -> dict[str, Any]:
    """`anyOf[X, null]` with default None, on an optional property, becomes just X.

    Omitting the argument already means None, and validation still accepts an explicit
    null, so nothing is lost for the model or for us.
    """
    branches = prop.get("anyOf")
    if "default" not in prop or prop["default"] is not None or not isinstance(branches, list):
        return prop
    non_null = [b for b in branches if b != {"type": "null"}]
    if len(branches) != 2 or len(non_null) != 1:
        return prop
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**non_null[0], **rest}


def describe_type(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> str:
    """A short English name for the type a schema node accepts, e.g. "array of integer"."""
    defs = defs if defs is not None else schema.get("$defs", {})
    schema = _resolve(schema, defs)
    if "enum" in schema:
        return "one of " + ", ".join(_literal(v) for v in schema["enum"])
    if "const" in schema:
        return _literal(schema["const"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(describe_type(b, defs) for b in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(schema.get("items"), dict):
        return f"array of {describe_type(schema['items'], defs)}"
    if kind == "object" and isinstance(schema.get("properties"), dict):
        fields = ", ".join(schema["properties"]) or "no fields"
        return f"object with fields ({fields})"
    if kind == "string" and "format" in schema:
        return f"string ({schema['format']})"
    return kind or "any JSON value"


def schema_at(schema: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any] | None:
    """The sub-schema for a validation-error location, or None when it cannot be followed."""
    defs = schema.get("$defs", {})
    node: dict[str, Any] | None = schema
    for part in path:
        node = _resolve(node, defs)
        node = _step(node, part, defs)
        if node is None:
            return None
    return node


def _step(node: dict[str, Any], part: str | int, defs: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(part, int) and isinstance(node.get("items"), dict):
        return node["items"]
    if isinstance(part, str) and part in node.get("properties", {}):
        return node["properties"][part]
    # Through a union: take the first branch the next key makes sense in.
    for branch in [*node.get("anyOf", ()), *node.get("oneOf", ())]:
        found = _step(_resolve(branch, defs), part, defs)
        if found is not None:
            return found
    return None


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.removeprefix("#/$defs/"), {})
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _literal(value: Any) -> str:
    # JSON spelling, because that is what the model has to write back.
    return json.dumps(value, ensure_ascii=False)
