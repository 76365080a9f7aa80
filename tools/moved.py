"""Where the modules of `tools` went in the package redesign. The old names still import
(with a DeprecationWarning) for one release; see tools.moved_modules."""

MOVED = {
    "tools.audio_embeddings": "tools.builtin.audio_embeddings",
    "tools.audio_library": "tools.builtin.audio_library",
    "tools.builtin_audio_library": "tools.builtin.audio_library_files",
    "tools.call_references": "tools.calls.references",
    "tools.datetime_tool": "tools.builtin.datetime",
    "tools.docstrings": "tools.schemas.docstrings",
    "tools.function_specs": "tools.adapters.function_specs",
    "tools.json_schema": "tools.schemas.json_schema",
    "tools.langchain_tools": "tools.adapters.langchain",
    "tools.mcp_tools": "tools.adapters.mcp",
    "tools.openai_calls": "tools.calls.openai",
    "tools.parsed_call": "tools.calls.parsed",
    "tools.schema_formats": "tools.schemas.formats",
    "tools.schema_tool": "tools.schemas.schema_tool",
    "tools.signature_model": "tools.schemas.signature_model",
    "tools.text_call_parser": "tools.calls.text_parser",
    "tools.text_call_stream": "tools.calls.text_stream",
    "tools.timbre_rag_tool": "tools.builtin.timbre_rag",
    "tools.weather_tool": "tools.builtin.weather",
    "tools.web_search": "tools.builtin.web_search",
    "tools.airline_changes": "skyway_desk.changes",
    "tools.airline_desk": "skyway_desk.desk",
    "tools.airline_desk_service": "skyway_desk.service",
    "tools.airline_records": "skyway_desk.records",
}
