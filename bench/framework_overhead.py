"""Framework overhead per turn with instant fake models: final transcript -> first audio out.

The chat model and speech decoder are the scripted fakes from `tests/fakes.py` with zero
delay, so every microsecond measured is stepvox itself (graph, nodes, events, sentence
splitting, history). The reference, measured in the same run, is a bare 3-node LangGraph
`StateGraph` doing nothing: the floor any LangGraph-based framework pays.

    .venv/bin/python bench/framework_overhead.py [--turns 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import TypedDict

_ROOT = Path(__file__).resolve().parents[1]
# Import the real packages before `tests/` goes on sys.path (its folders share their names).
import agent  # noqa: E402,F401
from agent import AudioChunkEvent, VoiceAgent  # noqa: E402

sys.path.insert(0, str(_ROOT / "tests"))
sys.path.insert(0, str(_ROOT / "bench"))
from fakes import RecordingDecoder, ScriptedChatModel  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from machine import print_machine  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from stats import summarize  # noqa: E402

REPLY = "Sure, here is the answer you asked for. It has two sentences."


class _S(TypedDict, total=False):
    x: int


def bare_graph():
    g = StateGraph(_S)
    for name in ("a", "b", "c"):
        g.add_node(name, lambda s: {"x": s.get("x", 0) + 1})
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", "c")
    g.add_edge("c", END)
    return g.compile()


async def time_bare(n: int) -> tuple[list[float], list[float]]:
    graph = bare_graph()
    wall, cpu = [], []
    for _ in range(n):
        w0, c0 = time.perf_counter(), time.process_time()
        await graph.ainvoke({"x": 0})
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return wall, cpu


async def time_stepvox(n: int, *, with_history: bool) -> tuple[list[float], list[float]]:
    voice = VoiceAgent(ScriptedChatModel([REPLY]), decoder=RecordingDecoder(), tools=[])
    first_audio, cpu = [], []
    for i in range(n):
        cid = "one-conversation" if with_history else f"c{i}"
        w0, c0 = time.perf_counter(), time.process_time()
        got_audio = False
        async for event in voice.stream(REPLY[:5] + str(i), conversation_id=cid):
            if not got_audio and isinstance(event, AudioChunkEvent):
                first_audio.append((time.perf_counter() - w0) * 1000)
                got_audio = True
        cpu.append((time.process_time() - c0) * 1000)
    return first_audio, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    console = Console(width=118)
    print_machine(console)
    gc.collect()

    async def run():
        await time_bare(args.warmup)
        await time_stepvox(args.warmup, with_history=False)
        bare = await time_bare(args.turns)
        fresh = await time_stepvox(args.turns, with_history=False)
        # History grows by two turns per turn; 20 turns (the default window) are replayed.
        long = await time_stepvox(min(args.turns, 500), with_history=True)
        return bare, fresh, long

    bare, fresh, long = asyncio.run(run())
    table = Table(title=f"Framework overhead, instant fake models ({args.turns} turns)")
    for col in ("what", "n", "wall p50 ms", "wall p95 ms", "CPU p50 ms", "CPU p95 ms",
                "wall p50 / bare graph"):
        table.add_column(col, justify="right" if col != "what" else "left")
    base = summarize(bare[0]).p50
    for label, (wall, cpu) in [
        ("bare 3-node LangGraph ainvoke (reference)", bare),
        ("stepvox: transcript -> first audio (new conversation)", fresh),
        ("stepvox: same, 20-turn history in the prompt", long),
    ]:
        w, c = summarize(wall), summarize(cpu)
        table.add_row(label, str(w.n), f"{w.p50:.2f}", f"{w.p95:.2f}", f"{c.p50:.2f}",
                      f"{c.p95:.2f}", f"{w.p50 / base:.1f}x")
    console.print(table)
    console.print("CPU is per whole turn (to the end of the reply), wall is to the first "
                  "audio chunk. Targets: p50 <= 2.5 ms wall, <= 4 ms CPU per turn.")


if __name__ == "__main__":
    main()
