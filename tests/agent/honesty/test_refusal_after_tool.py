"""A refusal after a tool answered is asked once more (agent.honesty.refusal_after_tool).

The chat model is scripted (it stands in for the 0.5B, whose refusals these are); the tool
is real and answers. What the caller hears is checked, and what the model was sent.
"""

from __future__ import annotations

from fakes import ScriptedChatModel

from agent import ToolCall, VoiceAgent
from agent.honesty.refusal_after_tool import NUDGE, REFUSAL, UNREAD
from tools import Tool


def order_status(order_id: str) -> str:
    """Get the delivery status of an order by its number."""
    return f"order {order_id}: shipped on Tuesday, arriving Friday"


CALL = ToolCall(name="order_status", arguments={"order_id": "4471"})


def agent_for(*replies) -> tuple[VoiceAgent, ScriptedChatModel]:
    model = ScriptedChatModel([CALL, *replies])
    return VoiceAgent(model, decoder=None, tools=[Tool(order_status)], learn_facts=False), model


async def test_a_refusal_after_an_answer_is_asked_again_and_the_second_answer_spoken():
    agent, model = agent_for("I'm sorry, but I can't assist with that.",
                             "Your order 4471 shipped on Tuesday and arrives on Friday.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Your order 4471 shipped on Tuesday and arrives on Friday."
    assert "can't assist" not in reply.text
    last_prompt = model.calls[-1][0]
    assert last_prompt[-1].role == "system" and last_prompt[-1].content == NUDGE
    assert model.calls[-1][2] == "none"  # no second tool round from the nudge


async def test_an_answer_that_is_no_refusal_is_spoken_whole_and_asked_once():
    answer = "It shipped on Tuesday. It should arrive on Friday, so keep an eye out."
    agent, model = agent_for(answer)
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == answer
    assert len(model.calls) == 2  # the call, then one answer: nothing asked again


async def test_the_second_answer_stands_even_if_it_refuses_too():
    agent, model = agent_for("Sorry, I cannot help with that.", "I can't assist with that.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "I can't assist with that."
    assert len(model.calls) == 3  # no third try


def test_what_counts_as_a_refusal():
    for text in ("I'm sorry, but I can't assist with that.", "I cannot help you with this.",
                 "Please provide the function name and its parameters so I can help."):
        assert REFUSAL.search(text), text
    for text in ("Sorry, that booking was cancelled last week.",
                 "I can't see a delay: it leaves at 10:40.", "I can help with that!"):
        assert not REFUSAL.search(text), text


async def test_the_nudge_read_back_is_not_spoken():
    # The 0.5B opened its second answer with the nudge itself.
    agent, _ = agent_for("I cannot help with that.",
                         f"{NUDGE.split('.')[0]}. Order 4471 shipped on Tuesday.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Order 4471 shipped on Tuesday."


async def test_the_callers_question_said_back_is_asked_again():
    agent, model = agent_for("Has order 4471 shipped yet?", "Yes, it shipped on Tuesday.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Yes, it shipped on Tuesday." and len(model.calls) == 3


async def test_an_answer_in_the_callers_words_is_no_echo():
    agent, model = agent_for("Order 4471 has shipped.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Order 4471 has shipped." and len(model.calls) == 2


async def test_a_second_answer_of_only_the_nudge_reads_out_the_tools_answer():
    agent, _ = agent_for("I'm sorry, but I can't assist with that.", NUDGE)
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Here is what I found: order 4471: shipped on Tuesday, arriving Friday."


async def test_with_nothing_to_read_out_the_apology_is_plain():
    # The tool answered with an empty record: there is no answer to read out.
    def order_status(order_id: str) -> dict:
        """Get the delivery status of an order by its number."""
        return {"status": None, "events": []}

    model = ScriptedChatModel([CALL, "I'm sorry, but I can't assist with that.", NUDGE])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(order_status)], learn_facts=False)
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == UNREAD


async def test_a_chinese_question_said_back_is_asked_again():
    # xiaoyue, "今天星期几？": the clock answered and the 0.5B said the question back.
    agent, model = agent_for("今天星期几？", "今天是星期六。")
    reply = await agent.arespond("今天星期几？", synthesize=False)
    assert reply.text == "今天是星期六。" and len(model.calls) == 3


async def test_an_answer_without_the_tools_figures_gives_the_tools_own_line():
    # The desk's booking lookup gives a ready-to-say line; the 0.5B said "My flight is on
    # schedule." to "When is my flight?", leaving the time and date out.
    def booking(code: str) -> dict:
        """Look up a booking by its code."""
        return {"code": code, "spoken": f"Booking {code}: flight SK101 leaves Amsterdam at 07:40."}

    model = ScriptedChatModel([ToolCall(name="booking", arguments={"code": "SKW123"}),
                               "My flight is on schedule. Anything else?"])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(booking)], learn_facts=False)
    reply = await agent.arespond("when is my flight? booking SKW123", synthesize=False)
    assert reply.text == "Booking SKW123: flight SK101 leaves Amsterdam at 07:40."
    assert len(model.calls) == 2  # no second ask: the line was there


async def test_a_second_answer_without_the_tools_figures_gives_the_line_too():
    # stepvox chat --persona skyway-agent, "When is my flight? SKW123": the 0.5B said the
    # question back ('"Is my flight?'), was asked again, and said "Your flight is on SKW123."
    def booking(code: str) -> dict:
        """Look up a booking by its code."""
        return {"code": code, "spoken": f"Booking {code}: flight SK101 leaves Amsterdam at 07:40."}

    model = ScriptedChatModel([ToolCall(name="booking", arguments={"code": "SKW123"}),
                               '"Is my flight?', '"Your flight is on SKW123. Anything else?'])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(booking)], learn_facts=False)
    reply = await agent.arespond("When is my flight? SKW123", synthesize=False)
    assert reply.text == "Booking SKW123: flight SK101 leaves Amsterdam at 07:40."
    assert len(model.calls) == 3


