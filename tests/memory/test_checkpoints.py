"""A graph interrupted for approval in one process resumes in another, with its checkpoint in
the history database (SQLite file or PostgreSQL), next to the dialogue history."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from memory import DialogueTurn
from memory.sql_store import SqlDialogueStore

PROCESS = textwrap.dedent("""
    import asyncio, json, sys
    from typing import TypedDict
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Command, interrupt
    from memory.checkpoints import open_checkpointer

    class State(TypedDict, total=False):
        request: str
        approved: str
        done: str

    def approve(state: State) -> dict:
        # interrupt() re-runs this node from its start on resume: no side effects before it.
        return {"approved": interrupt({"question": f"run {state['request']}?"})}

    def act(state: State) -> dict:
        return {"done": f"{state['request']} ({state['approved']})"}

    async def main(url, phase):
        builder = StateGraph(State)
        builder.add_node("approve", approve)
        builder.add_node("act", act)
        builder.add_edge(START, "approve")
        builder.add_edge("approve", "act")
        builder.add_edge("act", END)
        async with open_checkpointer(url) as saver:
            graph = builder.compile(checkpointer=saver)
            config = {"configurable": {"thread_id": "call-7"}}
            if phase == "start":
                out = await graph.ainvoke({"request": "refund"}, config, durability="exit")
                print(json.dumps({"interrupt": out["__interrupt__"][0].value}))
            else:
                out = await graph.ainvoke(Command(resume="yes"), config, durability="exit")
                print(json.dumps(out))

    asyncio.run(main(*sys.argv[1:]))
""")


def run_process(url: str, phase: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROCESS, url, phase], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_interrupt_in_one_process_resumes_in_another(store_url):
    async with SqlDialogueStore(store_url) as store:  # history and checkpoints, one database
        await store.append("call-7", [DialogueTurn(role="user", text="I want a refund")])
    assert run_process(store_url, "start") == {"interrupt": {"question": "run refund?"}}
    assert run_process(store_url, "resume") == {
        "request": "refund", "approved": "yes", "done": "refund (yes)"}
    async with SqlDialogueStore(store_url) as store:  # the history tables are untouched
        assert [t.text for t in await store.history("call-7")] == ["I want a refund"]
