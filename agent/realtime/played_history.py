"""History that records what the listener heard, not what the model wrote.

A reply is stored by the agent when it is generated, seconds before its audio has played.
If the user then talks over it, or the client reports with `conversation.item.truncate`
where its playback stopped, the stored assistant turn must hold only the words played. The
`DialogueStore` seam is append-only, so a session's turns are held here until they are
settled and only then written to the real store:

- a reply that played out is written as generated;
- an interrupted reply is rewritten to the words played (`settle_played`) and still held
  until the next reply starts, so a client's own, more exact `truncate` can amend it;
- closing the session writes whatever is held.

Reads see the real history plus the held turns, so the next turn's prompt is always whole.
Held turns live only in this process; with a `journal` (`cluster/reply_journal.py`, a SQL
history) the user's turn and the part of the reply sent are in the database meanwhile, so a
server that dies mid-reply loses nothing: settling then replaces those provisional rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from memory import DialogueStore, DialogueTurn


class PlayedHistoryStore:
    def __init__(self, base: DialogueStore, journal: Any = None) -> None:
        self.base = base
        self.journal = journal  # a ReplyJournal, or None (nothing written ahead)
        self.held: list[tuple[str, DialogueTurn]] = []  # (conversation id, turn), in order
        self.held_for: str | None = None  # the response whose turns are held

    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None:
        self.held.extend((conversation_id, t) for t in turns)

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        extra = 2 if self.journal is not None else 0  # a journaled reply's two rows
        stored = await self.base.history(conversation_id, limit + extra if limit else limit)
        # Asked after the read: a provisional row it saw is known to the journal by then.
        hidden = await self.journal.hidden(conversation_id) if self.journal else set()
        turns = [*(t for t in stored if t.seq is None or t.seq not in hidden),
                 *(t for cid, t in self.held if cid == conversation_id)]
        return turns[-limit:] if limit else turns

    async def begin(self, response_id: str) -> None:
        """A new reply starts: what the previous one left is final now."""
        await self.flush()
        self.held_for = response_id

    def holds(self, response_id: str) -> bool:
        return self.held_for == response_id and bool(self.held)

    def settle_played(self, response_id: str, played_text: str, played_s: float) -> bool:
        """Rewrite the held reply of `response_id` to the words played. False: nothing held
        for it (the agent never stored the turn, or it was already written)."""
        if self.held_for != response_id:
            return False
        replies = [t for _, t in self.held if t.role == "assistant"]
        if not replies:
            return False
        last = replies[-1]
        last.text = played_text
        last.interrupted = True
        last.audio_duration_s = round(played_s, 3)
        return True

    def withdraw(self, response_id: str) -> bool:
        """Forget the held turns of `response_id` (the user's turn went on: it is asked again
        as a whole). False: nothing held for it."""
        if self.held_for != response_id or not self.held:
            return False
        self.held = []
        return True

    async def flush(self) -> None:
        held, self.held = self.held, []
        by_conversation: dict[str, list[DialogueTurn]] = {}
        for cid, turn in held:
            by_conversation.setdefault(cid, []).append(turn)
        for cid, turns in by_conversation.items():
            # One append per conversation: a reader never sees a user turn without its reply.
            if self.journal is not None and await self.journal.settle(cid, turns):
                continue  # the provisional rows were replaced by these, in one transaction
            await self.base.append(cid, turns)

    def __getattr__(self, name: str) -> Any:  # anything else a store offers: the real one
        return getattr(self.base, name)
