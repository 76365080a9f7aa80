"""Old module names keep importing for one release after the package redesign (issue #20):
user code, plugins and entry points written against the flat layout still work, each with a
DeprecationWarning naming the new place. Run in a fresh interpreter: in this one the new
modules are already imported."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "always::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("old", "new"), [
    ("agent.llama_chat", "agent.backends.llama_cpp.chat"),
    ("agent.graph", "agent.turn.graph"),
    ("agent.cli_serve", "agent.cli.serve"),
    ("agent.realtime.speculation", "agent.realtime.turn_taking.speculation"),
    ("tools.weather_tool", "tools.builtin.weather"),
    ("speech.piper_decoder", "speech.piper.decoder"),
    # The SkyWay desk left tools/ for the example plugin `make install` installs.
    ("tools.airline_desk", "skyway_desk.desk"),
])
def test_an_old_module_name_is_the_new_module_with_a_warning(old, new):
    done = run(f"import importlib; a = importlib.import_module({old!r}); "
               f"b = importlib.import_module({new!r}); print(a is b)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
    assert f"{old} moved to {new}" in done.stderr


def test_from_imports_and_patches_through_the_old_name_reach_the_new_module():
    # Input tried: `from speech.piper_decoder import PiperDecoder` (a documented import) and
    # a monkeypatch made through the old module name, read through the new one.
    done = run("from speech.piper_decoder import PiperDecoder; print(PiperDecoder.__module__);"
               "import agent.tool_prior as old, agent.tool_choice.prior as new;"
               "old.SENTINEL = 1; print(new.SENTINEL)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["speech.piper.decoder", "1"]


def test_the_cli_package_still_gives_the_app_and_unknown_names_still_fail():
    done = run("from agent.cli import app; print(type(app).__name__)\n"
               "try:\n    import agent.no_such_module\nexcept ModuleNotFoundError:\n"
               "    print('missing')")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Typer", "missing"]
