"""Someone else's tool gets called: the example plugin, really installed, is called for a
request in its words on the embedded default, through `stepvox tools try` and through a
whole agent turn (Open-Meteo, outside the machine, is stood in for by respx in the turn)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import respx
from embedded_gate import require_embedded

require_embedded()

from agent.backends.llama_cpp.chat import LlamaCppChatModel  # noqa: E402
from agent.models.cache import ModelStore  # noqa: E402
from agent.models.catalog import DEFAULT_MODELS  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.setup.tools import tools_for  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402
from personas import DEFAULT_PERSONA  # noqa: E402

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(300)]

REQUEST = "what's the forecast in Lyon tomorrow"
STEPVOX = Path(sys.executable).with_name("stepvox")


def test_tools_try_shows_the_plugin_call_with_its_arguments(installed_example):
    env = {**os.environ, "PYTHONPATH": str(installed_example), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([str(STEPVOX), "tools", "try", REQUEST, "--json"], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    report = shown["report"]
    assert report["called"] is True and report["tool"] == "forecast", shown
    assert report["arguments"] == {"city": "Lyon", "day": "tomorrow"}
    # The plugin's own example requests made it an example-backed tool.
    assert "forecast" not in report["described_only"]
    assert "feels_like" in report["described_only"]
    assert shown["reason"].startswith("called forecast")


@pytest.mark.parametrize("said, reason", [
    ("tell me a fun fact about owls", "no call: the closest tool"),
    # Thanks, and an opinion near the weather tool's words: nothing is asked.
    ("thanks, that was lovely", "no call: the request asks for nothing"),
    ("i love rainy autumn days", "no call: the request asks for nothing"),
])
def test_tools_try_explains_why_small_talk_gets_no_call(installed_example, said, reason):
    env = {**os.environ, "PYTHONPATH": str(installed_example), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([str(STEPVOX), "tools", "try", said, "--json"],
                          env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout)
    assert shown["report"]["called"] is False
    assert shown["reason"].startswith(reason), shown["reason"]
    assert shown["answer_starts"]


async def test_a_whole_turn_calls_the_installed_plugin_and_speaks_its_result(installed_example):
    try:
        path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    except ModelUnavailableError as exc:
        pytest.skip(f"embedded model weights are not installed: {exc}")
    agent = VoiceAgent(LlamaCppChatModel(path, temperature=0.0), tools=tools_for(DEFAULT_PERSONA),
                       learn_facts=False, fact_embed=None)
    with respx.mock(assert_all_called=True) as web:
        web.get(url__startswith="https://geocoding-api.open-meteo.com/").mock(
            return_value=httpx.Response(200, json={"results": [
                {"name": "Lyon", "latitude": 45.75, "longitude": 4.85}]}))
        web.get(url__startswith="https://api.open-meteo.com/").mock(
            return_value=httpx.Response(200, json={"daily": {
                "time": ["2026-12-04", "2026-12-05", "2026-12-06"],
                "temperature_2m_max": [9.0, 13.0, 8.0], "temperature_2m_min": [2.0, 4.0, 1.0],
                "precipitation_probability_max": [10, 70, 20]}}))
        reply = await agent.arespond(REQUEST)
    calls = [r for r in reply.tool_results]
    assert [(c.name, c.arguments) for c in calls] == [
        ("forecast", {"city": "Lyon", "day": "tomorrow"})]
    assert not calls[0].is_error and "high 13" in calls[0].content
    assert "13" in reply.text or "thirteen" in reply.text.lower(), reply.text
