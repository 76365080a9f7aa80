"""Alembic environment: migrations run on a connection handed over by `upgrade_database`.

For developers making a new revision, a sync URL works too:
    python -m memory.migrations.new_revision "add x"
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from memory.sql_schema import Base

config = context.config


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _run(conn)
