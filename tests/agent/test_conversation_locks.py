"""`VoiceAgent` keeps a conversation's lock only while a turn holds or awaits it: before, a
server kept one lock per conversation it ever served (`agent.conversation_locks`)."""

from __future__ import annotations

import asyncio

from agent import VoiceAgent
from agent.conversation_locks import ConversationLocks
from fakes import RecordingDecoder, ScriptedChatModel


def counting_agent(**kwargs) -> VoiceAgent:
    def reply(messages, tools, tool_choice) -> str:
        return f"{sum(1 for m in messages[:-1] if m.role in ('user', 'assistant'))} before."
    return VoiceAgent(ScriptedChatModel([reply], **kwargs), decoder=RecordingDecoder(),
                      tools=[], learn_facts=False)


async def test_a_thousand_conversations_leave_no_lock_behind():
    agent = counting_agent()
    for i in range(1_000):
        await agent.arespond("Hello.", conversation_id=f"caller-{i}")
        await agent.end_conversation(f"caller-{i}")
    assert len(agent._locks) == 0
    assert not agent._open and not agent.callers._started


async def test_turns_of_one_conversation_still_run_one_after_another():
    agent = counting_agent(token_delay_s=0.02)
    first = asyncio.create_task(agent.arespond("One.", conversation_id="c"))
    second = asyncio.create_task(agent.arespond("Two.", conversation_id="c"))
    await asyncio.sleep(0.05)
    assert len(agent._locks) == 1  # both turns share the one lock while they run
    replies = await asyncio.gather(first, second)
    # The second turn read the history the first one wrote.
    assert [r.text for r in replies] == ["0 before.", "2 before."]
    assert len(agent._locks) == 0


async def test_a_cancelled_waiter_does_not_pin_the_lock():
    locks = ConversationLocks()
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder():
        async with locks.hold("c"):
            holding.set()
            await release.wait()

    async def waiter():
        async with locks.hold("c"):
            raise AssertionError("the waiter was cancelled before it got the lock")

    held = asyncio.create_task(holder())
    await holding.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.01)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert "c" in locks
    release.set()
    await held
    assert len(locks) == 0 and "c" not in locks


async def test_ended_conversations_leave_no_outage_copy_in_a_buffered_store(tmp_path):
    """`BufferedDialogueStore` keeps a copy of each conversation to answer from during an
    outage; an ended conversation's copy goes (its waiting turns, if any, are still written)."""
    from memory import BufferedDialogueStore, SqlDialogueStore

    store = BufferedDialogueStore(SqlDialogueStore(tmp_path / "history.sqlite3"))
    agent = VoiceAgent(ScriptedChatModel(["Hi."]), decoder=RecordingDecoder(), tools=[],
                       memory=store, learn_facts=False)
    try:
        for i in range(50):
            await agent.arespond("Hello.", conversation_id=f"caller-{i}")
        assert len(store._last_read) == 50
        for i in range(50):
            await agent.end_conversation(f"caller-{i}")
        assert len(store._last_read) == 0 and len(agent._locks) == 0
        assert len(await store.history("caller-7")) == 2  # the history itself is untouched
    finally:
        await agent.aclose()
