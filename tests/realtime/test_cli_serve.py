"""`stepvox serve` option checks that run before any model is loaded."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from agent.cli.serve import serve
from agent.realtime.server import is_loopback

app = typer.Typer()
app.command()(serve)


def test_public_bind_needs_a_token(monkeypatch):
    monkeypatch.delenv("STEPVOX_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "without a token" in result.output


def test_bad_vad_name_is_refused():
    result = CliRunner().invoke(app, ["--vad", "webrtc"])
    assert result.exit_code == 2


def test_loopback_addresses():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.com")
