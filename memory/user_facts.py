"""Long-term facts about a user (name, preferences, open cases), per persona or for all personas,
recalled by meaning into later conversations.

Embeddings come from an `embed` callable (e.g. MiniLM run in a thread) and are stored as JSON
lists beside the fact, so SQLite and PostgreSQL behave alike; ranking is a cosine similarity
over one user's facts in numpy, which is fast at the scale of one caller (hundreds of facts).
Without `embed` (or for facts stored without a vector), recall ranks by shared words, newest
first among equals.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel
from sqlalchemy import delete, or_, select, update

from memory.sql_mapping import as_utc, insert_ignore
from memory.sql_schema import FactRow, UserRow, utc_now
from memory.sql_store import SqlDialogueStore

Embed = Callable[[Sequence[str]], Awaitable[list[list[float]]]]
FactKind = Literal["name", "preference", "open_case", "other"]
_WORD = re.compile(r"[^\W_]{3,}")  # words of 3+ letters: "a", "is", "my" say nothing


class UserFact(BaseModel):
    id: int
    user_id: str
    text: str
    persona: str | None = None  # None: true for every persona
    kind: FactKind | None = None
    pinned: bool = False  # pinned facts always go into the prompt
    created_at: datetime
    score: float | None = None  # similarity to the recall query, when ranked


class SqlFactStore:
    """Facts in the same database as the dialogue history (`store`)."""

    def __init__(self, store: SqlDialogueStore, embed: Embed | None = None) -> None:
        self.store, self.embed = store, embed

    async def remember(self, user_id: str, text: str, *, persona: str | None = None,
                       pinned: bool = False, conversation_id: str | None = None,
                       kind: FactKind | None = None) -> int:
        vector = (await self.embed([text]))[0] if self.embed else None
        async with self.store.transaction(write=True) as session:
            await session.execute(insert_ignore(session, UserRow, id=user_id,
                                                 created_at=utc_now()))
            row = FactRow(user_id=user_id, persona=persona, text=text, pinned=pinned, kind=kind,
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
            return _by_shared_words(rows, query, limit)
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
                    kind=row.kind, pinned=row.pinned, created_at=as_utc(row.created_at),
                    score=score)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def _by_shared_words(rows: Sequence[FactRow], query: str, limit: int) -> list[UserFact]:
    """The keyword fallback: facts sharing the most words with the query, newest first among
    equals; the score is the share of the query's words found in the fact."""
    wanted = _words(query)
    scored = [(len(wanted & _words(r.text)), r.id, r) for r in rows]
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [_fact(r, shared / len(wanted) if wanted else 0.0) for shared, _, r in scored[:limit]]
