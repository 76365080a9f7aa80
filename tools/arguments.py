"""Turns what a model sent as tool arguments into a dict, and explains failures to the model.

Every message here is read by a language model that has to fix its own call, so each one
says which argument was wrong, what was wrong with it, and what type was expected.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from tools.errors import ToolArgumentsError
from tools.schemas.json_schema import describe_type, schema_at

_MAX_ECHO = 80  # long inputs are cut so a bad call does not flood the context


def parse_arguments(tool_name: str, arguments: dict[str, Any] | str | None) -> dict[str, Any]:
    """The arguments as a dict: JSON text is parsed, None and blank text mean no arguments."""
    if arguments is None:
        return {}
    if isinstance(arguments, str):
        # Models often send "" for a tool without parameters; treat it like "{}".
        if not arguments.strip():
            return {}
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise ToolArgumentsError(
                tool_name,
                f"The arguments for tool {tool_name!r} are not valid JSON ({exc.msg} at "
                f"position {exc.pos}): {_echo(exc.doc, raw=True)}. Send a JSON object such as "
                f'{{"name": value}}.',
            ) from exc
        except (ValueError, RecursionError) as exc:
            # JSON past what Python parses: a number of over 4300 digits, or nesting past
            # the recursion limit. Still the model's mistake, so still a ToolArgumentsError.
            raise ToolArgumentsError(
                tool_name,
                f"The arguments for tool {tool_name!r} could not be read "
                f"({'nested too deeply' if isinstance(exc, RecursionError) else exc}). "
                f'Send a flat JSON object such as {{"name": value}}.',
            ) from None
    if not isinstance(arguments, dict):
        raise ToolArgumentsError(
            tool_name,
            f"The arguments for tool {tool_name!r} must be a JSON object with named "
            f"arguments, but got {_json_kind(arguments)}: {_echo(arguments)}.",
        )
    return arguments


def validation_message(tool_name: str, error: ValidationError, schema: dict[str, Any]) -> str:
    """One line per problem pydantic found, phrased for the model that made the call."""
    lines = [f"The arguments for tool {tool_name!r} are invalid:"]
    accepted = ", ".join(schema.get("properties", {})) or "no arguments"
    for problem in error.errors(include_url=False):
        loc = tuple(problem["loc"])
        where = f"argument {_path(loc)}: " if loc else ""
        kind = problem["type"]
        if kind == "extra_forbidden":
            lines.append(f"- {where}unexpected argument; this tool accepts: {accepted}.")
            continue
        what = "missing required argument" if kind == "missing" else problem["msg"]
        parts = [what]
        if kind != "missing" and "input" in problem:
            parts.append(f"got {_echo(problem['input'])}")
        sub = schema_at(schema, loc) if loc else None
        if sub is not None:
            parts.append(f"expected {describe_type(sub, schema.get('$defs', {}))}")
        lines.append(f"- {where}{'; '.join(parts)}.")
    lines.append(f"Call {tool_name!r} again with corrected arguments.")
    return "\n".join(lines)


def _path(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return repr(text)


def _echo(value: Any, *, raw: bool = False) -> str:
    # Values are echoed in JSON spelling so a string "3" is visibly not the number 3;
    # `raw` text (a document that failed to parse) is echoed exactly as it was sent.
    text = value if raw and isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 3] + "..."


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def argument_values(node: Any) -> list[str]:
    """Every leaf value of a call's arguments as text, as a user would say it ("10" for 10.0,
    "front door"); flags and nulls say nothing a user said, so they are left out."""
    if isinstance(node, dict):
        return [v for item in node.values() for v in argument_values(item)]
    if isinstance(node, list):
        return [v for item in node for v in argument_values(item)]
    if isinstance(node, bool) or node is None:
        return []
    if isinstance(node, float) and node.is_integer():
        node = int(node)
    return [str(node).strip()]

