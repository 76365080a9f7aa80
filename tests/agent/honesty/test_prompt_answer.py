"""A question the persona's prompt answers, whose call was held for a value nobody said
(agent.honesty.prompt_answer).

Asked "How much does a second checked bag cost?", the quality model called a bag tool with
the booking code of the tool's description; the call was held and the reply asked for a
booking code, though the fee is a line of the desk's prompt. The chat model is scripted (it
stands in for the model writing that call); the tools, the turn graph and the MiniLM the
honesty layer reads are real.
"""

from __future__ import annotations

from types import SimpleNamespace

from agent import ToolCall, VoiceAgent
from agent.chat_model import ChatMessage
from agent.honesty.knowledge_gaps import KnowledgeGaps
from agent.honesty.prompt_answer import held_for_unsaid, without_calls
from fakes import ScriptedChatModel
from personas import Persona
from tools import Tool, ToolResult

ADDED: list[str] = []

DESK = Persona(name="Mia", system_prompt=(
    "You are Mia at the Nordwind Air desk.\n"
    "- Checked bags: first bag 35 euros, second 60 euros, up to 23 kg each.\n"
    "- Seat changes: free on Flex fares; 15 euros on Basic fares."))


def add_bag(booking_code: str) -> str:
    """Add a checked bag to a booking.

    Args:
        booking_code: The booking code, e.g. 'NW1234'.
    """
    ADDED.append(booking_code)
    return f"bag added to {booking_code}"


def agent_with(model: ScriptedChatModel, embed) -> VoiceAgent:
    model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's seam
    return VoiceAgent(model, decoder=None, tools=[Tool(add_bag)], persona=DESK,
                      learn_facts=False)


async def test_a_fee_in_the_prompt_is_said_instead_of_asking_for_a_code(embed):
    ADDED.clear()
    copied = ToolCall(name="add_bag", arguments={"booking_code": "NW1234"})
    model = ScriptedChatModel([copied, "To look that up I need your booking code.",
                               "A second checked bag costs 60 euros."])
    reply = await agent_with(model, embed).arespond("How much does a second checked bag cost?",
                                                    synthesize=False)
    assert ADDED == [] and reply.text == "A second checked bag costs 60 euros."
    messages, _, choice = model.calls[2]
    # Asked again without the held call and with no tools.
    assert choice == "none" and not any(m.role == "tool" or m.tool_calls for m in messages)


async def test_a_request_about_a_record_still_asks_for_the_code(embed):
    # Tried: "add a second bag to my booking": no line of the prompt answers that; the
    # caller is asked for the code, and nothing is added.
    ADDED.clear()
    copied = ToolCall(name="add_bag", arguments={"booking_code": "NW1234"})
    model = ScriptedChatModel([copied, "Done, I added it.", "unused"])
    reply = await agent_with(model, embed).arespond("Please add a second bag to my booking.",
                                                    synthesize=False)
    assert ADDED == [] and "booking code" in reply.text and "could you tell me" in reply.text
    assert len(model.calls) == 2


async def test_an_empty_second_answer_falls_back_to_asking(embed):
    ADDED.clear()
    copied = ToolCall(name="add_bag", arguments={"booking_code": "NW1234"})
    model = ScriptedChatModel([copied, "Let me see.", ""])
    reply = await agent_with(model, embed).arespond("How much does a second checked bag cost?",
                                                    synthesize=False)
    assert "booking code" in reply.text and "could you tell me" in reply.text, reply.text


def test_the_verdict_says_whether_the_prompt_covers_the_request(embed):
    gaps = KnowledgeGaps(embed)
    system = DESK.full_system_prompt()
    assert gaps.judge("How much does a second checked bag cost?", system).prompt_covers
    assert not gaps.judge("How much is the bag on booking NW1234?", system).prompt_covers
    assert not gaps.judge("What's the weather in Oslo?", system).prompt_covers


def test_closing_thanks_ask_for_nothing(embed):
    # Tried: "Okay, thanks, I'll think about it." after a fee was said: the classifier read
    # "I'll" as a future event (p 0.53) and the desk said it could not check live traffic.
    gaps = KnowledgeGaps(embed)
    assert not gaps.judge("Okay, thanks, I'll think about it.").needs_outside_data
    assert gaps.judge("Okay. Will it rain in Oslo tomorrow").needs_outside_data


def test_only_the_held_calls_leave_the_conversation():
    held = ToolCall(name="add_bag", arguments={"booking_code": "NW1234"})
    other = ToolCall(name="get_date_time", arguments={})
    messages = [ChatMessage(role="user", content="bag fee?"),
                ChatMessage(role="assistant", content="", tool_calls=[held]),
                ChatMessage(role="tool", content="held", tool_call_id=held.id),
                ChatMessage(role="assistant", content="One moment.", tool_calls=[held, other]),
                ChatMessage(role="tool", content="12:00", tool_call_id=other.id)]
    kept = without_calls(messages, {held.id})
    assert [m.role for m in kept] == ["user", "assistant", "tool"]
    assert [c.name for c in kept[1].tool_calls] == ["add_bag", "get_date_time"]
    only_held = without_calls(messages[:3], {held.id})
    assert [m.role for m in only_held] == ["user"]
    unsaid = ToolResult(name="add_bag", call_id="1", arguments={}, latency_ms=0.0,
                        content="... the caller has not said it.",
                        is_error=True)
    found = ToolResult(name="add_bag", call_id="2", arguments={}, latency_ms=0.0,
                       content="bag added")
    assert held_for_unsaid([unsaid]) and not held_for_unsaid([unsaid, found])
    assert not held_for_unsaid([])


def test_questions_and_requests_to_act():
    from agent.honesty.prompt_answer import asks_a_question

    assert asks_a_question("How much does a second checked bag cost?")
    assert asks_a_question("what does changing a basic fare cost")
    assert asks_a_question("Do I get compensation for a four hour delay?")
    assert not asks_a_question("Please add a second bag to my booking.")
    assert not asks_a_question("Can you add a second bag to my booking?")
    assert not asks_a_question("Okay, I'd like to change my flight?")
    assert not asks_a_question("Add a second bag.")
