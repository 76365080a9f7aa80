"""`stepvox bench realtime` runs the checkout's benchmark script and draws its PNG."""

from __future__ import annotations

from PIL import Image
from typer.testing import CliRunner

from agent.cli.main import app


def test_bench_realtime_runs_the_script_and_draws_the_plot(tmp_path):
    png = tmp_path / "latency.png"
    # Nothing measured (both parts off): the script still runs end to end and draws axes.
    result = CliRunner().invoke(app, ["bench", "realtime", "--no-embedded", "--no-capacity",
                                      "--png", str(png)])
    assert result.exit_code == 0, result.output
    with Image.open(png) as image:
        assert image.size == (1200, 520)


def test_bench_realtime_refuses_a_bad_option():
    result = CliRunner().invoke(app, ["bench", "realtime", "--turns", "many"])
    assert result.exit_code == 2
