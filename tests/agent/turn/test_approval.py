"""Tools with side effects ask first: the graph pauses on LangGraph's interrupt, the question
is spoken, and the user's next turn (a yes or a no) resumes it."""

from __future__ import annotations

from fakes import RecordingDecoder, ScriptedChatModel

from agent import ToolCall, VoiceAgent
from agent.turn.approval import interpret_consent
from agent.events import ApprovalRequestEvent, ToolResultEvent
from tools import tool

cancelled: list[str] = []


@tool(requires_approval=True, safe_to_repeat=False)
def cancel_reservation(reservation_id: str) -> str:
    """Cancel a reservation."""
    cancelled.append(reservation_id)
    return f"reservation {reservation_id} cancelled"


def make_agent(*replies) -> tuple[VoiceAgent, ScriptedChatModel, RecordingDecoder]:
    model = ScriptedChatModel(list(replies))
    decoder = RecordingDecoder()
    return VoiceAgent(model, decoder=decoder, tools=[cancel_reservation]), model, decoder


async def events_of(agent, text, cid="c"):
    return [e async for e in agent.stream(text, conversation_id=cid)]


async def test_a_yes_runs_the_call_and_the_model_answers_with_its_result():
    cancelled.clear()
    agent, model, decoder = make_agent(
        ToolCall(name="cancel_reservation", arguments={"reservation_id": "SKW123"}),
        "Done, your booking is cancelled.")
    first = await events_of(agent, "Please cancel SKW123.")
    asks = [e for e in first if isinstance(e, ApprovalRequestEvent)]
    assert len(asks) == 1 and asks[0].tool == "cancel_reservation"
    assert "SKW123" in asks[0].question and cancelled == []
    assert decoder.texts[-1] == asks[0].question  # the question is spoken
    second = await events_of(agent, "Yes, please do.")
    results = [e.result for e in second if isinstance(e, ToolResultEvent)]
    assert cancelled == ["SKW123"] and not results[0].is_error
    assert decoder.texts[-1] == "Done, your booking is cancelled."
    history = [(t.role, t.text) for t in await agent.services.memory.history("c")]
    assert history == [("user", "Please cancel SKW123."), ("assistant", asks[0].question),
                       ("user", "Yes, please do."), ("assistant", "Done, your booking is cancelled.")]


async def test_a_no_declines_and_nothing_runs():
    cancelled.clear()
    agent, model, decoder = make_agent(
        ToolCall(name="cancel_reservation", arguments={"reservation_id": "SKW456"}),
        "All right, I left it as it is.")
    await events_of(agent, "Cancel SKW456.")
    second = await events_of(agent, "No, don't.")
    results = [e.result for e in second if isinstance(e, ToolResultEvent)]
    assert cancelled == [] and results[0].is_error
    # The model saw the refusal before answering.
    assert any(m.role == "tool" for m in model.calls[-1][0])
    # The conversation goes on normally afterwards (the paused turn is gone).
    model.replies.append("Anything else?")
    third = await events_of(agent, "Thanks.")
    assert not any(isinstance(e, ApprovalRequestEvent) for e in third)


def test_only_a_clear_yes_counts():
    assert interpret_consent("Yes please") and interpret_consent("okay, go ahead")
    for unclear in ("no", "yes... no wait", "hmm", "what?", "", "don't do it"):
        assert not interpret_consent(unclear), unclear


async def test_agents_without_approval_tools_have_no_checkpointer():
    agent = VoiceAgent(ScriptedChatModel(["Hi."]), decoder=RecordingDecoder())
    assert agent._checkpointer is None


async def test_a_paused_turn_is_read_back_as_our_own_types_without_warning(caplog):
    # LangGraph rebuilds whatever class a checkpoint names unless told which are allowed,
    # and warns that it will stop: the state's types are named (agent.turn.graphs.STATE_SERDE).
    cancelled.clear()
    agent, _, _ = make_agent(
        ToolCall(name="cancel_reservation", arguments={"reservation_id": "SKW777"}),
        "Done, your booking is cancelled.")
    with caplog.at_level("WARNING"):
        await events_of(agent, "Please cancel SKW777.", cid="serde")
        await events_of(agent, "Yes.", cid="serde")
    assert cancelled == ["SKW777"]
    assert not [r for r in caplog.records if "unregistered type" in r.getMessage()]
