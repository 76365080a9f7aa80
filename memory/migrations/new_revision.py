"""Developers: write a new migration by comparing `memory.sql_schema` with a scratch database.

    python -m memory.migrations.new_revision "add facts.source"

The scratch SQLite file is brought to the current head first, so only the difference is written.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from memory.sql_engine import alembic_config


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        config = alembic_config()
        config.set_main_option("sqlalchemy.url", f"sqlite:///{Path(scratch) / 'scratch.db'}")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "change")
