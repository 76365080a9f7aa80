"""How many realtime sessions one core sustains, and memory per idle session.

The server (`realtime_fake_server.py`, instant fake models, Silero VAD) runs in its own
process pinned to one core; this process, on another core where there is one, plays N
callers. Each caller streams its microphone continuously (20 ms pcm16 frames at real-time
pace) and takes a turn every `CYCLE_S` at a random phase: 1.2 s of speech, 0.2 s of silence,
then `input_audio_buffer.commit` (client-side end of turn, so no VAD hang-over is in the
figure). Latency = commit sent -> first `response.audio.delta` received. "Added" latency is
that minus the p50 of the 1-session row of the same run. The client's own lateness in
sending frames is reported too: a late client would make the server look slow.

Memory: the server's RSS before and after opening `IDLE_SESSIONS` sessions that send nothing.

    .venv/bin/python bench/realtime_capacity.py [--sessions 1 10 25 50 100] [--seconds 12]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.realtime_client import pcm16_b64  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402

SPEC = True  # speculation on, as `stepvox serve` runs by default
RATE, FRAME_MS, CYCLE_S, SPEECH_S, GAP_S = 16_000, 20, 3.0, 1.2, 0.2
IDLE_SESSIONS = 200
ADDED_LIMIT_MS = 20.0
JFK = ROOT.parent / "shared" / "testdata" / "audio" / "whisper" / "jfk.flac"


def speech_sample(vad: str) -> tuple[np.ndarray, str]:
    """Real speech for Silero (it rightly ignores tones): the first 1.2 s of the shared JFK
    recording. Without the shared data: a tone burst and the energy VAD."""
    if vad == "silero" and JFK.exists():
        import soundfile as sf
        import soxr

        x, rate = sf.read(str(JFK), dtype="float32")
        x = x.mean(axis=1) if x.ndim == 2 else x
        return soxr.resample(x, rate, RATE)[:int(SPEECH_S * RATE)].astype(np.float32), "silero"
    t = np.arange(int(SPEECH_S * RATE), dtype=np.float32) / RATE
    return (0.3 * np.sin(2 * np.pi * 300 * t)).astype(np.float32), "energy"


def _frames(speech: np.ndarray) -> tuple[list[str], str]:
    n = RATE * FRAME_MS // 1000
    # Pre-encoded: the load generator must spend its core on sending, not on encoding.
    msg = lambda x: json.dumps({"type": "input_audio_buffer.append", "audio": pcm16_b64(x)})  # noqa: E731
    return [msg(speech[i:i + n]) for i in range(0, len(speech), n)], msg(np.zeros(n, np.float32))


def cpu_s(pid: int) -> float:
    """CPU seconds the process has used (user + system)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Caller:
    """One caller's socket and script; `tick(i)` sends its frame number `i`."""

    def __init__(self, ws, speech: list[str], quiet: str, out: dict) -> None:
        self.ws, self.speech, self.quiet, self.out = ws, speech, quiet, out
        self.frames_per_cycle = int(CYCLE_S * 1000 / FRAME_MS)
        self.phase = random.randrange(self.frames_per_cycle)
        self.gap_frames = int(GAP_S * 1000 / FRAME_MS)
        self.waiting: list[float] = []  # commit times not answered yet
        # A commit only after a whole utterance: a random phase may start mid-speech, and a
        # fragment of a word can be too short for the VAD to call speech (the server then
        # answers the commit with `input_audio_buffer_commit_empty` and no reply, which the
        # next answered commit would count as a late turn).
        self.spoke = False
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if '"type": "error"' in message[:40]:
                self.out["errors"].append(json.loads(message)["error"]["code"])
            if '"response.audio.delta"' in message[:60] and self.waiting:
                self.out["latency"].append((time.perf_counter() - self.waiting.pop(0)) * 1000)
                self.out["late_turns"] += len(self.waiting)  # an older turn never got audio
                self.waiting.clear()

    async def tick(self, i: int) -> None:
        k = (i + self.phase) % self.frames_per_cycle
        await self.ws.send(self.speech[k] if k < len(self.speech) else self.quiet)
        self.spoke = self.spoke or k == 0
        if k == len(self.speech) + self.gap_frames and self.spoke:
            self.spoke = False
            self.out["commits"] += 1
            self.waiting.append(time.perf_counter())
            await self.ws.send('{"type": "input_audio_buffer.commit"}')


async def _open_caller(url: str, speech: list[str], quiet: str, out: dict) -> _Caller:
    ws = await connect(url, max_size=None)
    await ws.send(json.dumps({"type": "session.update", "session": {
        "turn_detection": {"type": "none", "speculative": SPEC}}}))
    return _Caller(ws, speech, quiet, out)


