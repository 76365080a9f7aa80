"""A short soak (`bench/soak.py`, 40 s): continuous sessions against one server with fake
models; no errors, and the server's open file descriptors do not grow with the sessions."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "soak_bench", Path(__file__).resolve().parents[2] / "bench" / "soak.py")
soak_bench = importlib.util.module_from_spec(_SPEC)
sys.modules["soak_bench"] = soak_bench  # its dataclasses look their module up there
_SPEC.loader.exec_module(soak_bench)


async def test_forty_seconds_of_sessions_without_errors_or_leaked_descriptors():
    report = await soak_bench.soak(minutes=40 / 60, clients=2, interval_s=10, warm_up_s=10)
    soak_bench.print_report(report)
    last = report.samples[-1]
    assert report.errors == 0, report.error_kinds
    assert last.sessions >= 20 and last.turns == 2 * last.sessions
    # Each session opens and closes a socket: descriptors must come back.
    assert max(s.fds for s in report.samples[1:]) <= report.samples[1].fds + 8
