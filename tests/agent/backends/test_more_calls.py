"""Several calls in one turn (`agent.backends.llama_cpp.more_calls`): which further calls are kept."""

from __future__ import annotations

from agent.chat_model import ToolCall
from agent.backends.llama_cpp.more_calls import brings_a_new_said_value, values_of


def call(name: str, **arguments) -> ToolCall:
    return ToolCall(name=name, arguments=arguments)


def test_values_are_flattened_as_a_user_would_say_them():
    assert values_of({"radius": 10.0, "unit": "CM", "points": [1, 2.5], "exact": True}) == [
        "10", "cm", "1", "2.5"]


def test_a_second_call_for_a_second_thing_the_user_named_is_kept():
    first = call("circle_area", radius=5)
    said = "what is the area of circles with radius 5 and 10"
    assert brings_a_new_said_value(call("circle_area", radius=10), [first], said)
    assert brings_a_new_said_value(call("get_weather", location="Rome"),
                                   [call("get_weather", location="Paris")],
                                   "weather in paris and in rome")


def test_a_repeat_or_a_value_from_nowhere_ends_the_calls():
    first = call("circle_area", radius=5)
    said = "what is the area of a circle with radius 5"
    assert not brings_a_new_said_value(call("circle_area", radius=5), [first], said)  # repeat
    assert not brings_a_new_said_value(call("circle_area", radius=7), [first], said)  # invented
    # Only values the earlier call already used: nothing new was named.
    assert not brings_a_new_said_value(call("circle_area", radius=5, unit="m"), [first],
                                       "radius 5")


def test_a_value_counts_as_said_only_as_whole_words():
    first = call("distance", km=5)
    assert not brings_a_new_said_value(call("distance", km=5, unit="m"), [first], "5 km away")
