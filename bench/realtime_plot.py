"""The realtime benchmark's PNG, drawn with Pillow (a core dependency; matplotlib is not one):
left, the distribution (CDF) of end of speech -> first audio with speculation on and off;
right, turn latency p50/p95 against concurrent sessions with fake models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

W, H, PAD = 1200, 520, 70
COLORS = {"on": (31, 119, 180), "off": (255, 127, 14), "p50": (44, 160, 44), "p95": (214, 39, 40)}


class _Panel:
    def __init__(self, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int],
                 x_max: float, y_max: float, title: str, x_label: str, y_label: str) -> None:
        self.d, self.box = draw, box
        self.x_max, self.y_max = max(x_max, 1e-9), max(y_max, 1e-9)
        left, top, right, bottom = box
        draw.rectangle(box, outline=(0, 0, 0))
        draw.text((left, top - 22), title, fill=(0, 0, 0))
        draw.text(((left + right) // 2 - 40, bottom + 28), x_label, fill=(0, 0, 0))
        draw.text((left - 60, top - 40), y_label, fill=(0, 0, 0))
        for i in range(6):
            x = left + (right - left) * i / 5
            y = bottom - (bottom - top) * i / 5
            draw.line([(x, bottom), (x, bottom + 5)], fill=(0, 0, 0))
            draw.text((x - 12, bottom + 8), f"{self.x_max * i / 5:.0f}", fill=(0, 0, 0))
            draw.line([(left - 5, y), (left, y)], fill=(0, 0, 0))
            draw.line([(left, y), (right, y)], fill=(230, 230, 230))
            label = f"{self.y_max * i / 5:.2f}" if self.y_max <= 1 else f"{self.y_max * i / 5:.0f}"
            draw.text((left - 45, y - 6), label, fill=(0, 0, 0))

    def xy(self, x: float, y: float) -> tuple[float, float]:
        left, top, right, bottom = self.box
        return (left + (right - left) * min(x / self.x_max, 1.0),
                bottom - (bottom - top) * min(y / self.y_max, 1.0))

    def line(self, xs, ys, color, label: str, slot: int) -> None:
        points = [self.xy(x, y) for x, y in zip(xs, ys)]
        if len(points) > 1:
            self.d.line(points, fill=color, width=3)
        for p in points if len(points) < 12 else ():
            self.d.ellipse([p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3], fill=color)
        left, top = self.box[0], self.box[1]
        self.d.line([(left + 12, top + 16 + 18 * slot), (left + 40, top + 16 + 18 * slot)],
                    fill=color, width=3)
        self.d.text((left + 46, top + 10 + 18 * slot), label, fill=(0, 0, 0))


def plot(turns: list[dict], capacity: dict | None, path: Path) -> Path:
    image = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(image)
    half = W // 2
    measured = [t for t in turns if not t.get("warmup") and t.get("first_audio_ms") is not None]
    values = {m: np.sort([t["first_audio_ms"] for t in measured if t["speculative"] == (m == "on")])
              for m in ("on", "off")}
    x_max = max([v[-1] for v in values.values() if len(v)] or [1000.0])
    left = _Panel(draw, (PAD, PAD, half - 30, H - PAD), x_max * 1.05, 1.0,
                  "End of speech -> first audio (embedded stack): CDF", "ms", "share of turns")
    for slot, (mode, v) in enumerate(values.items()):
        if len(v):
            share = np.arange(1, len(v) + 1) / len(v)
            left.line(v, share, COLORS[mode], f"speculation {mode}: p50 {np.median(v):.0f} ms "
                      f"(n={len(v)})", slot)
    rows = (capacity or {}).get("rows", [])
    sessions = [r["sessions"] for r in rows]
    p = {q: [float(np.percentile(r["latency"], q)) if r["latency"] else 0.0 for r in rows]
         for q in (50, 95)}
    right = _Panel(draw, (half + PAD, PAD, W - 30, H - PAD), max(sessions or [1]) * 1.05,
                   max(p[95] or [1.0]) * 1.1, "Fake models, one server core: commit -> first audio",
                   "concurrent sessions", "ms")
    for slot, q in enumerate((50, 95)):
        if rows:
            right.line(sessions, p[q], COLORS[f"p{q}"], f"p{q}", slot)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
