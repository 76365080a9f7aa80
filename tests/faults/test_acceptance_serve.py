"""Issue #22's acceptance check: a real `stepvox serve` (the installed console script, in a
child process on a free loopback port, with the embedded models) is sent malformed, oversized
and out-of-order events on one socket: a few deterministic cases of every kind in
`hostile_events.REALTIME_STRATEGIES` (malformed JSON, binary frames, events that are not
events, unknown types and fields, wrong types, messages over the 512 KiB limit, invalid
base64, half samples, NaN/inf float audio, odd sample rates, 0-length to 12 s appends, and
events out of order). Each is answered with an `error` where it is invalid and the server
never fails (`server_error`), closes the socket or stops answering. Then the same socket
and a second one each complete a normal turn.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from embedded_gate import require_embedded
from fuzz_socket import FuzzSocket
from hostile_events import REALTIME_STRATEGIES, HostileCase

require_embedded()
pytestmark = pytest.mark.embedded

STEPVOX = shutil.which("stepvox", path=str(Path(sys.executable).parent)) or "stepvox"
CASES_PER_KIND = 6
TURN_TIMEOUT_S = 240  # the embedded 0.5B model on two busy cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def serve_url(tmp_path_factory):
    port = free_port()
    folder = tmp_path_factory.mktemp("acceptance")
    env = {**os.environ, "STEPVOX_DATABASE_URL": f"sqlite:///{folder / 'history.db'}"}
    log = folder / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([STEPVOX, "serve", "--port", str(port), "--vad", "energy",
                                 "--no-warm-up"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                pytest.fail(f"stepvox serve exited {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stepvox serve did not come up:\n{log.read_text()}")
            time.sleep(0.5)
        yield f"ws://127.0.0.1:{port}/v1/realtime"
        assert proc.poll() is None, f"stepvox serve died:\n{log.read_text()}"
        assert "Traceback" not in log.read_text(), log.read_text()[-5000:]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_hostile_events_then_a_normal_turn_on_the_same_socket_and_a_second_one(serve_url):
    tried: dict[str, int] = {}
    with FuzzSocket(serve_url, probe_timeout_s=60) as sock:
        for kind in sorted(REALTIME_STRATEGIES):
            @settings(max_examples=CASES_PER_KIND, deadline=None, database=None,
                      derandomize=True, suppress_health_check=list(HealthCheck))
            @given(REALTIME_STRATEGIES[kind])
            def check(case: HostileCase):
                outcome = sock.run(case)
                assert not outcome.crashed, f"{outcome.kind} for {case.describe()}"
                assert outcome.closed is None, f"socket closed by {case.describe()}"
                if case.must_error:
                    assert len(outcome.errors) >= len(case.messages), case.describe()
                tried[kind] = tried.get(kind, 0) + 1

            check()
        assert set(tried) == set(REALTIME_STRATEGIES), tried
        done = sock.normal_turn(timeout_s=TURN_TIMEOUT_S)
        assert done["response"]["status"] == "completed"
    with FuzzSocket(serve_url, probe_timeout_s=60) as second:
        done = second.normal_turn(timeout_s=TURN_TIMEOUT_S)
        assert done["response"]["status"] == "completed"
