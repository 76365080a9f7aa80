"""The shipped Alembic migrations build exactly the ORM schema, and run without an alembic.ini."""

from __future__ import annotations

import sqlite3

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from memory.sql_engine import alembic_config
from memory.sql_schema import Base

TABLES = {"users", "conversations", "turns", "tool_calls", "summaries", "facts"}


async def test_migrated_database_matches_the_orm_schema(store):
    async with store.transaction() as session:
        connection = await session.connection()
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata))
    assert diff == [], "memory.sql_schema changed: python -m memory.migrations.new_revision '...'"


def test_downgrade_to_base_and_up_again(tmp_path):
    path = tmp_path / "m.sqlite3"
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", f"sqlite:///{path}")

    def tables() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    command.upgrade(config, "head")
    assert TABLES <= tables()
    command.downgrade(config, "base")
    assert not TABLES & tables()
    command.upgrade(config, "head")
    assert TABLES <= tables()
