"""Hostile client events against the real server (loopback, fake models): every kind in
`hostile_events.REALTIME_STRATEGIES`, on one socket, then a normal turn on that socket and on
a second one. The fast subset of `bench/fuzz_realtime.py` (which runs >= 10,000 cases)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings

from agent.realtime.protocol import SessionLimits
from fuzz_socket import FuzzSocket
from hostile_events import REALTIME_STRATEGIES, HostileCase
from realtime_server import make_agent, serve

# Audio and events as fast as the fuzzer sends them: the limits have tests of their own,
# here they would only hide the handlers behind them.
FUZZ_LIMITS = SessionLimits(max_audio_speed=1_000.0, max_events_per_s=1e6)
EXAMPLES = 25  # per kind: 14 kinds, ~350 cases, ~10 s


@pytest.fixture(scope="module")
def server():
    agent, _, _ = make_agent()
    with serve(agent, limits=FUZZ_LIMITS) as live:
        yield live


@pytest.fixture(scope="module")
def sock(server):
    with FuzzSocket(server.url) as s:
        yield s


@pytest.mark.parametrize("kind", sorted(REALTIME_STRATEGIES))
def test_hostile_events_are_refused_and_the_session_goes_on(kind, sock):
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(REALTIME_STRATEGIES[kind])
    def check(case: HostileCase):
        outcome = sock.run(case)
        assert not outcome.crashed, f"{outcome.kind} for {case.describe()}"
        assert outcome.closed is None, f"socket closed ({outcome.kind}) by {case.describe()}"
        if case.must_error:
            assert len(outcome.errors) >= len(case.messages), (
                f"{case.describe()} was taken without an error: {outcome.errors}")

    check()
    sock.normal_turn()  # the same socket still completes a turn after this kind


def test_a_second_socket_completes_a_turn_after_the_fuzzing(server, sock):
    sock.run(HostileCase("mixed", ("}{", b"\x00\x01", '{"type": 5}'), True))
    with FuzzSocket(server.url) as other:
        assert other.normal_turn()["response"]["status"] == "completed"
    assert sock.normal_turn()["response"]["status"] == "completed"


# -- the bugs the fuzzing found, each with the input that found it -------------------------

def _one(sock: FuzzSocket, message: str | bytes) -> list[str]:
    outcome = sock.run(HostileCase("regression", (message,), True))
    assert not outcome.crashed
    return outcome.errors


def test_a_number_of_5000_digits_is_invalid_json_not_a_server_error(sock):
    # json.loads raises ValueError (not JSONDecodeError) past 4300 digits.
    assert _one(sock, '{"type": "response.create", "n": ' + "9" * 5_000 + "}") == ["invalid_json"]


def test_json_nested_past_the_recursion_limit_is_invalid_json(sock):
    assert _one(sock, "[" * 100_000) == ["invalid_json"]


def test_truncate_at_10_to_the_400_ms_is_an_invalid_event(sock):
    # 10**400 / 1000 does not fit a float: the controller raised OverflowError.
    sock.normal_turn()
    errors = _one(sock, json.dumps({"type": "conversation.item.truncate",
                                    "item_id": f"{sock.last_response}_output",
                                    "audio_end_ms": 10**400}))
    assert errors == ["invalid_event"]


def test_message_size_counts_bytes_not_characters(sock):
    # 200 Ki CJK characters are 600 KiB of UTF-8: over the 512 KiB limit.
    text = json.dumps({"type": "conversation.item.create", "item": {
        "type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "語" * 200_000}]}}, ensure_ascii=False)
    assert _one(sock, text) == ["message_too_large"]


def test_nan_float32_audio_is_refused(sock):
    nan = base64.b64encode(b"\x00\x00\xc0\x7f" * 160).decode()
    outcome = sock.run(HostileCase("nan", (
        json.dumps({"type": "session.update", "session": {"input_audio_format": "float32"}}),
        json.dumps({"type": "input_audio_buffer.append", "audio": nan}),
        json.dumps({"type": "session.update", "session": {"input_audio_format": "pcm16"}})),
        False))
    assert outcome.errors == ["invalid_audio_format"]
