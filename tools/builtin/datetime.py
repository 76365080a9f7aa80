"""The built-in `get_date_time` tool: the current date and time, here or in another zone.

The name and the single `timezone` parameter follow StepEval-Audio-Toolcall. Spoken
requests name zones loosely ("Tokyo", "PST", "Beijing time"), so besides IANA names the
tool accepts common abbreviations and city names, and explains what it accepts when it
cannot place a zone, so the model can retry.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone as dt_timezone, tzinfo
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, Field

from tools.builtin.reply_language import reply_language
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
    # Countries and states with a single zone, which people name instead of a city.
    "japan": "Asia/Tokyo", "korea": "Asia/Seoul", "south korea": "Asia/Seoul",
    "uk": "Europe/London", "england": "Europe/London", "britain": "Europe/London",
    "france": "Europe/Paris", "germany": "Europe/Berlin", "italy": "Europe/Rome",
    "spain": "Europe/Madrid", "ireland": "Europe/Dublin", "egypt": "Africa/Cairo",
    "thailand": "Asia/Bangkok", "vietnam": "Asia/Ho_Chi_Minh", "taiwan": "Asia/Taipei",
    "philippines": "Asia/Manila", "new zealand": "Pacific/Auckland", "hawaii": "Pacific/Honolulu",
    "california": "America/Los_Angeles", "mumbai": "Asia/Kolkata", "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata", "bangalore": "Asia/Kolkata",
    "北京": "Asia/Shanghai", "北京时间": "Asia/Shanghai", "中国": "Asia/Shanghai",
    "上海": "Asia/Shanghai", "东京": "Asia/Tokyo", "日本": "Asia/Tokyo", "东京时间": "Asia/Tokyo",
    "香港": "Asia/Hong_Kong", "台北": "Asia/Taipei", "首尔": "Asia/Seoul", "韩国": "Asia/Seoul",
    "新加坡": "Asia/Singapore", "曼谷": "Asia/Bangkok", "迪拜": "Asia/Dubai",
    "伦敦": "Europe/London", "英国": "Europe/London", "巴黎": "Europe/Paris",
    "法国": "Europe/Paris", "柏林": "Europe/Berlin", "德国": "Europe/Berlin",
    "莫斯科": "Europe/Moscow", "纽约": "America/New_York", "洛杉矶": "America/Los_Angeles",
    "旧金山": "America/Los_Angeles", "芝加哥": "America/Chicago", "多伦多": "America/Toronto",
    "悉尼": "Australia/Sydney", "墨尔本": "Australia/Melbourne",
}
# Zone "cities" that are also everyday words ("at easter", "in the north", "in reunion") or
# name a place with another zone too ("jersey", "victoria"), and regions whose "cities" are
# research stations: never read as a zone from the user's words.
_NOT_NAMES = frozenset({"easter", "christmas", "wake", "midway", "center", "reunion", "troll",
                        "north", "south", "west", "act", "oral", "virgin", "jersey", "victoria"})
_UNSPOKEN_REGIONS = ("Antarctica",)
# Words after which a place name asks for that place's time ("the time in Tokyo"), and the
# word a zone name comes before ("Tokyo time").
_CUES = frozenset({"in", "at", "for"})
_SUFFIX = "time"
# Words written after a zone's name ("Eastern Standard Time", "Tokyo time zone").
_ZONE_WORDS = re.compile(r"(\s+(standard|daylight|summer|time|zone))+$", re.IGNORECASE)
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
        spoken=(_spoken_zh(moment, zone_name) if reply_language() == "zh" else
                _spoken(moment, zone_name or moment.tzname() or "local time")),
    )


def _spoken(moment: datetime, zone: str) -> str:
    hour12 = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    month = _MONTHS[moment.month - 1]
    return (f"It is {hour12}:{moment.minute:02d} {half} on {_WEEKDAYS[moment.weekday()]}, "
            f"{month} {moment.day}, {moment.year}{_spoken_place(zone)}.")


def _spoken_place(zone: str) -> str:
    """The zone as a voice says it: " in Tokyo" for "Asia/Tokyo", " in New York" for
    "America/New_York"; a zone without a city is named plainly (" UTC time"). The speech
    synthesizer reads "(Asia/Tokyo)" letter by letter and slash, so no brackets."""
    if "/" in zone and not zone.startswith("Etc/"):
        return " in " + zone.rsplit("/", 1)[-1].replace("_", " ")
    name = zone.split("/")[-1]
    return "" if name in ("local time", "local") else f", {name} time"


_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def _spoken_zh(moment: datetime, zone: str | None) -> str:
    """The same line for a Chinese reply: "现在是东京时间2026年12月5日，星期六，下午4:28。"
    (the Mandarin voice reads the digits). The zone is named when it has a Chinese name."""
    hour = moment.hour
    period = ("凌晨" if hour < 6 else "上午" if hour < 12 else "中午" if hour < 13
              else "下午" if hour < 18 else "晚上")
    place = _chinese_zone_names().get(zone or "", "")
    if place and not place.endswith("时"):
        place += "时间"
    return (f"现在是{place}{moment.year}年{moment.month}月"
            f"{moment.day}日，{_WEEKDAYS_ZH[moment.weekday()]}，"
            f"{period}{hour % 12 or 12}:{moment.minute:02d}。")


@functools.cache
def _chinese_zone_names() -> dict[str, str]:
    """IANA name -> the first Chinese place name the aliases give it ("Asia/Tokyo" -> "东京")."""
    names: dict[str, str] = {"UTC": "协调世界时", "Etc/UTC": "协调世界时"}
    for alias, key in _ALIASES.items():
        if not alias.isascii() and not alias.endswith("时间"):
            names.setdefault(key, alias)
    return names


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
    short = _ZONE_WORDS.sub("", text).strip()
    if key is None and short and short != text:  # "Eastern Time", "Tokyo time zone"
        key = _ALIASES.get(short.lower()) or _keys_by_city().get(_city_form(short))
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


def timezone_key(name: str) -> str | None:
    """The IANA name the tool uses for `name` ("tokyo" -> "Asia/Tokyo"), None if unknown."""
    try:
        return _resolve(name)[1]
    except ValueError:
        return None


def find_timezone(said: str) -> str | None:
    """The zone the user's words clearly ask about, as an IANA name; None when they name
    none, or several different ones.

    Only a name right after "in", "at" or "for", or right before "time", counts ("what day
    is it in Tokyo", "Tokyo time"), so that a city name used otherwise ("my flight to Paris")
    does not become a zone; the longest name wins ("new york", not "new"). Written IANA names
    count anywhere, and so do Chinese names (no spaces to find a cue by).
    """
    found: set[str] = set()
    for written in re.findall(r"[A-Za-z]+(?:/[A-Za-z_+-]+)+", said):
        key = _exact_key(written) or _keys_by_lower().get(written.lower())
        if key:
            found.add(key)
    rest = said
    for alias in sorted((a for a in _ALIASES if not a.isascii()), key=len, reverse=True):
        if alias in rest:
            found.add(_ALIASES[alias])
            rest = rest.replace(alias, " ")
    heard = [w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"['’]s\b", "", rest))]
    for i, word in enumerate(heard):
        if word in _CUES:
            start = i + 1 + (heard[i + 1:i + 2] == ["the"])
            spans = [heard[start:start + n] for n in (3, 2, 1)]
        elif word == _SUFFIX:
            spans = [heard[max(0, i - n):i] for n in (3, 2, 1)]
        else:
            continue
        for span in spans:
            key = _spoken_zones().get(" ".join(span)) if span else None
            if key:
                found.add(key)
                break
    return found.pop() if len(found) == 1 else None


@functools.cache
def _spoken_zones() -> dict[str, str]:
    """Spoken place name -> IANA name: the aliases and the cities of the geographic zones."""
    index = {city.replace("_", " "): key for city, key in _keys_by_city().items()
             if key.split("/", 1)[0] in _REGIONS and key.split("/", 1)[0] not in _UNSPOKEN_REGIONS
             and city not in _NOT_NAMES}
    index.update((alias, key) for alias, key in _ALIASES.items() if alias.isascii() and len(alias) > 1)
    return index


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
