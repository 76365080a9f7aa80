"""The history database (real PostgreSQL) restarts mid-conversation.

Two faults, each on a conversation that already has a stored turn:
- the server drops the agent's connections (`pg_terminate_backend`), as a restart does;
- the database is gone for several turns (connections reset and new ones refused, through a
  loopback proxy in front of the server), starting in the middle of a turn, then comes back.
The caller hears every answer (the store keeps the turns the database could not take), the
outage is logged once, the conversation keeps its thread, and once the database is back the
waiting turns are written in order without anyone asking.

Needs a PostgreSQL server: STEPVOX_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/test (trust auth); each test works in its own schema.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from urllib.parse import quote

import pytest

from agent import VoiceAgent
from fakes import RecordingDecoder, ScriptedChatModel
from fault_proxy import FaultProxy
from memory import BufferedDialogueStore, SqlDialogueStore
from memory.sql_engine import postgres_unreachable

POSTGRES_URL = os.environ.get("STEPVOX_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def schema():
    """A fresh schema, also used as the connections' application_name, so only this test's
    connections are ever terminated (other users of the server are left alone)."""
    if (reason := postgres_unreachable(POSTGRES_URL)) is not None:
        pytest.skip(f"{reason}: the database fault tests need a real PostgreSQL server "
                    "(set STEPVOX_TEST_POSTGRES_URL)")
    import psycopg

    name = f"stepvox_fault_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{name}" CASCADE')


def url_for(schema: str, port: int | None = None) -> str:
    base = POSTGRES_URL if port is None else POSTGRES_URL.replace(":5432/", f":{port}/")
    options = quote(f"-csearch_path={schema}")
    return f"{base}?application_name={schema}&options={options}"


def stored_texts(schema: str, conversation_id: str) -> list[str]:
    import psycopg

    with psycopg.connect(url_for(schema)) as conn:
        rows = conn.execute("SELECT text FROM turns WHERE conversation_id = %s ORDER BY seq",
                            (conversation_id,)).fetchall()
    return [text for (text,) in rows]


def terminate_connections(schema: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = %s AND pid <> pg_backend_pid()",
                            (schema,)).fetchall()
    return sum(1 for (done,) in rows if done)


def counting_model(**kwargs) -> ScriptedChatModel:
    """Answers with how many earlier turns its prompt holds: the thread, made audible."""
    def reply(messages, tools, tool_choice) -> str:
        earlier = sum(1 for m in messages[:-1] if m.role in ("user", "assistant"))
        return f"I remember {earlier} earlier turns."
    return ScriptedChatModel([reply], **kwargs)


def agent_on(url: str, model: ScriptedChatModel) -> tuple[VoiceAgent, BufferedDialogueStore]:
    store = BufferedDialogueStore(SqlDialogueStore(url), retry_interval_s=0.1,
                                  max_retry_interval_s=0.5)
    agent = VoiceAgent(model, decoder=RecordingDecoder(), tools=[], memory=store,
                       learn_facts=False)
    return agent, store


async def test_connections_dropped_by_the_server_between_turns(schema):
    agent, store = agent_on(url_for(schema), counting_model())
    try:
        first = await agent.arespond("Hello, I need a taxi.", conversation_id="c1")
        assert first.text == "I remember 0 earlier turns."
        assert terminate_connections(schema) >= 1  # the pool's connection, killed server-side

        second = await agent.arespond("To the station, please.", conversation_id="c1")
        assert second.text == "I remember 2 earlier turns."  # heard, with the thread kept
        assert store.pending_turns == 0  # the pool replaced the dead connection at once
        assert stored_texts(schema, "c1") == [
            "Hello, I need a taxi.", first.text, "To the station, please.", second.text]
    finally:
        await agent.aclose()


async def test_database_gone_mid_turn_for_two_turns_then_back(schema, caplog):
    with FaultProxy(5432) as proxy:
        model = counting_model(token_delay_s=0.05)
        agent, store = agent_on(url_for(schema, proxy.port), model)
        try:
            first = await agent.arespond("Hello, I need a taxi.", conversation_id="c1")
            assert first.text == "I remember 0 earlier turns."

            with caplog.at_level(logging.ERROR, logger="memory.buffered_store"):
                # The database goes while the reply is being spoken: the turn's history was
                # read, its write will fail.
                turn = asyncio.create_task(agent.arespond("To the station, please.",
                                                          conversation_id="c1"))
                while len(model.calls) < 2:
                    await asyncio.sleep(0.01)
                proxy.go_down()
                second = await turn
                third = await agent.arespond("At five o'clock.", conversation_id="c1")

            assert second.text == "I remember 2 earlier turns."
            assert third.text == "I remember 4 earlier turns."  # the waiting turn is in it
            assert store.pending_turns == 4
            outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
            assert len(outage_lines) == 1, [r.getMessage() for r in caplog.records]
            assert stored_texts(schema, "c1") == ["Hello, I need a taxi.", first.text]

            proxy.come_up()  # the database is back: the retry writes the waiting turns
            for _ in range(200):
                if store.pending_turns == 0:
                    break
                await asyncio.sleep(0.05)
            assert store.pending_turns == 0 and store.lost_turns == 0
            assert stored_texts(schema, "c1") == [
                "Hello, I need a taxi.", first.text, "To the station, please.", second.text,
                "At five o'clock.", third.text]

            fourth = await agent.arespond("Thank you.", conversation_id="c1")
            assert fourth.text == "I remember 6 earlier turns."
            assert stored_texts(schema, "c1")[-2:] == ["Thank you.", fourth.text]
        finally:
            await agent.aclose()


def _private_cluster():
    """The memory tests' throwaway cluster (`tests/memory/conftest.py`): a server of our own
    that can really be stopped and started without touching anyone else's."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "memory" / "conftest.py"
    spec = importlib.util.spec_from_file_location("memory_test_clusters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.PrivateCluster(), module._postgres_bin, module._run


@pytest.fixture
def private_cluster():
    cluster, postgres_bin, run = _private_cluster()
    if (why := cluster.start()) is not None:
        cluster.stop()
        pytest.skip(f"could not start a private PostgreSQL cluster to restart: {why}")
    pg_ctl = postgres_bin("pg_ctl")
    options = f"-c listen_addresses=127.0.0.1 -p {cluster.port} -k {cluster.folder}"

    def stop() -> None:
        assert run([*cluster.as_user, pg_ctl, "-D", str(cluster.data), "-m", "fast",
                    "stop"], timeout=60) is None

    def start() -> None:
        assert run([*cluster.as_user, pg_ctl, "-D", str(cluster.data), "-l",
                    str(cluster.folder / "server.log"), "-o", options, "-w", "start"],
                   timeout=120) is None

    yield cluster.url, stop, start
    cluster.stop()


async def test_the_server_is_stopped_and_started_mid_conversation(private_cluster):
    url, stop, start = private_cluster
    import psycopg

    def stored() -> list[str]:
        with psycopg.connect(url) as conn:
            return [t for (t,) in conn.execute(
                "SELECT text FROM turns WHERE conversation_id = 'c1' ORDER BY seq")]

    agent, store = agent_on(url, counting_model())
    try:
        first = await agent.arespond("Hello, I need a taxi.", conversation_id="c1")
        stop()  # pg_ctl stop -m fast: the server ends every session and goes away
        second = await agent.arespond("To the station, please.", conversation_id="c1")
        third = await agent.arespond("At five o'clock.", conversation_id="c1")
        assert (second.text, third.text) == ("I remember 2 earlier turns.",
                                             "I remember 4 earlier turns.")
        assert store.pending_turns == 4
        start()
        for _ in range(200):
            if store.pending_turns == 0:
                break
            await asyncio.sleep(0.05)
        assert store.pending_turns == 0 and store.lost_turns == 0
        assert stored() == ["Hello, I need a taxi.", first.text, "To the station, please.",
                            second.text, "At five o'clock.", third.text]
        fourth = await agent.arespond("Thank you.", conversation_id="c1")
        assert fourth.text == "I remember 6 earlier turns." and len(stored()) == 8
    finally:
        await agent.aclose()


async def test_a_conversation_begun_during_the_outage_is_filed_under_its_user(schema):
    """Its user must be recorded once the database is back, or `stepvox history delete
    --user` would leave the conversation behind."""
    with FaultProxy(5432) as proxy:
        agent, store = agent_on(url_for(schema, proxy.port), counting_model())
        try:
            proxy.go_down()
            first = await agent.arespond("Hello, it's Ann.", conversation_id="c1", user_id="ann")
            assert first.text == "I remember 0 earlier turns."
            proxy.come_up()
            for _ in range(200):
                if store.pending_turns == 0:
                    break
                await asyncio.sleep(0.05)
            await agent.arespond("I need a taxi.", conversation_id="c1")
            assert [c.id for c in await store.primary.conversations(user_id="ann")] == ["c1"]
            assert len(stored_texts(schema, "c1")) == 4
        finally:
            await agent.aclose()
