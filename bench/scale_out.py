"""Many workers, one conversation store: sessions held across 1 and 2 `stepvox serve` workers.

Each configuration starts W worker processes (`scale_out_worker.py`: the real server with
PostgreSQL history, Redis signals, the reply journal; instant fake models), each pinned to
its own core, on a fresh PostgreSQL schema. This process plays M callers, spread over the
workers. Each caller streams its microphone continuously (20 ms pcm16 frames at real-time
pace) and takes a turn every 3 s at a random phase: 1.2 s of speech, 0.2 s of silence, then
`input_audio_buffer.commit` (as `realtime_capacity.py` does). Every `--move-s` seconds each
caller (staggered) hangs up and reopens its conversation on the next worker with
`?conversation_id=`, so conversations really travel between workers.

Reported per configuration:
- sessions held: the servers' own count (`/v1/stats`), summed over workers, min over samples;
- latency: commit sent -> first `response.audio.delta`; "added p95" is the load's p95 minus
  the p50 of one caller alone on worker 1 just before the load;
- errors: `error` events, sockets that failed, commits never answered (not counting turns cut
  by a move);
- lost turns: answered turns (audio received) whose user turn is not in the database after
  the run (every conversation is read back);
- RSS of each worker over time, and the database connections of this schema (most seen).

    nice -n 10 .venv/bin/python bench/scale_out.py [--workers 1 2] [--sessions-per-worker 20]
        [--minutes 3] [--vad silero|energy]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.realtime_capacity import (  # noqa: E402
    CYCLE_S, FRAME_MS, GAP_S, _frames, cpu_s, rss_mb, speech_sample,
)
from bench.stats import console, fmt, make_table, summarize  # noqa: E402

POSTGRES_URL = os.environ.get("STEPVOX_BENCH_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STEPVOX_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
SAMPLE_S = 15.0


class Caller:
    """One caller: its conversation, its socket of the moment and its script."""

    def __init__(self, conversation_id: str, speech: list[str], quiet: str, out: dict) -> None:
        self.conversation_id, self.speech, self.quiet, self.out = (
            conversation_id, speech, quiet, out)
        self.frames_per_cycle = int(CYCLE_S * 1000 / FRAME_MS)
        self.phase = random.randrange(self.frames_per_cycle)
        self.gap_frames = int(GAP_S * 1000 / FRAME_MS)
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.waiting: list[float] = []
        self.spoke = False
        self.answered = 0  # turns whose reply audio arrived
        self.worker = 0

    async def open(self, url: str, worker: int) -> None:
        self.ws = await connect(f"{url}?conversation_id={self.conversation_id}", max_size=None)
        created = json.loads(await self.ws.recv())
        if created.get("type") != "session.created":
            raise RuntimeError(f"no session: {str(created)[:160]}")
        self.out["resumed"] += bool(created.get("resumed"))
        await self.ws.send(json.dumps({"type": "session.update", "session": {
            "turn_detection": {"type": "none", "speculative": True}}}))
        self.worker, self.waiting, self.spoke = worker, [], False
        self.reader = asyncio.create_task(self._read(self.ws))

    async def _read(self, ws) -> None:
        try:
            async for message in ws:
                if '"type": "error"' in message[:40]:
                    self.out["errors"].append(json.loads(message)["error"]["code"])
                if '"response.audio.delta"' in message[:60] and self.waiting:
                    self.out["latency"].append((time.perf_counter() - self.waiting.pop(0)) * 1000)
                    self.answered += 1
                    self.out["unanswered"] += len(self.waiting)
                    self.waiting.clear()
        except Exception:
            pass

    async def tick(self, i: int) -> None:
        if self.ws is None:
            return  # moving to another worker
        k = (i + self.phase) % self.frames_per_cycle
        await self.ws.send(self.speech[k] if k < len(self.speech) else self.quiet)
        self.spoke = self.spoke or k == 0
        if k == len(self.speech) + self.gap_frames and self.spoke:
            self.spoke = False
            self.out["commits"] += 1
            self.waiting.append(time.perf_counter())
            await self.ws.send('{"type": "input_audio_buffer.commit"}')

    async def close(self) -> None:
        ws, self.ws = self.ws, None
        if ws is None:
            return
        await asyncio.sleep(0.3)  # a reply whose audio just arrived: let it play out
        self.out["cut_by_move"] += len(self.waiting)
        self.waiting = []
        await ws.close()
        if self.reader is not None:
            self.reader.cancel()

    async def move(self, urls: list[str]) -> None:
        await self.close()
        nxt = (self.worker + 1) % len(urls)
        try:
            await self.open(urls[nxt], nxt)
            self.out["moves"] += 1
        except Exception as exc:
            self.out["failed"].append(f"move: {exc!r}"[:160])


def schema_url(schema: str) -> str:
    return (f"{POSTGRES_URL}?application_name={schema}"
            f"&options={quote(f'-csearch_path={schema}')}")


def db(sql: str, *params, url: str = POSTGRES_URL):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


async def _sample(workers: list[dict], schema: str, samples: list[dict], t0: float) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            await asyncio.sleep(SAMPLE_S)
            held = []
            for w in workers:
                try:
                    held.append((await http.get(f"{w['http']}/v1/stats")).json()["sessions"])
                except httpx.HTTPError:
                    held.append(None)
            conns = db("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                       schema)[0][0]
            samples.append({"t": time.perf_counter() - t0, "held": held, "db": conns,
                             "rss": [rss_mb(w["pid"]) for w in workers]})


async def _load(workers: list[dict], sessions: int, seconds: float, move_s: float,
                sample, schema: str) -> dict:
    speech, quiet = _frames(sample)
    out = {"latency": [], "errors": [], "failed": [], "commits": 0, "unanswered": 0,
           "cut_by_move": 0, "moves": 0, "resumed": 0, "samples": []}
    urls = [w["ws"] for w in workers]
    callers = [Caller(f"bench-{uuid.uuid4().hex[:16]}", speech, quiet, out)
               for _ in range(sessions)]
    for i, c in enumerate(callers):  # opened a few at a time, as callers arrive
        try:
            await c.open(urls[i % len(urls)], i % len(urls))
        except Exception as exc:
            out["failed"].append(f"open: {exc!r}"[:160])
        if i % 5 == 4:
            await asyncio.sleep(0.1)
    t0 = time.perf_counter()
    sampler = asyncio.create_task(_sample(workers, schema, out["samples"], t0))
    moving: set[asyncio.Task] = set()
    per_tick = sessions * FRAME_MS / 1000 / move_s  # callers to move per frame, staggered
    owed = 0.0
    next_mover = 0
    for i in range(int(seconds * 1000 / FRAME_MS)):
        due = t0 + (i + 1) * FRAME_MS / 1000
        if (delay := due - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        owed += per_tick
        while owed >= 1 and i * FRAME_MS / 1000 > 5:
            owed -= 1
            task = asyncio.create_task(callers[next_mover % sessions].move(urls))
            moving.add(task)
            task.add_done_callback(moving.discard)
            next_mover += 1
        for c in callers:
            try:
                await c.tick(i)
            except Exception as exc:  # a socket the server dropped: counted, then moved
                out["failed"].append(f"send: {exc!r}"[:160])
                c.ws = None
                task = asyncio.create_task(c.move(urls))
                moving.add(task)
                task.add_done_callback(moving.discard)
    await asyncio.gather(*moving, return_exceptions=True)
    sampler.cancel()
    await asyncio.sleep(1.0)
    for c in callers:
        await c.close()
    out["answered"] = {c.conversation_id: c.answered for c in callers}
    return out


async def _baseline(url: str, sample) -> list[float]:
    speech, quiet = _frames(sample)
    out = {"latency": [], "errors": [], "failed": [], "commits": 0, "unanswered": 0,
           "cut_by_move": 0, "moves": 0, "resumed": 0}
    caller = Caller(f"bench-alone-{uuid.uuid4().hex[:8]}", speech, quiet, out)
    await caller.open(url, 0)
    t0 = time.perf_counter()
    for i in range(int(15 * 1000 / FRAME_MS)):
        if (delay := t0 + (i + 1) * FRAME_MS / 1000 - time.perf_counter()) > 0:
            await asyncio.sleep(delay)
        await caller.tick(i)
    await caller.close()
    return out["latency"]


def run_config(n_workers: int, sessions: int, seconds: float, move_s: float,
               vad: str) -> dict:
    sample, vad = speech_sample(vad)
    schema = f"bench_scale_{uuid.uuid4().hex[:10]}"
    db(f'CREATE SCHEMA "{schema}"')
    cores = sorted(os.sched_getaffinity(0))
    procs = []
    try:
        workers = []
        for i in range(n_workers):
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "scale_out_worker.py"), "--database-url",
                 schema_url(schema), "--redis-url", REDIS_URL, "--cpu", str(cores[i % len(cores)]),
                 "--vad", vad], stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            port = int(proc.stdout.readline())
            workers.append({"pid": proc.pid, "ws": f"ws://127.0.0.1:{port}/v1/realtime",
                            "http": f"http://127.0.0.1:{port}"})
        for w in workers:  # ready: migrated database, subscribed to Redis
            for _ in range(120):
                try:
                    if httpx.get(f"{w['http']}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
        alone = asyncio.run(_baseline(workers[0]["ws"], sample))
        cpu0 = [cpu_s(w["pid"]) for w in workers]
        wall = time.perf_counter()
        result = asyncio.run(_load(workers, sessions, seconds, move_s, sample, schema))
        wall = time.perf_counter() - wall
        result["cores"] = [(cpu_s(w["pid"]) - c) / wall for w, c in zip(workers, cpu0)]
        time.sleep(2.0)  # the last sessions end and write their turns
        stored = dict(db("SELECT conversation_id, count(*) FROM turns WHERE role = 'user' "
                         "GROUP BY conversation_id", url=schema_url(schema)))
        result["lost"] = sum(max(0, n - stored.get(cid, 0))
                             for cid, n in result.pop("answered").items())
        result["stored_user_turns"] = sum(stored.values())
        result.update(alone=alone, workers=n_workers, sessions=sessions, vad=vad,
                      seconds=seconds)
        return result
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        db(f'DROP SCHEMA "{schema}" CASCADE')


def print_results(results: list[dict], move_s: float) -> None:
    out = console()
    r0 = results[0]
    table = make_table(
        f"Callers across workers: instant fake models, {r0['vad']} VAD, PostgreSQL history, "
        f"Redis signals, a turn every {CYCLE_S:g} s per caller, each caller moved to the next "
        f"worker every {move_s:g} s ({r0['seconds'] / 60:g} min per configuration)",
        ["workers", "callers", "held min", "turns", "p50 ms", "p95 ms", "added p95",
         "errors", "lost", "moves", "worker cores", "DB conns"])
    for r in results:
        s, base = summarize(r["latency"]), summarize(r["alone"])
        added = s.p95 - base.p50 if s and base else None
        held = [sum(x for x in smp["held"] if x is not None) for smp in r["samples"]]
        errors = len(r["errors"]) + len(r["failed"]) + r["unanswered"]
        table.add_row(str(r["workers"]), str(r["sessions"]), str(min(held) if held else "-"),
                      str(s.n if s else 0), fmt(s.p50 if s else None),
                      fmt(s.p95 if s else None), fmt(added), str(errors), str(r["lost"]),
                      str(r["moves"]), "/".join(f"{100 * c:.0f}%" for c in r["cores"]),
                      str(max(smp["db"] for smp in r["samples"]) if r["samples"] else "-"))
    out.print(table)
    memory = make_table("Worker RSS (MiB) and sessions held over time, per worker",
                        ["workers", "t s", "held", "RSS MiB", "DB conns"])
    for r in results:
        for smp in r["samples"]:
            memory.add_row(str(r["workers"]), f"{smp['t']:.0f}",
                           " / ".join(str(x) for x in smp["held"]),
                           " / ".join(f"{x:.0f}" for x in smp["rss"]), str(smp["db"]))
    out.print(memory)
    for r in results:
        alone = summarize(r["alone"])
        out.print(f"{r['workers']} worker(s): one caller alone p50 "
                  f"{fmt(alone.p50 if alone else None, 1)} ms; error codes "
                  f"{sorted(set(r['errors']))[:5]}; failed sockets {r['failed'][:2]}; "
                  f"unanswered commits {r['unanswered']}; turns cut by a move "
                  f"{r['cut_by_move']}; sessions opened as resumed {r['resumed']}; user turns "
                  f"stored {r['stored_user_turns']}")


def main() -> int:
    p = argparse.ArgumentParser(description="realtime sessions across workers")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--sessions-per-worker", type=int, default=20)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--move-s", type=float, default=60.0)
    p.add_argument("--vad", default="silero", choices=["silero", "energy"])
    args = p.parse_args()
    from bench.machine import machine_line

    console().print(machine_line())
    results = [run_config(w, w * args.sessions_per_worker, args.minutes * 60, args.move_s,
                          args.vad) for w in args.workers]
    print_results(results, args.move_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
