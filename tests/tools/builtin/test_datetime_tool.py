"""The built-in get_date_time tool with a fixed clock."""

import json
from datetime import datetime, timezone

import pytest

from tools import get_date_time, make_get_date_time

# Friday 14 March 2025, 15:09:26 UTC: already Saturday in Tokyo, and after the US switch
# to daylight saving time (9 March) but before Europe's (30 March).
FIXED = datetime(2025, 3, 14, 15, 9, 26, tzinfo=timezone.utc)


@pytest.fixture
def fixed_tool():
    return make_get_date_time(clock=lambda: FIXED)


async def _report(tool, arguments) -> dict:
    result = await tool.invoke(arguments)
    assert not result.is_error, result.content
    return json.loads(result.content)


async def test_utc(fixed_tool):
    assert await _report(fixed_tool, {"timezone": "UTC"}) == {
        "iso": "2025-03-14T15:09:26+00:00",
        "date": "2025-03-14",
        "time": "15:09",
        "weekday": "Friday",
        "timezone": "UTC",
        "utc_offset": "+00:00",
        "spoken": "It is 3:09 PM on Friday, March 14, 2025, UTC time.",
    }


async def test_iana_name_crossing_midnight(fixed_tool):
    report = await _report(fixed_tool, '{"timezone": "Asia/Tokyo"}')
    assert report == {
        "iso": "2025-03-15T00:09:26+09:00",
        "date": "2025-03-15",
        "time": "00:09",
        "weekday": "Saturday",
        "timezone": "Asia/Tokyo",
        "utc_offset": "+09:00",
        "spoken": "It is 12:09 AM on Saturday, March 15, 2025 in Tokyo.",
    }


async def test_alias_pst_is_los_angeles_with_daylight_saving(fixed_tool):
    report = await _report(fixed_tool, {"timezone": "PST"})
    assert report["timezone"] == "America/Los_Angeles"
    assert (report["utc_offset"], report["time"]) == ("-07:00", "08:09")


@pytest.mark.parametrize(
    ("spoken", "zone"),
    [
        ("paris", "Europe/Paris"),
        ("Tokyo", "Asia/Tokyo"),
        ("new york", "America/New_York"),
        ("Beijing", "Asia/Shanghai"),
        ("china", "Asia/Shanghai"),
        ("jst", "Asia/Tokyo"),
        ("EDT", "America/New_York"),
        ("gmt", "UTC"),
        ("asia/kolkata", "Asia/Kolkata"),
        ("singapore", "Asia/Singapore"),
    ],
)
async def test_aliases_and_city_names(fixed_tool, spoken, zone):
    assert (await _report(fixed_tool, {"timezone": spoken}))["timezone"] == zone


async def test_city_paris_values(fixed_tool):
    report = await _report(fixed_tool, {"timezone": "paris"})
    assert (report["date"], report["time"], report["utc_offset"]) == ("2025-03-14", "16:09", "+01:00")


async def test_unknown_zone_is_an_error_result_with_examples(fixed_tool):
    # Tried: a made-up zone name.
    result = await fixed_tool.invoke({"timezone": "Mars/Olympus_Mons"})
    assert result.is_error
    assert result.content.startswith("ValueError: Unknown time zone 'Mars/Olympus_Mons'.")
    assert "'Asia/Tokyo'" in result.content and "'PST'" in result.content


async def test_wrong_argument_type_is_an_error_result(fixed_tool):
    # Tried: an offset number instead of a zone name.
    result = await fixed_tool.invoke({"timezone": 9})
    assert result.is_error
    assert "argument 'timezone'" in result.content and "expected string" in result.content


async def test_no_timezone_uses_the_local_zone(fixed_tool, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    for arguments in (None, {}, {"timezone": None}, {"timezone": " "}):
        report = await _report(fixed_tool, arguments)
        assert report["timezone"] == "Asia/Kolkata", arguments
        assert (report["time"], report["utc_offset"]) == ("20:39", "+05:30")


async def test_naive_clock_is_taken_as_utc():
    naive = make_get_date_time(clock=lambda: datetime(2025, 1, 1, 23, 30))
    report = await _report(naive, {"timezone": "Asia/Shanghai"})
    assert (report["date"], report["time"], report["weekday"]) == ("2025-01-02", "07:30", "Thursday")


async def test_default_tool_uses_the_real_clock():
    before = datetime.now(timezone.utc).replace(microsecond=0)
    report = await _report(get_date_time, {"timezone": "UTC"})
    after = datetime.now(timezone.utc)
    assert before <= datetime.fromisoformat(report["iso"]) <= after


def test_openai_schema_exactly():
    assert get_date_time.openai_schema() == {
        "type": "function",
        "function": {
            "name": "get_date_time",
            "description": "Get the current date, time and weekday, locally or in a given time zone.",
            "parameters": {
                "type": "object",
                "properties": {
                    "timezone": {
                        "type": "string",
                        "description": "Only when the user names a place or time zone: that "
                        "city, IANA zone or abbreviation. Leave it out when they ask about their "
                        "own time.",
                    }
                },
                "required": [],
                "additionalProperties": False,
            },
        },
    }
