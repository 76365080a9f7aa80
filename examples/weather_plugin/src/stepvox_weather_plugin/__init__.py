"""Example stepvox tool plugin: a city forecast (Open-Meteo) and two small, offline weather
helpers.

stepvox finds this package through the `stepvox.tools` entry point in its pyproject.toml,
which names `provide_tools` below.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from tools import Tool, tool

from stepvox_weather_plugin.forecast import forecast


@tool(timeout_s=2.0)
def feels_like(
    temperature_c: Annotated[float, Field(ge=-90, le=60, description="Air temperature in °C.")],
    wind_kmh: Annotated[float, Field(ge=0, le=400, description="Wind speed in km/h.")] = 0.0,
) -> str:
    """How cold or warm it feels, given temperature and wind (wind chill below 10 °C)."""
    if temperature_c <= 10 and wind_kmh > 4.8:
        # Environment Canada / US NWS wind-chill formula.
        v = wind_kmh**0.16
        felt = 13.12 + 0.6215 * temperature_c - 11.37 * v + 0.3965 * temperature_c * v
    else:
        felt = temperature_c
    return f"It feels like {math.floor(felt + 0.5)} degrees Celsius."


@tool(timeout_s=2.0)
def what_to_wear(
    feels_like_c: Annotated[float, Field(description="Felt temperature in °C.")],
    rain: Annotated[Literal["none", "possible", "likely"], Field(description="Chance of rain.")] = "none",
) -> str:
    """Suggest clothing for the felt temperature and the chance of rain."""
    if feels_like_c < 0:
        advice = "a winter coat, hat and gloves"
    elif feels_like_c < 12:
        advice = "a warm jacket"
    elif feels_like_c < 20:
        advice = "a light jacket or sweater"
    else:
        advice = "light clothes"
    if rain != "none":
        advice += " and an umbrella"
    return f"Wear {advice}."


def provide_tools() -> list[Tool]:
    """The entry point: stepvox calls this once when it loads plugins."""
    return [forecast, feels_like, what_to_wear]
