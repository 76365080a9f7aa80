"""Numbers one tool needs that another gives (`tools.calls.produced_values`), and the hold the
copied-value check puts on them (`check_copied_values(..., tools=, heard=)`).

The tools are the example weather plugin's three, as their schemas read (examples/weather_plugin),
plus the shapes that must not count as giving a value: a setter, a tool that only takes it.
"""

from __future__ import annotations

from tools.calls.produced_values import (callers_own, first_to_call, holds_a_number,
                                         name_words, producing_tool)
from tools.calls.schema_examples import check_copied_values, said_number

FORECAST = {"name": "forecast",
            "description": "Weather forecast for a city: high and low temperature and chance of "
                           "rain for a day.",
            "parameters": {"type": "object", "required": ["city"], "properties": {
                "city": {"type": "string", "description": "City name, e.g. 'Lyon'."},
                "day": {"type": "string", "enum": ["today", "tomorrow"]}}}}
FEELS_LIKE = {"name": "feels_like",
              "description": "How cold or warm it feels, given temperature and wind (wind chill "
                             "below 10 °C).",
              "parameters": {"type": "object", "required": ["temperature_c"], "properties": {
                  "temperature_c": {"type": "number", "description": "Air temperature in °C."},
                  "wind_kmh": {"type": "number", "description": "Wind speed in km/h."}}}}
WHAT_TO_WEAR = {"name": "what_to_wear",
                "description": "Suggest clothing for the felt temperature and the chance of rain.",
                "parameters": {"type": "object", "required": ["feels_like_c"], "properties": {
                    "feels_like_c": {"type": "number", "description": "Felt temperature in °C."},
                    "rain": {"type": "string", "enum": ["none", "possible", "likely"]}}}}
WEATHER = [FORECAST, FEELS_LIKE, WHAT_TO_WEAR]


def _tool(name: str, description: str = "", **params: str) -> dict:
    return {"name": name, "description": description, "parameters": {
        "type": "object", "properties": {p: {"type": "number", "description": d}
                                         for p, d in params.items()}}}


def test_a_tool_named_for_the_value_gives_it_less_its_unit():
    assert name_words("feels_like_c") == {"feels", "like", "c"}
    assert producing_tool("feels_like_c", WHAT_TO_WEAR, WEATHER) == "feels_like"


def test_the_one_tool_whose_description_speaks_of_it_gives_it():
    # Both forecast and what_to_wear speak of "temperature"; what_to_wear takes one (its
    # feels_like_c is a "Felt temperature"), so only forecast gives it.
    assert producing_tool("temperature_c", FEELS_LIKE, WEATHER) == "forecast"


def test_a_setter_a_taker_and_an_unknown_value_give_nothing():
    play = _tool("play_song", volume="Volume 0-100.")
    assert producing_tool("volume", play, [play, _tool("set_volume", volume="0-100")]) is None
    assert producing_tool("rain", WHAT_TO_WEAR, WEATHER) == "forecast"  # "chance of rain"
    assert producing_tool("humidity", WHAT_TO_WEAR, WEATHER) is None  # no tool speaks of it
    assert producing_tool("wind_kmh", FEELS_LIKE, [FEELS_LIKE, WHAT_TO_WEAR]) is None
    assert producing_tool("id", FEELS_LIKE, WEATHER) is None  # no word left to match


def test_a_fetching_verb_is_not_part_of_the_name_and_two_givers_are_none():
    work = _tool("calc_work", energy="Energy in joules.")
    assert producing_tool("energy", work, [work, _tool("calc_energy", mass="kg")]) == \
        "calc_energy"
    two = [work, _tool("get_energy"), _tool("compute_energy")]
    assert producing_tool("energy", work, two) is None  # the words do not single one out


def test_figures_are_digits_or_number_words():
    assert holds_a_number("a 40 % chance") and holds_a_number("for two people")
    assert holds_a_number("half an hour")
    assert not holds_a_number("What should I wear in Oslo today?")


