"""The tool system: turn Python functions into tools a model can call, and run those calls.

Depends on nothing else in stepvox, so the agent, personas and servers can all use it.
"""

from __future__ import annotations

from tools.builtin.audio_embeddings import minilm_embedder
from tools.builtin.audio_library import AudioEntry, AudioHit, AudioLibrary, index_audio_folder
from tools.calls.references import UnresolvedReferenceError, references_in, resolve_references
from tools.builtin.datetime import DateTimeReport, get_date_time, make_get_date_time
from tools.dispatch import dispatch_calls, filler_sentence
from tools.errors import (
    DuplicateToolError,
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    UnknownToolError,
)
from tools.adapters.function_specs import tool_from_function_spec, tool_from_nestful_spec
from tools.adapters.langchain import from_langchain
from tools.adapters.mcp import McpServerConfig, McpToolError, McpToolset
from tools.calls.openai import OpenAIStreamCalls, parse_openai_message
from tools.calls.parsed import MalformedToolCall, ParsedReply, ParsedToolCall
from tools.plugins import ENTRY_POINT_GROUP, PluginLoadError, PluginReport, load_plugins
from tools.registry import ToolRegistry
from tools.result import ToolResult
from tools.result_messages import tool_result_message
from tools.schemas.formats import (
    openai_tools,
    qwen_tools_block,
    render_tool_schemas,
    step_audio_schema_message,
    step_audio_schema_turn,
)
from tools.schemas.schema_tool import SchemaTool
from tools.calls.text_parser import parse_text_calls
from tools.calls.text_stream import StreamEnd, TextCallStream
from tools.builtin.reply_language import reply_language, replying_in
from tools.builtin.timbre_rag import AudioSearchResult, make_timbre_rag
from tools.tool import Tool, tool
from tools.untrusted_output import as_untrusted_data, bound_text, defuse_control_tokens
from tools.builtin.weather import WeatherReport, get_weather, make_get_weather
from tools.builtin.web_search import make_search, search


def builtin_tools() -> list[Tool]:
    """The tools stepvox offers every agent by default: offline ones only (stepvox runs
    offline by default), unless a persona narrows or widens them."""
    return [get_date_time]


def stepeval_tools(audio_library: AudioLibrary | None = None) -> list[Tool]:
    """The StepEval-Audio-Toolcall set: `search`, `get_date_time`, `get_weather`, and
    `timbre_rag` when a library is given. `search` and `get_weather` use the network."""
    found = [search, get_date_time, get_weather]
    if audio_library is not None:
        found.append(make_timbre_rag(audio_library))
    return found


__all__ = [
    "AudioEntry",
    "AudioHit",
    "AudioLibrary",
    "AudioSearchResult",
    "DateTimeReport",
    "DuplicateToolError",
    "ENTRY_POINT_GROUP",
    "MalformedToolCall",
    "McpServerConfig",
    "McpToolError",
    "McpToolset",
    "OpenAIStreamCalls",
    "ParsedReply",
    "ParsedToolCall",
    "PluginLoadError",
    "PluginReport",
    "SchemaTool",
    "StreamEnd",
    "TextCallStream",
    "Tool",
    "ToolArgumentsError",
    "ToolDefinitionError",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "UnknownToolError",
    "UnresolvedReferenceError",
    "WeatherReport",
    "as_untrusted_data",
    "bound_text",
    "builtin_tools",
    "defuse_control_tokens",
    "dispatch_calls",
    "filler_sentence",
    "from_langchain",
    "get_date_time",
    "get_weather",
    "index_audio_folder",
    "load_plugins",
    "make_get_date_time",
    "minilm_embedder",
    "make_get_weather",
    "make_search",
    "make_timbre_rag",
    "openai_tools",
    "parse_openai_message",
    "parse_text_calls",
    "qwen_tools_block",
    "references_in",
    "render_tool_schemas",
    "resolve_references",
    "search",
    "step_audio_schema_message",
    "step_audio_schema_turn",
    "stepeval_tools",
    "tool",
    "tool_from_function_spec",
    "tool_from_nestful_spec",
    "tool_result_message",
    "reply_language",
    "replying_in",
]

# Old module names (before the package redesign) still import, with a warning.
from tools.moved_modules import install as _install_moved  # noqa: E402
from tools.moved import MOVED as _MOVED  # noqa: E402

_install_moved(_MOVED)
