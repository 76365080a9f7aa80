"""Store fixtures: every store test runs on a SQLite file and on a real PostgreSQL server.

PostgreSQL: `STEPVOX_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`).
Each test gets its own schema (`stepvox_test_<random>`), dropped afterwards, so runs in
parallel and other users of the server never see each other's rows. Where no server answers,
a local Debian cluster is started once (`pg_ctlcluster`, where installed); if there is still
none, the PostgreSQL cases skip with the reason; with `CI=true` they fail instead: CI must run
them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import pytest_asyncio

from memory.sql_engine import postgres_unreachable
from memory.sql_store import SqlDialogueStore

POSTGRES_URL = os.environ.get("STEPVOX_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def _postgres_unreachable() -> str | None:
    return postgres_unreachable(POSTGRES_URL)


def _start_local_cluster() -> None:
    """Debian's PostgreSQL, installed but stopped: start its cluster (as the machine's set-up
    would). Quietly does nothing where that is not possible (no Debian packages, not root)."""
    clusters = Path("/etc/postgresql")
    if shutil.which("pg_ctlcluster") is None or not clusters.is_dir():
        return
    for version in sorted(p.name for p in clusters.iterdir()):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                       capture_output=True, timeout=60, check=False)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_unreachable()
    if reason is not None and "127.0.0.1" in POSTGRES_URL:
        _start_local_cluster()
        reason = _postgres_unreachable()
    if reason is not None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(f"{reason}; set STEPVOX_TEST_POSTGRES_URL to run the PostgreSQL cases")
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_url(postgres_server: str):
    """A URL whose search_path is a fresh schema; the schema is dropped after the test."""
    import psycopg

    schema = f"stepvox_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_server else "?"
    yield f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite3")
    return request.getfixturevalue("postgres_schema_url")


@pytest_asyncio.fixture(loop_scope="function")
async def store(store_url: str) -> AsyncIterator[SqlDialogueStore]:
    async with SqlDialogueStore(store_url) as opened:
        yield opened
