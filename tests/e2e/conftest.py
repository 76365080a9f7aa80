"""Shared set-up for the end-to-end tests: where the third-party test audio lives.

`../shared/testdata` sits next to the repository in CI and on the project machines, not in a
user's clone; every test that reads it skips with the path it looked for when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_AUDIO = REPO_ROOT.parent / "shared" / "testdata" / "audio"


@pytest.fixture(scope="session")
def shared_audio() -> Path:
    """`../shared/testdata/audio`, or a skip naming where it was looked for."""
    if not SHARED_AUDIO.is_dir():
        pytest.skip(f"third-party test audio not found at {SHARED_AUDIO} "
                    "(it ships in ../shared/testdata, not in the repository)")
    return SHARED_AUDIO


@pytest.fixture(scope="session")
def shared_file(shared_audio: Path):
    """`shared_file("whisper/jfk.flac")`: the path under the shared audio, or a skip."""

    def find(relative: str) -> Path:
        path = shared_audio / relative
        if not path.is_file():
            pytest.skip(f"test audio {path} is absent")
        return path

    return find
