"""Scale-out tests: real PostgreSQL, real Redis, real `stepvox serve` processes.

Makes the sibling helpers and the shared test helpers (`fakes`, `loopback_server`, the
realtime tests' client) importable, and gives each test a PostgreSQL schema of its own.
"""

import sys
import uuid
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for folder in (_HERE, _HERE.parent, _HERE.parent / "realtime"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from cluster_env import POSTGRES_URL, REDIS_URL, redis_unreachable  # noqa: E402


@pytest.fixture
def pg_schema():
    """A fresh schema on the test PostgreSQL server, dropped afterwards."""
    from memory.sql_engine import postgres_unreachable

    if (reason := postgres_unreachable(POSTGRES_URL)) is not None:
        pytest.skip(f"{reason}: the scale-out tests need a real PostgreSQL server "
                    "(set STEPVOX_TEST_POSTGRES_URL)")
    import psycopg

    name = f"stepvox_scale_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def redis_url():
    if (reason := redis_unreachable(REDIS_URL)) is not None:
        pytest.skip(f"{reason}: the scale-out tests need a real Redis (set STEPVOX_TEST_REDIS_URL)")
    return REDIS_URL
