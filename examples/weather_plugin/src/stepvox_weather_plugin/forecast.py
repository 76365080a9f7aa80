"""A day's forecast for a city, from Open-Meteo (free, no API key): what a plugin author
with a real weather backend would write. Offline, the call fails and the agent says so."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

import httpx
from pydantic import Field

from tools import tool

GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
_DAYS = {"today": 0, "tomorrow": 1, "day after tomorrow": 2}


@tool(timeout_s=8.0, examples=[
    "will it rain in Glasgow tomorrow",
    "what's the forecast for Marseille this weekend",
    "how hot will it be in Seville the day after tomorrow",
])
async def forecast(
    city: Annotated[str, Field(min_length=1, description="City name, e.g. 'Lyon'.")],
    day: Annotated[Literal["today", "tomorrow", "day after tomorrow"],
                   Field(description="Which day.")] = "today",
) -> str:
    """Weather forecast for a city: high and low temperature and chance of rain for a day."""
    async with httpx.AsyncClient(timeout=6.0) as client:
        found = (await client.get(GEOCODING_URL, params={"name": city, "count": 1})).json()
        places = found.get("results") or []
        if not places:
            raise LookupError(f"no city called {city!r} was found")
        place = places[0]
        response = await client.get(FORECAST_URL, params={
            "latitude": place["latitude"], "longitude": place["longitude"],
            "daily": "temperature_2m_max,temperature_2m_min,precipitation_probability_max",
            "timezone": "auto", "forecast_days": 3})
        daily = response.json()["daily"]
    i = _DAYS[day]
    when = (date.fromisoformat(daily["time"][0]) + timedelta(days=i)).isoformat()
    return (f"{place['name']} on {when}: high {daily['temperature_2m_max'][i]:.0f} °C, "
            f"low {daily['temperature_2m_min'][i]:.0f} °C, "
            f"{daily['precipitation_probability_max'][i]:.0f} % chance of rain.")
