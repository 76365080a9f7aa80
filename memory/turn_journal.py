"""Writing a turn to the SQL store while its reply is still being spoken.

A realtime reply is stored whole only once its audio has played (the listener may cut it
short), which is seconds after the user spoke. A process killed in between would lose the
user's words and the part of the reply already sent. The journal closes that gap:

- `open` writes the user's turn and an empty assistant turn, marked interrupted, in one
  transaction, as soon as the words are known;
- `amend` rewrites that assistant row to the text whose audio has been sent so far (still
  marked interrupted: if the process dies now, that is what the caller heard at most);
- `replace` swaps the provisional rows for the turn's final rows (with its tool calls) in one
  transaction, once the reply is settled.

Every write is one transaction, so a killed process leaves either the rows before or the rows
after it, never a half-written block.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, update

from memory.dialogue import DialogueTurn
from memory.sql_mapping import turn_row
from memory.sql_schema import ConversationRow, TurnRow


class SqlTurnJournal:
    """The journal's writes on a `SqlDialogueStore` (`memory.sql_store`)."""

    def __init__(self, store) -> None:
        self.store = store

    async def open(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> list[int]:
        """Append `turns` as one block; returns their positions (seq)."""
        return await self._append(conversation_id, turns)

    async def amend(self, conversation_id: str, seq: int, *, text: str,
                    audio_duration_s: float | None, interrupted: bool | None = None) -> None:
        values: dict = {"text": text, "audio_duration_s": audio_duration_s}
        if interrupted is not None:
            values["interrupted"] = interrupted
        async with self.store.transaction(write=True) as session:
            await session.execute(
                update(TurnRow).where(TurnRow.conversation_id == conversation_id,
                                      TurnRow.seq == seq).values(values))

    async def replace(self, conversation_id: str, seqs: Sequence[int],
                      turns: Sequence[DialogueTurn]) -> list[int]:
        """Delete the rows at `seqs` and append `turns`, in one transaction."""
        return await self._append(conversation_id, turns, drop=seqs)

    async def discard(self, conversation_id: str, seqs: Sequence[int]) -> None:
        async with self.store.transaction(write=True) as session:
            await self._drop(session, conversation_id, seqs)

    async def _append(self, conversation_id: str, turns: Sequence[DialogueTurn],
                      drop: Sequence[int] = ()) -> list[int]:
        async with self.store.transaction(write=True) as session:
            if drop:
                await self._drop(session, conversation_id, drop)
            if not turns:
                return []
            await self.store._ensure_conversation(session, conversation_id)
            # The same row lock as `SqlDialogueStore.append`: blocks never interleave.
            end = (await session.execute(
                update(ConversationRow).where(ConversationRow.id == conversation_id)
                .values(next_seq=ConversationRow.next_seq + len(turns))
                .returning(ConversationRow.next_seq))).scalar_one()
            first = end - len(turns)
            session.add_all(turn_row(conversation_id, first + i, turn)
                            for i, turn in enumerate(turns))
        return list(range(first, end))

    @staticmethod
    async def _drop(session, conversation_id: str, seqs: Sequence[int]) -> None:
        # Tool-call rows go with their turn (ON DELETE CASCADE; SQLite has foreign keys on).
        await session.execute(delete(TurnRow).where(TurnRow.conversation_id == conversation_id,
                                                    TurnRow.seq.in_(list(seqs))))
