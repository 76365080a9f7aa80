"""`Tool`: a callable a language model may use, and the `@tool` decorator that makes one.

A tool call comes from a model, so everything about it may be wrong: the JSON, the
argument names, the types, the tool itself may fail or hang. `Tool.invoke` turns every
such problem into an error `ToolResult` the model can read and recover from, and only
lets cancellation through, because that comes from our side (barge-in, shutdown).
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, overload

from pydantic import BaseModel, ValidationError

from tools.arguments import parse_arguments, validation_message
from tools.schemas.docstrings import parse_docstring
from tools.errors import ToolArgumentsError, ToolDefinitionError
from tools.schemas.json_schema import clean_parameters_schema
from tools.result import ToolResult, describe_exception, render_content
from tools.schemas.signature_model import build_arguments_spec
from tools.tool_threads import run_sync_tool
from tools.untrusted_output import DEFAULT_MAX_OUTPUT_CHARS

__all__ = ["Tool", "ToolResult", "tool"]

# The function-name rule of the OpenAI-style tool-calling APIs, which local servers copy.
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEFAULT_TIMEOUT_S = 10.0


class Tool:
    """A Python function exposed to a model, with its schema, limits and safety flags.

    `timeout_s=None` disables the time limit. `requires_approval` asks the agent to get
    the user's consent before running it; `safe_to_repeat=False` marks calls with side
    effects that must not be retried blindly. The tool itself only records both flags.
    `max_output_chars` bounds the result text (None: unbounded) so one runaway tool cannot
    flood the context. `filler` is what the agent may say while a slow call runs, a template
    over the arguments ("Let me check the weather in {location}.").
    `examples` are requests a user might say that need this tool; they teach the call
    decision what the tool is for (without them it knows the tool by its name and
    description only; see `agent.tool_choice.prior`).
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
        requires_approval: bool = False,
        safe_to_repeat: bool = True,
        max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
        filler: str | None = None,
        examples: Sequence[str] = (),
    ) -> None:
        if not callable(func):
            raise ToolDefinitionError(f"a tool needs a callable, got {func!r}")
        doc = parse_docstring(inspect.getdoc(func))
        self._set_identity(
            name if name is not None else getattr(func, "__name__", ""),
            description if description is not None else doc.summary,
            timeout_s=timeout_s,
            requires_approval=requires_approval,
            safe_to_repeat=safe_to_repeat,
            max_output_chars=max_output_chars,
            filler=filler,
            examples=examples,
        )
        self.func = func
        self._spec = build_arguments_spec(func, _model_name(self.name), doc.args)
        self.args_model: type[BaseModel] = self._spec.model
        self._schema = clean_parameters_schema(self.args_model.model_json_schema())
        self._is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)
        )

    def _set_identity(
        self,
        name: str,
        description: str,
        *,
        timeout_s: float | None,
        requires_approval: bool,
        safe_to_repeat: bool,
        max_output_chars: int | None,
        filler: str | None = None,
        examples: Sequence[str] = (),
    ) -> None:
        # Shared with tools that are not Python functions (LangChain, MCP, JSON-schema tools).
        if not _NAME_PATTERN.match(name):
            raise ToolDefinitionError(
                f"tool name {name!r} must be 1-64 letters, digits, '_' or '-'; pass name=..."
            )
        if timeout_s is not None and not timeout_s > 0:
            raise ToolDefinitionError(f"timeout_s must be positive or None, got {timeout_s!r}")
        if max_output_chars is not None and max_output_chars < 200:
            raise ToolDefinitionError(f"max_output_chars must be >= 200 or None, got {max_output_chars!r}")
        self.name = name
        self.description = description
        self.timeout_s = timeout_s
        self.requires_approval = requires_approval
        self.safe_to_repeat = safe_to_repeat
        self.max_output_chars = max_output_chars
        self.filler = filler
        if isinstance(examples, str) or not all(isinstance(e, str) and e.strip()
                                                for e in examples):
            raise ToolDefinitionError(f"examples must be a list of non-empty requests, "
                                      f"got {examples!r}")
        self.examples = tuple(e.strip() for e in examples)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped function directly, so a decorated function stays usable in code."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, timeout_s={self.timeout_s!r})"

    @property
    def parameters_schema(self) -> dict[str, Any]:
        """The JSON schema of the arguments object (a fresh copy each time; safe to mutate)."""
        return copy.deepcopy(self._schema)

    def openai_schema(self) -> dict[str, Any]:
        """The tool in the OpenAI / llama.cpp `tools=[...]` format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters_schema,
            },
        }

    def validate(self, arguments: dict[str, Any] | str | None) -> BaseModel:
        """Parse and validate arguments; ToolArgumentsError (model-readable) if they are bad."""
        parsed = parse_arguments(self.name, arguments)
        try:
            return self.args_model.model_validate(parsed)
        except ValidationError as exc:
            message = validation_message(self.name, exc, self._schema)
            raise ToolArgumentsError(self.name, message) from exc

    async def invoke(
        self, arguments: dict[str, Any] | str | None = None, *, call_id: str | None = None
    ) -> ToolResult:
        """Validate, run under the time limit, and report the outcome; never raises for
        problems on the tool's side. `asyncio.CancelledError` propagates.

        A sync function runs in a worker thread. Threads cannot be killed, so when a sync
        tool times out the call returns an error result at once while the thread runs on
        in the background until the function returns by itself.
        """
        started = time.perf_counter()
        try:
            validated = self.validate(arguments)
        except ToolArgumentsError as exc:
            record = arguments if isinstance(arguments, dict) else _parsed_or_empty(self.name, arguments)
            return self._result(call_id, record, exc.message, True, started)

        record = validated.model_dump(mode="json", by_alias=True)
        deadline = asyncio.timeout(self.timeout_s)
        try:
            async with deadline:
                value = await self._run(validated)
            content, is_error = render_content(value), False
        except TimeoutError as exc:
            # Only our own deadline is a timeout; a TimeoutError raised inside the tool
            # (a socket, a client library) is the tool's failure and is reported as such.
            if deadline.expired():
                content = f"Tool {self.name!r} timed out after {self.timeout_s:g}s."
            else:
                content = describe_exception(exc)
            is_error = True
        except Exception as exc:  # noqa: BLE001 - the model gets the failure as a result
            content, is_error = describe_exception(exc), True
        return self._result(call_id, record, content, is_error, started)

    async def _run(self, arguments: BaseModel) -> Any:
        """Run the function with validated arguments; subclasses (e.g. remote tools) override."""
        kwargs = self._spec.call_kwargs(arguments)
        if self._is_async:
            return await self.func(**kwargs)
        # Own daemon threads, not the loop's executor: a hung tool must not starve it.
        value = await run_sync_tool(self.func, **kwargs)
        # A sync callable may still hand back an awaitable (e.g. a wrapper around a coroutine).
        return await value if inspect.isawaitable(value) else value

    def _result(
        self, call_id: str | None, arguments: dict[str, Any], content: str, is_error: bool, started: float
    ) -> ToolResult:
        return ToolResult(
            name=self.name,
            call_id=call_id,
            arguments=arguments,
            content=content,
            is_error=is_error,
            latency_ms=(time.perf_counter() - started) * 1000.0,
        ).bounded(self.max_output_chars)


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    requires_approval: bool = False,
    safe_to_repeat: bool = True,
    max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
    filler: str | None = None,
    examples: Sequence[str] = (),
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    requires_approval: bool = False,
    safe_to_repeat: bool = True,
    max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
    filler: str | None = None,
    examples: Sequence[str] = (),
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Turn a function into a `Tool`; use as `@tool` or `@tool(name=..., timeout_s=...)`."""

    def wrap(f: Callable[..., Any]) -> Tool:
        return Tool(
            f,
            name=name,
            description=description,
            timeout_s=timeout_s,
            requires_approval=requires_approval,
            safe_to_repeat=safe_to_repeat,
            max_output_chars=max_output_chars,
            filler=filler,
            examples=examples,
        )

    return wrap(func) if func is not None else wrap


def _model_name(tool_name: str) -> str:
    parts = re.split(r"[_\-]+", tool_name)
    return "".join(p[:1].upper() + p[1:] for p in parts if p) + "Arguments"


def _parsed_or_empty(tool_name: str, arguments: str | None) -> dict[str, Any]:
    # For the record only: keep what the model sent when it was at least a JSON object.
    try:
        return parse_arguments(tool_name, arguments)
    except ToolArgumentsError:
        return {}
