"""The built-in `get_weather(location)` tool: Open-Meteo geocoding + forecast, no API key.

Spoken requests name places loosely ("Paris", "Paris, France", "Springfield Illinois"), so the
first part is geocoded and the rest, if any, picks among same-named places by country or
region. A place that cannot be found is an error the model can relay ("which Paris?").
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from pydantic import BaseModel, Field

from tools.builtin.reply_language import reply_language
from tools.tool import Tool

GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
_CURRENT = "temperature_2m,apparent_temperature,relative_humidity_2m,weather_code,wind_speed_10m"
_DAILY = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max"

# WMO weather interpretation codes, as documented by Open-Meteo.
_WMO: dict[int, str] = {
    0: "clear sky", 1: "mainly clear", 2: "partly cloudy", 3: "overcast", 45: "fog",
    48: "freezing fog", 51: "light drizzle", 53: "drizzle", 55: "heavy drizzle",
    56: "freezing drizzle", 57: "heavy freezing drizzle", 61: "light rain", 63: "rain",
    65: "heavy rain", 66: "freezing rain", 67: "heavy freezing rain", 71: "light snow",
    73: "snow", 75: "heavy snow", 77: "snow grains", 80: "light rain showers",
    81: "rain showers", 82: "violent rain showers", 85: "snow showers", 86: "heavy snow showers",
    95: "thunderstorm", 96: "thunderstorm with hail", 99: "thunderstorm with heavy hail",
}


_WMO_ZH: dict[int, str] = {
    0: "晴", 1: "大致晴朗", 2: "局部多云", 3: "阴天", 45: "有雾", 48: "冻雾", 51: "小毛毛雨",
    53: "毛毛雨", 55: "大毛毛雨", 56: "冻毛毛雨", 57: "强冻毛毛雨", 61: "小雨", 63: "中雨",
    65: "大雨", 66: "冻雨", 67: "强冻雨", 71: "小雪", 73: "中雪", 75: "大雪", 77: "米雪",
    80: "小阵雨", 81: "阵雨", 82: "强阵雨", 85: "阵雪", 86: "强阵雪", 95: "雷雨",
    96: "雷雨伴有冰雹", 99: "强雷雨伴有冰雹",
}


class LocationNotFoundError(LookupError):
    """Geocoding found no place by that name; the message tells the model what to ask."""


class WeatherReport(BaseModel):
    """What `get_weather` returns; sent to the model as compact JSON."""

    location: str  # "Paris, Île-de-France, France"
    conditions: str
    temperature_c: float
    feels_like_c: float | None = None
    humidity_percent: float | None = None
    wind_kmh: float | None = None
    today_high_c: float | None = None
    today_low_c: float | None = None
    rain_chance_percent: float | None = None
    tomorrow: str | None = None
    spoken: str  # ready to say, so a small model need not compose units and numbers


def make_get_weather(
    transport: httpx.AsyncBaseTransport | None = None, *, http_timeout_s: float = 5.0
) -> Tool:
    """Build `get_weather`; tests pass an `httpx.MockTransport`, production the default."""

    async def get_weather(
        location: Annotated[
            str, Field(min_length=1, description="The city or place the user named, with its country if they said it.")
        ],
    ) -> WeatherReport:
        """Get the current weather and today's forecast for a place."""
        async with httpx.AsyncClient(transport=transport, timeout=http_timeout_s) as client:
            place = await _geocode(client, location)
            forecast = await _get_json(client, FORECAST_URL, {
                "latitude": place["latitude"], "longitude": place["longitude"], "current": _CURRENT,
                "daily": _DAILY, "timezone": "auto", "forecast_days": 2,
            })
        return _report(_place_name(place), forecast)

    return Tool(get_weather, timeout_s=12.0, safe_to_repeat=True,
                filler="Let me check the weather in {location}.")


