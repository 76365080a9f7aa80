"""`SqlDialogueStore` on SQLite and PostgreSQL: round trips, order, limits, users, deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from memory import DialogueStore, DialogueTurn, ToolCallRecord
from memory.errors import ConversationNotFoundError
from memory.sql_engine import database_url
from memory.sql_store import SqlDialogueStore

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def pair(i: int, tag: str = "") -> list[DialogueTurn]:
    return [DialogueTurn(role="user", text=f"{tag}user {i}"),
            DialogueTurn(role="assistant", text=f"{tag}reply {i}")]


def rich_turns() -> list[DialogueTurn]:
    return [
        DialogueTurn(role="user", text="What time is it in Tokyo?", created_at=T0,
                     language="en", audio_duration_s=1.75),
        DialogueTurn(
            role="assistant", text="Let me check. It is 9 PM in Tokyo.",
            preamble="Let me check.", created_at=T0 + timedelta(seconds=2), style="(happy)",
            language="en", audio_duration_s=3.5,
            tool_calls=[
                ToolCallRecord(id="call_1", name="get_date_time",
                               arguments={"timezone": "Asia/Tokyo", "nested": {"a": [1, 2]}},
                               result='{"time": "21:00"}', latency_ms=12.5),
                ToolCallRecord(id="call_2", name="weather", arguments={"city": "Tokyo"},
                               result="service down", is_error=True, latency_ms=800.0),
            ]),
        DialogueTurn(role="user", text="And in Ünïcødé? 東京", created_at=T0 + timedelta(seconds=9)),
        # Barge-in: only the words actually played are stored.
        DialogueTurn(role="assistant", text="In Tokyo it is", interrupted=True,
                     created_at=T0 + timedelta(seconds=10)),
    ]


def test_is_a_dialogue_store():
    assert isinstance(SqlDialogueStore("/tmp/x.db"), DialogueStore)


@pytest.mark.parametrize(("given", "expected"), [
    ("sqlite:///a.db", "sqlite+aiosqlite:///a.db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgres://u@h:5/db", "postgresql+psycopg://u@h:5/db"),
    ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ("/var/lib/x.sqlite3", "sqlite+aiosqlite:////var/lib/x.sqlite3"),
])
def test_urls_get_async_drivers(given, expected):
    assert database_url(given).render_as_string(hide_password=False) == expected


def test_default_url_is_a_file_in_the_user_data_dir():
    url = database_url(None)
    assert url.drivername == "sqlite+aiosqlite" and url.database.endswith("memory.sqlite3")
    assert "stepvox" in url.database


async def test_round_trip_keeps_every_field(store):
    turns = rich_turns()
    await store.append("c1", turns)
    back = await store.history("c1")
    assert [t.model_dump(exclude={"seq"}) for t in back] == [t.model_dump(exclude={"seq"}) for t in turns]
    assert [t.seq for t in back] == [0, 1, 2, 3]
    assert back[1].tool_calls[1].is_error and back[3].interrupted


async def test_order_and_limit(store):
    for i in range(7):
        await store.append("c", pair(i))
    history = await store.history("c")
    assert [t.text for t in history] == [x for i in range(7) for x in (f"user {i}", f"reply {i}")]
    assert [t.text for t in await store.history("c", 3)] == ["reply 5", "user 6", "reply 6"]
    assert await store.history("c", 0) == []
    assert len(await store.history("c", 1000)) == 14
    assert await store.history("never") == []
    await store.append("c", [])  # nothing to do, no error
    assert len(await store.history("c")) == 14


async def test_history_survives_reopening(store_url):
    async with SqlDialogueStore(store_url) as first:
        await first.append("c", pair(0))
    async with SqlDialogueStore(store_url) as second:  # migrations are a no-op the second time
        await second.append("c", pair(1))
        assert [t.seq for t in await second.history("c")] == [0, 1, 2, 3]


async def test_conversations_users_and_export(store):
    await store.start_conversation("a", user_id="ann", persona="joe")
    await store.append("a", pair(0))
    await store.start_conversation("b", user_id="bob")
    await store.append("b", pair(0) + pair(1))
    await store.append("anon", pair(0))
    await store.end_conversation("a")

    listed = {c.id: c for c in await store.conversations()}
    assert set(listed) == {"a", "b", "anon"}
    assert (listed["a"].user_id, listed["a"].persona, listed["a"].turn_count) == ("ann", "joe", 2)
    assert listed["a"].ended_at is not None and listed["b"].ended_at is None
    assert listed["b"].turn_count == 4 and listed["anon"].user_id is None
    assert [c.id for c in await store.conversations(user_id="bob")] == ["b"]

    exported = await store.export("b")
    assert exported.conversation.user_id == "bob" and len(exported.turns) == 4
    markdown = exported.to_markdown()
    assert "# Conversation b" in markdown and "**assistant**" in markdown and "reply 1" in markdown
    with pytest.raises(ConversationNotFoundError):
        await store.export("nope")


async def test_delete_user_removes_every_row_and_audio_file(store, tmp_path):
    await store.start_conversation("a1", user_id="ann")
    await store.append("a1", rich_turns())
    audio = tmp_path / "reply.wav"
    audio.write_bytes(b"RIFF")
    await store.start_conversation("a2", user_id="ann")
    await store.append("a2", [DialogueTurn(role="user", text="hi", audio_path=str(audio)),
                              DialogueTurn(role="assistant", text="hello")])
    await store.save_summary("a1", "Ann asked about Tokyo.", through_seq=1)
    await store.start_conversation("b", user_id="bob")
    await store.append("b", pair(0))
    assert (await store.history("a2"))[0].audio_path == str(audio)

    deleted = await store.delete_user("ann")
    assert (deleted.conversations, deleted.turns, deleted.files) == (2, 6, 1)
    assert not audio.exists()
    assert [c.id for c in await store.conversations()] == ["b"]
    assert await store.history("a1") == [] and await store.latest_summary("a1") is None
    async with store.transaction() as session:
        for table in ("turns", "tool_calls", "summaries"):
            rows = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert rows == (2 if table == "turns" else 0), table
        assert (await session.execute(text("SELECT count(*) FROM users WHERE id = 'ann'"))
                ).scalar_one() == 0
    assert len(await store.history("b")) == 2  # the other user is untouched


async def test_summaries_newest_wins(store):
    await store.append("c", pair(0) + pair(1))
    assert await store.latest_summary("c") is None
    await store.save_summary("c", "first", through_seq=1)
    await store.save_summary("c", "second", through_seq=3)
    latest = await store.latest_summary("c")
    assert (latest.text, latest.through_seq) == ("second", 3)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    async with SqlDialogueStore(tmp_path / "h.db") as store:
        async with store.transaction() as session:
            pragma = lambda name: session.execute(text(f"PRAGMA {name}"))  # noqa: E731
            assert (await pragma("journal_mode")).scalar_one() == "wal"
            assert (await pragma("foreign_keys")).scalar_one() == 1
            assert (await pragma("synchronous")).scalar_one() == 1  # NORMAL
            assert (await pragma("busy_timeout")).scalar_one() >= 5000
