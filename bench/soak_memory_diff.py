"""What the soak's server allocates between two points of a run: the fake-model realtime
server of `bench/soak.py` run in this process under `tracemalloc`, the same two clients,
and the allocations that grew between a snapshot after `--first-min` and one at the end,
by line and by call stack. For finding what a soak's RSS growth is made of (tracemalloc
slows the server several times, so sessions per minute are far below `soak.py`'s).

    nice -n 10 .venv/bin/python bench/soak_memory_diff.py [--first-min 1.5] [--minutes 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import realtime_fake_server  # noqa: E402
import soak  # noqa: E402


def print_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, lines: int,
                 stacks: int) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__),
              tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    print("changed, by line (largest first, either sign):")
    for stat in after.compare_to(before, "lineno")[:lines]:
        print(f"  {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+6d} blocks  {stat.traceback[0]}")
    print("changed, by call stack:")
    for stat in after.compare_to(before, "traceback")[:stacks]:
        print(f"  {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+6d} blocks")
        for frame in stat.traceback.format()[-12:]:
            print(f"      {frame}")


async def run(first_min: float, minutes: float, lines: int, stacks: int) -> None:
    import uvicorn

    tracemalloc.start(12)
    with tempfile.TemporaryDirectory() as tmp:
        app = realtime_fake_server.build_app("energy", f"sqlite:///{tmp}/history.sqlite3")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                               ws="websockets-sansio"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        await asyncio.sleep(2)
        url = f"ws://127.0.0.1:{sock.getsockname()[1]}/v1/realtime"
        counters = soak.Counters()
        stop = time.monotonic() + minutes * 60
        loops = [asyncio.create_task(soak.client_loop(url, counters, stop)) for _ in range(2)]
        await asyncio.sleep(first_min * 60)
        gc.collect()
        first, first_sessions = tracemalloc.take_snapshot(), counters.sessions
        await asyncio.gather(*loops)
        gc.collect()
        last = tracemalloc.take_snapshot()
        print(f"sessions: {first_sessions} at the first snapshot, {counters.sessions} at the "
              f"last; errors {counters.errors or 0}")
        print_growth(first, last, lines, stacks)
        server.should_exit = True
        await serving


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--first-min", type=float, default=1.5)
    p.add_argument("--minutes", type=float, default=5.0)
    p.add_argument("--lines", type=int, default=15)
    p.add_argument("--stacks", type=int, default=6)
    args = p.parse_args()
    asyncio.run(run(args.first_min, args.minutes, args.lines, args.stacks))


if __name__ == "__main__":
    main()
