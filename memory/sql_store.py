"""`SqlDialogueStore`: the `DialogueStore` on SQLite (default) or PostgreSQL, async.

Each `append` is one transaction: a block of turns (a user turn and its reply) is stored whole
or not at all, so a process killed mid-turn leaves history intact up to the last committed turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory.conversation_records import (
    ConversationExport, ConversationInfo, DeletedUser, StoredSummary,
)
from memory.dialogue import DialogueTurn
from memory.errors import ConversationNotFoundError, DatabaseUnavailableError
from memory.sql_engine import create_memory_engine, database_url, upgrade_database, writer_engine
from memory.sql_mapping import as_utc, conversation_info, dialogue_turn, insert_ignore, turn_row
from memory.sql_schema import (
    ConversationRow, FactRow, SummaryRow, TurnRow, UserRow, utc_now,
)

log = logging.getLogger(__name__)
_UNAVAILABLE = (OperationalError, InterfaceError, OSError, ConnectionError)


class SqlDialogueStore:
    """Dialogue history in a SQL database. Opens (and migrates) lazily on first use.

    `url`: None (the default SQLite file), a file path, or a SQLAlchemy URL such as
    `sqlite:///history.db` or `postgresql://user@host/db` (drivers are picked for you).
    Use one store per event loop (its connection pool belongs to the loop that opened it).
    """

    def __init__(self, url: str | Path | URL | None = None, *, echo: bool = False) -> None:
        self.url = url if isinstance(url, URL) else database_url(url)
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._open_lock = asyncio.Lock()
        # SQLite has one writer at a time. Writers of this process queue here, in order, instead
        # of inside SQLite's busy handler, which polls with sleeps of up to 100 ms; other
        # processes are still waited for through busy_timeout.
        self._sqlite_writer = asyncio.Lock() if self.dialect == "sqlite" else None

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> SqlDialogueStore:
        """Connect and migrate; retried on the next call when the database is unreachable."""
        async with self._open_lock:
            if self._engine is not None:
                return self
            try:
                engine = create_memory_engine(self.url, echo=self._echo)
            except OSError as exc:  # e.g. the SQLite file's folder cannot be created
                raise self._unavailable(exc) from exc
            try:
                await upgrade_database(engine)
            except _UNAVAILABLE as exc:
                await engine.dispose()
                raise self._unavailable(exc) from exc
            except BaseException:
                await engine.dispose()
                raise
            self._engine = engine
            self._read = async_sessionmaker(engine, expire_on_commit=False)
            self._write = async_sessionmaker(writer_engine(engine), expire_on_commit=False)
        return self

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def __aenter__(self) -> SqlDialogueStore:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    # -- DialogueStore ---------------------------------------------------------------------

    async def append(self, conversation_id: str, turns: Sequence[DialogueTurn]) -> None:
        if not turns:
            return
        async with self.transaction(write=True) as session:
            await self._ensure_conversation(session, conversation_id)
            # The UPDATE takes the conversation's row lock (PostgreSQL) or the write lock
            # (SQLite) until commit: a concurrent append to the same conversation waits here,
            # so each block's positions are contiguous.
            end = (await session.execute(
                update(ConversationRow).where(ConversationRow.id == conversation_id)
                .values(next_seq=ConversationRow.next_seq + len(turns))
                .returning(ConversationRow.next_seq))).scalar_one()
            session.add_all(turn_row(conversation_id, end - len(turns) + i, turn)
                            for i, turn in enumerate(turns))

    async def history(self, conversation_id: str, limit: int | None = None) -> list[DialogueTurn]:
        """The newest `limit` turns (all when None), oldest first."""
        if limit is not None and limit <= 0:
            return []
        query = (select(TurnRow).where(TurnRow.conversation_id == conversation_id)
                 .order_by(TurnRow.seq.desc()))
        if limit is not None:
            query = query.limit(limit)
        async with self.transaction() as session:
            rows = (await session.scalars(query)).all()
        return [dialogue_turn(row) for row in reversed(rows)]

    async def turns_between(self, conversation_id: str, after_seq: int,
                            before_seq: int | None = None) -> list[DialogueTurn]:
        """Turns with `after_seq < seq < before_seq`, oldest first (for folding a summary)."""
        query = (select(TurnRow).where(TurnRow.conversation_id == conversation_id,
                                       TurnRow.seq > after_seq).order_by(TurnRow.seq))
        if before_seq is not None:
            query = query.where(TurnRow.seq < before_seq)
        async with self.transaction() as session:
            return [dialogue_turn(row) for row in (await session.scalars(query)).all()]

    # -- conversations and users -----------------------------------------------------------

    async def start_conversation(self, conversation_id: str, *, user_id: str | None = None,
                                 persona: str | None = None) -> None:
        """Record who the conversation is with; appending works without it (user unknown)."""
        async with self.transaction(write=True) as session:
            if user_id is not None:
                await session.execute(insert_ignore(session, UserRow, id=user_id,
                                                     created_at=utc_now()))
            await self._ensure_conversation(session, conversation_id)
            values: dict[str, Any] = {}
            if user_id is not None:
                values["user_id"] = user_id
            if persona is not None:
                values["persona"] = persona
            if values:
                await session.execute(update(ConversationRow)
                                      .where(ConversationRow.id == conversation_id).values(values))

    async def end_conversation(self, conversation_id: str) -> None:
        async with self.transaction(write=True) as session:
            await session.execute(update(ConversationRow).where(
                ConversationRow.id == conversation_id).values(ended_at=utc_now()))

    async def conversations(self, user_id: str | None = None,
                            limit: int | None = None) -> list[ConversationInfo]:
        """Newest first."""
        counts = (select(TurnRow.conversation_id, func.count().label("n"))
                  .group_by(TurnRow.conversation_id).subquery())
        query = (select(ConversationRow, func.coalesce(counts.c.n, 0))
                 .outerjoin(counts, counts.c.conversation_id == ConversationRow.id)
                 .order_by(ConversationRow.started_at.desc(), ConversationRow.id))
        if user_id is not None:
            query = query.where(ConversationRow.user_id == user_id)
        if limit is not None:
            query = query.limit(limit)
        async with self.transaction() as session:
            return [conversation_info(row, n) for row, n in (await session.execute(query)).all()]

    async def conversation(self, conversation_id: str) -> ConversationInfo:
        async with self.transaction() as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is None:
                raise ConversationNotFoundError(
                    f"no conversation {conversation_id!r}: `stepvox history list` shows them")
            count = await session.scalar(select(func.count()).where(
                TurnRow.conversation_id == conversation_id))
        return conversation_info(row, count or 0)

    async def export(self, conversation_id: str) -> ConversationExport:
        info = await self.conversation(conversation_id)
        return ConversationExport(conversation=info, turns=await self.history(conversation_id),
                                  summary=await self.latest_summary(conversation_id))

    async def delete_conversation(self, conversation_id: str) -> int:
        """Delete a conversation and its turns; returns the number of turns removed."""
        async with self.transaction(write=True) as session:
            paths = await self._audio_paths(session, TurnRow.conversation_id == conversation_id)
            turns = await session.scalar(select(func.count()).where(
                TurnRow.conversation_id == conversation_id)) or 0
            await session.execute(delete(ConversationRow).where(
                ConversationRow.id == conversation_id))
        _remove_files(paths)
        return turns

    async def delete_user(self, user_id: str) -> DeletedUser:
        """Every row of the user (conversations, turns, tool calls, summaries, facts) and every
        audio file those turns name."""
        async with self.transaction(write=True) as session:
            of_user = select(ConversationRow.id).where(ConversationRow.user_id == user_id)
            paths = await self._audio_paths(session, TurnRow.conversation_id.in_(of_user))
            conversations = await session.scalar(
                select(func.count()).where(ConversationRow.user_id == user_id)) or 0
            turns = await session.scalar(
                select(func.count()).where(TurnRow.conversation_id.in_(of_user))) or 0
            facts = await session.scalar(
                select(func.count()).where(FactRow.user_id == user_id)) or 0
            # Explicit deletes, child tables first: correct even where foreign keys are off.
            await session.execute(delete(TurnRow).where(TurnRow.conversation_id.in_(of_user)))
            await session.execute(delete(SummaryRow).where(
                SummaryRow.conversation_id.in_(of_user)))
            await session.execute(delete(FactRow).where(FactRow.user_id == user_id))
            await session.execute(delete(ConversationRow).where(ConversationRow.user_id == user_id))
            await session.execute(delete(UserRow).where(UserRow.id == user_id))
        return DeletedUser(user_id=user_id, conversations=conversations, turns=turns, facts=facts,
                           files=_remove_files(paths))

    # -- summaries -------------------------------------------------------------------------

    async def latest_summary(self, conversation_id: str) -> StoredSummary | None:
        async with self.transaction() as session:
            row = await session.scalar(
                select(SummaryRow).where(SummaryRow.conversation_id == conversation_id)
                .order_by(SummaryRow.through_seq.desc(), SummaryRow.id.desc()).limit(1))
        if row is None:
            return None
        return StoredSummary(conversation_id=conversation_id, text=row.text,
                             through_seq=row.through_seq, created_at=as_utc(row.created_at))

    async def save_summary(self, conversation_id: str, text: str, through_seq: int) -> None:
        async with self.transaction(write=True) as session:
            await self._ensure_conversation(session, conversation_id)
            session.add(SummaryRow(conversation_id=conversation_id, text=text,
                                   through_seq=through_seq, created_at=utc_now()))

    # -- internals -------------------------------------------------------------------------

    def transaction(self, *, write: bool = False) -> _StoreSession:
        """`async with store.transaction(write=True) as session:` an `AsyncSession` in one
        transaction, committed on success; outages raise `DatabaseUnavailableError`."""
        return _StoreSession(self, write)

    async def _ensure_conversation(self, session: AsyncSession, conversation_id: str) -> None:
        await session.execute(insert_ignore(session, ConversationRow, id=conversation_id,
                                             started_at=utc_now(), next_seq=0))

    @staticmethod
    async def _audio_paths(session: AsyncSession, where) -> list[str]:
        query = select(TurnRow.audio_path).where(where, TurnRow.audio_path.is_not(None))
        return list((await session.scalars(query)).all())

    def _unavailable(self, exc: BaseException) -> DatabaseUnavailableError:
        where = self.url.render_as_string(hide_password=True)
        cause = getattr(exc, "orig", None) or exc  # the driver's own words, not SQLAlchemy's
        detail = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        return DatabaseUnavailableError(
            f"the history database {where} is unavailable ({type(cause).__name__}: {detail}); "
            "check that it is running and reachable, or set STEPVOX_DATABASE_URL")


class _StoreSession:
    """A session in one transaction, committed on success; database outages become
    `DatabaseUnavailableError` so callers need not know SQLAlchemy's exceptions."""

    def __init__(self, store: SqlDialogueStore, write: bool) -> None:
        self.store, self.write = store, write

    async def __aenter__(self) -> AsyncSession:
        if self.store._engine is None:
            await self.store.open()
        self.writer_lock = self.store._sqlite_writer if self.write else None
        if self.writer_lock is not None:
            await self.writer_lock.acquire()
        maker = self.store._write if self.write else self.store._read
        self.session = maker()
        await self.session.begin()  # no I/O yet: the connection is taken on first use
        return self.session

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        except _UNAVAILABLE as error:
            raise self.store._unavailable(error) from error
        finally:
            await self.session.close()
            if self.writer_lock is not None:
                self.writer_lock.release()
        if isinstance(exc, _UNAVAILABLE) or (isinstance(exc, DBAPIError)
                                             and exc.connection_invalidated):
            raise self.store._unavailable(exc) from exc


def _remove_files(paths: Sequence[str]) -> int:
    removed = 0
    for path in paths:
        try:
            Path(path).unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:  # keep deleting the rest; say which file is left behind
            log.warning("could not remove audio file %s: %s", path, exc)
    return removed
