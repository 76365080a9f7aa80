"""Hypothesis strategies for what a hostile or broken client sends to `/v1/realtime`.

Each strategy draws a `HostileCase`: a kind (for the tables), the websocket messages to send
(text or binary frames) and whether every one of them must be answered with an `error`.
Shared by the fuzz tests (`tests/realtime/test_fuzz_events.py`) and `bench/fuzz_realtime.py`.

`LAST_RESPONSE` in a message stands for the id of the latest reply the session announced,
so out-of-order events can name a real reply (truncate, cancel) as well as made-up ones.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from agent.realtime.protocol import CLIENT_EVENT_TYPES

LAST_RESPONSE = "$LAST_RESPONSE"
MAX_MESSAGE_BYTES = 512 * 1024  # SessionLimits' default


@dataclass(frozen=True)
class HostileCase:
    kind: str
    messages: tuple[str | bytes, ...]
    must_error: bool  # every message here is invalid: each one must get an `error`

    def describe(self) -> str:
        shown = [m[:120] if isinstance(m, str) else f"<{len(m)} binary bytes>"
                 for m in self.messages]
        return f"{self.kind}: {shown}"


def _case(kind: str, must_error: bool = True):
    return lambda messages: HostileCase(kind, tuple(messages), must_error)


def _dumps(event: dict) -> str:
    return json.dumps(event, allow_nan=True)


json_scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
                | st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=12)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return True
    return False


# -- malformed messages -------------------------------------------------------------------

malformed_json = st.one_of(
    st.text(max_size=200).filter(_not_json),
    st.integers(1_000, 200_000).map(lambda n: "[" * n),  # nested past the recursion limit
    st.integers(4_400, 20_000).map(lambda n: '{"type": "response.create", "n": ' + "9" * n + "}"),
    st.sampled_from(['{"type": "session.update"', "{'type': 'x'}", "\x00", "NaN", "{}}"]),
).map(lambda m: _case("malformed_json")([m]))

binary_frames = st.binary(min_size=0, max_size=2_000).map(lambda b: _case("binary_frame")([b]))

not_an_event = json_values.filter(
    lambda v: not (isinstance(v, dict) and isinstance(v.get("type"), str))
).map(lambda v: _case("not_an_event")([_dumps(v)]))

unknown_type = st.text(max_size=40).filter(lambda t: t not in CLIENT_EVENT_TYPES).map(
    lambda t: _case("unknown_type")([_dumps({"type": t, "event_id": "e1"})]))

huge_messages = st.tuples(
    st.sampled_from(CLIENT_EVENT_TYPES), st.integers(MAX_MESSAGE_BYTES, 2 * MAX_MESSAGE_BYTES),
    st.sampled_from(["x", "é", "語"]),
).map(lambda t: _case("huge_message")([_dumps({"type": t[0], "padding": t[2] * (t[1] // len(t[2].encode()) + 1)})]))

# -- every event, with wrong types and unknown fields ------------------------------------

VALID_EVENTS: dict[str, dict] = {
    "session.update": {"type": "session.update", "session": {}},
    "input_audio_buffer.append": {"type": "input_audio_buffer.append",
                                  "audio": base64.b64encode(b"\x00\x00" * 160).decode()},
    "input_audio_buffer.commit": {"type": "input_audio_buffer.commit"},
    "input_audio_buffer.clear": {"type": "input_audio_buffer.clear"},
    "conversation.item.create": {"type": "conversation.item.create", "item": {
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}},
    "conversation.item.truncate": {"type": "conversation.item.truncate",
                                   "item_id": LAST_RESPONSE, "content_index": 0,
                                   "audio_end_ms": 100},
    "response.create": {"type": "response.create"},
    "response.cancel": {"type": "response.cancel"},
}
assert sorted(VALID_EVENTS) == CLIENT_EVENT_TYPES  # a new event type needs its fuzzing here

# Fields whose every non-string value is refused (the event's own names and texts).
_STRING_FIELDS = {"input_audio_buffer.append": "audio", "conversation.item.truncate": "item_id"}


@st.composite
def wrong_types(draw) -> HostileCase:
    """One field of a valid event set to a JSON value of another type."""
    name, field = draw(st.sampled_from(sorted(_STRING_FIELDS.items())))
    event = dict(VALID_EVENTS[name])
    event[field] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    return HostileCase("wrong_type", (_dumps(event),), True)


@st.composite
def any_field_any_value(draw) -> HostileCase:
    """Any field of any event (and inside `session` and `item`) set to any JSON value: some
    of these are valid, so only the session's survival is checked."""
    event = json.loads(json.dumps(VALID_EVENTS[draw(st.sampled_from(CLIENT_EVENT_TYPES))]))
    target = event
    if "session" in event and draw(st.booleans()):
        target = event["session"]
        field = draw(st.sampled_from(["persona", "input_audio_format", "input_sample_rate",
                                      "output_sample_rate", "turn_detection", "voice"]))
    elif "item" in event and draw(st.booleans()):
        target = event["item"]
        field = draw(st.sampled_from(["type", "role", "content"]))
    else:
        field = draw(st.sampled_from([k for k in event if k != "type"] + ["event_id"]))
    target[field] = draw(json_values)
    return HostileCase("any_field_value", (_dumps(event),), False)


