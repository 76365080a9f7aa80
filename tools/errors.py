"""Errors raised by the tool system.

Everything derives from `ToolError` so callers can catch the whole family in one place.
`ToolArgumentsError` is special: its message is written for a language model, not a
developer, because it is sent back to the model as the tool result so it can retry.
"""

from __future__ import annotations

from collections.abc import Iterable


class ToolError(Exception):
    """Base class of every error the tool system raises."""


class ToolDefinitionError(ToolError):
    """A Python callable cannot be turned into a tool (e.g. `*args`, a missing annotation)."""


class DuplicateToolError(ToolError):
    """A registry already holds a tool with this name."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"a tool named {name!r} is already registered")


class UnknownToolError(ToolError):
    """No tool with this name exists where it was looked up."""

    def __init__(self, name: str, known: Iterable[str] = ()) -> None:
        self.name = name
        self.known = sorted(known)
        listing = ", ".join(self.known) if self.known else "(none)"
        super().__init__(f"unknown tool {name!r}; known tools: {listing}")


class ToolArgumentsError(ToolError):
    """The arguments a model sent for a tool are malformed or do not validate.

    `str(error)` is the model-readable explanation: which argument, what was wrong,
    and what type was expected.
    """

    def __init__(self, tool_name: str, message: str) -> None:
        self.tool_name = tool_name
        self.message = message
        super().__init__(message)
