"""Tool schemas rendered the way each backend expects to see them.

- OpenAI-compatible APIs: `tools=[{"type": "function", "function": {...}}]`.
- Step-Audio: the same list as JSON in a turn of role `tool_json_schemas`, right after the
  system turn (`<|BOT|>tool_json_schemas\\n[...]<|EOT|>`).
- Qwen / Hermes text prompts: one JSON object per line inside `<tools></tools>`.

The JSON is rendered with sorted keys so the prompt prefix is byte-identical from turn to
turn, which is what lets a server reuse its KV cache for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal

from tools.tool import Tool

STEP_AUDIO_SCHEMA_ROLE = "tool_json_schemas"
SchemaFormat = Literal["openai", "step_audio", "qwen"]


def openai_tools(tools: Iterable[Tool]) -> list[dict[str, Any]]:
    """The `tools=[...]` argument of an OpenAI-style chat-completions request."""
    return [t.openai_schema() for t in tools]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def step_audio_schema_message(tools: Iterable[Tool]) -> dict[str, str]:
    """The `tool_json_schemas` turn as a chat message (for a server that renders the template)."""
    return {"role": STEP_AUDIO_SCHEMA_ROLE, "content": _dumps(openai_tools(tools))}


def step_audio_schema_turn(tools: Iterable[Tool]) -> str:
    """The `tool_json_schemas` turn as raw prompt text (for a local Step-Audio template)."""
    return f"<|BOT|>{STEP_AUDIO_SCHEMA_ROLE}\n{_dumps(openai_tools(tools))}<|EOT|>"


def qwen_tools_block(tools: Iterable[Tool]) -> str:
    """The `<tools>...</tools>` block of the Qwen / Hermes system prompt."""
    lines = "\n".join(_dumps(schema) for schema in openai_tools(tools))
    return f"<tools>\n{lines}\n</tools>"


def render_tool_schemas(tools: Iterable[Tool], fmt: SchemaFormat) -> list[dict[str, Any]] | dict[str, str] | str:
    """One entry point over the renderers above, for code that picks the format by name."""
    if fmt == "openai":
        return openai_tools(tools)
    if fmt == "step_audio":
        return step_audio_schema_message(tools)
    if fmt == "qwen":
        return qwen_tools_block(tools)
    raise ValueError(f"unknown tool schema format {fmt!r}; use 'openai', 'step_audio' or 'qwen'")
