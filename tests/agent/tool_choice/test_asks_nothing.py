"""Turns that ask for nothing (agent.tool_choice.asks_nothing): no tool call, no "can't
check that". Each line below is a turn as a caller says it."""

import pytest

from agent.tool_choice.asks_nothing import acknowledges, asks_nothing, gives_an_opinion


@pytest.mark.parametrize("text", [
    "Okay, thanks, I'll think about it.", "Great, thanks, bye.", "Thank you, that's all.",
    "thanks that's all for now", "ok got it", "i feel a bit sad today",
    "I'm so nervous about my exam tomorrow", "i love rainy days honestly", "i like your voice",
    "I really enjoy talking to you.", "i hate mondays",
])
def test_these_ask_for_nothing(text):
    assert asks_nothing(text)


@pytest.mark.parametrize("text", [
    "Okay. Will it rain in Oslo tomorrow", "Thanks, and what's the weather in Oslo?",
    "Alright, is my flight on time", "I'll think about it... what time is it in Tokyo?",
    "i feel sad, tell me a joke", "i like your voice, can you make it softer",
    "i hate this song, skip it", "i'd like to know the weather in Paris",
    "i like to know the weather in Paris", "I love the weather in Paris?", "weather in paris",
    "thanks, please check SK101", "okay can you cancel it", "Thanks. Do you know the score?",
    "i'm nervous, will it snow tomorrow",
])
def test_these_ask_for_something(text):
    assert not asks_nothing(text)


def test_each_kind_alone():
    assert acknowledges("Okay, thanks, I'll think about it.")
    assert not acknowledges("I'll think about it.")  # no thanks or okay opens it
    assert gives_an_opinion("i like your voice") and not gives_an_opinion("i'd love a calmer voice")
