"""Streaming text replies: the filler is released at once, the call JSON never is."""

import pytest

from tools.calls.text_stream import TextCallStream

KNOWN = {"get_weather", "search"}


def run(pieces):
    stream = TextCallStream(KNOWN)
    spoken = [stream.feed(p) for p in pieces]
    return spoken, stream.finish()


def test_filler_is_released_before_the_step_audio_call_completes():
    pieces = ["Let me check ", "the weather.", "<tool", "_call>function\nget_", 'weather\n{"location": "Oslo"}',
              "</tool_call>"]
    spoken, end = run(pieces)
    assert spoken[:2] == ["Let me check ", "the weather."]
    assert "".join(spoken) == "Let me check the weather."
    assert [(c.name, c.arguments) for c in end.reply.calls] == [("get_weather", {"location": "Oslo"})]
    assert end.tail == ""


@pytest.mark.parametrize("pieces", [
    ['{"name": "search", ', '"arguments": {"query": "x"}}'],
    ["Sure. ", '{"name": "search", "arguments": {"query": "x"}}'],
    ["```json\n", '{"name": "search", "arguments": {"query": "x"}}\n```'],
])
def test_json_calls_are_never_spoken(pieces):
    spoken, end = run(pieces)
    assert "{" not in "".join(spoken) and len(end.reply.calls) == 1
    assert end.tail == ""


def test_plain_text_streams_through_and_a_held_prefix_is_released_at_the_end():
    spoken, end = run(["It is ", "sunny <", "b>today"])
    assert "".join(spoken) == "It is sunny <b>today"
    spoken, end = run(["Price is 5 <"])
    assert "".join(spoken) == "Price is 5 " and end.tail == "<"
    assert end.reply.calls == []


def test_text_that_only_looked_like_json_is_spoken_at_the_end():
    spoken, end = run(["The set ", "{1, 2} is small."])
    assert "".join(spoken) == "The set " and end.tail == "{1, 2} is small."
    assert end.reply.calls == []