async def _geocode(client: httpx.AsyncClient, location: str) -> dict[str, Any]:
    name, _, qualifier = (part.strip() for part in location.partition(","))
    attempts = [(name, qualifier)]
    words = name.split()
    if not qualifier and len(words) > 1:  # "Paris France", "Springfield Illinois"
        attempts.append((" ".join(words[:-1]), words[-1]))
    for name, qualifier in attempts:
        params = {"name": name, "count": 10, "language": reply_language(), "format": "json"}
        places = (await _get_json(client, GEOCODING_URL, params)).get("results") or []
        if places:
            return _pick(places, qualifier)
    raise LocationNotFoundError(
        f"No place named {location!r} was found. Ask the user for the city name, "
        "optionally with its country (e.g. 'Paris, France')."
    )


def _pick(places: list[dict[str, Any]], qualifier: str) -> dict[str, Any]:
    wanted = qualifier.lower()
    if wanted:
        for place in places:
            fields = (place.get("country"), place.get("country_code"), place.get("admin1"))
            if any(f and str(f).lower().startswith(wanted) for f in fields):
                return place
    return places[0]  # Open-Meteo ranks by population, which matches what people usually mean


async def _get_json(client: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await client.get(url, params=params)
        response.raise_for_status()
        return response.json()
    except httpx.TimeoutException as exc:
        raise TimeoutError("the weather service did not answer in time; try again later") from exc
    except httpx.HTTPStatusError as exc:
        raise RuntimeError(f"the weather service returned HTTP {exc.response.status_code}") from exc
    except httpx.HTTPError as exc:
        raise RuntimeError(f"the weather service could not be reached ({type(exc).__name__})") from exc
    except ValueError as exc:
        raise RuntimeError("the weather service sent an unreadable answer") from exc


def _place_name(place: dict[str, Any]) -> str:
    parts = [place.get("name"), place.get("admin1"), place.get("country")]
    return ", ".join(dict.fromkeys(str(p) for p in parts if p))


def _first(daily: dict[str, Any], key: str, day: int = 0) -> Any:
    values = daily.get(key) or []
    return values[day] if len(values) > day else None


def _report(location: str, forecast: dict[str, Any]) -> WeatherReport:
    current, daily = forecast.get("current") or {}, forecast.get("daily") or {}
    if current.get("temperature_2m") is None:
        raise RuntimeError("the weather service sent no current conditions")
    conditions = _WMO.get(int(current.get("weather_code", -1)), "unknown conditions")
    temp = round(float(current["temperature_2m"]))
    high, low = _first(daily, "temperature_2m_max"), _first(daily, "temperature_2m_min")
    rain = _first(daily, "precipitation_probability_max")
    tomorrow = None
    if _first(daily, "weather_code", 1) is not None:
        tomorrow = (f"{_WMO.get(int(_first(daily, 'weather_code', 1)), 'unknown conditions')}, "
                    f"{round(_first(daily, 'temperature_2m_min', 1))} to "
                    f"{round(_first(daily, 'temperature_2m_max', 1))} degrees Celsius")
    if reply_language() == "zh":  # the place name comes in Chinese from the geocoder
        spoken = (f"{location.split(',')[0]}现在{temp}℃，"
                  f"{_WMO_ZH.get(int(current.get('weather_code', -1)), '天气情况不明')}")
        if high is not None and low is not None:
            spoken += f"，今天{round(low)}℃到{round(high)}℃"
        if rain is not None:
            spoken += f"，降水概率{round(rain)}%"
        spoken = spoken.rstrip("。") + "。"
    else:
        spoken = f"In {location.split(',')[0]} it is {temp} degrees Celsius with {conditions}"
        if high is not None and low is not None:
            spoken += f"; today between {round(low)} and {round(high)} degrees"
        if rain is not None:
            spoken += f", {round(rain)} percent chance of rain"
        spoken += "."
    return WeatherReport(
        location=location, conditions=conditions, temperature_c=float(current["temperature_2m"]),
        feels_like_c=current.get("apparent_temperature"), humidity_percent=current.get("relative_humidity_2m"),
        wind_kmh=current.get("wind_speed_10m"), today_high_c=high, today_low_c=low,
        rain_chance_percent=rain, tomorrow=tomorrow, spoken=spoken,
    )


get_weather: Tool = make_get_weather()
