"""The built-in `get_date_time` tool: the current date and time, here or in another zone.

The name and the single `timezone` parameter follow StepEval-Audio-Toolcall. Spoken
requests name zones loosely ("Tokyo", "PST", "Beijing time"), so besides IANA names the
tool accepts common abbreviations and city names, and explains what it accepts when it
cannot place a zone, so the model can retry.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, Field

from tools.tool import Tool

# Abbreviations and everyday names mapped to one IANA zone. Ambiguous abbreviations
# (CST: China or US Central) are left out on purpose; a city name is unambiguous.
_ALIASES: dict[str, str] = {
    "utc": "UTC", "gmt": "UTC", "z": "UTC", "zulu": "UTC",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles",
    "pacific": "America/Los_Angeles",
    "mst": "America/Denver", "mdt": "America/Denver",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "eastern": "America/New_York",
    "bst": "Europe/London",
    "cet": "Europe/Berlin", "cest": "Europe/Berlin",
    "jst": "Asia/Tokyo", "kst": "Asia/Seoul", "hkt": "Asia/Hong_Kong",
    "ist": "Asia/Kolkata", "india": "Asia/Kolkata",
    "aest": "Australia/Sydney", "aedt": "Australia/Sydney",
    "beijing": "Asia/Shanghai", "peking": "Asia/Shanghai", "china": "Asia/Shanghai",
    "北京": "Asia/Shanghai", "北京时间": "Asia/Shanghai", "中国": "Asia/Shanghai",
    "上海": "Asia/Shanghai", "东京": "Asia/Tokyo", "日本": "Asia/Tokyo",
}
# When a city name is the last part of several zones, prefer the current geographic
# ones over legacy links such as "US/..." or "Etc/...".
_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EXAMPLES = "'UTC', 'Asia/Tokyo', 'Europe/Paris', 'America/New_York', 'PST', 'Tokyo' or 'Paris'"


class DateTimeReport(BaseModel):
    """What `get_date_time` returns; sent to the model as compact JSON."""

    iso: str  # full ISO 8601 timestamp with offset, to the second
    date: str  # YYYY-MM-DD
    time: str  # HH:MM, 24-hour
    weekday: str  # English name, independent of the machine's locale
    timezone: str  # IANA name where known
    utc_offset: str  # "+09:00"
    # A ready-to-say sentence: small models misread 24-hour times ("08:12" -> "8:12 PM"), so
    # they get the words to repeat.
    spoken: str


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _utc_now() -> datetime:
    return datetime.now(dt_timezone.utc)


def make_get_date_time(clock: Callable[[], datetime] = _utc_now) -> Tool:
    """Build the `get_date_time` tool reading the time from `clock` (tests pass a fixed one).

    A naive datetime from `clock` is taken to be UTC.
    """

    def get_date_time(
        timezone: Annotated[
            str | None,
            Field(
                # No example values: a small model copies them ("UTC") into its calls.
                description="Only when the user names a place or time zone: that city, IANA "
                "zone or abbreviation. Leave it out when they ask about their own time."
            ),
        ] = None,
    ) -> DateTimeReport:
        """Get the current date, time and weekday, locally or in a given time zone."""
        now = clock()
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt_timezone.utc)
        zone, zone_name = _local_zone() if timezone is None or not timezone.strip() else _resolve(timezone)
        return _report(now.astimezone(zone) if zone is not None else now.astimezone(), zone_name)

    return Tool(get_date_time, timeout_s=5.0)


def _report(moment: datetime, zone_name: str | None) -> DateTimeReport:
    offset = moment.utcoffset() or timedelta(0)
    return DateTimeReport(
        iso=moment.isoformat(timespec="seconds"),
        date=moment.strftime("%Y-%m-%d"),
        time=moment.strftime("%H:%M"),
        weekday=_WEEKDAYS[moment.weekday()],
        timezone=zone_name or moment.tzname() or "local",
        utc_offset=_format_offset(offset),
        spoken=_spoken(moment, zone_name or moment.tzname() or "local time"),
    )


def _spoken(moment: datetime, zone: str) -> str:
    hour12 = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    month = _MONTHS[moment.month - 1]
    return (f"It is {hour12}:{moment.minute:02d} {half} on {_WEEKDAYS[moment.weekday()]}, "
            f"{month} {moment.day}, {moment.year} ({zone}).")


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _resolve(name: str) -> tuple[ZoneInfo, str]:
    """Find the zone for a name; ValueError listing valid examples when there is none."""
    text = " ".join(name.split())
    # City before case-insensitive key, so "singapore" finds Asia/Singapore rather than
    # the legacy top-level "Singapore" link.
    key = _ALIASES.get(text.lower()) or _exact_key(text) or _keys_by_city().get(_city_form(text))
    key = key or _keys_by_lower().get(text.lower())
    if key is None:
        raise ValueError(
            f"Unknown time zone {name!r}. Use an IANA name, city or abbreviation such as {_EXAMPLES}."
        )
    return ZoneInfo(key), key


def timezone_spellings(name: str) -> list[str]:
    """Other names users say for the zone `name` resolves to (its IANA name, the city part
    of it, and every abbreviation or everyday name mapped to it), for checking that a
    `timezone` argument comes from the user's words (`tools.argument_grounding`)."""
    try:
        _, key = _resolve(name)
    except ValueError:
        return []
    city = key.rsplit("/", 1)[-1].replace("_", " ")
    return [key, city, *(alias for alias, target in _ALIASES.items() if target == key)]


def _exact_key(text: str) -> str | None:
    return text if text in _available() else None


def _local_zone() -> tuple[tzinfo | None, str | None]:
    """The machine's zone as an IANA name when it can be found (TZ, then /etc/localtime).

    (None, None) means "use the OS's idea of local time" via `astimezone()`.
    """
    for candidate in (os.environ.get("TZ", ""), _localtime_target()):
        key = _zone_key_from(candidate)
        if key is not None:
            return ZoneInfo(key), key
    return None, None


def _localtime_target() -> str:
    try:
        return os.path.realpath("/etc/localtime")
    except OSError:
        return ""


def _zone_key_from(value: str) -> str | None:
    # TZ may be ":Europe/Paris" or a full path into the zoneinfo database.
    value = value.strip().lstrip(":")
    if "zoneinfo/" in value:
        value = value.split("zoneinfo/", 1)[1]
    if not value or value not in _available():
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


def _city_form(text: str) -> str:
    return text.lower().replace(" ", "_").replace("-", "_")


@functools.cache
def _available() -> frozenset[str]:
    # Reading the zone database touches the disk; do it once per process.
    return frozenset(available_timezones())


@functools.cache
def _keys_by_lower() -> dict[str, str]:
    return {key.lower(): key for key in _available()}


@functools.cache
def _keys_by_city() -> dict[str, str]:
    index: dict[str, str] = {}
    ranked = sorted(_available(), key=lambda k: (k.split("/", 1)[0] not in _REGIONS, k.count("/"), k))
    for key in ranked:
        index.setdefault(_city_form(key.rsplit("/", 1)[-1]), key)
    return index


get_date_time: Tool = make_get_date_time()
