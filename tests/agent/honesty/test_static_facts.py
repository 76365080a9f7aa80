"""Static facts about things that change (agent.honesty.knowledge_gaps, STATIC_FACTS), on
the packaged MiniLM, no LLM. None of these phrasings is among the written examples or in
the bench data."""

from __future__ import annotations

import pytest

from agent.honesty.knowledge_gaps import KnowledgeGaps


@pytest.fixture(scope="module")
def gaps(embed):
    return KnowledgeGaps(embed)


@pytest.mark.parametrize("text", ["How often is the Tour de France raced?",
                                  "Which company builds the Xbox?",
                                  "What day follows Thursday?",
                                  "In which sport do teams compete for the Davis Cup?"])
def test_a_static_fact_about_a_changing_thing_is_answered(gaps, text):
    assert not gaps.judge(text).needs_outside_data


@pytest.mark.parametrize("text", ["is it snowing in zurich",
                                  "what's the temperature in tokyo",
                                  "who will win the tour de france this year",
                                  "what day is it today",
                                  "what did my sister text me"])
def test_live_values_and_the_callers_own_records_stay_gaps(gaps, text):
    assert gaps.judge(text).needs_outside_data


@pytest.mark.parametrize("text", ["Where is the Colosseum?", "Where is the Eiffel Tower?",
                                  "Where is the Louvre?", "Where is the Golden Gate Bridge?"])
def test_where_a_landmark_is_is_answered(gaps, text):
    # Taken for the clock, opening hours or traffic before the landmark examples.
    assert not gaps.judge(text).needs_outside_data


@pytest.mark.parametrize("text", ["Where is the nearest pharmacy?",
                                  "Where is the closest petrol station?",
                                  "where is the post office near here", "Where is the bus?",
                                  "Where is my parcel?"])
def test_where_something_near_the_caller_or_moving_is_stays_a_gap(gaps, text):
    assert gaps.judge(text).needs_outside_data
