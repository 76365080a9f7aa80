"""Loopback servers for the Step-Audio backend tests: real HTTP on 127.0.0.1, a free port each.

The servers are test doubles (see `vllm_loopback.py`); uvicorn runs them in a thread so the
backends under test talk to them exactly as to a remote vLLM server.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loopback_server import LoopbackServer as SharedLoopbackServer  # noqa: E402
from vllm_loopback import LoopbackState, create_app  # noqa: E402


class LoopbackServer(SharedLoopbackServer):
    def __init__(self, app) -> None:
        super().__init__(app)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"


def _serve(flavour: str, model: str):
    app = create_app(flavour, model)
    with LoopbackServer(app) as server:
        server.state = app.state.loopback
        yield server


@pytest.fixture(scope="module")
def _chat_server():
    yield from _serve("step-audio-chat", "step-audio-chat")


@pytest.fixture(scope="module")
def _sa2_server():
    yield from _serve("step-audio-2", "step-audio-2-mini")


@pytest.fixture
def chat_server(_chat_server):
    """A Step-Audio-Chat vLLM double; `.state` holds scripted replies and recorded requests."""
    _chat_server.state.reset()
    return _chat_server


@pytest.fixture
def sa2_server(_sa2_server):
    """A StepFun vLLM-fork double serving Step-Audio 2 mini."""
    _sa2_server.state.reset()
    return _sa2_server


@pytest.fixture
def dead_url() -> str:
    """A base URL where nothing listens (a port that was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


__all__ = ["LoopbackState"]
