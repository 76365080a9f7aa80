"""`SchemaTool`: a tool described by a JSON schema instead of a Python signature.

Tools from MCP servers, LangChain and hand-written specs arrive as a name, a description,
a JSON schema for the arguments and something to call. They get the same `invoke`
contract as `@tool` functions: validation errors, failures and timeouts become results.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import jsonschema
from pydantic import BaseModel, ConfigDict

from tools.arguments import parse_arguments
from tools.errors import ToolArgumentsError, ToolDefinitionError
from tools.tool import DEFAULT_TIMEOUT_S, Tool
from tools.untrusted_output import DEFAULT_MAX_OUTPUT_CHARS

Runner = Callable[[dict[str, Any]], Awaitable[Any]]


class _ArgumentsObject(BaseModel):
    """Carries already-validated JSON arguments through `Tool.invoke` unchanged."""

    model_config = ConfigDict(extra="allow")


class SchemaTool(Tool):
    """A tool whose arguments are checked against a JSON schema and passed on as a dict.

    Unless the schema says otherwise (or `forbid_extra_arguments=False`), arguments not in
    its `properties` are rejected, as for `@tool` functions.
    """

    def __init__(
        self,
        name: str,
        description: str,
        parameters: dict[str, Any] | None,
        runner: Runner,
        *,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        requires_approval: bool = False,
        safe_to_repeat: bool = True,
        max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
        forbid_extra_arguments: bool = True,
        filler: str | None = None,
        examples: Sequence[str] = (),
    ) -> None:
        self._set_identity(
            name,
            description or "",
            timeout_s=timeout_s,
            requires_approval=requires_approval,
            safe_to_repeat=safe_to_repeat,
            max_output_chars=max_output_chars,
            filler=filler,
            examples=examples,
        )
        schema = copy.deepcopy(parameters) if parameters else {}
        # Some servers omit the object wrapper for tools without parameters.
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        if forbid_extra_arguments and schema.get("type") == "object":
            # Like `@tool`: a model that invents an argument is told so, instead of the
            # argument being passed on (where it may be ignored or fail obscurely).
            schema.setdefault("additionalProperties", False)
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            validator_cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ToolDefinitionError(f"tool {name!r} has an invalid JSON schema: {exc.message}") from exc
        self._validator = validator_cls(schema)
        self._schema = schema
        self.func = runner
        self._runner = runner
        self.args_model = _ArgumentsObject
        self._is_async = True

    def __repr__(self) -> str:
        return f"SchemaTool(name={self.name!r}, timeout_s={self.timeout_s!r})"

    def validate(self, arguments: dict[str, Any] | str | None) -> BaseModel:
        parsed = parse_arguments(self.name, arguments)
        problems = sorted(self._validator.iter_errors(parsed), key=lambda e: list(map(str, e.path)))
        if problems:
            lines = [f"The arguments for tool {self.name!r} are invalid:"]
            lines += [f"- {_describe(p)}." for p in problems]
            lines.append(f"Call {self.name!r} again with corrected arguments.")
            raise ToolArgumentsError(self.name, "\n".join(lines))
        return _ArgumentsObject.model_validate(parsed)

    async def _run(self, arguments: BaseModel) -> Any:
        return await self._runner(arguments.model_dump())


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(p) for p in error.path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        full = f"{where}.{missing}" if where else missing
        return f"argument {full!r}: missing required argument"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"argument {where!r}: {message}" if where else message
