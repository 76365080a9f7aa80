"""Where the scale-out tests find PostgreSQL and Redis, and what they read back from them."""

from __future__ import annotations

import os
from urllib.parse import quote

POSTGRES_URL = os.environ.get("STEPVOX_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
# A database number of its own, so these tests' keys never mix with other users' keys.
REDIS_URL = os.environ.get("STEPVOX_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def url_for(schema: str) -> str:
    """The test database with `schema` first on the search path (tables are made there)."""
    return f"{POSTGRES_URL}?application_name={schema}&options={quote(f'-csearch_path={schema}')}"


def redis_unreachable(url: str) -> str | None:
    try:
        import redis
    except ImportError:
        return "redis is not installed (pip install 'stepvox[server]')"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"no Redis at {url} ({exc})"
    return None


def stored_turns(schema: str, conversation_id: str) -> list[tuple[str, str, bool]]:
    """(role, text, interrupted) of each stored turn, in order."""
    import psycopg

    with psycopg.connect(url_for(schema)) as conn:
        rows = conn.execute("SELECT role, text, interrupted FROM turns WHERE conversation_id = "
                            "%s ORDER BY seq", (conversation_id,)).fetchall()
    return [(role, text, interrupted) for role, text, interrupted in rows]


def conversation_owner(schema: str, conversation_id: str) -> str | None:
    import psycopg

    with psycopg.connect(url_for(schema)) as conn:
        row = conn.execute("SELECT user_id FROM conversations WHERE id = %s",
                           (conversation_id,)).fetchone()
    return row[0] if row else None
