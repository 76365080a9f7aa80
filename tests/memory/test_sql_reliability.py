"""Reliability of `SqlDialogueStore` on SQLite and PostgreSQL: concurrent writers, isolation
between conversations, and a writer killed with SIGKILL mid-turn."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time

from agent import VoiceAgent
from fakes import ScriptedChatModel
from memory import DialogueTurn
from memory.sql_store import SqlDialogueStore

CONVERSATIONS, PAIRS = 50, 20


def pair(i: int, tag: str) -> list[DialogueTurn]:
    return [DialogueTurn(role="user", text=f"{tag} user {i}"),
            DialogueTurn(role="assistant", text=f"{tag} reply {i}")]


async def test_50_concurrent_conversations_lose_and_interleave_nothing(store):
    async def converse(n: int) -> None:
        cid = f"conv-{n}"
        for i in range(PAIRS):
            history = await store.history(cid, 4)  # a turn reads, then writes: like the graph
            assert len(history) == min(4, 2 * i)
            await store.append(cid, pair(i, cid))

    started = time.perf_counter()
    await asyncio.gather(*(converse(n) for n in range(CONVERSATIONS)))
    elapsed = time.perf_counter() - started
    for n in range(CONVERSATIONS):
        cid = f"conv-{n}"
        history = await store.history(cid)
        assert [t.text for t in history] == [
            text for i in range(PAIRS) for text in (f"{cid} user {i}", f"{cid} reply {i}")]
        assert [t.seq for t in history] == list(range(2 * PAIRS))
    print(f"\n{store.dialect}: {CONVERSATIONS * PAIRS} appends from {CONVERSATIONS} concurrent "
          f"conversations in {elapsed:.2f} s")


async def test_two_processes_on_one_conversation_never_split_a_block(store_url):
    """Two stores (two connection pools, as two processes would have) append to the same
    conversation at once: every user turn stays next to its own reply."""
    async with SqlDialogueStore(store_url) as a, SqlDialogueStore(store_url) as b:
        await asyncio.gather(*(s.append("shared", pair(i, tag))
                               for i in range(30) for s, tag in ((a, "A"), (b, "B"))))
        history = await a.history("shared")
    assert len(history) == 120 and [t.seq for t in history] == list(range(120))
    for user, reply in zip(history[::2], history[1::2]):
        assert user.role == "user" and reply.role == "assistant"
        assert reply.text == user.text.replace("user", "reply")


async def test_one_conversation_never_appears_in_anothers_prompt(store):
    def echo_prompt(messages, tools, choice):
        return "ok " + " | ".join(m.content for m in messages if m.role != "system")

    model = ScriptedChatModel([echo_prompt])
    agent = VoiceAgent(model, memory=store, tools=[])
    secrets = {"alice": "my PIN is 1234", "bob": "my dog is Rex"}

    async def talk(cid: str, words: str) -> None:
        for i in range(3):
            await agent.arespond(f"{words} ({i})", conversation_id=cid, synthesize=False)

    await asyncio.gather(*(talk(cid, words) for cid, words in secrets.items()))
    for messages, _, _ in model.calls:
        prompt = " ".join(m.content for m in messages)
        assert not ("1234" in prompt and "Rex" in prompt), prompt
    for cid, words in secrets.items():
        other = next(w for c, w in secrets.items() if c != cid)
        history = await store.history(cid)
        assert len(history) == 6 and all(other not in t.text for t in history)
        assert all(words in t.text for t in history[::2])


CHILD = textwrap.dedent("""
    import asyncio, sys
    from memory import DialogueTurn
    from memory.sql_store import SqlDialogueStore

    async def main(url):
        async with SqlDialogueStore(url) as store:
            i = 0
            while True:
                # A big reply makes each transaction long enough to be killed inside it.
                await store.append("c", [DialogueTurn(role="user", text=f"user {i}"),
                                         DialogueTurn(role="assistant",
                                                      text=f"reply {i} " + "x" * 20000)])
                print(i, flush=True)  # printed only after the commit returned
                i += 1

    asyncio.run(main(sys.argv[1]))
