"""Stored dialogue turns -> prompt messages (text only; older turns never carry audio)."""

from __future__ import annotations

from collections.abc import Sequence

from agent.turn.apology import without_apology
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
        if turn.tool_calls and turn.preamble:
            answer = answer.removeprefix(turn.preamble).strip()
        # A reply that failed: its words before the failure; only an apology: no message, so
        # the unanswered question stands and is answered with the next one.
        spoken = without_apology(answer)
        only_apology, answer = bool(answer) and not spoken, spoken
        if turn.tool_calls:
            out.append(ChatMessage(role="assistant", content=turn.preamble, tool_calls=[
                ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in turn.tool_calls
            ]))
            for c in turn.tool_calls:
                content = f"ERROR: {c.result}" if c.is_error else c.result
                out.append(ChatMessage(role="tool", content=content, tool_call_id=c.id,
                                       name=c.name))
        if not only_apology:
            out.append(ChatMessage(role="assistant", content=answer))
    return out


def tool_records(results: Sequence[ToolResult]) -> list[ToolCallRecord]:
    """A turn's tool results as stored in history."""
    return [ToolCallRecord(id=r.call_id or "", name=r.name, arguments=r.arguments,
                           result=r.content, is_error=r.is_error, latency_ms=r.latency_ms)
            for r in results]