def test_a_reading_nobody_said_is_held_and_names_the_tool_to_call_first():
    # Tried: "What should I wear in Oslo today?" -> the 0.5B wrote what_to_wear(feels_like_c=50).
    latest = "What should I wear in Oslo today?"
    checked = check_copied_values({"feels_like_c": 50}, WHAT_TO_WEAR, latest, latest,
                                  latest, WEATHER, latest)
    assert checked.unsaid == {"feels_like_c": 50}
    # feels_like gives it, and needs a temperature that forecast gives: forecast comes first.
    assert checked.fetch_first == {"feels_like_c": "forecast"}


def test_once_a_figure_was_heard_the_number_goes_through():
    latest = "What should I wear in Oslo today?"
    heard = latest + "\nOslo on 2026-12-07: high 2 °C, low -3 °C, 40 % chance of rain."
    checked = check_copied_values({"feels_like_c": 2}, WHAT_TO_WEAR, heard, latest, latest,
                                  WEATHER, heard)
    assert checked.unsaid == {} and checked.arguments == {"feels_like_c": 2}
    # Also a number derived from one the caller said ("it's five degrees and windy").
    said = "It's five degrees and windy, what should I wear?"
    checked = check_copied_values({"feels_like_c": 1.5}, WHAT_TO_WEAR, said, said, said,
                                  WEATHER, said)
    assert checked.unsaid == {}


def test_without_the_toolset_nothing_changes():
    latest = "What should I wear in Oslo today?"
    checked = check_copied_values({"feels_like_c": 50}, WHAT_TO_WEAR, latest, latest)
    assert checked.unsaid == {} and checked.arguments == {"feels_like_c": 50}


def test_the_first_tool_to_call_is_the_bottom_of_the_chain():
    assert first_to_call("feels_like", WEATHER) == "forecast"
    assert first_to_call("forecast", WEATHER) == "forecast"  # needs only a city
    # A chain that loops back stops where it would repeat.
    ping = _tool("get_pong", ping="Ping count.")
    ping["parameters"]["required"] = ["ping"]
    pong = _tool("get_ping", pong="Pong count.")
    pong["parameters"]["required"] = ["pong"]
    assert first_to_call("get_pong", [ping, pong]) == "get_ping"


FIND_HOTEL = {"name": "find_hotel",
              "description": "Search for hotels based on specific criteria like price range and "
                             "pet policy.",
              "parameters": {"type": "object",
                             "required": ["location", "max_price_per_night"], "properties": {
                                 "location": {"type": "string"},
                                 "max_price_per_night": {"type": "integer"},
                                 "pet_friendly": {"type": "boolean"}}}}


def test_a_number_only_the_caller_can_give_is_asked_for():
    # BFCL v4 irrelevance_230: "Find a pet-friendly train station in Miami" ->
    # find_hotel(location='Miami', max_price_per_night=200), a budget nobody gave.
    assert callers_own("max_price_per_night") and callers_own("number_of_adults")
    assert not callers_own("deck_size") and not callers_own("timeframe")
    said = "Find a pet-friendly train station in Miami"
    checked = check_copied_values({"location": "Miami", "max_price_per_night": 200},
                                  FIND_HOTEL, said, said, said, [FIND_HOTEL], said)
    assert checked.unsaid == {"max_price_per_night": 200} and checked.fetch_first == {}
    # Once any figure is said, the number may come from it: the tool judges it.
    said = "Find me a hotel in Miami for 2 nights, under $150,000 cents"
    checked = check_copied_values({"location": "Miami", "max_price_per_night": 1500},
                                  FIND_HOTEL, said, said, said, [FIND_HOTEL], said)
    assert checked.unsaid == {}


def test_thousands_separators_are_one_number():
    assert said_number(200000, "a property costing $200,000")
    assert said_number(1234567, "1,234,567 people") and not said_number(234, "1,234")
