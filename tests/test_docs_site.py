"""The documentation site builds with `mkdocs build --strict`, with no warning at all.

Strict mode turns MkDocs' own warnings (a page missing from the nav, a broken link or anchor,
a nav entry without its file) into a failure; this test also fails on any WARNING line that a
plugin (mkdocstrings resolving `::: agent.VoiceAgent` and the other public names) logs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

mkdocs = pytest.importorskip(
    "mkdocs", reason="mkdocs is not installed: install the `docs` extra (pip install -e '.[docs]')"
)
pytest.importorskip("mkdocstrings", reason="mkdocstrings is not installed: install the `docs` extra")
pytest.importorskip("material", reason="mkdocs-material is not installed: install the `docs` extra")


@pytest.mark.timeout(600)
def test_mkdocs_build_strict_has_no_warnings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site),
         "--config-file", str(ROOT / "mkdocs.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    assert not warnings, "mkdocs build logged warnings:\n" + "\n".join(warnings)
    assert (site / "index.html").is_file()
    assert (site / "architecture" / "index.html").is_file()
    # The API reference really rendered the public names from their docstrings.
    api = (site / "api" / "agent" / "index.html").read_text(encoding="utf-8")
    assert "VoiceAgent" in api and "arespond" in api
    shutil.rmtree(site, ignore_errors=True)
