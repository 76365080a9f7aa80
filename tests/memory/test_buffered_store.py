"""A database outage: turns wait in memory, the outage is logged, and they are written when the
database is back. PostgreSQL is reached through a TCP gate we open and close."""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
import pytest_asyncio

from agent import VoiceAgent
from fakes import ScriptedChatModel
from memory import BufferedDialogueStore, DialogueTurn, InMemoryDialogueStore
from memory.errors import DatabaseUnavailableError
from memory.sql_store import SqlDialogueStore


def pair(i: int) -> list[DialogueTurn]:
    return [DialogueTurn(role="user", text=f"user {i}"),
            DialogueTurn(role="assistant", text=f"reply {i}")]


class TcpGate:
    """A loopback port that is closed (connection refused) until `open()`, then forwards to
    the real server; `close()` refuses again and cuts the connections already through."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        with socket.socket() as probe:  # a free port, left closed
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
            self._server = None

    async def _forward(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)
        self._writers |= {client_writer, server_writer}

        async def pipe(reader, writer) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))


@pytest_asyncio.fixture(loop_scope="function")
async def gated_postgres(postgres_schema_url):
    parts = urlsplit(postgres_schema_url)
    gate = TcpGate(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{gate.port}"
    yield gate, urlunsplit(parts._replace(netloc=netloc)), postgres_schema_url
    await gate.close()


async def test_closed_port_then_live_server(gated_postgres, caplog):
    gate, gated_url, direct_url = gated_postgres
    buffered = BufferedDialogueStore(SqlDialogueStore(gated_url), retry_interval_s=3600)
    with caplog.at_level(logging.WARNING, logger="memory.buffered_store"):
        await buffered.append("c", pair(0))  # no exception: the caller still gets its answer
        await buffered.append("c", pair(1))
        assert buffered.pending_turns == 4
        assert [t.text for t in await buffered.history("c")] == [
            "user 0", "reply 0", "user 1", "reply 1"]
        assert not await buffered.flush()
        outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
        assert len(outage_lines) == 1 and "Connection refused" in outage_lines[0].getMessage()

        await gate.open()
        assert await buffered.flush()
        assert "wrote 4 waiting turns" in caplog.text
    assert buffered.pending_turns == 0
    async with SqlDialogueStore(direct_url) as direct:
        assert [t.text for t in await direct.history("c")] == [
            "user 0", "reply 0", "user 1", "reply 1"]
    await buffered.close()


async def test_outage_mid_session_keeps_order_and_the_thread(gated_postgres):
    gate, gated_url, direct_url = gated_postgres
    await gate.open()
    buffered = BufferedDialogueStore(SqlDialogueStore(gated_url), retry_interval_s=0.05)
    await buffered.append("c", pair(0))
    assert len(await buffered.history("c")) == 2

    await gate.close()  # the server "goes away" under open pooled connections
    await buffered.append("c", pair(1))
    await buffered.append("c", pair(2))
    assert buffered.pending_turns == 4
    # The prompt still has the conversation: the last read plus the waiting turns.
    assert [t.text for t in await buffered.history("c", 3)] == ["reply 1", "user 2", "reply 2"]

    await gate.open()
    for _ in range(100):  # the background retry writes them without being asked
        if buffered.pending_turns == 0:
            break
        await asyncio.sleep(0.05)
    assert buffered.pending_turns == 0
    async with SqlDialogueStore(direct_url) as direct:
        assert [t.seq for t in await direct.history("c")] == list(range(6))
        assert (await direct.history("c", 1))[0].text == "reply 2"
    await buffered.close()


class FlakyStore(InMemoryDialogueStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def append(self, conversation_id, turns):
        if self.down:
            raise DatabaseUnavailableError("down")
        await super().append(conversation_id, turns)

    async def history(self, conversation_id, limit=None):
        if self.down:
            raise DatabaseUnavailableError("down")
        return await super().history(conversation_id, limit)


async def test_a_turn_is_answered_while_the_database_is_down():
    flaky = FlakyStore()
    agent = VoiceAgent(ScriptedChatModel(["Still here."]), memory=BufferedDialogueStore(
        flaky, retry_interval_s=3600), tools=[])
    reply = await agent.arespond("hello?", conversation_id="c", synthesize=False)
    assert reply.text == "Still here."
    assert agent.services.memory.pending_turns == 2
    flaky.down = False
    assert await agent.services.memory.flush()
    assert [t.text for t in await flaky.history("c")] == ["hello?", "Still here."]


async def test_unwritten_turns_are_reported_lost_at_close_and_on_overflow(caplog):
    flaky = FlakyStore()
    buffered = BufferedDialogueStore(flaky, retry_interval_s=3600, max_pending_turns=4)
    with caplog.at_level(logging.ERROR, logger="memory.buffered_store"):
        for i in range(3):
            await buffered.append(f"c{i}", pair(i))
        assert buffered.lost_turns == 2 and "c0 were dropped" in caplog.text
        await buffered.close()
    assert buffered.lost_turns == 6
    assert "4 turns of 2 conversations were NOT stored" in caplog.text


async def test_other_errors_are_not_swallowed():
    class Broken(InMemoryDialogueStore):
        async def append(self, conversation_id, turns):
            raise ValueError("a bug")

    with pytest.raises(ValueError):
        await BufferedDialogueStore(Broken()).append("c", pair(0))
