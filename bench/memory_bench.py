"""Dialogue store latency (append, load a window) at 100 / 10k / 100k stored turns on SQLite and
PostgreSQL, against the in-memory store in the same run; and prompt size with and without a
running summary over a 200-turn conversation.

Latency: one conversation per store is filled to each size with bulk `append` calls
(`--fill-batch` turns per call, user/assistant alternating, seeded random text), then, at that
size, `--ops` timed `history(cid, limit=20)` calls and `--ops` timed `append(cid, [user,
reply])` calls (one exchange per call, as a spoken turn stores it). The stores are timed in
turn, call by call (in-memory, SQLite, PostgreSQL, in-memory, ...), so all of them see the same
machine load and the ratio to the in-memory store is a same-run ratio. History reads run before
the appends, so the reads see exactly the stated size; the appends take it to size + 2 x ops.
A "turn" here is one stored `DialogueTurn` (a user utterance or a reply).

Prompt size, through the agent (the wired path): three `VoiceAgent`s, each on its own SQLite
file, get the same 100 spoken-style user turns (200 stored turns) and answer them with the
scripted fake chat model (`tests/fakes.py`; same seeded replies for all three), tools off:
  - full history: no budget, every stored turn in the prompt (`history_turns` = all);
  - budget, no summary: `history_token_budget=--budget` over a store without summaries, so
    the older turns simply drop out of the window;
  - budget + summary: `history_token_budget=--budget`, older turns folded by the agent's
    summarizer (the fake model answers the summary request with a fixed `--summary-chars`
    text) in the background after each turn; the bench waits for the fold before the next
    turn (the caller's pause).
Every 20 stored turns the table gives the tokens of the prompt the model received for the
turn (every message, `approximate_tokens` + the per-message overhead), and the summary's
size and folds so far. Each variant's turn time (arespond, fake model, so it is framework
and database time) is reported as p50/p95 and as a ratio to the full-history agent.

    .venv/bin/python bench/memory_bench.py [--sizes 100 10000 100000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))
import agent  # noqa: E402,F401  (the real package before tests/ is on sys.path)
from memory import DialogueTurn, InMemoryDialogueStore  # noqa: E402
from memory.sql_engine import postgres_unreachable  # noqa: E402
from memory.sql_store import SqlDialogueStore  # noqa: E402

sys.path.insert(0, str(_ROOT / "bench"))
sys.path.insert(0, str(_ROOT / "tests"))  # the scripted fake chat model
from machine import CpuMeter, print_machine  # noqa: E402
from memory_prompt_sizes import prompt_report  # noqa: E402
from stats import console as make_console  # noqa: E402
from stats import fmt, make_table, ratio, summarize  # noqa: E402

POSTGRES_URL = os.environ.get("STEPVOX_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
CID = "bench-conversation"
WORDS = ("the order arrives tomorrow morning and your refund was approved yesterday so please "
         "check the tracking number we sent by email before calling again about delivery time "
         "weather forecast rain sunny meeting calendar reminder doctor appointment train ticket "
         "price budget recipe dinner music playlist battery phone charger password account").split()


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def make_turn(rng: random.Random, role: str) -> DialogueTurn:
    # User utterances ~6-20 words, replies ~15-60 words (one to three spoken sentences).
    text = sentence(rng, 6, 20) if role == "user" else " ".join(
        sentence(rng, 5, 20) for _ in range(rng.randint(1, 3)))
    return DialogueTurn(role=role, text=text)


def exchange(rng: random.Random) -> list[DialogueTurn]:
    return [make_turn(rng, "user"), make_turn(rng, "assistant")]


# -- backends ------------------------------------------------------------------------------


class Backend:
    def __init__(self, name: str, store, cleanup=None, size_of=None) -> None:
        self.name, self.store, self._cleanup, self.size_of = name, store, cleanup, size_of
        self.count = 0  # turns stored in CID
        self.fill_s: dict[int, float] = {}

    async def close(self) -> None:
        if isinstance(self.store, SqlDialogueStore):
            await self.store.close()
        if self._cleanup is not None:
            self._cleanup()


def postgres_schema(url: str) -> tuple[str, str]:
    """A fresh schema (as tests/memory/conftest.py does); returns (schema, url using it)."""
    import psycopg

    schema = f"stepvox_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    return schema, f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def drop_postgres_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def postgres_size_mb(url: str, schema: str) -> float | None:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (schema,)).fetchone()
    return float(row[0]) / 1e6 if row and row[0] is not None else None


def sqlite_size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6


# -- latency -------------------------------------------------------------------------------


async def fill(backend: Backend, target: int, batch: int, rng: random.Random) -> None:
    t0 = time.perf_counter()
    while backend.count < target:
        n = min(batch, target - backend.count)
        turns = [make_turn(rng, "user" if (backend.count + i) % 2 == 0 else "assistant")
                 for i in range(n)]
        await backend.store.append(CID, turns)
        backend.count += n
    backend.fill_s[target] = time.perf_counter() - t0


async def time_round_robin(backends: Sequence[Backend], ops: int, call) -> dict[str, list[float]]:
    """`ops` rounds; each round times `call(backend)` once per backend, in a rotating order."""
    times: dict[str, list[float]] = {b.name: [] for b in backends}
    for i in range(ops):
        k = i % len(backends)
        for backend in list(backends[k:]) + list(backends[:k]):
            args = call(backend)  # built outside the timed span
            t0 = time.perf_counter()
            await args
            times[backend.name].append((time.perf_counter() - t0) * 1000)
    return times


async def measure_size(backends: Sequence[Backend], size: int, args, rng: random.Random):
    for backend in backends:
        await fill(backend, size, args.fill_batch, rng)
    gc.collect()
    # Warm-up: connections in the pool, statement caches, the index pages this size touches.
    for backend in backends:
        for _ in range(args.warmup):
            await backend.store.history(CID, args.limit)
    with CpuMeter() as meter:
        reads = await time_round_robin(
            backends, args.ops, lambda b: b.store.history(CID, args.limit))

        def one_append(b: Backend):
            b.count += 2
            return b.store.append(CID, exchange(rng))

        writes = await time_round_robin(backends, args.ops, one_append)
    return reads, writes, meter.reading


# -- main ----------------------------------------------------------------------------------


async def run(args, con) -> None:
    if not args.prompt_only:
        await latency_report(args, con)
    if not args.latency_only:
        rng = random.Random(7)
        questions = [f"{i}. {sentence(rng, 6, 20)}" for i in range(args.prompt_turns // 2)]
        await prompt_report(args, con, {q: make_turn(rng, "assistant").text for q in questions})


async def latency_report(args, con) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="stepvox_memory_bench_"))
    backends: list[Backend] = [Backend("in-memory", InMemoryDialogueStore())]
    pg_note = None
    try:
        sqlite_path = tmp / "history.sqlite3"
        sqlite = SqlDialogueStore(sqlite_path)
        await sqlite.open()
        backends.append(Backend("SQLite", sqlite, size_of=lambda: sqlite_size_mb(sqlite_path)))
        if args.skip_postgres:
            pg_note = "PostgreSQL skipped: --skip-postgres"
        elif (reason := postgres_unreachable(args.postgres_url)) is not None:
            pg_note = f"PostgreSQL skipped: {reason}; set STEPVOX_TEST_POSTGRES_URL or --postgres-url"
        else:
            schema, url = postgres_schema(args.postgres_url)
            pg = SqlDialogueStore(url)
            backends.append(Backend(
                "PostgreSQL", pg, cleanup=lambda: drop_postgres_schema(args.postgres_url, schema),
                size_of=lambda: postgres_size_mb(args.postgres_url, schema)))
            await pg.open()
            pg_note = (f"PostgreSQL: {postgres_version(args.postgres_url)} at "
                       f"{args.postgres_url}, own schema {schema} (dropped after)")

        con.print(f"backends: in-memory; SQLite file in {tmp} (WAL, synchronous=NORMAL, as "
                  f"the store sets it); {pg_note}", markup=False)
        con.print(f"fill: bulk append of {args.fill_batch} turns per call into one conversation; "
                  f"timed: {args.ops} x history(cid, limit={args.limit}) then {args.ops} x "
                  f"append(cid, [user, reply]) per size, stores interleaved call by call; "
                  f"{args.warmup} untimed reads first", markup=False)
        rng = random.Random(1)
        results = []
        for size in args.sizes:
            reads, writes, meter = await measure_size(backends, size, args, rng)
            sizes_mb = {b.name: b.size_of() for b in backends if b.size_of}
            results.append((size, reads, writes, meter, sizes_mb,
                            {b.name: b.fill_s.get(size) for b in backends}))

        table = make_table("Dialogue store latency, one conversation (ms)",
                           ["turns stored", "operation", "store", "n", "p50", "p95", "mean",
                            "p50 / in-memory", "other cores"], numeric_from=3)
        for size, reads, writes, meter, _, _ in results:
            for op, data in ((f"history(limit={args.limit})", reads),
                             ("append 1 exchange", writes)):
                ref = summarize(data["in-memory"]).p50
                for i, b in enumerate(backends):
                    s = summarize(data[b.name])
                    table.add_row(f"{size:,}" if op.startswith("history") and i == 0 else "",
                                  op if i == 0 else "", b.name, str(s.n), fmt(s.p50, 3),
                                  fmt(s.p95, 3), fmt(s.mean, 3),
                                  "1.00×" if b.name == "in-memory" else ratio(s.p50, ref, 0),
                                  fmt(meter.other_cores, 2) if op.startswith("history") and i == 0
                                  and meter.other_cores is not None else "",
                                  end_section=(i == len(backends) - 1 and op.startswith("append")))
        con.print(table)
        con.print("other cores: cores used by other processes on this machine during the "
                  "timed calls of that size (reads and appends together). The SQL stores hand "
                  "each call to another thread (aiosqlite) or process (the PostgreSQL server), "
                  "which a busy machine delays; the in-memory store stays on the event loop.",
                  markup=False)

        fills = make_table("Filling (bulk appends) and size on disk",
                           ["store", "filled to", "fill s", "turns/s", "on disk MB"],
                           numeric_from=1)
        prev = 0
        for size, _, _, _, sizes_mb, fill_s in results:
            for b in backends:
                added = size - prev
                secs = fill_s.get(b.name)
                fills.add_row(b.name, f"{size:,}", fmt(secs, 2),
                              fmt(added / secs if secs else None, 0),
                              fmt(sizes_mb.get(b.name), 1))
            prev = size + 2 * args.ops
        con.print(fills)
        con.print("turns/s counts the turns added since the previous size (the timed appends "
                  f"add {2 * args.ops} turns per size); on disk = SQLite file + WAL, or the "
                  "PostgreSQL schema's tables with their indexes and TOAST.", markup=False)
    finally:
        for b in backends:
            await b.close()
        shutil.rmtree(tmp, ignore_errors=True)


def postgres_version(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            v = conn.execute("SHOW server_version").fetchone()[0]
        return f"server {v.split()[0]}, psycopg {psycopg.__version__}"
    except psycopg.Error:  # only a description
        return f"psycopg {psycopg.__version__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000],
                        help="turns stored in the conversation before each timed phase")
    parser.add_argument("--ops", type=int, default=200, help="timed calls per operation and size")
    parser.add_argument("--limit", type=int, default=20, help="history(limit=...)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--fill-batch", type=int, default=1000, help="turns per bulk append")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--prompt-turns", type=int, default=200)
    parser.add_argument("--budget", type=int, default=2000, help="window budget in tokens")
    parser.add_argument("--summary-chars", type=int, default=1000,
                        help="length of the fake model's summary (<= the summary allowance)")
    parser.add_argument("--latency-only", action="store_true", help="skip the prompt sizes")
    parser.add_argument("--prompt-only", action="store_true", help="skip the store latency")
    args = parser.parse_args()
    args.sizes = sorted(set(args.sizes))
    con = make_console()
    print_machine(con)
    t0 = time.perf_counter()
    asyncio.run(run(args, con))
    con.print(f"total {time.perf_counter() - t0:.0f} s; sqlalchemy "
              f"{__import__('sqlalchemy').__version__}, aiosqlite "
              f"{__import__('importlib.metadata').metadata.version('aiosqlite')}", markup=False)


if __name__ == "__main__":
    main()
