"""The embedded model's call decision (`agent.tool_choice.decision`) on fixed feature values."""

from __future__ import annotations

import math

import pytest

from agent.tool_choice.decision import (
    DEFAULT_DECIDER, FITTED_BY_MODEL, FITTED_COMBINER, CallCombiner, CallFeatures, OddsThreshold,
    ToolChooser,
    fitted_for, logit,
)
from agent.tool_choice.prior import PriorScores

PRIOR = PriorScores(by_tool={"search": 0.30, "get_weather": 0.72}, no_tool=0.40, call_logit=1.5)


def features(with_history=0.5, alone=0.5, prior=PRIOR):
    return CallFeatures(with_history=with_history, alone=alone, prior=prior)


def test_logit_is_clipped_at_certainty():
    assert logit(0.5) == 0.0
    assert logit(1.0) == pytest.approx(-logit(0.0)) and math.isfinite(logit(1.0))


def test_the_feature_vector_is_the_larger_odds_the_cosine_margin_and_the_prior_logit():
    v = features(0.9, 0.2).vector()
    assert v == pytest.approx([logit(0.9), 0.72 - 0.40, 1.5])
    assert features(0.2, 0.9).vector()[0] == pytest.approx(logit(0.9))
    with pytest.raises(ValueError, match="semantic prior"):
        features(prior=None).vector()


@pytest.mark.parametrize("with_history, alone, expected", [
    (0.95, 0.10, True), (0.10, 0.95, True), (0.87, 0.87, False), (0.88, 0.0, True),
])
def test_odds_threshold_calls_when_either_score_clears_it(with_history, alone, expected):
    assert OddsThreshold(threshold=0.88).decide(features(with_history, alone)) is expected


def test_combiner_is_a_logistic_regression_with_a_threshold():
    combiner = CallCombiner(weights=(1.0, 10.0, 0.5), bias=-4.0, threshold=0.6)
    # z = -4 + logit(0.5) + 10 * (0.72 - 0.40) + 0.5 * 1.5 = -0.05
    assert combiner.probability(features()) == pytest.approx(1 / (1 + math.exp(0.05)))
    assert combiner.decide(features()) is False  # 0.49 < 0.6
    assert combiner.decide(features(0.95, 0.1)) is True  # + logit(0.95) = 2.94: 0.95
    chatty = features(prior=PriorScores(by_tool={"search": 0.2}, no_tool=0.7, call_logit=-3))
    assert combiner.probability(chatty) < 0.01 and combiner.decide(chatty) is False


def test_combiner_without_a_prior_falls_back_to_the_odds_threshold():
    combiner = CallCombiner(weights=(0.0, 0.0, 0.0), bias=100.0)
    assert combiner.decide(features(0.95, 0.1, prior=None)) is True
    assert combiner.decide(features(0.30, 0.3, prior=None)) is False


def test_combiner_rejects_a_weight_count_that_does_not_match_the_features():
    with pytest.raises(ValueError):
        CallCombiner(weights=(1.0, 2.0), bias=0.0).probability(features())


def test_tool_chooser_follows_the_model_without_prior_weight():
    names = {"search": 0.6, "get_weather": 0.4}
    assert ToolChooser(prior_weight=0.0).choose(names, PRIOR) == "search"


def test_tool_chooser_lets_a_strong_prior_overrule_a_close_model_choice():
    names = {"search": 0.6, "get_weather": 0.4}
    # log(0.4) - log(0.6) = -0.405; the prior adds 2 * (0.72 - 0.30) = 0.84
    assert ToolChooser(prior_weight=2.0).choose(names, PRIOR) == "get_weather"
    assert ToolChooser(prior_weight=2.0).choose(names, None) == "search"


def test_tool_chooser_never_picks_a_tool_the_model_was_not_offered():
    assert ToolChooser(prior_weight=50.0).choose({"search": 1.0}, PRIOR) == "search"


def test_the_fitted_default_calls_for_a_clear_request_and_not_for_small_talk():
    request = features(0.95, 0.95, PriorScores(by_tool={"get_weather": 0.8}, no_tool=0.3,
                                               call_logit=3.0))
    chat = features(0.95, 0.95, PriorScores(by_tool={"get_weather": 0.3}, no_tool=0.8,
                                            call_logit=-3.0))
    assert DEFAULT_DECIDER.decide(request) is True
    # High model odds alone (the 0.5B model's bias after a tool turn) are not enough.
    assert DEFAULT_DECIDER.decide(chat) is False


