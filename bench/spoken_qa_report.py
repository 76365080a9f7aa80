"""Summary and tables of a spoken-QA run (`bench/spoken_qa.py`)."""

from __future__ import annotations

import math
from collections import defaultdict

from bench.machine import machine_line
from bench.stats import fmt, make_table, summarize as summarize_values


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % interval of a proportion: with a few hundred questions an accuracy moves by
    several points from chance alone, so the table shows how far."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def summarize(records: list[dict]) -> dict:
    n = len(records)
    fw = [r["framework"]["correct"] for r in records]
    bare = [r["bare"]["correct"] for r in records]
    heard_right = [r for r in records if r["framework"]["wer"] == 0]
    by_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in records:
        c = by_cat[r["category"]]
        c[0] += 1
        c[1] += r["framework"]["correct"]
        c[2] += r["bare"]["correct"]
    first_audio = summarize_values(r["framework"]["first_audio_ms"] for r in records)
    bare_ms = summarize_values(r["bare"]["ms"] for r in records)
    wers = [r["framework"]["wer"] for r in records]
    return {
        "n": n,
        "framework_correct": sum(fw), "bare_correct": sum(bare),
        "framework_accuracy": sum(fw) / n if n else math.nan,
        "bare_accuracy": sum(bare) / n if n else math.nan,
        "ratio": sum(fw) / sum(bare) if sum(bare) else math.nan,
        "framework_ci": _wilson(sum(fw), n), "bare_ci": _wilson(sum(bare), n),
        "both": sum(a and b for a, b in zip(fw, bare)),
        "only_framework": sum(a and not b for a, b in zip(fw, bare)),
        "only_bare": sum(b and not a for a, b in zip(fw, bare)),
        "heard_right": len(heard_right),
        "framework_accuracy_heard_right": (sum(r["framework"]["correct"] for r in heard_right)
                                           / len(heard_right) if heard_right else math.nan),
        "wer_mean": sum(wers) / n if n else math.nan,
        "exact_transcripts": len(heard_right) / n if n else math.nan,
        "first_audio_ms": first_audio.as_dict() if first_audio else None,
        "bare_reply_ms": bare_ms.as_dict() if bare_ms else None,
        "tool_turns": sum(bool(r["framework"]["tools_called"]) for r in records),
        "errors": sum(bool(r["framework"]["error"]) for r in records),
        "by_category": {k: {"n": v[0], "framework": v[1], "bare": v[2]}
                        for k, v in sorted(by_cat.items())},
    }


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f} %"


def print_report(out, result: dict) -> None:
    s = result["summary"]
    out.print(f"\nspoken QA: {s['n']} questions | LLM {result['model']} | profile "
              f"{result['profile'] or 'default'} | temperature "
              f"{result['sampling']['temperature']} | seed {result['seed']}", markup=False)
    table = make_table("accuracy (accepted answer in the reply)",
                       ["", "correct", "accuracy", "95 % interval"])
    for key, label in (("framework", "VoiceAgent, audio in"), ("bare", "bare model, text in")):
        lo, hi = s[f"{key}_ci"]
        table.add_row(label, f"{s[f'{key}_correct']}/{s['n']}", _pct(s[f"{key}_accuracy"]),
                      f"{_pct(lo)} - {_pct(hi)}")
    table.add_row("ratio framework / bare", "", fmt(s["ratio"], 2), "")
    out.print(table)
    out.print(f"paired: both right {s['both']}, only framework {s['only_framework']}, only "
              f"bare {s['only_bare']}; framework on questions heard exactly "
              f"({s['heard_right']}): {_pct(s['framework_accuracy_heard_right'])}; tool turns "
              f"{s['tool_turns']}; errors {s['errors']}", markup=False)

    timing = make_table("speech and latency", ["", "value"])
    timing.add_row("ASR WER vs the question (mean)", _pct(s["wer_mean"]))
    timing.add_row("transcripts exactly right", _pct(s["exact_transcripts"]))
    fa, br = s["first_audio_ms"], s["bare_reply_ms"]
    timing.add_row("end of speech -> first audio p50 / p95 (ms)",
                   f"{fmt(fa['p50'])} / {fmt(fa['p95'])}" if fa else "-")
    timing.add_row("bare model whole reply p50 / p95 (ms)",
                   f"{fmt(br['p50'])} / {fmt(br['p95'])}" if br else "-")
    out.print(timing)

    cats = make_table("by category", ["category", "n", "framework", "bare"])
    for name, c in s["by_category"].items():
        cats.add_row(name, str(c["n"]), _pct(c["framework"] / c["n"]), _pct(c["bare"] / c["n"]))
    out.print(cats)
    out.print("machine: " + machine_line(result["machine"]), markup=False)
