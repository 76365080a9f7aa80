"""Dialogue history as text, per conversation, behind the `DialogueStore` seam.

Step-Audio keeps history as text (audio costs ~14x the tokens), so a turn here is text plus
what is needed to rebuild the prompt: the tool calls an assistant turn made and their results.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class StoredSummary(BaseModel):
    """A running summary of a conversation's turns up to and including `through_seq`."""

    conversation_id: str
    text: str
    through_seq: int
    created_at: datetime



class ToolCallRecord(BaseModel):
    """One tool call of an assistant turn and what it returned."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: str = ""
    is_error: bool = False
    latency_ms: float = 0.0


class DialogueTurn(BaseModel):
    role: Literal["user", "assistant"]
    text: str
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    # Assistant turns with tools: the part of `text` spoken before the first tool call (a
    # filler sentence), so the turn can be replayed as it was prompted.
    preamble: str = ""
    # Set when the user barged in: `text` then holds only the words actually played.
    interrupted: bool = False
    # Instruction tags the reply was spoken with (e.g. "(happy)"), and its language.
    style: str = ""
    language: str = ""
    # Seconds of speech: the user's utterance or the reply as played. None when unknown.
    audio_duration_s: float | None = None
    # A file with this turn's audio, where the agent is set to keep audio (off by default: the
    # database holds text). Deleting the user deletes the file too.
    audio_path: str | None = None
    # Position in the conversation (0, 1, ...), set by stores that number turns (SQL); stores
    # ignore it on append. Summaries record the last position they cover.
    seq: int | None = None


@runtime_checkable
class DialogueStore(Protocol):
    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None: ...

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        """The newest `limit` turns (all when None), oldest first."""
        ...


def _copy(turn: DialogueTurn) -> DialogueTurn:
    """A copy a caller may change without changing the store. Only the tool calls are
    mutable containers; a full deep copy of every turn cost ~1 ms per 20-turn prompt, most of
    a turn's framework overhead."""
    if not turn.tool_calls:
        return turn.model_copy()
    return turn.model_copy(update={"tool_calls": [c.model_copy(deep=True) for c in turn.tool_calls]})


class InMemoryDialogueStore:
    """Process-local history; the default until a SQL store is configured.

    Numbers turns and keeps running summaries like the SQL store, so a token-budgeted context
    window with summaries works without a database too."""

    def __init__(self) -> None:
        self._turns: dict[str, list[DialogueTurn]] = defaultdict(list)
        self._summaries: dict[str, list] = defaultdict(list)  # StoredSummary, oldest first
        self._lock = asyncio.Lock()

    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None:
        # Appended as one block so a concurrent reader never sees a user turn without its reply.
        async with self._lock:
            stored = self._turns[conversation_id]
            stored.extend(t.model_copy(deep=True, update={"seq": len(stored) + i})
                          for i, t in enumerate(turns))

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        turns = self._turns.get(conversation_id, [])
        chosen = turns if limit is None else turns[-limit:] if limit > 0 else []
        return [_copy(t) for t in chosen]

    async def turns_between(self, conversation_id: str, after_seq: int,
                            before_seq: int | None = None) -> list[DialogueTurn]:
        """Turns with `after_seq < seq < before_seq`, oldest first (for folding a summary)."""
        turns = self._turns.get(conversation_id, [])
        end = len(turns) if before_seq is None else max(0, min(before_seq, len(turns)))
        return [_copy(t) for t in turns[max(after_seq + 1, 0):end]]

    async def latest_summary(self, conversation_id: str):
        summaries = self._summaries.get(conversation_id)
        return summaries[-1] if summaries else None

    async def save_summary(self, conversation_id: str, text: str, through_seq: int) -> None:
        self._summaries[conversation_id].append(StoredSummary(
            conversation_id=conversation_id, text=text, through_seq=through_seq,
            created_at=datetime.now(UTC)))

    async def conversations(self) -> list[str]:
        return sorted(self._turns)
