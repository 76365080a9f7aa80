"""A turn paused on a tool that needs approval is checkpointed in the history database, so the
user's yes can be answered by another agent object with its own connections (as another
process would), on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from fakes import RecordingDecoder, ScriptedChatModel

from agent import ToolCall, VoiceAgent
from agent.events import ApprovalRequestEvent, ToolResultEvent
from memory import SqlDialogueStore
from tools import tool

refunded: list[str] = []


@tool(requires_approval=True, safe_to_repeat=False)
def refund_order(order_id: str) -> str:
    """Refund an order."""
    refunded.append(order_id)
    return f"order {order_id} refunded"


def agent_on(url: str, *replies) -> VoiceAgent:
    return VoiceAgent(ScriptedChatModel(list(replies)), decoder=RecordingDecoder(),
                      memory=SqlDialogueStore(url), tools=[refund_order], learn_facts=False)


async def test_a_paused_turn_resumes_in_another_agent_on_the_same_database(store_url):
    refunded.clear()
    first = agent_on(store_url, ToolCall(name="refund_order", arguments={"order_id": "A17"}))
    events = [e async for e in first.stream("Refund order A17.", conversation_id="call-1")]
    [ask] = [e for e in events if isinstance(e, ApprovalRequestEvent)]
    assert ask.tool == "refund_order" and refunded == []
    await first.aclose()  # that process is gone; its checkpoint is in the database

    second = agent_on(store_url, "Done, order A17 is refunded.")
    graph, saver = await second._graphs.get()
    assert type(saver).__module__.startswith("langgraph.checkpoint.")  # not in memory
    assert "memory" not in type(saver).__module__
    events = [e async for e in second.stream("Yes, go ahead.", conversation_id="call-1")]
    [result] = [e.result for e in events if isinstance(e, ToolResultEvent)]
    assert refunded == ["A17"] and not result.is_error
    config = {"configurable": {"thread_id": "call-1"}}
    assert not (await graph.aget_state(config)).values  # a finished turn leaves no checkpoint
    texts = [t.text for t in await second.services.memory.history("call-1")]
    assert texts == ["Refund order A17.", ask.question, "Yes, go ahead.",
                     "Done, order A17 is refunded."]
    await second.aclose()


async def test_a_no_in_another_agent_declines(store_url):
    refunded.clear()
    first = agent_on(store_url, ToolCall(name="refund_order", arguments={"order_id": "B2"}))
    await first.arespond("Refund order B2.", conversation_id="call-2")
    await first.aclose()
    second = agent_on(store_url, "All right, I left it.")
    reply = await second.arespond("No, don't.", conversation_id="call-2")
    assert refunded == [] and reply.tool_results[0].is_error
    await second.aclose()


FIRST_PROCESS = textwrap.dedent("""
    import asyncio, json, sys
    import agent  # the real packages before tests/ goes on sys.path
    from agent import ToolCall, VoiceAgent
    from agent.events import ApprovalRequestEvent
    from memory import SqlDialogueStore
    from tools import tool
    sys.path.insert(0, sys.argv[2])
    from fakes import ScriptedChatModel

    @tool(requires_approval=True, safe_to_repeat=False)
    def refund_order(order_id: str) -> str:
        \"\"\"Refund an order.\"\"\"
        raise AssertionError("the first process must not run the refund")

    async def main(url):
        agent = VoiceAgent(ScriptedChatModel([ToolCall(name="refund_order",
                                                       arguments={"order_id": "C3"})]),
                           memory=SqlDialogueStore(url), tools=[refund_order],
                           learn_facts=False)
        events = [e async for e in agent.stream("Refund order C3.", conversation_id="call-3")]
        await agent.aclose()
        print(json.dumps([e.question for e in events if isinstance(e, ApprovalRequestEvent)]))

    asyncio.run(main(sys.argv[1]))
""")


async def test_a_turn_paused_in_one_process_is_answered_in_another(store_url):
    refunded.clear()
    tests = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", FIRST_PROCESS, store_url, tests],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    [question] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "C3" in question
    here = agent_on(store_url, "Order C3 is refunded.")
    reply = await here.arespond("Yes.", conversation_id="call-3")
    assert refunded == ["C3"] and reply.text == "Order C3 is refunded."
    await here.aclose()


async def test_without_a_sql_store_paused_turns_wait_in_memory():
    agent = VoiceAgent(ScriptedChatModel(["x"]), tools=[refund_order])
    _, saver = await agent._graphs.get()
    assert type(saver).__name__ == "InMemorySaver"
    plain = VoiceAgent(ScriptedChatModel(["x"]), tools=[])
    assert await plain._graphs.get() == (plain._graphs._graph, None)