@st.composite
def unknown_fields(draw) -> HostileCase:
    # session.update and response.create take (and report) fields they do not know, as
    # OpenAI clients send them; every other event refuses them.
    name = draw(st.sampled_from([n for n in CLIENT_EVENT_TYPES
                                 if n not in ("session.update", "response.create")]))
    extra = draw(st.text(min_size=1, max_size=20).filter(
        lambda k: k not in VALID_EVENTS[name] and k not in ("event_id", "previous_item_id",
                                                             "response_id", "content_index")))
    event = {**VALID_EVENTS[name], extra: draw(json_values)}
    return HostileCase("unknown_field", (_dumps(event),), True)


# -- audio --------------------------------------------------------------------------------

def _append(data: bytes | str) -> str:
    audio = data if isinstance(data, str) else base64.b64encode(data).decode()
    return _dumps({"type": "input_audio_buffer.append", "audio": audio})


def _is_bad_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return True
    return False


invalid_base64 = st.text(min_size=1, max_size=300).filter(_is_bad_base64).map(
    lambda t: _case("invalid_base64")([_append(t)]))

odd_pcm16 = st.binary(min_size=1, max_size=999).filter(lambda b: len(b) % 2).map(
    lambda b: _case("partial_sample")([_append(b)]))

_FLOAT32 = _dumps({"type": "session.update", "session": {"input_audio_format": "float32"}})
_PCM16 = _dumps({"type": "session.update", "session": {"input_audio_format": "pcm16"}})


@st.composite
def non_finite_float_audio(draw) -> HostileCase:
    n = draw(st.integers(1, 800))
    x = np.zeros(n, dtype="<f4")
    bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    x[draw(st.integers(0, n - 1))] = bad
    # The switch to float32 and back is valid; only the append between them must fail.
    return HostileCase("nan_inf_float_audio", (_FLOAT32, _append(x.tobytes()), _PCM16), False)


@st.composite
def sample_rates(draw) -> HostileCase:
    rate = draw(st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=8),
                          st.sampled_from([0, 7_999, 8_000, 11_025, 44_100, 96_000, 96_001])))
    frames = draw(st.integers(0, 4_000))
    return HostileCase("sample_rate", (
        _dumps({"type": "session.update", "session": {"input_sample_rate": rate}}),
        _append(b"\x01\x00" * frames),
        _dumps({"type": "session.update", "session": {"input_sample_rate": 16_000}})), False)


audio_lengths = st.one_of(
    st.just(0), st.integers(1, 32_000), st.integers(32_001, 200_000),  # past max_frame_s
).map(lambda n: _case("audio_length", False)([_append(b"\x10\x27" * n)]))

# -- events out of order ------------------------------------------------------------------

_TONE = (0.3 * np.sin(np.arange(3_200) * 2 * np.pi * 300 / 16_000) * 32767).astype("<i2")
_ORDERED = [
    _dumps(VALID_EVENTS[n]) for n in CLIENT_EVENT_TYPES] + [
    _append(_TONE.tobytes()),
    _dumps({"type": "conversation.item.truncate", "item_id": "resp_not_mine_output",
            "audio_end_ms": 5}),
    _dumps({"type": "conversation.item.truncate", "item_id": LAST_RESPONSE,
            "audio_end_ms": 10**400}),
    _dumps({"type": "conversation.item.truncate", "item_id": LAST_RESPONSE,
            "audio_end_ms": 86_400_000}),
    _dumps({"type": "response.cancel", "response_id": LAST_RESPONSE}),
    _dumps({"type": "session.update", "session": {"turn_detection": {"type": "none"}}}),
    _dumps({"type": "session.update", "session": {"turn_detection": {"type": "server_vad"}}}),
]
out_of_order = st.lists(st.sampled_from(_ORDERED), min_size=1, max_size=8).map(
    _case("out_of_order", False))

REALTIME_STRATEGIES = {
    "malformed_json": malformed_json, "binary_frame": binary_frames,
    "not_an_event": not_an_event, "unknown_type": unknown_type, "huge_message": huge_messages,
    "wrong_type": wrong_types(), "any_field_value": any_field_any_value(),
    "unknown_field": unknown_fields(), "invalid_base64": invalid_base64,
    "partial_sample": odd_pcm16, "nan_inf_float_audio": non_finite_float_audio(),
    "sample_rate": sample_rates(), "audio_length": audio_lengths, "out_of_order": out_of_order,
}
