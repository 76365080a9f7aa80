"""Optional arguments the model left out are filled when the user's latest words clearly name
a value (`tools.argument_grounding`), and values are put in the tool's own form; invented
values are still dropped. `agent.backends.llama_cpp.calls.ground_call` applies it to the embedded model's
calls."""

from __future__ import annotations

import pytest

from agent.chat_model import ChatMessage, ToolCall
from agent.backends.llama_cpp.calls import ARGUMENT_RESOLVERS, ground_call
from tools import get_date_time
from tools.argument_grounding import ArgumentResolver, find_value, ground_arguments
from tools.builtin.datetime import find_timezone, timezone_key

CLOCK = get_date_time.openai_schema()
ZONE = ARGUMENT_RESOLVERS["get_date_time"]
ZONE_SCHEMA = CLOCK["function"]["parameters"]


def user(*texts: str) -> list[ChatMessage]:
    return [ChatMessage(role="system", content="You are terse."),
            *(ChatMessage(role="user", content=t) for t in texts)]


@pytest.mark.parametrize("said, zone", [
    ("What day of the week is it in Tokyo?", "Asia/Tokyo"),
    ("tokyo time please", "Asia/Tokyo"),
    ("what's Tokyo's time", "Asia/Tokyo"),
    ("uh do you know the current time in New York", "America/New_York"),
    ("what time is it over in new york city", "America/New_York"),
    ("um what time is it over in Los Angeles", "America/Los_Angeles"),
    ("what time is it in eastern time", "America/New_York"),
    ("what time is it in pst", "America/Los_Angeles"),
    ("what's the current time in India", "Asia/Kolkata"),
    ("what's the time in the uk", "Europe/London"),
    ("what's the time in utc", "UTC"),
    ("what time is it in Asia/Tokyo", "Asia/Tokyo"),
    ("东京现在几点", "Asia/Tokyo"),
    ("现在北京时间几点了", "Asia/Shanghai"),
    ("伦敦今天星期几", "Europe/London"),
])
def test_the_zone_the_user_names_is_found(said, zone):
    assert find_timezone(said) == zone


@pytest.mark.parametrize("said", [
    "what time is it",
    "what day is it at easter",  # a zone's "city" that is an everyday word
    "what time is it in new jersey",  # not Europe/Jersey: the name after "in" is "new jersey"
    "i'm flying to paris what time is it",  # a city, but not the place asked about
    "what time is it in Tokyo and in London",  # two zones: not clear which
    "in a minute tell me the time",
])
def test_no_zone_is_found_where_none_is_clearly_named(said):
    assert find_timezone(said) is None


@pytest.mark.parametrize("said, zone", [
    ("What day of the week is it in Tokyo?", "Asia/Tokyo"),
    ("东京现在几点", "Asia/Tokyo"),
])
def test_a_left_out_zone_is_filled_from_the_users_words(said, zone):
    grounded = ground_arguments({}, ZONE_SCHEMA, said, resolvers=ZONE)
    assert grounded.arguments == {"timezone": zone}
    assert grounded.filled == {"timezone": zone} and grounded.dropped == {}


def test_an_invented_zone_is_still_dropped_and_nothing_replaces_it():
    grounded = ground_arguments({"timezone": "America/New_York"}, ZONE_SCHEMA,
                                "what day is it today", resolvers=ZONE)
    assert grounded.arguments == {} and grounded.dropped == {"timezone": "America/New_York"}


def test_a_wrong_zone_is_replaced_by_the_one_the_user_named():
    grounded = ground_arguments({"timezone": "Asia/Shanghai"}, ZONE_SCHEMA,
                                "what time is it in Tokyo", resolvers=ZONE)
    assert grounded.dropped == {"timezone": "Asia/Shanghai"}
    assert grounded.arguments == {"timezone": "Asia/Tokyo"}


@pytest.mark.parametrize("written, zone", [("Eastern Time", "America/New_York"),
                                           ("Pacific Standard Time", "America/Los_Angeles"),
                                           ("Tokyo time zone", "Asia/Tokyo")])
def test_a_zone_written_with_time_or_zone_after_it_resolves(written, zone):
    assert timezone_key(written) == zone


@pytest.mark.parametrize("written", ["Tokyo", "tokyo", "JST", "东京"])
def test_a_kept_zone_is_put_in_the_tools_own_form(written):
    said = "东京现在几点" if written == "东京" else "what time is it in tokyo jst"
    grounded = ground_arguments({"timezone": written}, ZONE_SCHEMA, said, resolvers=ZONE)
    assert grounded.arguments == {"timezone": "Asia/Tokyo"}
    assert timezone_key(written) == "Asia/Tokyo"


def test_only_the_latest_turn_fills_but_any_turn_backs_a_written_value():
    earlier, now = "what time is it in tokyo", "and what day is it"
    filled = ground_arguments({}, ZONE_SCHEMA, f"{earlier}\n{now}", resolvers=ZONE, latest=now)
    assert filled.arguments == {}
    kept = ground_arguments({"timezone": "Tokyo"}, ZONE_SCHEMA, f"{earlier}\n{now}",
                            resolvers=ZONE, latest=now)
    assert kept.arguments == {"timezone": "Asia/Tokyo"}


