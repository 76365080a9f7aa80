"""Rich tables of per-stage turn timings, shared by `stepvox chat --timings` and the demo."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.table import Table

# (label, how to compute the stage's duration from one reply's marks)
STAGES: list[tuple[str, str, str | None]] = [
    ("VAD: end of speech found", "vad_end", None),
    ("ASR: transcript", "asr", "vad_end"),
    ("LLM: tool call written", "llm_tool_call", None),
    ("LLM: first spoken token", "llm_first_token", None),
    ("first sentence ready", "first_sentence", None),
    ("TTS: first audio", "tts_first_audio", "first_sentence"),
    ("end of speech -> first audio", "tts_first_audio", None),
    ("turn done", "done", None),
]


def stage_values(marks: dict[str, float]) -> dict[str, float]:
    """Stage label -> ms. Durations for ASR and TTS; time since end of speech otherwise."""
    out: dict[str, float] = {}
    for label, end, start in STAGES:
        if end not in marks:
            continue
        out[label] = marks[end] - (marks.get(start, 0.0) if start else 0.0)
    return out


def timings_table(turns: Sequence[dict[str, float]], title: str = "Per-stage latency") -> Table:
    table = Table(title=title)
    table.add_column("stage")
    table.add_column("n", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    values = [stage_values(m) for m in turns]
    for label, _, _ in STAGES:
        samples = [v[label] for v in values if label in v]
        if not samples:
            continue
        table.add_row(label, str(len(samples)), f"{np.percentile(samples, 50):.0f}",
                      f"{np.percentile(samples, 95):.0f}")
    return table
