"""Stored dialogue turns -> prompt messages (text only; older turns never carry audio)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.chat_model import ChatMessage, ToolCall
from memory import DialogueTurn, ToolCallRecord
from tools import ToolResult


def history_messages(turns: Sequence[DialogueTurn]) -> list[ChatMessage]:
    """Render history the way the turn was first prompted, so a model's prefix cache from the
    previous turn still matches: tool calls, their results, then the spoken answer."""
    out: list[ChatMessage] = []
    for turn in turns:
        if turn.role == "user":
            out.append(ChatMessage(role="user", content=turn.text))
            continue
        answer = turn.text
        if turn.tool_calls:
            answer = turn.text.removeprefix(turn.preamble).strip() if turn.preamble else answer
            out.append(ChatMessage(role="assistant", content=turn.preamble, tool_calls=[
                ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in turn.tool_calls
            ]))
            for c in turn.tool_calls:
                content = f"ERROR: {c.result}" if c.is_error else c.result
                out.append(ChatMessage(role="tool", content=content, tool_call_id=c.id,
                                       name=c.name))
        out.append(ChatMessage(role="assistant", content=answer))
    return out


def tool_records(results: Sequence[ToolResult]) -> list[ToolCallRecord]:
    """A turn's tool results as stored in history."""
    return [ToolCallRecord(id=r.call_id or "", name=r.name, arguments=r.arguments,
                           result=r.content, is_error=r.is_error, latency_ms=r.latency_ms)
            for r in results]
