"""LangChain `BaseTool` objects used as stepvox tools, as they are.

Their arguments schema (a pydantic model or a JSON schema) becomes the tool's JSON schema;
a call goes through `ainvoke`, so LangChain's own validation, callbacks and sync/async
handling stay in charge. langchain-core is imported only when such a tool is adapted.
"""

from __future__ import annotations

import re
from typing import Any

from tools.errors import ToolDefinitionError
from tools.schemas.schema_tool import SchemaTool
from tools.tool import DEFAULT_TIMEOUT_S
from tools.untrusted_output import DEFAULT_MAX_OUTPUT_CHARS


def is_langchain_tool(obj: Any) -> bool:
    """True for instances of `langchain_core.tools.BaseTool`, without importing LangChain."""
    return any(
        cls.__name__ == "BaseTool" and cls.__module__.startswith("langchain_core")
        for cls in type(obj).__mro__
    )


def from_langchain(
    lc_tool: Any,
    *,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    requires_approval: bool = False,
    safe_to_repeat: bool = True,
    max_output_chars: int | None = DEFAULT_MAX_OUTPUT_CHARS,
) -> SchemaTool:
    """Wrap a LangChain tool; its name is made API-safe (spaces and dots become '_')."""
    if not is_langchain_tool(lc_tool):
        raise ToolDefinitionError(f"expected a langchain_core BaseTool, got {type(lc_tool).__name__}")
    from langchain_core.utils.function_calling import convert_to_openai_tool

    function = convert_to_openai_tool(lc_tool)["function"]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", lc_tool.name)[:64]

    async def run(arguments: dict[str, Any]) -> Any:
        return await lc_tool.ainvoke(arguments)

    return SchemaTool(
        name,
        function.get("description") or lc_tool.description or "",
        function.get("parameters"),
        run,
        timeout_s=timeout_s,
        requires_approval=requires_approval,
        safe_to_repeat=safe_to_repeat,
        max_output_chars=max_output_chars,
    )