async def _load(url: str, sessions: int, seconds: float, sample: np.ndarray) -> dict:
    """All callers' frames from one 20 ms clock: per-caller timers cost the load generator
    more than the sending (its own lag, reported as client lag, made 100 sessions look
    like less load than asked)."""
    speech, quiet = _frames(sample)
    out: dict = {"latency": [], "send_lag": [], "late_turns": 0, "commits": 0, "errors": []}
    opened = await asyncio.gather(*(_open_caller(url, speech, quiet, out)
                                    for _ in range(sessions)), return_exceptions=True)
    callers = [c for c in opened if isinstance(c, _Caller)]
    out["failed_callers"] = [repr(c)[:120] for c in opened if isinstance(c, BaseException)]
    t0 = time.perf_counter()
    for i in range(int(seconds * 1000 / FRAME_MS)):
        due = t0 + (i + 1) * FRAME_MS / 1000
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            out["send_lag"].append(-delay * 1000)
        for c in list(callers):  # in turn, not gathered: a task per frame costs as a timer did
            try:
                await c.tick(i)
            except Exception as exc:  # a caller the server dropped: reported, not retried
                out["failed_callers"].append(repr(exc)[:120])
                callers.remove(c)
    await asyncio.sleep(0.5)
    for c in callers:
        c.reader.cancel()
        await c.ws.close()
    return out


async def _idle_memory(url: str, pid: int) -> dict:
    await asyncio.sleep(0.5)
    before = rss_mb(pid)
    sockets = []
    for _ in range(IDLE_SESSIONS):
        ws = await connect(url, max_size=None)
        await ws.recv()  # session.created: the session exists
        sockets.append(ws)
    await asyncio.sleep(0.5)
    after = rss_mb(pid)
    for ws in sockets:
        await ws.close()
    return {"before_mb": before, "after_mb": after,
            "per_session_kb": (after - before) * 1024 / IDLE_SESSIONS}


def run_capacity(sessions: list[int], seconds: float, vad: str = "silero") -> dict:
    sample, vad = speech_sample(vad)
    cores = sorted(os.sched_getaffinity(0))
    server_cpu = cores[0]
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "realtime_fake_server.py"),
                             "--cpu", str(server_cpu), "--vad", vad],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        if len(cores) > 1:  # the callers on another core than the server's
            os.sched_setaffinity(0, set(cores[1:]))
        memory = asyncio.run(_idle_memory(url, proc.pid))
        rows = []
        for n in sessions:
            cpu, wall = cpu_s(proc.pid), time.perf_counter()
            result = asyncio.run(_load(url, n, seconds, sample))
            busy = (cpu_s(proc.pid) - cpu) / (time.perf_counter() - wall)
            rows.append({"sessions": n, "server_cores": busy, **result})
        return {"rows": rows, "memory": memory, "vad": vad, "seconds": seconds,
                "server_rss_mb": rss_mb(proc.pid)}
    finally:
        os.sched_setaffinity(0, set(cores))
        proc.terminate()
        proc.wait(10)


def print_capacity(result: dict) -> None:
    out = console()
    rows = result["rows"]
    base = summarize(rows[0]["latency"]) if rows else None
    table = make_table(
        f"Realtime sessions on one server core, instant fake models, {result['vad']} VAD, "
        f"{FRAME_MS} ms frames, a turn every {CYCLE_S:g} s each ({result['seconds']:g} s)",
        ["sessions", "commits", "answered", "p50 ms", "p95 ms", "added p95 ms", "late",
         "errors", "server core", "core per session", "client lag p95 ms"])
    sustained = None
    for row in rows:
        s = summarize(row["latency"])
        lag = summarize(row["send_lag"])
        added = s.p95 - base.p50 if s and base else None
        if added is not None and added <= ADDED_LIMIT_MS and row["late_turns"] == 0:
            sustained = row["sessions"]
        table.add_row(str(row["sessions"]), str(row["commits"]), str(s.n if s else 0),
                      fmt(s.p50 if s else None, 1), fmt(s.p95 if s else None, 1), fmt(added, 1),
                      str(row["late_turns"]),
                      str(len(row["errors"]) + len(row["failed_callers"])),
                      f"{100 * row['server_cores']:.0f} %",
                      f"{100 * row['server_cores'] / row['sessions']:.1f} %",
                      fmt(lag.p95 if lag else 0.0, 1))
    out.print(table)
    for row in rows:
        if row["errors"] or row["failed_callers"]:
            out.print(f"{row['sessions']} sessions: errors {sorted(set(row['errors']))} "
                      f"{row['failed_callers'][:2]}")
    m = result["memory"]
    out.print(f"Sustained with p95 added latency <= {ADDED_LIMIT_MS:g} ms (vs the 1-session p50): "
              f"{sustained if sustained is not None else 'none of the rows'} sessions. "
              f"Memory per idle session: {m['per_session_kb']:.0f} kB (server RSS "
              f"{m['before_mb']:.0f} -> {m['after_mb']:.0f} MB for {IDLE_SESSIONS} sessions).")


def main() -> int:
    p = argparse.ArgumentParser(description="realtime sessions per core")
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 25, 50, 100])
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--vad", default="silero", choices=["silero", "energy"])
    args = p.parse_args()
    from bench.machine import machine_line

    console().print(machine_line())
    print_capacity(run_capacity(args.sessions, args.seconds, args.vad))
    return 0


if __name__ == "__main__":
    sys.exit(main())
