"""Ready-to-say lines in the reply's language (`tools.builtin.reply_language`).

A Chinese persona asked "今天星期几？" repeated the clock's English line ("It is 4:28 PM on
Saturday ...") through its Mandarin voice. The tools now word the line in the language the
agent replies in; tested with the real tools, a fixed clock and a mocked Open-Meteo.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx

from agent import ToolCall, VoiceAgent
from fakes import ScriptedChatModel
from personas import PersonaLibrary
from tools import make_get_date_time, reply_language, replying_in
from tools.builtin.weather import make_get_weather

NOON_UTC = datetime(2026, 12, 5, 16, 28, tzinfo=timezone.utc)


def spoken(result) -> str:
    return json.loads(result.content)["spoken"]


async def test_the_clock_speaks_chinese_inside_a_chinese_reply():
    clock = make_get_date_time(lambda: NOON_UTC)
    with replying_in("zh-CN"):
        assert reply_language() == "zh"
        tokyo = await clock.invoke({"timezone": "Asia/Tokyo"})
    assert spoken(tokyo) == "现在是东京时间2026年12月6日，星期日，凌晨1:28。"
    english = await clock.invoke({"timezone": "Asia/Tokyo"})  # outside: English as before
    assert spoken(english).startswith("It is 1:28 AM on Sunday, December 6, 2026")
    assert reply_language() == "en"


async def test_the_weather_line_and_place_name_follow_the_language():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "geocoding-api.open-meteo.com":
            return httpx.Response(200, json={"results": [
                {"name": "巴黎", "latitude": 48.85, "longitude": 2.35, "country": "法国"}]})
        return httpx.Response(200, json={
            "current": {"temperature_2m": 7.6, "weather_code": 61},
            "daily": {"weather_code": [61], "temperature_2m_max": [9.1],
                      "temperature_2m_min": [3.2], "precipitation_probability_max": [80]}})

    tool = make_get_weather(httpx.MockTransport(handler))
    with replying_in("zh"):
        result = await tool.invoke({"location": "巴黎"})
    assert seen[0].url.params["language"] == "zh"
    assert spoken(result) == "巴黎现在8℃，小雨，今天3℃到9℃，降水概率80%。"


async def test_a_chinese_persona_hands_its_model_the_chinese_line():
    # The scripted model stands in for the 0.5B: it reads the tool message it is given.
    model = ScriptedChatModel([ToolCall(name="get_date_time", arguments={}), "今天星期六。"])
    agent = VoiceAgent(model, decoder=None, persona=PersonaLibrary().get("xiaoyue"),
                       tools=[make_get_date_time(lambda: NOON_UTC)], learn_facts=False)
    await agent.arespond("今天星期几？", synthesize=False)
    tool_message = next(m for m in model.calls[1][0] if m.role == "tool")
    assert "星期六，下午4:28" in tool_message.content, tool_message.content
    assert "It is" not in tool_message.content
