"""`ToolRegistry`: the named set of tools an agent (or one persona) may offer a model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tools.errors import DuplicateToolError, UnknownToolError
from tools.result import ToolResult
from tools.tool import Tool


class ToolRegistry:
    """Tools by name, in the order they were added (the order the model sees them in)."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.add(item)

    def add(self, tool: Tool) -> None:
        if tool.name in self._tools:
            raise DuplicateToolError(tool.name)
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name, self._tools) from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry({self.names!r})"

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def openai_schemas(self) -> list[dict[str, Any]]:
        return [t.openai_schema() for t in self._tools.values()]

    def examples(self) -> dict[str, tuple[str, ...]]:
        """The example requests of the tools that have some (`Tool(examples=...)`)."""
        return {t.name: t.examples for t in self._tools.values() if t.examples}

    def subset(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry with only `names`, in the order given (repeats ignored).

        An unknown name raises instead of being skipped, so a typo in a persona's tool list
        fails loudly rather than silently offering the model fewer tools.
        """
        wanted = list(dict.fromkeys(names))
        return ToolRegistry(self.get(n) for n in wanted)

    async def invoke(
        self, name: str, arguments: dict[str, Any] | str | None = None, *, call_id: str | None = None
    ) -> ToolResult:
        """Run a call by name. A name the model made up becomes an error result, not an
        exception, so the model can be told which tools exist and try again."""
        if name not in self._tools:
            available = ", ".join(self._tools) or "none"
            return ToolResult(
                name=name,
                call_id=call_id,
                arguments=arguments if isinstance(arguments, dict) else {},
                content=f"There is no tool named {name!r}. Available tools: {available}.",
                is_error=True,
                latency_ms=0.0,
            )
        return await self._tools[name].invoke(arguments, call_id=call_id)