def test_each_packaged_model_has_its_own_fit_and_others_get_the_default():
    small, _ = fitted_for("qwen2.5-coder-0.5b-instruct-iq4_nl.gguf")  # as loaded by default
    packaged, _ = fitted_for("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
    large, large_chooser = fitted_for("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert small is DEFAULT_DECIDER and large is not DEFAULT_DECIDER
    assert packaged is not DEFAULT_DECIDER and packaged != small
    assert isinstance(large_chooser, ToolChooser)
    assert fitted_for("my-own-model.gguf") == (DEFAULT_DECIDER, FITTED_BY_MODEL[
        "qwen2.5-coder-0.5b-instruct-iq4_nl.gguf"][1])
    # The 1.5B model gives calls far lower first-token odds (median 0.25 alone vs 0.92 for
    # the 0.5B model): odds of 1 % with a tool-like prior call with its fit only.
    low = features(0.01, 0.01, PriorScores(by_tool={"search": 0.6}, no_tool=0.4,
                                           call_logit=1.0))
    assert large.decide(low) is True and small.decide(low) is False


def described(best: float, no_tool: float = 0.2) -> CallFeatures:
    return features(0.3, 0.3, PriorScores(by_tool={"get_weather": 0.3, "book_ride": best},
                                          no_tool=no_tool, call_logit=-3.0,
                                          by_description={"get_weather": 0.3, "book_ride": best},
                                          described_only=["book_ride"]))


def test_a_tool_known_by_its_description_is_called_when_the_request_matches_it():
    # A plugin tool with no examples: the example-backed combiner never calls it (its
    # examples prior is low), the description decision does, and only for a close request.
    from agent.tool_choice.decision import FITTED_DESCRIBED

    assert FITTED_COMBINER.decide(described(0.75)) is False
    assert FITTED_DESCRIBED.decide(described(0.75)) is True
    assert DEFAULT_DECIDER.decide(described(0.75)) is True
    assert DEFAULT_DECIDER.decide(described(0.25)) is False


def test_a_described_tool_the_model_itself_would_not_call_is_left_alone():
    # "What is a holy book?" lies near `search_holy_books`' description, but the 0.5B
    # model, shown the function, gives a call 0.00: BFCL counts a call there as wrong.
    from agent.tool_choice.decision import EitherDecision, FITTED_DESCRIBED

    decider = EitherDecision(examples=FITTED_COMBINER, described=FITTED_DESCRIBED,
                             described_odds_floor=0.05)
    assert decider.decide(described(0.75)) is True  # odds 0.3
    shy = described(0.75).model_copy(update={"with_history": 0.01, "alone": 0.01})
    assert decider.decide(shy) is False
    # With a tool that has examples nearest the request, the floor does not apply.
    near_examples = shy.model_copy(update={"prior": shy.prior.model_copy(update={
        "by_tool": {"get_weather": 0.9, "book_ride": 0.75}})})
    assert decider.decide(near_examples) is DEFAULT_DECIDER.model_copy(
        update={"described_odds_floor": 0.0}).decide(near_examples) is True
    # A tool's own example said word for word still calls it.
    said = shy.model_copy(update={"prior": shy.prior.model_copy(update={
        "said_example": 0.95, "said_tool": "book_ride"})})
    assert decider.decide(said) is True


def test_the_description_decision_ignores_tools_that_have_examples():
    from agent.tool_choice.decision import FITTED_DESCRIBED

    with_examples = described(0.9).model_copy(update={"prior": PriorScores(
        by_tool={"book_ride": 0.9}, no_tool=0.2, by_description={"book_ride": 0.9},
        described_only=[])})
    assert FITTED_DESCRIBED.probability(with_examples) == 0.0
    assert FITTED_DESCRIBED.probability(features(0.9, 0.9, None)) == 0.0


def test_every_packaged_model_decides_described_tools_the_same_way():
    from agent.tool_choice.decision import EitherDecision, FITTED_DESCRIBED

    for name in FITTED_BY_MODEL:
        decider, _ = fitted_for(name)
        assert isinstance(decider, EitherDecision) and decider.described == FITTED_DESCRIBED


def test_right_after_a_tool_turn_the_two_odds_are_averaged():
    # "when is christmas" after a weather call: 0.87 with the history, 0.02 alone.
    primed = CallFeatures(with_history=0.87, alone=0.02, prior=PRIOR, after_tool=True)
    assert primed.call_probability() == pytest.approx(0.445)
    assert primed.vector()[0] == pytest.approx(logit(0.445))
    assert features(0.87, 0.02).call_probability() == pytest.approx(0.87)
    # The fallback without MiniLM keeps the larger of the two, as it was fitted.
    assert OddsThreshold(threshold=0.85).decide(primed)


def test_which_turns_follow_a_tool_turn():
    from agent.backends.llama_cpp.call_readings import follows_a_tool_turn
    from agent.chat_model import ChatMessage, ToolCall

    system = ChatMessage(role="system", content="s")
    call = ToolCall(id="c1", name="get_weather", arguments={"location": "Oslo"})
    weather = [ChatMessage(role="user", content="is it raining in oslo"),
               ChatMessage(role="assistant", tool_calls=[call]),
               ChatMessage(role="tool", tool_call_id="c1", content="no rain"),
               ChatMessage(role="assistant", content="No rain in Oslo.")]
    chat = [ChatMessage(role="user", content="hi"), ChatMessage(role="assistant", content="hello")]
    latest = ChatMessage(role="user", content="when is christmas")
    assert follows_a_tool_turn([system, *weather, latest])
    assert not follows_a_tool_turn([system, *weather, *chat, latest])  # a turn in between
    assert not follows_a_tool_turn([system, *chat, latest])
    assert not follows_a_tool_turn([system, latest])


def test_the_report_says_when_the_model_odds_floor_kept_a_described_tool_uncalled():
    from agent.tool_choice.report import call_report

    shy = described(0.75).model_copy(update={"with_history": 0.004, "alone": 0.004})
    report = call_report(shy, DEFAULT_DECIDER)
    assert report.called is False and report.described_odds_floor == 0.2
    assert report.reason().startswith("no call: the closest tool, book_ride, is known by its "
                                      "description only, and the model itself gives a call 0.00")
    # Where the floor is not why, the reason does not mention it.
    assert "model itself" not in call_report(described(0.25), DEFAULT_DECIDER).reason()


def test_a_described_tool_the_model_is_sure_of_is_called_though_worded_unlike_it():
    # Tried on BFCL multiple_67-like requests: "Translate 'Hello, how are you?' to French"
    # lies at cosine 0.33-0.47 to a described-only tool, under the description rule, while
    # the model, shown the function, is all but sure of a call.
    from agent.tool_choice.decision import SureCall

    sure = SureCall(odds=0.85, cosine=0.35)
    worded_unlike = described(0.42).model_copy(update={"with_history": 0.93, "alone": 0.2})
    assert DEFAULT_DECIDER.model_copy(update={"sure": None}).decide(worded_unlike) is False
    assert DEFAULT_DECIDER.sure == sure and DEFAULT_DECIDER.decide(worded_unlike) is True
    # Not sure enough, or too far from the tool: no call.
    assert DEFAULT_DECIDER.decide(worded_unlike.model_copy(
        update={"with_history": 0.8})) is False
    assert DEFAULT_DECIDER.decide(described(0.3).model_copy(
        update={"with_history": 0.99})) is False
    # Nearest a tool with examples, the rule has no say: the examples decide as before.
    near_examples = worded_unlike.model_copy(update={"prior": worded_unlike.prior.model_copy(
        update={"by_tool": {"get_weather": 0.9, "book_ride": 0.42}})})
    assert DEFAULT_DECIDER.decide(near_examples) is DEFAULT_DECIDER.model_copy(
        update={"sure": None}).decide(near_examples)
    # With no described-only tool the rule never calls.
    assert sure.decide(features(0.99, 0.99)) is False


def test_the_report_says_when_the_models_certainty_made_the_call():
    from agent.tool_choice.report import call_report

    worded_unlike = described(0.42).model_copy(update={"with_history": 0.93, "alone": 0.2})
    report = call_report(worded_unlike, DEFAULT_DECIDER)
    report.tool = "book_ride"
    assert report.called and report.sure_odds == 0.85 and report.sure_cosine == 0.35
    assert report.reason().startswith("called book_ride: the model itself is all but sure "
                                      "of a call (odds 0.93 >= 0.85)")
