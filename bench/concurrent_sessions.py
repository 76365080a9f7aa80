"""Concurrent conversations on one core with instant fake models, and memory per session.

N conversations share one `VoiceAgent` (as a server would: one set of models, many callers),
each taking one turn per second at a random phase, for `--seconds`. The fakes of
`tests/fakes.py` stand in for the models with zero delay, so the latency measured (transcript
-> first audio chunk) is stepvox's own overhead plus the queueing caused by the other N-1
sessions. The process is pinned to one core. Memory: RSS after the imports, after the first
session's first turn, and per extra session (each with a two-turn history).

    .venv/bin/python bench/concurrent_sessions.py [--sessions 50 100 150 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sys
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
import agent  # noqa: E402,F401  (the real packages first; tests/ shares their names)
from agent import AudioChunkEvent, VoiceAgent  # noqa: E402

sys.path.insert(0, str(_ROOT / "tests"))
sys.path.insert(0, str(_ROOT / "bench"))
from fakes import RecordingDecoder, ScriptedChatModel  # noqa: E402
from machine import print_machine  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from stats import summarize  # noqa: E402

REPLY = "Sure, here is the answer. It has two sentences."


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def make_agent() -> VoiceAgent:
    # The decoder forgets what it spoke: a long run must not measure the fake's own memory.
    decoder = RecordingDecoder()
    decoder.texts = _Forgetful()
    return VoiceAgent(ScriptedChatModel([REPLY]), decoder=decoder, tools=[])


class _Forgetful(list):
    def append(self, item) -> None:  # noqa: D401 - drop the record
        return None


async def one_turn(voice: VoiceAgent, cid: str, text: str) -> float:
    start = time.perf_counter()
    first = None
    async for event in voice.stream(text, conversation_id=cid):
        if first is None and isinstance(event, AudioChunkEvent):
            first = (time.perf_counter() - start) * 1000
    return first if first is not None else float("nan")


async def load_run(n: int, seconds: float) -> tuple[list[float], int]:
    voice = make_agent()
    latencies: list[float] = []
    late = 0

    async def session(i: int) -> None:
        nonlocal late
        await asyncio.sleep(random.random())  # random phase within the first second
        due = time.perf_counter()
        for turn in range(int(seconds)):
            latencies.append(await one_turn(voice, f"s{i}", f"question {turn}"))
            due += 1.0
            delay = due - time.perf_counter()
            if delay < 0:
                late += 1  # this session could not keep one turn per second
            await asyncio.sleep(max(0.0, delay))

    await asyncio.gather(*(session(i) for i in range(n)))
    return latencies, late


async def memory_run(extra: int) -> tuple[float, float, float]:
    gc.collect()
    base = rss_mb()
    voice = make_agent()
    await one_turn(voice, "first", "hello")
    gc.collect()
    first = rss_mb()
    for i in range(extra):
        await one_turn(voice, f"m{i}", "hello")
        await one_turn(voice, f"m{i}", "and again")
    gc.collect()
    return base, first - base, (rss_mb() - first) / extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 100, 150, 200])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--memory-sessions", type=int, default=2000)
    args = parser.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    console = Console(width=118)
    print_machine(console)
    random.seed(7)
    base, first, per = asyncio.run(memory_run(args.memory_sessions))
    table = Table(title=f"Concurrent sessions on one core, one turn per second each "
                        f"({args.seconds:.0f} s), instant fake models")
    for col in ("sessions", "turns", "overhead p50 ms", "overhead p95 ms", "late turns"):
        table.add_column(col, justify="right")
    for n in args.sessions:
        latencies, late = asyncio.run(load_run(n, args.seconds))
        s = summarize(latencies)
        table.add_row(str(n), str(s.n), f"{s.p50:.2f}", f"{s.p95:.2f}", str(late))
    console.print(table)
    console.print(f"Memory: RSS after imports {base:.0f} MB; first session +{first:.2f} MB; "
                  f"+{per * 1000:.1f} kB per extra session ({args.memory_sessions} sessions, "
                  "two turns of history each).")
    console.print("Targets: >= 100 sessions per core with p95 < 20 ms; first session <= 50 MB "
                  "over imports; <= 0.5 MB per extra session.")


if __name__ == "__main__":
    main()
