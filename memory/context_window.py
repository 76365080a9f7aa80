"""History within a token budget: the newest turns that fit, older ones folded into a summary.

Two steps, so the model's summary call never sits on the audio path:
- `ContextWindowBuilder.assemble()` (before a turn): the stored summary plus the newest whole
  turns that fit next to the fixed part of the prompt (persona, pinned facts, this user turn).
  No model call; two reads.
- `ContextWindowBuilder.fold()` (after a turn, in the background): turns that fell out of the
  window and are not yet in the summary are folded into it by the `summarize` callable, which
  gets the previous summary and only the new turns (incremental), and the result is stored.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pydantic import BaseModel, Field

from memory.conversation_records import StoredSummary
from memory.dialogue import DialogueTurn
from memory.errors import MemoryStoreError

TokenCounter = Callable[[str], int]
# (previous summary, turns to fold in, token limit for the result) -> the new summary.
Summarize = Callable[[str, Sequence[DialogueTurn], int], Awaitable[str]]
# Chat templates add a few tokens per message (role markers, separators).
MESSAGE_OVERHEAD_TOKENS = 4


def approximate_tokens(text: str) -> int:
    """About 4 characters per token for English with BPE tokenizers; a backend with a real
    tokenizer should pass its own counter (the budget is only as good as the count)."""
    return (len(text) + 3) // 4


class ContextBudgetError(MemoryStoreError):
    """The fixed part of the prompt (persona, pinned facts, the user's turn) exceeds the budget."""


class SummaryStore(Protocol):
    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]: ...
    async def turns_between(self, conversation_id: str, after_seq: int,
                            before_seq: int | None = None) -> list[DialogueTurn]: ...
    async def latest_summary(self, conversation_id: str) -> StoredSummary | None: ...
    async def save_summary(self, conversation_id: str, text: str, through_seq: int) -> None: ...


class ContextWindow(BaseModel):
    summary: str = ""  # of the turns before `turns`; put after the persona prompt
    turns: list[DialogueTurn] = Field(default_factory=list)
    tokens: int = 0  # summary + turns, as counted
    # Older turns that did not fit and are not in the summary yet: what `fold()` will fold.
    unsummarized: int = 0
    unsummarized_tokens: int = 0


def turn_tokens(turn: DialogueTurn, count: TokenCounter = approximate_tokens) -> int:
    """What a stored turn costs in the prompt: its text, and for tool calls the call and the
    result messages that `history_messages` replays."""
    tokens = count(turn.text) + MESSAGE_OVERHEAD_TOKENS
    for call in turn.tool_calls:
        tokens += count(call.name) + count(json.dumps(call.arguments)) + count(call.result)
        tokens += 2 * MESSAGE_OVERHEAD_TOKENS
    return tokens


def fit_turns(turns: Sequence[DialogueTurn], budget: int,
              count: TokenCounter = approximate_tokens) -> list[DialogueTurn]:
    """The newest turns whose total fits `budget`, oldest first, starting at a user turn (a
    reply without its question misleads the model)."""
    kept: list[DialogueTurn] = []
    used = 0
    for turn in reversed(turns):
        cost = turn_tokens(turn, count)
        if used + cost > budget:
            break
        kept.append(turn)
        used += cost
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


class ContextWindowBuilder:
    """Assembles a conversation's history for the prompt within `budget_tokens`."""

    def __init__(self, store: SummaryStore, *, budget_tokens: int, summarize: Summarize | None = None,
                 summary_max_tokens: int = 300, scan_turns: int = 400,
                 count: TokenCounter = approximate_tokens) -> None:
        self.store, self.summarize, self.count = store, summarize, count
        self.budget_tokens = budget_tokens
        self.summary_max_tokens = summary_max_tokens
        self.scan_turns = scan_turns  # no window is longer than this: do not read further back

    async def assemble(self, conversation_id: str, fixed_tokens: int = 0) -> ContextWindow:
        """`fixed_tokens`: persona prompt, pinned facts and the new user turn, which always go in."""
        available = self.budget_tokens - fixed_tokens
        if available < 0:
            raise ContextBudgetError(
                f"the persona prompt, pinned facts and the user's turn take {fixed_tokens} "
                f"tokens, over the {self.budget_tokens}-token budget: raise the budget or "
                "shorten the persona prompt")
        summary = await self.store.latest_summary(conversation_id)
        summary_text = summary.text if summary else ""
        covered = summary.through_seq if summary else -1
        summary_cost = self.count(summary_text) + MESSAGE_OVERHEAD_TOKENS if summary_text else 0
        if summary_cost > available:  # a summary that no longer fits is dropped, not cut
            summary_text, summary_cost = "", 0
        # Once summaries are in play, the summary's full allowance is set aside: the window then
        # does not shrink each time the summary grows (which would fold again, turn after turn).
        reserved = summary_cost
        if summary_text or self.summarize is not None:
            reserved = max(summary_cost, self.summary_max_tokens + MESSAGE_OVERHEAD_TOKENS)
        recent = await self.store.history(conversation_id, self.scan_turns)
        turns = fit_turns(recent, max(available - reserved, 0), self.count)
        # The window is a suffix of `recent`; what came before it and is newer than the summary
        # is what a fold would take in. A turn still waiting for its database (no position
        # yet) counts as not summarized.
        dropped = [t for t in recent[:len(recent) - len(turns)] if t.seq is None or t.seq > covered]
        tokens = summary_cost + sum(turn_tokens(t, self.count) for t in turns)
        return ContextWindow(summary=summary_text, turns=turns, tokens=tokens,
                             unsummarized=len(dropped),
                             unsummarized_tokens=sum(turn_tokens(t, self.count) for t in dropped))

    async def fold(self, conversation_id: str, fixed_tokens: int = 0) -> StoredSummary | None:
        """Fold turns that fell out of the window into the running summary; call it after a
        turn, off the audio path. Returns the new summary, or None when nothing was to fold."""
        if self.summarize is None:
            return None
        window = await self.assemble(conversation_id, fixed_tokens)
        if window.unsummarized == 0:
            return None
        previous = await self.store.latest_summary(conversation_id)
        after = previous.through_seq if previous else -1
        before = window.turns[0].seq if window.turns else None
        folding = await self.store.turns_between(conversation_id, after, before)
        if not folding:
            return None
        text = await self.summarize(previous.text if previous else "", folding,
                                    self.summary_max_tokens)
        through = folding[-1].seq
        assert through is not None, "turns from a SQL store carry their position"
        await self.store.save_summary(conversation_id, text.strip(), through)
        return await self.store.latest_summary(conversation_id)


SUMMARY_INSTRUCTIONS = (
    "You keep the running summary of a spoken conversation between a user and an assistant. "
    "Update the summary with the new turns below. Keep names, numbers, dates, decisions, open "
    "questions and what the user wants; drop greetings and filler. Write plain sentences in "
    "the third person, at most {max_tokens} tokens. Answer with the summary only."
)


def summary_request(previous: str, turns: Sequence[DialogueTurn], max_tokens: int) -> str:
    """The user message for a chat model asked to update the summary (pair it with
    `SUMMARY_INSTRUCTIONS` as the system message)."""
    lines = [f"Summary so far: {previous or '(none yet)'}", "", "New turns:"]
    for turn in turns:
        lines.append(f"{turn.role}: {turn.text}")
        for call in turn.tool_calls:
            lines.append(f"  (tool {call.name} -> {call.result[:200]})")
    return "\n".join(lines)
