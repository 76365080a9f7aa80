"""Soak: continuous scripted sessions against one realtime server (fake models, loopback),
with the server's RSS and open file descriptors sampled every interval.

Each client loops: open a session, speak one utterance (tone bursts the energy VAD hears),
type a second turn, close. History goes to a SQLite file, as `stepvox serve` keeps it.
An error is any `error` event, a response that did not complete, or a session that could
not be opened or timed out. Growth is the last sample against the first after warm-up.

    .venv/bin/python bench/soak.py [--minutes 30] [--clients 2] [--interval-s 60]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from realtime_fake_server import spawn  # noqa: E402
RATE = 16_000


def _utterance() -> bytes:
    t = np.arange(int(0.8 * RATE)) / RATE
    speech = 0.3 * np.sin(2 * np.pi * 300 * t)
    x = np.concatenate([np.zeros(int(0.3 * RATE)), speech, np.zeros(int(1.0 * RATE))])
    return (x * 32767).astype("<i2").tobytes()


UTTERANCE = _utterance()


@dataclass
class Sample:
    minute: float
    sessions: int
    turns: int
    errors: int
    rss_mib: float
    fds: int


def _fd_kinds(pid: int) -> dict[str, int]:
    """The server's open descriptors by kind ("socket", "pipe", a file's path, ...)."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed between the listing and the read
            continue
        kind = target.split(":[")[0] if ":[" in target else target
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


@dataclass
class SoakReport:
    samples: list[Sample] = field(default_factory=list)
    # descriptors by kind at the first sample after warm-up and at the last one
    fds_after_warm_up: dict[str, int] = field(default_factory=dict)
    fds_at_end: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    warm_up_samples: int = 1

    @property
    def errors(self) -> int:
        return sum(self.error_kinds.values())

    def growth(self, attr: str) -> float:
        """% change of `attr` from the first sample after warm-up to the last."""
        base = self.samples[min(self.warm_up_samples, len(self.samples) - 1)]
        first, last = getattr(base, attr), getattr(self.samples[-1], attr)
        return 100.0 * (last - first) / first if first else 0.0


class Counters:
    def __init__(self) -> None:
        self.sessions = self.turns = 0
        self.errors: dict[str, int] = {}

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _until(ws, predicate, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        async for raw in ws:
            event = json.loads(raw)
            if predicate(event):
                return event
    raise ConnectionError("socket closed")


async def one_session(url: str, counters: Counters) -> None:
    # Turns are added with their session, so a sample taken mid-session still reads
    # turns == 2 x sessions (CI once sampled between a session's two counts).
    turns = 0
    async with connect(url, max_size=None) as ws:
        await _until(ws, lambda e: e["type"] == "session.created", 10)
        for i in range(0, len(UTTERANCE), 640):  # 20 ms frames, 10x real time
            await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                      "audio": base64.b64encode(UTTERANCE[i:i + 640]).decode()}))
            await asyncio.sleep(0.002)
        for turn in ("spoken", "typed"):
            if turn == "typed":
                await ws.send(json.dumps({"type": "conversation.item.create", "item": {
                    "type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": "and tomorrow?"}]}}))
                await ws.send(json.dumps({"type": "response.create"}))
            done = await _until(ws, lambda e: e["type"] in ("response.done", "error"), 20)
            if done["type"] == "error":
                counters.error(f"error:{done['error']['code']}")
            elif done["response"]["status"] != "completed":
                counters.error(f"response:{done['response']['status']}")
            else:
                turns += 1
    counters.turns += turns
    counters.sessions += 1


async def client_loop(url: str, counters: Counters, stop: float) -> None:
    while time.monotonic() < stop:
        try:
            await one_session(url, counters)
        except (TimeoutError, ConnectionError, OSError) as exc:
            counters.error(f"session:{type(exc).__name__}")
        except Exception as exc:  # noqa: BLE001 - websockets' own closes, counted
            counters.error(f"session:{type(exc).__name__}")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def soak(minutes: float, clients: int = 2, interval_s: float = 60.0,
               warm_up_s: float | None = None, vad: str = "energy") -> SoakReport:
    with tempfile.TemporaryDirectory() as tmp:
        server, port = await asyncio.to_thread(
            spawn, "--vad", vad, "--history-db", f"sqlite:///{tmp}/history.sqlite3")
        try:
            url = f"ws://127.0.0.1:{port}/v1/realtime"
            started = time.monotonic()
            stop = started + minutes * 60
            counters = Counters()
            report = SoakReport()
            warm_up_s = interval_s if warm_up_s is None else warm_up_s
            report.warm_up_samples = max(1, round(warm_up_s / interval_s))
            loops = [asyncio.create_task(client_loop(url, counters, stop)) for _ in range(clients)]

            def sample() -> None:
                report.samples.append(Sample(
                    (time.monotonic() - started) / 60, counters.sessions, counters.turns,
                    sum(counters.errors.values()), _rss_mib(server.pid),
                    len(os.listdir(f"/proc/{server.pid}/fd"))))

            sample()
            while time.monotonic() < stop:
                await asyncio.sleep(min(interval_s, max(0.0, stop - time.monotonic())))
                sample()
                if len(report.samples) == report.warm_up_samples + 1:
                    report.fds_after_warm_up = _fd_kinds(server.pid)
            report.fds_at_end = _fd_kinds(server.pid)
            await asyncio.gather(*loops)
            if server.poll() is not None:
                counters.error("server_died")
            report.error_kinds = dict(counters.errors)
            return report
        finally:
            server.terminate()
            server.wait(10)


def print_report(report: SoakReport) -> None:
    print("| minute | sessions | turns | errors | server RSS MiB | open fds |")
    print("|---:|---:|---:|---:|---:|---:|")
    for s in report.samples:
        print(f"| {s.minute:.1f} | {s.sessions:,} | {s.turns:,} | {s.errors} | "
              f"{s.rss_mib:.1f} | {s.fds} |")
    print(f"\nafter warm-up: RSS {report.growth('rss_mib'):+.1f} %, fds "
          f"{report.growth('fds'):+.1f} %; errors {report.errors}"
          + (f" ({report.error_kinds})" if report.errors else ""))
    changed = {k: (report.fds_after_warm_up.get(k, 0), report.fds_at_end.get(k, 0))
               for k in {*report.fds_after_warm_up, *report.fds_at_end}
               if report.fds_after_warm_up.get(k, 0) != report.fds_at_end.get(k, 0)}
    print("descriptors after warm-up -> at the end, where they differ: "
          + (", ".join(f"{k} {a} -> {b}" for k, (a, b) in sorted(changed.items())) or "none"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--interval-s", type=float, default=60.0)
    p.add_argument("--warm-up-s", type=float, default=None,
                   help="samples before this are warm-up (default: one interval)")
    p.add_argument("--vad", default="energy", choices=["energy", "silero"])
    args = p.parse_args()
    report = asyncio.run(soak(args.minutes, args.clients, args.interval_s, args.warm_up_s,
                              args.vad))
    print_report(report)
    sys.exit(1 if report.errors else 0)


if __name__ == "__main__":
    main()
