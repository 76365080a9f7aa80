"""The scripted caller: fixed turns, approval answers that use up no turn, lines said only
when the agent asked something."""

import pytest

from agent.evals.callers import ScriptedCaller, make_caller
from agent.evals.format import CallerSpec, ScriptedTurn

SPEC = CallerSpec(goal="Cancel SKW123.", turns=[
    "Cancel SKW123, surname de Vries.",
    ScriptedTurn(say="Yes, please cancel it.", if_asked=True),
    "Thanks, bye."], approval_answer="Yes.")


async def test_turns_in_order_then_hang_up():
    caller = ScriptedCaller(SPEC)
    said = [await caller.next_utterance("Hello, Mia here. How can I help?", False),
            await caller.next_utterance("Shall I cancel it?", False),
            await caller.next_utterance("Done.", False),
            await caller.next_utterance("Anything else?", False)]
    assert said == ["Cancel SKW123, surname de Vries.", "Yes, please cancel it.", "Thanks, bye.", None]
    assert caller.end_reason == "script_done"


async def test_if_asked_line_is_skipped_after_a_statement():
    caller = ScriptedCaller(SPEC)
    await caller.next_utterance("Hello.", False)
    assert await caller.next_utterance("Your booking is cancelled.", False) == "Thanks, bye."


async def test_approval_question_is_answered_without_using_a_turn_even_after_the_script():
    caller = ScriptedCaller(SPEC)
    assert await caller.next_utterance("Before I go ahead: ... yes or no.", True) == "Yes."
    assert await caller.next_utterance("Hello.", False) == "Cancel SKW123, surname de Vries."
    caller._next = len(SPEC.turns)  # the script is used up
    assert await caller.next_utterance("Shall I do that? Please say yes or no.", True) == "Yes."


def test_unknown_or_unscripted_callers_are_refused():
    with pytest.raises(ValueError, match="scripted"):
        make_caller("robot", SPEC)
    with pytest.raises(ValueError, match="turns"):
        make_caller("scripted", CallerSpec(goal="g"))
    with pytest.raises(ValueError, match="chat model"):
        make_caller("llm", SPEC)
