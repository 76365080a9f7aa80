"""The tool system: turn Python functions into tools a model can call, and run those calls.

Depends on nothing else in stepvox, so the agent, personas and servers can all use it.
"""

from __future__ import annotations

from tools.datetime_tool import DateTimeReport, get_date_time, make_get_date_time
from tools.errors import (
    DuplicateToolError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    UnknownToolError,
)
from tools.registry import ToolRegistry
from tools.result import ToolResult
from tools.tool import Tool, tool


def builtin_tools() -> list[Tool]:
    """The tools stepvox ships with, offered to every agent unless a persona narrows them."""
    return [get_date_time]


__all__ = [
    "DateTimeReport",
    "DuplicateToolError",
    "Tool",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "UnknownToolError",
    "builtin_tools",
    "get_date_time",
    "make_get_date_time",
    "tool",
]
