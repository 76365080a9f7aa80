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


# The LLM caller, on a scripted model standing in for the packaged one.

async def test_llm_caller_writes_under_a_transcript_and_keeps_its_part():
    from fakes import ScriptedChatModel
    from agent.evals.callers import LlmCaller

    model = ScriptedChatModel(["Hi, I'd like to cancel booking SKW123.\nAgent: Sure, one moment.",
                               "Yes please, go ahead.", "Great, thanks. Goodbye! [END]"])
    caller = LlmCaller(CallerSpec(goal="Cancel SKW123.", facts={"code": "SKW123"}), model)
    first = await caller.next_utterance("Hello, Mia here. How can I help?", False)
    # What the model wrote for the agent after the caller's line is not said.
    assert first == "Hi, I'd like to cancel booking SKW123."
    assert await caller.next_utterance("Shall I cancel SKW123?", True) == "Yes please, go ahead."
    task = model.calls[1][0][-1].content
    assert "Agent: Hello, Mia here. How can I help?" in task
    assert "Caller: Hi, I'd like to cancel booking SKW123." in task
    assert "Agent: Shall I cancel SKW123?" in task and "code: SKW123" in task
    assert await caller.next_utterance("Done, it is cancelled.", False) is None
    assert caller.end_reason == "caller_done"


async def test_llm_caller_writes_again_when_it_says_the_agents_line_back():
    """Tried: the greeting said back ("How can I help you today?"), as the packaged models
    did when they played the caller from the assistant's seat."""
    from fakes import ScriptedChatModel
    from agent.evals.callers import LlmCaller, echoes

    model = ScriptedChatModel(["Hello! How can I help you today?",
                               "Is flight SK101 on time today?"])
    caller = LlmCaller(CallerSpec(goal="Ask whether SK101 is on time."), model)
    said = await caller.next_utterance("Hello, SkyWay, Mia speaking. How can I help you today?",
                                       False)
    assert said == "Is flight SK101 on time today?" and len(model.calls) == 2
    assert echoes("How can I help you today?", "Mia here, how can I help you today?")
    assert not echoes("Is SK101 on time?", "How can I help you today?")


async def test_llm_caller_that_only_echoes_hangs_up_and_says_why():
    from fakes import ScriptedChatModel
    from agent.evals.callers import LlmCaller

    model = ScriptedChatModel(["How can I help you today?"])
    caller = LlmCaller(CallerSpec(goal="Ask about bags."), model)
    assert await caller.next_utterance("Hi, how can I help you today?", False) is None
    assert caller.end_reason == "caller_gave_up" and len(model.calls) == 5


async def test_llm_caller_rewrites_a_line_labelled_as_the_agents_or_said_before():
    """Tried on the 1.5B: "Agent: Can you provide me with the flight's departure time?" as
    the caller's first line, and the same question asked three turns running."""
    from fakes import ScriptedChatModel
    from agent.evals.callers import LlmCaller

    model = ScriptedChatModel(["Is flight SK512 on time?",
                               "Agent: Can you provide the departure time?",
                               "Is flight SK512 on time, please?",
                               "Thanks, so it leaves at 19:45? [END]"])
    caller = LlmCaller(CallerSpec(goal="Ask whether SK512 is on time."), model)
    assert await caller.next_utterance("Hello, Mia here.", False) == "Is flight SK512 on time?"
    assert await caller.next_utterance("It is delayed by 95 minutes.", False) is None
    assert len(model.calls) == 4 and caller.end_reason == "caller_done"
