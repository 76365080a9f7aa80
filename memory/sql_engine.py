"""Database URLs, async engines with the right pragmas, and migrations run on open.

SQLite file (default) or PostgreSQL by URL. Both are driven through asyncio drivers
(`aiosqlite`, `psycopg` 3) so nothing on the audio path blocks the event loop.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from platformdirs import user_data_dir
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant: all processes that open the same PostgreSQL database migrate one at a time.
_MIGRATION_LOCK_KEY = 0x5E9F0C5
# How long a SQLite writer waits for another writer before "database is locked" (ms). Writes
# are one short transaction per turn, so a long wait only happens under real overload.
SQLITE_BUSY_TIMEOUT_MS = 30_000
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg",
            "postgres": "postgresql+psycopg"}


def default_database_path() -> Path:
    return Path(user_data_dir("stepvox")) / "memory.sqlite3"


def database_url(url: str | Path | None = None) -> URL:
    """A URL or a file path -> an async SQLAlchemy URL (`sqlite+aiosqlite`, `postgresql+psycopg`).

    None means the default SQLite file in the user data directory.
    """
    if url is None:
        url = default_database_path()
    if isinstance(url, Path) or "://" not in str(url):
        return URL.create("sqlite+aiosqlite", database=str(Path(url).expanduser()))
    parsed = make_url(str(url))
    driver = _DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def postgres_unreachable(url: str) -> str | None:
    """Why no PostgreSQL server answers at `url` (a libpq URL), or None when one does."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'stepvox[postgres]')"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {url} ({str(exc).strip().splitlines()[0]})"
    return None


def create_memory_engine(url: str | Path | URL | None = None, *, echo: bool = False) -> AsyncEngine:
    url = url if isinstance(url, URL) else database_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo)
    # pre_ping: a pooled connection that died with a database restart is replaced, not used.
    # connect_timeout: an unreachable host fails in seconds, not after the OS's TCP timeout.
    connect_args = {"connect_timeout": 5} if url.get_backend_name() == "postgresql" else {}
    return create_async_engine(url, echo=echo, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: URL, echo: bool) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, echo=echo)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        # The driver's own implicit BEGIN would be DEFERRED; SQLAlchemy emits BEGIN itself (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer. synchronous=NORMAL: a committed transaction
        # survives a killed process (not necessarily a power cut), at a fraction of FULL's cost.
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}", "temp_store=MEMORY"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock up front (BEGIN IMMEDIATE), where busy_timeout applies.
        # A DEFERRED transaction that reads and then writes fails at once with "database is
        # locked" when another writer got there first: SQLite cannot wait that out.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def writer_engine(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool), whose transactions start as writers on SQLite."""
    return engine.execution_options(sqlite_begin="IMMEDIATE")


async def upgrade_database(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration; cheap when it already is."""
    async with writer_engine(engine).begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes opening a fresh database at once must not both create tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def alembic_config() -> Config:
    """Alembic's configuration without an alembic.ini: the migrations ship in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
