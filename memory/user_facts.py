"""Long-term facts about a user (name, preferences, open cases), per persona or for all personas,
recalled by meaning into later conversations.

Embeddings come from an `embed` callable (e.g. MiniLM run in a thread) and are stored as JSON
lists beside the fact, so SQLite and PostgreSQL behave alike; ranking is a cosine similarity
over one user's facts in numpy, which is fast at the scale of one caller (hundreds of facts).
Without `embed`, recall returns the newest facts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import numpy as np
from pydantic import BaseModel
from sqlalchemy import delete, or_, select, update

from memory.sql_mapping import as_utc, insert_ignore
from memory.sql_schema import FactRow, UserRow, utc_now
from memory.sql_store import SqlDialogueStore

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


class UserFact(BaseModel):
    id: int
    user_id: str
    text: str
    persona: str | None = None  # None: true for every persona
    pinned: bool = False  # pinned facts always go into the prompt
    created_at: datetime
    score: float | None = None  # similarity to the recall query, when ranked


class SqlFactStore:
    """Facts in the same database as the dialogue history (`store`)."""

    def __init__(self, store: SqlDialogueStore, embed: Embed | None = None) -> None:
        self.store, self.embed = store, embed

    async def remember(self, user_id: str, text: str, *, persona: str | None = None,
                       pinned: bool = False, conversation_id: str | None = None) -> int:
        vector = (await self.embed([text]))[0] if self.embed else None
        async with self.store.transaction(write=True) as session:
            await session.execute(insert_ignore(session, UserRow, id=user_id,
                                                 created_at=utc_now()))
            row = FactRow(user_id=user_id, persona=persona, text=text, pinned=pinned,
                          embedding=[float(x) for x in vector] if vector is not None else None,
                          source_conversation_id=conversation_id,
                          created_at=utc_now(), updated_at=utc_now())
            session.add(row)
            await session.flush()
            return row.id

    async def facts(self, user_id: str, persona: str | None = None) -> list[UserFact]:
        """The user's facts for this persona (and those for every persona), oldest first."""
        async with self.store.transaction() as session:
            rows = (await session.scalars(self._of(user_id, persona).order_by(FactRow.id))).all()
        return [_fact(row) for row in rows]

    async def pinned(self, user_id: str, persona: str | None = None) -> list[UserFact]:
        return [f for f in await self.facts(user_id, persona) if f.pinned]

    async def recall(self, user_id: str, query: str, *, persona: str | None = None,
                     limit: int = 5) -> list[UserFact]:
        """The unpinned facts closest in meaning to `query` (pinned ones go in anyway)."""
        async with self.store.transaction() as session:
            rows = (await session.scalars(self._of(user_id, persona)
                                          .where(FactRow.pinned.is_(False)))).all()
        if not rows:
            return []
        ranked = [r for r in rows if r.embedding is not None]
        if self.embed is None or not ranked:
            newest = sorted(rows, key=lambda r: r.id, reverse=True)[:limit]
            return [_fact(r) for r in newest]
        query_vector = np.asarray((await self.embed([query]))[0], dtype=np.float32)
        matrix = np.asarray([r.embedding for r in ranked], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query_vector) or 1.0)
        scores = matrix @ query_vector / np.where(norms == 0, 1.0, norms)
        best = np.argsort(-scores)[:limit]
        return [_fact(ranked[i], float(scores[i])) for i in best]

    async def forget(self, fact_id: int) -> None:
        async with self.store.transaction(write=True) as session:
            await session.execute(delete(FactRow).where(FactRow.id == fact_id))

    async def set_display_name(self, user_id: str, name: str) -> None:
        async with self.store.transaction(write=True) as session:
            await session.execute(insert_ignore(session, UserRow, id=user_id,
                                                 created_at=utc_now()))
            await session.execute(update(UserRow).where(UserRow.id == user_id)
                                  .values(display_name=name))

    async def display_name(self, user_id: str) -> str | None:
        """How to greet a returning caller; None for a caller not seen before."""
        async with self.store.transaction() as session:
            return await session.scalar(select(UserRow.display_name).where(UserRow.id == user_id))

    @staticmethod
    def _of(user_id: str, persona: str | None):
        query = select(FactRow).where(FactRow.user_id == user_id)
        if persona is not None:
            query = query.where(or_(FactRow.persona == persona, FactRow.persona.is_(None)))
        return query


def _fact(row: FactRow, score: float | None = None) -> UserFact:
    return UserFact(id=row.id, user_id=row.user_id, text=row.text, persona=row.persona,
                    pinned=row.pinned, created_at=as_utc(row.created_at), score=score)
