"""Whisper on a window fitted to the clip vs the standard 30 s window: time per clip and word
error rate, both windows on the same clips in the same run.

Clips: the eight `turn_latency` questions in the stack's own voice, and, when ../shared is
present, the five LibriVox sentences (a human reader, 3-7 s) and the JFK clip (11 s).

    .venv/bin/python bench/whisper_window.py [--asr tiny.en base] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.machine import print_machine  # noqa: E402
from bench.stats import console, summarize  # noqa: E402

out = console()
from bench.turn_latency_report import QUESTIONS  # noqa: E402
from agent.voice_agent import VoiceAgent

SHARED = ROOT.parent / "shared" / "testdata" / "audio"
JFK = ("And so my fellow Americans, ask not what your country can do for you, "
       "ask what you can do for your country.")


async def clips(agent) -> list[tuple[str, str, object]]:
    from speech import load_audio

    out = [("own voice", q, load_audio((await agent.say(q)), agent.sample_rate))
           for q, _ in QUESTIONS]
    if SHARED.is_dir():
        for wav in sorted((SHARED / "pocketsphinx").glob("sense_and_sensibility*.wav")):
            out.append(("LibriVox", wav.with_suffix(".txt").read_text().strip(), load_audio(wav)))
        out.append(("JFK", JFK, load_audio(SHARED / "whisper" / "jfk.flac")))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--asr", nargs="+", default=["tiny.en", "base"])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    from agent.setup.embedded_stack import load_embedded_stack
    from agent.settings import StepvoxSettings
    from speech.scoring.word_error_rate import word_error_rate

    print_machine(out)
    table = Table(title="Whisper: fitted window vs 30 s window (ms per clip, best of repeats)")
    for col in ("ASR", "window", "clips", "p50 ms", "p95 ms", "mean WER", "short path"):
        table.add_column(col, justify="left" if col in ("ASR", "window") else "right")
    for name in args.asr:
        stack = load_embedded_stack(StepvoxSettings(asr_model=name), progress=False)
        asr = stack.tokenizer
        data = asyncio.run(clips(VoiceAgent.from_stack(stack)))
        fitted = asr.window_s
        for label, window in (("30 s (standard)", None), (f"fitted, >= {fitted:g} s", fitted)):
            asr.window_s = window
            times, errors, before = [], [], asr.short_path_runs
            for _, reference, clip in data:
                best = float("inf")
                for _ in range(args.repeats):
                    t = time.perf_counter()
                    text = asr.transcribe_sync(clip).text
                    best = min(best, (time.perf_counter() - t) * 1000)
                times.append(best)
                errors.append(word_error_rate(reference, text))
            s = summarize(times)
            short = (asr.short_path_runs - before) // args.repeats
            table.add_row(name, label, str(len(data)), f"{s.p50:.0f}", f"{s.p95:.0f}",
                          f"{100 * np.mean(errors):.1f} %", f"{short}/{len(data)}")
        asr.window_s = fitted
    out.print(table)
    out.print("short path = clips that took the fitted window (the JFK clip fits: 11 s + "
                  "2 s padding < 30 s); the rest fell back to the standard path.")


if __name__ == "__main__":
    main()
