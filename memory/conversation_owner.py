"""Who a conversation belongs to, decided once by the database.

A conversation is owned by the user who created it. Several server processes may be asked to
open the same new id at the same moment: the row is created with its owner in one
`INSERT ... ON CONFLICT DO NOTHING`, so exactly one creator wins and everyone then reads the
same owner back. A conversation created without a user (no per-user tokens) has no owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from memory.sql_mapping import insert_ignore
from memory.sql_schema import ConversationRow, UserRow, utc_now


@dataclass(frozen=True)
class ConversationClaim:
    conversation_id: str
    owner: str | None  # the user the conversation belongs to (None: nobody's)
    created: bool  # this call created it
    turns: int  # positions used so far (0 for a new conversation)

    def allows(self, user_id: str | None) -> bool:
        return self.owner is None or self.owner == user_id


async def claim_conversation(store, conversation_id: str, user_id: str | None,
                             persona: str | None = None) -> ConversationClaim:
    """Create `conversation_id` owned by `user_id` unless it exists; return who owns it.
    An existing conversation is reopened (its end time cleared) only for a caller it allows."""
    async with store.transaction(write=True) as session:
        if user_id is not None:
            await session.execute(insert_ignore(session, UserRow, id=user_id,
                                                 created_at=utc_now()))
        # RETURNING, not rowcount: drivers disagree on the count of an ignored insert.
        inserted = await session.execute(insert_ignore(
            session, ConversationRow, id=conversation_id, user_id=user_id, persona=persona,
            started_at=utc_now(), next_seq=0).returning(ConversationRow.id))
        created = inserted.first() is not None
        owner, turns = (await session.execute(
            select(ConversationRow.user_id, ConversationRow.next_seq)
            .where(ConversationRow.id == conversation_id))).one()
        claim = ConversationClaim(conversation_id, owner, created, turns)
        if not created and claim.allows(user_id):
            await session.execute(update(ConversationRow).where(
                ConversationRow.id == conversation_id).values(ended_at=None))
    return claim
