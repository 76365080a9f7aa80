"""`stepvox bench ...`: run the benchmarks of a source checkout (they live in `bench/`, which
is not part of the installed package).

Registered in `agent/cli/main.py` as `app.add_typer(bench_app, name="bench")`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

err = Console(stderr=True)
bench_app = typer.Typer(help="Benchmarks (from a source checkout).", no_args_is_help=True)
BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def _script(name: str) -> Path:
    script = BENCH_DIR / name
    if not script.is_file():
        err.print(f"[red]{script} not found[/]: the benchmarks come with the source checkout "
                  "(git clone), not with the installed package")
        raise typer.Exit(2)
    return script


@bench_app.command("realtime")
def realtime(
    turns: Annotated[int, typer.Option("--turns", help="Measured turns per mode.")] = 30,
    asr: Annotated[str, typer.Option("--asr", help="'base' or 'tiny.en'.")] = "base",
    pause_ms: Annotated[int, typer.Option("--pause-ms", help="Pause that starts a speculation.")
                        ] = 128,
    end_ms: Annotated[int, typer.Option("--end-ms", help="Silence that ends the turn.")] = 640,
    png: Annotated[Path, typer.Option("--png", help="Where to draw the latency plot.")
                   ] = Path("realtime_latency.png"),
    embedded: Annotated[bool, typer.Option(
        "--embedded/--no-embedded", help="Measure the embedded stack (CPU heavy).")] = True,
    capacity: Annotated[bool, typer.Option(
        "--capacity/--no-capacity", help="Measure sessions per core with fake models.")] = True,
    sessions: Annotated[Optional[list[int]], typer.Option(
        "--sessions", help="Session counts for the capacity sweep (repeat the option).")
    ] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Raw results here.")] = None,
) -> None:
    """End of speech -> first audio through the realtime server (speculation on and off),
    sessions per core, memory per idle session, and a PNG of the latency distributions."""
    args = [sys.executable, str(_script("realtime_latency.py")), "--turns", str(turns),
            "--asr", asr, "--pause-ms", str(pause_ms), "--end-ms", str(end_ms),
            "--png", str(png.resolve()),
            "--embedded" if embedded else "--no-embedded",
            "--capacity" if capacity else "--no-capacity"]
    if sessions:
        args += ["--sessions", *map(str, sessions)]
    if json_out is not None:
        args += ["--json", str(json_out.resolve())]
    raise typer.Exit(subprocess.call(args, cwd=BENCH_DIR.parent))
