"""Shared test set-up: make `tests/` importable so tests (and `bench/`) can `from fakes import ...`.

Tests run with `--import-mode=importlib` and no `__init__.py` files, so pytest does not put
the test folders on `sys.path` by itself.

Pitfall: `tests/` holds folders named `agent/`, `speech/` and `tools/` (without `__init__.py`).
Once `tests/` is on `sys.path`, Python's path finder would resolve `import agent` to that
folder as an empty *namespace package* before the editable-install finder gets a chance to
map it to the real package. So the real top-level packages are imported first, while
`sys.path` is still clean; after that `sys.modules` answers every `import agent...`.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

for _package in ("agent", "memory", "personas", "speech", "tools"):
    importlib.import_module(_package)

_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _history_in_a_temp_database(tmp_path, monkeypatch):
    """The CLI keeps history in a SQLite file under the user's data dir; tests must not touch
    it. A test that sets its own STEPVOX_DATABASE_URL later still wins."""
    monkeypatch.setenv("STEPVOX_DATABASE_URL", f"sqlite:///{tmp_path / 'history.sqlite3'}")


@pytest.fixture(scope="session", autouse=True)
def _injection_detector_loaded():
    """Load the shipped injection detector once, before any test: its first use reads the
    MiniLM weights (about 6 s on two cores), and a test that times a turn with a tool result
    (`finished(timeout=5)`, the concurrent-calls check) must not pay for that load. An agent
    in service loads it in `warm_up` for the same reason."""
    from tools.injection.instruction_detector import default_instruction_detector

    detector = default_instruction_detector()
    if detector is not None:
        detector.scores(["Your booking is confirmed."])


@pytest.fixture(scope="session")
def packaged_llama():
    """The packaged 0.5B GGUF in a bare llama.cpp context, for tests that read its logits
    (callers gate on the embedded extra with `embedded_gate.require_embedded`)."""
    import llama_cpp

    from agent.models.cache import ModelStore
    from agent.models.catalog import DEFAULT_MODELS

    path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    model = llama_cpp.Llama(str(path), n_ctx=1024, verbose=False)
    yield model
    model.close()


EXAMPLE_PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "weather_plugin"


@pytest.fixture
def installed_example(tmp_path, monkeypatch):
    """The example package really installed (pip, offline) into a temporary folder."""
    source = tmp_path / "src"
    shutil.copytree(EXAMPLE_PLUGIN, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--target", str(target), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"pip could not build the example offline: {done.stderr[-500:]}")
    monkeypatch.syspath_prepend(str(target))
    yield target
    sys.modules.pop("stepvox_weather_plugin", None)
