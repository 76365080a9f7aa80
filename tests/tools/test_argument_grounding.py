"""Optional tool arguments the user never said are dropped before dispatch
(`tools.argument_grounding`); required and non-string arguments always stay."""

from __future__ import annotations

import pytest

from tools import get_date_time
from tools.argument_grounding import ground_arguments, is_supported
from tools.builtin.datetime import timezone_spellings

TIMEZONE_SCHEMA = get_date_time.openai_schema()["function"]["parameters"]
SEARCH_SCHEMA = {"type": "object", "properties": {"query": {"type": "string"},
                                                  "region": {"type": "string"},
                                                  "limit": {"type": "integer"}},
                 "required": ["query"]}


@pytest.mark.parametrize("said, value", [
    ("what time is it", "UTC"),
    ("um what's the date today", "America/New_York"),
    ("which month are we in", "Europe/London"),
    ("what's new with you", "America/New_York"),  # one word of three is not enough
])
def test_an_optional_zone_the_user_never_named_is_dropped(said, value):
    grounded = ground_arguments({"timezone": value}, TIMEZONE_SCHEMA, said,
                                spellings={"timezone": timezone_spellings})
    assert grounded.arguments == {}
    assert grounded.dropped == {"timezone": value}  # reported, not silently lost


@pytest.mark.parametrize("said, value", [
    ("hey joe what time is it in Tokyo", "Asia/Tokyo"),
    ("what time is it over in new york", "America/New_York"),
    ("um what time is it over in Los Angeles", "America/Los_Angeles"),
    ("what time is it in losangeles", "Los Angeles"),  # written together
    ("what's the time in utc", "UTC"),
])
def test_a_zone_backed_by_the_users_words_is_kept(said, value):
    grounded = ground_arguments({"timezone": value}, TIMEZONE_SCHEMA, said)
    assert grounded.arguments == {"timezone": value} and grounded.dropped == {}


@pytest.mark.parametrize("said, value", [
    ("what time is it in pst", "America/Los_Angeles"),
    ("what's the current time in India", "Asia/Kolkata"),
    ("what time is it in eastern time", "America/New_York"),
])
def test_the_tools_own_spellings_back_a_value(said, value):
    assert not is_supported(value, said)  # the words alone do not
    assert is_supported(value, said, timezone_spellings)
    grounded = ground_arguments({"timezone": value}, TIMEZONE_SCHEMA, said,
                                spellings={"timezone": timezone_spellings})
    assert grounded.arguments == {"timezone": value}


def test_required_and_non_string_arguments_are_never_dropped():
    args = {"query": "mars rover news", "limit": 3, "region": "de-de"}
    grounded = ground_arguments(args, SEARCH_SCHEMA, "tell me something")
    assert grounded.arguments == {"query": "mars rover news", "limit": 3}
    assert grounded.dropped == {"region": "de-de"}


def test_without_a_schema_every_string_argument_counts_as_optional():
    grounded = ground_arguments({"city": "Paris", "unit": "kelvin"}, None, "weather in paris")
    assert grounded.arguments == {"city": "Paris"} and grounded.dropped == {"unit": "kelvin"}


def test_spellings_of_an_unknown_zone_are_empty_not_an_error():
    assert timezone_spellings("Atlantis/Nowhere") == []
    assert "pst" in timezone_spellings("America/Los_Angeles")
    assert {"Asia/Tokyo", "Tokyo", "jst"} <= set(timezone_spellings("tokyo"))