async def test_an_earlier_line_said_again_after_a_tool_is_no_answer():
    # Tried: after a cancellation the greedy 0.5B said the caller's opening line back, and
    # asked again, its own question of the turn before.
    model = ScriptedChatModel(["Which order do you mean?", CALL,
                               "I want to know about my order.", "Which order do you mean?"])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(order_status)], learn_facts=False)
    await agent.arespond("I want to know about my order.", synthesize=False, conversation_id="o")
    reply = await agent.arespond("it's 4471", synthesize=False, conversation_id="o")
    assert reply.text == "Here is what I found: order 4471: shipped on Tuesday, arriving Friday."


async def test_the_same_readout_for_the_same_question_asked_twice_is_spoken():
    """Tried at the SkyWay desk (quality model): the caller asked about SKW123 twice; the
    second readout repeated the first, was taken for a line said again, asked again and cut
    at sixteen words, and the caller heard "7:40 and landing at 10:05."."""
    def delivery(order_id: str) -> str:
        """When an order arrives."""
        return f"order {order_id}: arrives Friday 11 December, 09:00-12:00, by courier"

    readout = ("Order 4471 shipped on Tuesday from the Rotterdam warehouse by courier, and "
               "it arrives on Friday 11 December between 09:00 and 12:00.")
    call = ToolCall(name="delivery", arguments={"order_id": "4471"})
    model = ScriptedChatModel([call, readout, call, readout])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(delivery)], learn_facts=False)
    await agent.arespond("has order 4471 shipped", synthesize=False, conversation_id="t")
    reply = await agent.arespond("has order 4471 shipped, again?", synthesize=False,
                                 conversation_id="t")
    assert reply.text == readout and len(model.calls) == 4


async def test_a_dropped_sentence_cut_at_its_peek_is_never_said_in_part():
    # A second answer that opens with the caller's question said back, longer than the
    # sixteen words read: what follows it starts after its end, not inside it.
    said = "has my order number 4471 from the garden shop with the two blue chairs shipped yet"
    model = ScriptedChatModel([
        CALL, "I'm sorry, but I can't assist with that.",
        said.capitalize() + " and when does it arrive at 10:05? It shipped on Tuesday."])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(order_status)], learn_facts=False)
    reply = await agent.arespond(said, synthesize=False)
    assert reply.text == "It shipped on Tuesday.", reply.text


async def test_the_callers_opening_said_back_after_a_tool_is_asked_again():
    """Tried at the SkyWay desk: after `transfer_to_human` answered, the 0.5B said the
    caller's first line back ("I flew out yesterday on booking SKW975 ... Surname Martin."),
    names and all; the caller's own line is never the answer, whatever the result holds."""
    def transfer(reservation_id: str) -> str:
        """Transfer the caller to a human agent."""
        return f"Transferred: a human agent will call Martin about {reservation_id} within 2 hours."

    opening = "I flew out on booking SKW975 and won't use the return. Surname Martin."
    call = ToolCall(name="transfer", arguments={"reservation_id": "SKW975"})
    model = ScriptedChatModel(["Which booking?", call, opening,
                               "A human agent will call you within 2 hours."])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(transfer)], learn_facts=False)
    await agent.arespond(opening, synthesize=False, conversation_id="h")
    reply = await agent.arespond("Then please put me through to a human.", synthesize=False,
                                 conversation_id="h")
    assert reply.text == "A human agent will call you within 2 hours.", reply.text


async def test_the_prompts_turn_note_read_back_after_a_tool_is_never_said():
    # Tried: the greedy 0.5B as the SkyWay desk, "Hi, booking SKW456, my name is Tom Berger.
    # When do I fly?": after the booking was read, its whole answer was the per-turn note.
    from agent.backends.llama_cpp.chatml_prompt import TURN_NOTE
    agent, model = agent_for(TURN_NOTE, "Your order 4471 shipped on Tuesday.")
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert reply.text == "Your order 4471 shipped on Tuesday."
    assert model.calls[-1][0][-1].content == NUDGE
    # Said again in the second answer too: the tool's own answer is read out instead.
    agent, model = agent_for(TURN_NOTE, TURN_NOTE)
    reply = await agent.arespond("has order 4471 shipped yet", synthesize=False)
    assert "(" not in reply.text and "shipped on Tuesday" in reply.text
