"""Tool results as the chat message each backend expects after a call.

- OpenAI-compatible: `{"role": "tool", "tool_call_id": ..., "content": "..."}`.
- Step-Audio 2 (StepFun's vLLM): `{"role": "input", "tool_call_id": ..., "content": [text part]}`.

The content is always framed as untrusted data with control tokens defused
(`ToolResult.for_prompt`), so no backend sees raw tool output.
"""

from __future__ import annotations

from typing import Any, Literal

from tools.result import ToolResult

ResultFormat = Literal["openai", "step_audio"]


def tool_result_message(result: ToolResult, fmt: ResultFormat = "openai") -> dict[str, Any]:
    text = result.for_prompt()
    if fmt == "openai":
        return {"role": "tool", "tool_call_id": result.call_id, "name": result.name, "content": text}
    if fmt == "step_audio":
        return {"role": "input", "tool_call_id": result.call_id, "content": [{"type": "text", "text": text}]}
    raise ValueError(f"unknown tool result format {fmt!r}; use 'openai' or 'step_audio'")