# --- the generic part: any tool's enum and pattern parameters

FLIGHTS = {"type": "object", "required": ["origin"], "properties": {
    "origin": {"type": "string"},
    "cabin": {"type": "string", "enum": ["Economy", "Business", "First"]},
    "flight": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{2,4}$"},
    "note": {"type": "string", "pattern": "^.+$"},  # accepts anything: identifies nothing
    "seats": {"type": "integer"},
}}


def test_an_enum_option_the_user_says_is_filled_in_the_schemas_case():
    grounded = ground_arguments({"origin": "Oslo"}, FLIGHTS, "a business seat from oslo please")
    assert grounded.arguments == {"origin": "Oslo", "cabin": "Business"}


def test_two_enum_options_are_a_comparison_not_a_choice():
    grounded = ground_arguments({"origin": "Oslo"}, FLIGHTS, "is business worth it over economy")
    assert "cabin" not in grounded.arguments


def test_an_enum_value_the_model_wrote_is_put_in_the_schemas_case():
    grounded = ground_arguments({"origin": "Oslo", "cabin": "business"}, FLIGHTS,
                                "business class from oslo")
    assert grounded.arguments["cabin"] == "Business"


@pytest.mark.parametrize("said, flight", [
    ("is flight ua 123 on time", "UA123"),
    ("status of LH400 please", "LH400"),
    ("where is my flight", None),
    ("compare ua123 and lh400", None),  # two ids: not clear which
])
def test_an_id_matching_a_strict_pattern_is_filled(said, flight):
    grounded = ground_arguments({"origin": "Oslo"}, FLIGHTS, said)
    assert grounded.arguments.get("flight") == flight
    assert "note" not in grounded.arguments  # a pattern accepting ordinary words fills nothing


def test_a_tools_finder_comes_before_the_schema():
    resolver = ArgumentResolver(find=lambda said: "First" if "posh" in said else None)
    assert find_value(FLIGHTS["properties"]["cabin"], "something posh", resolver) == "First"
    assert find_value(FLIGHTS["properties"]["cabin"], "economy", resolver) == "Economy"


# --- arguments that are the user's own words (queries)

QUERY = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
WORDS = {"query": ArgumentResolver(user_words=True)}


@pytest.mark.parametrize("history, latest, written", [
    ("is it raining in oslo", "um can you talk in a whisper", "what's your name?"),
    ("hi joe i just got home from work", "hey can you sound like a documentary narrator",
     "I'm just getting home from work"),  # a line of the history
    ("", "play me a lullaby", "The user's own words for the voice or sound they want."),
    # The schema's sentence around the one word it shares with the request ("voice").
    ("", "give me a robot voice", "The user's own words for the voice or sound they want."),
    ("", "find a sound of waves on a beach", "sound effects library search query for ambient audio"),
])
def test_a_query_copied_from_elsewhere_becomes_the_users_words(history, latest, written):
    said = f"{history}\n{latest}"
    grounded = ground_arguments({"query": written}, QUERY, said, resolvers=WORDS, latest=latest)
    assert grounded.arguments == {"query": latest}
    assert grounded.replaced == {"query": written}


@pytest.mark.parametrize("latest, written", [
    ("search the web for the latest news about the mars rover", "mars rover news"),
    ("can you switch to a singing voice for a bit", "sing"),  # a shorter form of a word
    ("change your voice to something deeper and slower", "slow voice"),
])
def test_a_query_in_the_users_words_is_kept(latest, written):
    grounded = ground_arguments({"query": written}, QUERY, latest, resolvers=WORDS)
    assert grounded.arguments == {"query": written} and grounded.replaced == {}


# --- through the embedded model's call path

def test_ground_call_fills_the_zone_of_a_call_the_model_left_empty():
    call = ToolCall(name="get_date_time", arguments={})
    grounded = ground_call(call, user("What day of the week is it in Tokyo?"), [CLOCK])
    assert grounded.arguments == {"timezone": "Asia/Tokyo"}


def test_ground_call_fills_nothing_from_an_earlier_turn():
    call = ToolCall(name="get_date_time", arguments={})
    messages = user("is it raining in oslo", "what time is it")
    assert ground_call(call, messages, [CLOCK]).arguments == {}


def test_the_filled_call_reports_tokyos_weekday():
    from datetime import UTC, datetime

    from tools.builtin.datetime import make_get_date_time

    # Friday 20:00 UTC is already Saturday in Tokyo: the tool must say Saturday.
    clock = make_get_date_time(lambda: datetime(2026, 12, 4, 20, 0, tzinfo=UTC))
    call = ground_call(ToolCall(name="get_date_time", arguments={}),
                       user("What day of the week is it in Tokyo?"), [clock.openai_schema()])
    report = clock.func(**call.arguments)
    assert (report.weekday, report.timezone) == ("Saturday", "Asia/Tokyo")
    assert "Saturday" in report.spoken


def test_a_call_without_a_tool_name_is_a_named_backend_error():
    from agent.errors import ModelBackendError
    from agent.backends.llama_cpp.calls import parse_call

    with pytest.raises(ModelBackendError, match="names no tool"):
        parse_call('{"timezone": "Asia/Tokyo"}')