""")


async def test_kill_9_mid_turn_keeps_every_committed_turn(store_url):
    child = subprocess.Popen([sys.executable, "-c", CHILD, store_url], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=os.getcwd())
    last_committed = -1
    try:
        while last_committed < 40:
            line = await asyncio.to_thread(child.stdout.readline)
            assert line, f"the child died on its own: {child.stderr.read()}"
            last_committed = int(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    async with SqlDialogueStore(store_url) as reopened:
        history = await reopened.history("c")
        # It may have committed a pair or two after its last line; never a half pair.
        pairs = len(history) // 2
        assert len(history) % 2 == 0 and pairs >= last_committed + 1
        for i in range(pairs):
            assert history[2 * i].text == f"user {i}"
            assert history[2 * i + 1].text.startswith(f"reply {i} ")
        await reopened.append("c", pair(pairs, "after"))  # and it is writable again
        assert (await reopened.history("c", 1))[0].seq == 2 * pairs + 1


WRITER = textwrap.dedent("""
    import asyncio, sys
    from memory import DialogueTurn
    from memory.sql_store import SqlDialogueStore

    async def main(url, process, conversations, pairs):
        async with SqlDialogueStore(url) as store:
            async def converse(cid):
                for i in range(pairs):
                    await store.history(cid, 4)
                    await store.append(cid, [DialogueTurn(role="user", text=f"{cid} user {i}"),
                                             DialogueTurn(role="assistant", text=f"{cid} reply {i}")])
            await asyncio.gather(*(converse(f"p{process}-c{n}") for n in range(conversations)))

    asyncio.run(main(sys.argv[1], *map(int, sys.argv[2:])))
""")


async def test_50_conversations_from_5_processes_at_once(store_url):
    """Across processes there is no shared lock: SQLite's BEGIN IMMEDIATE + busy_timeout (and
    PostgreSQL's row locks) must keep every write, with no "database is locked"."""
    processes, per_process, pairs = 5, 10, 10
    async with SqlDialogueStore(store_url):  # migrate once up front, as an app would on start
        pass
    started = time.perf_counter()
    children = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, store_url, str(p), str(per_process), str(pairs),
        stderr=asyncio.subprocess.PIPE) for p in range(processes)]
    errors = [(await child.communicate())[1].decode() for child in children]
    elapsed = time.perf_counter() - started
    assert [child.returncode for child in children] == [0] * processes, errors
    async with SqlDialogueStore(store_url) as store:
        for p in range(processes):
            for n in range(per_process):
                cid = f"p{p}-c{n}"
                assert [t.text for t in await store.history(cid)] == [
                    text for i in range(pairs) for text in (f"{cid} user {i}", f"{cid} reply {i}")]
    print(f"\n{store.dialect}: {processes} processes x {per_process} conversations x {pairs} "
          f"appends in {elapsed:.2f} s (with interpreter start-up)")


async def test_a_tool_turn_stored_in_sql_replays_as_it_was_first_prompted(store):
    """What the SQL store gives back is enough for `history_messages` to rebuild the prompt of
    the previous turn exactly (the backend's prefix cache stays valid), in a new agent."""
    from datetime import UTC, datetime

    from agent import ToolCall
    from tools import make_get_date_time

    clock = make_get_date_time(lambda: datetime(2024, 5, 17, 12, 0, tzinfo=UTC))
    call = ToolCall(id="call_time", name="get_date_time", arguments={"timezone": "UTC"})
    first = ScriptedChatModel([call, "It is 12 noon."])
    await VoiceAgent(first, memory=store, tools=[clock]).arespond(
        "Time in UTC?", conversation_id="r", synthesize=False)

    second = ScriptedChatModel(["You are welcome."])  # a new process would start like this
    await VoiceAgent(second, memory=store, tools=[clock]).arespond(
        "Thanks!", conversation_id="r", synthesize=False)
    turn_1_last_prompt = first.calls[1][0]
    turn_2 = second.calls[0][0]
    assert turn_2[:len(turn_1_last_prompt)] == turn_1_last_prompt
    assert [m.role for m in turn_2[len(turn_1_last_prompt):]] == ["assistant", "user"]
