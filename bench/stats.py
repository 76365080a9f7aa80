"""Small statistics and table helpers shared by the benchmarks in `bench/`.

Percentiles use numpy's default linear interpolation. With fewer than ~20 samples a p95 is
close to the maximum: read it as "the slow end", not as a stable tail estimate.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

TABLE_WIDTH = 118


@dataclass(frozen=True, slots=True)
class Summary:
    n: int
    p50: float
    p95: float
    mean: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def clean(values: Iterable[float | None]) -> list[float]:
    """Drop None and NaN (a stage that did not happen in a turn)."""
    return [float(v) for v in values if v is not None and not math.isnan(float(v))]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; NaN for no values."""
    vals = clean(values)
    return float(np.percentile(vals, q)) if vals else math.nan


def summarize(values: Iterable[float | None]) -> Summary | None:
    """n, p50, p95, mean, min, max of the values that exist; None when there are none."""
    vals = clean(values)
    if not vals:
        return None
    arr = np.asarray(vals, dtype=np.float64)
    return Summary(n=len(vals), p50=float(np.percentile(arr, 50)),
                   p95=float(np.percentile(arr, 95)), mean=statistics.fmean(vals),
                   min=float(arr.min()), max=float(arr.max()))


def fmt(value: float | None, digits: int = 0) -> str:
    """A number for a table cell; '-' for a missing one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def ratio(a: float | None, b: float | None, digits: int = 2) -> str:
    """'a / b' as 'x.xx×'; '-' when either side is missing or b is 0."""
    if a is None or b is None or not b or math.isnan(a) or math.isnan(b):
        return "-"
    return f"{a / b:.{digits}f}×"


def summary_cells(s: Summary | None, digits: int = 0) -> list[str]:
    """[n, p50, p95, mean] cells for a summary (dashes when there is none)."""
    if s is None:
        return ["0", "-", "-", "-"]
    return [str(s.n), fmt(s.p50, digits), fmt(s.p95, digits), fmt(s.mean, digits)]


def make_table(title: str, columns: Sequence[str], *, caption: str | None = None,
               numeric_from: int = 1) -> Table:
    """A plain table (paste-able into Markdown code blocks); columns from `numeric_from` on
    are right-aligned."""
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD, title_justify="left",
                  caption_justify="left", pad_edge=False)
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i >= numeric_from else "left",
                         no_wrap=i < numeric_from)
    return table


def console(width: int = TABLE_WIDTH) -> Console:
    """A console with a fixed width so piped output (README pastes) looks like the terminal."""
    return Console(width=width, highlight=False, soft_wrap=True)
