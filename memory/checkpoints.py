"""LangGraph checkpointers in the history database, so an interrupted graph (a tool awaiting
approval) resumes in another process.

    async with open_checkpointer(settings.database_url) as saver:
        graph = builder.compile(checkpointer=saver)
        await graph.ainvoke(state, config, durability="exit")

The savers' tables (`checkpoints`, `writes`, `checkpoint_*`) live beside the history tables and
are created by the savers' own `setup()`, not by our migrations: their schema is theirs.

Durability: `durability="exit"` writes once when the run ends or interrupts (about 0.3 ms per
step on SQLite), which keeps the write off the audio path and is enough to resume an interrupt;
`"sync"` also survives a crash in the middle of a run, at 2 to 7 ms per step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from sqlalchemy.engine import URL

from memory.sql_engine import SQLITE_BUSY_TIMEOUT_MS, database_url


@asynccontextmanager
async def open_checkpointer(url: str | Path | URL | None = None, *, max_connections: int = 10,
                            serde: SerializerProtocol | None = None
                            ) -> AsyncIterator[BaseCheckpointSaver]:
    """A LangGraph saver for the same database as `SqlDialogueStore(url)`; `serde`: how the
    state is written (the saver's default when None)."""
    url = url if isinstance(url, URL) else database_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        async with _sqlite_saver(url, serde) as saver:
            yield saver
    elif backend == "postgresql":
        async with _postgres_saver(url, max_connections, serde) as saver:
            yield saver
    else:
        raise ValueError(f"no LangGraph checkpointer for {backend!r}: use SQLite or PostgreSQL")


@asynccontextmanager
async def _sqlite_saver(url: URL, serde: SerializerProtocol | None
                        ) -> AsyncIterator[BaseCheckpointSaver]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = url.database or ":memory:"
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # The saver shares the file with the history store's writers: wait for them, not fail.
    async with aiosqlite.connect(path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        saver = AsyncSqliteSaver(conn, serde=serde)
        await saver.setup()
        yield saver


@asynccontextmanager
async def _postgres_saver(url: URL, max_connections: int, serde: SerializerProtocol | None
                          ) -> AsyncIterator[BaseCheckpointSaver]:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool
    except ImportError as exc:
        raise ImportError("PostgreSQL checkpoints need the `postgres` extra: "
                          "pip install 'stepvox[postgres]'") from exc

    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    # A pool, not one connection: many conversations checkpoint at once. These connection
    # settings are the ones the saver requires (autocommit, no server-side prepares, dict rows).
    async with AsyncConnectionPool(
        conninfo, max_size=max_connections, open=False,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    ) as pool:
        saver = AsyncPostgresSaver(pool, serde=serde)
        await saver.setup()
        yield saver
