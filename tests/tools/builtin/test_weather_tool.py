"""`get_weather(location)` over a mocked Open-Meteo: no network."""

import httpx
import pytest

from tools.builtin.weather import make_get_weather

PARIS = {"name": "Paris", "latitude": 48.85, "longitude": 2.35, "country": "France",
         "country_code": "FR", "admin1": "Île-de-France"}
PARIS_TX = {"name": "Paris", "latitude": 33.66, "longitude": -95.55, "country": "United States",
            "country_code": "US", "admin1": "Texas"}
FORECAST = {
    "current": {"temperature_2m": 18.4, "apparent_temperature": 17.0, "relative_humidity_2m": 60,
                "weather_code": 2, "wind_speed_10m": 11.2},
    "daily": {"weather_code": [2, 61], "temperature_2m_max": [21.2, 17.8], "temperature_2m_min": [11.6, 9.9],
              "precipitation_probability_max": [10, 80]},
}


def open_meteo(places_by_name, forecast=FORECAST, seen=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if request.url.host == "geocoding-api.open-meteo.com":
            places = places_by_name.get(request.url.params["name"], [])
            return httpx.Response(200, json={"results": places} if places else {"generationtime_ms": 0.1})
        if request.url.host == "api.open-meteo.com":
            return httpx.Response(200, json=forecast)
        return httpx.Response(404)

    return httpx.MockTransport(handler)


async def test_weather_for_a_city():
    seen = []
    tool = make_get_weather(open_meteo({"Paris": [PARIS, PARIS_TX]}, seen=seen))
    result = await tool.invoke({"location": "Paris"})
    assert not result.is_error, result.content
    assert tool.name == "get_weather" and tool.safe_to_repeat and not tool.requires_approval
    assert '"location":"Paris, Île-de-France, France"' in result.content
    assert '"conditions":"partly cloudy"' in result.content
    assert "it is 18 degrees Celsius with partly cloudy; today between 12 and 21 degrees" in result.content
    assert "light rain, 10 to 18 degrees Celsius" in result.content
    forecast_request = seen[1]
    assert forecast_request.url.params["latitude"] == "48.85"
    assert forecast_request.url.params["timezone"] == "auto"


@pytest.mark.parametrize("location", ["Paris, Texas", "Paris, US", "Paris Texas"])
async def test_a_qualifier_picks_among_same_named_places(location):
    tool = make_get_weather(open_meteo({"Paris": [PARIS, PARIS_TX]}))
    result = await tool.invoke({"location": location})
    assert "Paris, Texas, United States" in result.content


async def test_unknown_place_is_a_readable_error():
    result = await make_get_weather(open_meteo({})).invoke({"location": "Atlantis"})
    assert result.is_error
    assert "No place named 'Atlantis' was found" in result.content and "country" in result.content


async def test_service_failures_are_readable_errors():
    def down(request):
        return httpx.Response(503)

    def slow(request):
        raise httpx.ReadTimeout("slow", request=request)

    def garbage(request):
        return httpx.Response(200, content=b"<html>")

    for handler, expected in ((down, "HTTP 503"), (slow, "did not answer in time"), (garbage, "unreadable")):
        result = await make_get_weather(httpx.MockTransport(handler)).invoke({"location": "Paris"})
        assert result.is_error and expected in result.content, result.content


async def test_missing_current_conditions_is_an_error_not_a_crash():
    tool = make_get_weather(open_meteo({"Paris": [PARIS]}, forecast={"daily": {}}))
    result = await tool.invoke({"location": "Paris"})
    assert result.is_error and "no current conditions" in result.content
