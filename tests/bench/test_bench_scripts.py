"""Every script in bench/ at least compiles. The package redesign's import rewrite once put
`from agent.voice_agent import VoiceAgent` inside a parenthesised import of
bench/turn_latency.py, and the latency bench would not start; no test ran it."""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_the_bench_script_compiles(script, tmp_path):
    py_compile.compile(str(BENCH / script), cfile=str(tmp_path / "x.pyc"), doraise=True)
