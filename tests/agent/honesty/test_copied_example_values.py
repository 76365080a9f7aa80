"""A call whose value is the tool description's example (agent.turn.provenance.hold_copied_values).

Asked "When does the lounge at Oslo airport open?", the 0.5B model wrote
`find_lounge(airport_code="CDG")`: 'CDG' is the example in the parameter's description. The
chat model is scripted here (it stands in for the 0.5B writing that call); the tools, the
turn graph and the MiniLM the honesty layer reads are real.
"""

from __future__ import annotations

from types import SimpleNamespace

from agent import ToolCall, VoiceAgent
from agent.chat_model import ToolCallEvent
from agent.events import ToolCallStartedEvent, ToolResultEvent
from fakes import ScriptedChatModel
from tools import Tool

LOOKED_UP: list[str] = []


def find_lounge(airport_code: str) -> str:
    """Find the airline's lounges and their opening hours at an airport.

    Args:
        airport_code: The airport's IATA code, e.g. 'CDG'.
    """
    LOOKED_UP.append(airport_code)
    return f"{airport_code}: SkyLounge, pier B, open 05:00-22:00"


def agent_with(model: ScriptedChatModel, embed=None) -> VoiceAgent:
    if embed is not None:
        model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the embedded backend's seam
    return VoiceAgent(model, decoder=None, tools=[Tool(find_lounge)], learn_facts=False)


async def test_the_examples_code_is_not_looked_up_and_the_caller_is_asked(embed):
    LOOKED_UP.clear()
    model = ScriptedChatModel([ToolCall(name="find_lounge", arguments={"airport_code": "CDG"}),
                               "The lounge at CDG opens at 5 am."])
    agent = agent_with(model, embed)
    events = [e async for e in agent.stream("When does the lounge at Oslo airport open?",
                                            synthesize=False)]
    reply = " ".join(getattr(e, "text", "") for e in events if type(e).__name__ == "SentenceEvent")
    assert LOOKED_UP == []  # nothing was looked up for Paris
    assert not any(isinstance(e, ToolCallStartedEvent) for e in events)
    assert "CDG" not in reply and "5 am" not in reply, reply
    assert "airport's IATA code" in reply and "could you tell me" in reply, reply


async def test_a_model_without_the_honesty_layer_is_told_to_ask():
    # A remote model (no MiniLM seam): the tool message tells it what happened.
    LOOKED_UP.clear()
    model = ScriptedChatModel([ToolCall(name="find_lounge", arguments={"airport_code": "CDG"}),
                               "Which airport are you flying from?"])
    reply = await agent_with(model).arespond("when does the lounge open", synthesize=False)
    assert LOOKED_UP == [] and reply.text == "Which airport are you flying from?"
    tool_message = next(m for m in model.calls[1][0] if m.role == "tool")
    assert "Ask the caller for" in tool_message.content
    # Not the value itself: in the conversation it would count as said on the next turn.
    assert "CDG" not in tool_message.content


async def test_the_copied_value_is_held_again_on_the_next_turn():
    # Tried: the SkyWay desk's cancel after "My surname is Lindqvist.": the 0.5B wrote the
    # schema's example surname in two turns running, and the second went through because the
    # first held result had written 'Smith' into the conversation.
    LOOKED_UP.clear()
    copied = ToolCall(name="find_lounge", arguments={"airport_code": "CDG"})
    model = ScriptedChatModel([copied, "Which airport?", copied, "Which airport, please?"])
    agent = agent_with(model)
    await agent.arespond("when does the lounge open", synthesize=False, conversation_id="c")
    second = [e async for e in agent.stream("yes, the lounge please", synthesize=False,
                                            conversation_id="c")]
    assert LOOKED_UP == []
    assert not any(isinstance(e, ToolCallStartedEvent) for e in second)


async def test_the_code_the_caller_said_is_looked_up_instead(embed):
    LOOKED_UP.clear()
    model = ScriptedChatModel([ToolCall(name="find_lounge", arguments={"airport_code": "CDG"}),
                               "The JFK lounge opens at 5 am."])
    reply = await agent_with(model, embed).arespond("any lounges in JFK?", synthesize=False)
    assert LOOKED_UP == ["JFK"], LOOKED_UP
    assert "JFK" in reply.text


async def test_the_example_is_fine_when_the_caller_said_it(embed):
    LOOKED_UP.clear()
    model = ScriptedChatModel([ToolCall(name="find_lounge", arguments={"airport_code": "CDG"}),
                               "The CDG lounge opens at 5 am."])
    await agent_with(model, embed).arespond("lounges at CDG please", synthesize=False)
    assert LOOKED_UP == ["CDG"]


def cancel_booking(code: str, surname: str) -> str:
    """Cancel a booking.

    Args:
        code: The booking code.
        surname: Surname on the booking, e.g. 'Smith'.
    """
    LOOKED_UP.append(f"{code}/{surname}")
    return f"booking {code} for {surname} cancelled"


async def test_the_call_held_for_a_value_is_made_when_the_caller_says_it():
    # Tried: "The code is SKW246." -> cancel(surname='Smith'), held and the caller asked;
    # "My surname is Lindqvist." -> the 0.5B only repeated its question. The held call is
    # made with the caller's value, without asking the model.
    LOOKED_UP.clear()
    copied = ToolCall(name="cancel_booking", arguments={"code": "SKW246", "surname": "Smith"})
    model = ScriptedChatModel([copied, "To look that up I need your surname; could you tell me?",
                               "Booking SKW246 is cancelled."])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(cancel_booking)], learn_facts=False)
    await agent.arespond("Cancel booking SKW246.", synthesize=False, conversation_id="b")
    assert LOOKED_UP == []
    reply = await agent.arespond("My surname is Lindqvist.", synthesize=False,
                                 conversation_id="b")
    assert LOOKED_UP == ["SKW246/Lindqvist"] and reply.text == "Booking SKW246 is cancelled."
    assert len(model.calls) == 3  # the held call was made without a model round


async def test_a_held_call_is_not_made_from_an_answer_that_does_not_say_the_value():
    LOOKED_UP.clear()
    copied = ToolCall(name="cancel_booking", arguments={"code": "SKW246", "surname": "Smith"})
    model = ScriptedChatModel([copied, "I need your surname.", "Could you tell me your surname?"])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(cancel_booking)], learn_facts=False)
    await agent.arespond("Cancel booking SKW246.", synthesize=False, conversation_id="b2")
    await agent.arespond("why do you need it?", synthesize=False, conversation_id="b2")
    assert LOOKED_UP == []


class BookingNotFoundError(LookupError):
    pass


def look_up_booking(code: str) -> str:
    """Look a booking up by its code.

    Args:
        code: The six-character booking code.
    """
    LOOKED_UP.append(code)
    if code != "SKW123":
        raise BookingNotFoundError(f"No booking with code {code!r}.")
    return f"booking {code}: confirmed, Amsterdam to Barcelona on 8 December"


async def test_a_call_that_found_nothing_is_made_again_with_the_callers_correction():
    # Tried: the SkyWay scenario "cancel-wrong-code-then-right": the caller misread the code
    # (SKW132), the desk found nothing, the caller said "I misread it. The code is SKW123."
    # and the 0.5B called another tool. The failed call is made again with the new code.
    LOOKED_UP.clear()
    model = ScriptedChatModel([ToolCall(name="look_up_booking", arguments={"code": "SKW132"}),
                               "Sorry, I couldn't find SKW132; could you check the code?",
                               "Booking SKW123 is confirmed."])
    agent = VoiceAgent(model, decoder=None, tools=[Tool(look_up_booking)], learn_facts=False)
    await agent.arespond("Look up my booking SKW132.", synthesize=False, conversation_id="c")
    reply = await agent.arespond("Oh sorry, I misread it. The code is SKW123.",
                                 synthesize=False, conversation_id="c")
    assert LOOKED_UP == ["SKW132", "SKW123"] and reply.text == "Booking SKW123 is confirmed."
    assert len(model.calls) == 3  # made again without a model round


async def test_a_failed_call_is_not_made_again_without_a_new_value():
    # Tried: a reply after the failure that gives no code ("what do you mean?"), and one that
    # says the same code again.
    for said in ("what do you mean?", "It is SKW132, I'm sure."):
        LOOKED_UP.clear()
        model = ScriptedChatModel([ToolCall(name="look_up_booking", arguments={"code": "SKW132"}),
                                   "Sorry, I couldn't find SKW132.", "I still can't find it."])
        agent = VoiceAgent(model, decoder=None, tools=[Tool(look_up_booking)], learn_facts=False)
        await agent.arespond("Look up booking SKW132.", synthesize=False, conversation_id="d")
        await agent.arespond(said, synthesize=False, conversation_id="d")
        assert LOOKED_UP == ["SKW132"], said


def _weather_agent(model: ScriptedChatModel, forecasts: list[str], embed=None) -> VoiceAgent:
    """The example plugin's feels_like and what_to_wear, run for real; the forecast stands in
    for Open-Meteo (the internet), with a December day in Oslo."""
    from stepvox_weather_plugin import feels_like, what_to_wear

    def forecast(city: str) -> str:
        """Weather forecast for a city: high and low temperature and chance of rain for a day.

        Args:
            city: City name, e.g. 'Lyon'.
        """
        forecasts.append(city)
        return f"{city} on 2026-12-07: high 1 °C, low -4 °C, 10 % chance of rain."

    if embed is not None:
        model.tool_prior = lambda: SimpleNamespace(embed=embed)  # the honesty layer reads it
    return VoiceAgent(model, decoder=None, tools=[Tool(forecast), feels_like, what_to_wear],
                      learn_facts=False)


async def test_a_reading_another_tool_gives_is_fetched_not_made_up(installed_example):
    # Tried, with examples/weather_plugin installed: "What should I wear in Oslo today?" ->
    # the 0.5B wrote what_to_wear(feels_like_c=50), and the caller heard "Wear light clothes."
    # A remote model (no forced calls) is told which tool to call first.
    forecasts: list[str] = []
    model = ScriptedChatModel([
        ToolCall(name="what_to_wear", arguments={"feels_like_c": 50}),
        ToolCall(name="forecast", arguments={"city": "Oslo"}),
        ToolCall(name="what_to_wear", arguments={"feels_like_c": 1}),
        "Wear a winter coat, hat and gloves."])
    events = [e async for e in _weather_agent(model, forecasts).stream(
        "What should I wear in Oslo today?", synthesize=False)]
    started = [e.call for e in events if isinstance(e, ToolCallStartedEvent)]
    assert [(c.name, c.arguments) for c in started] == [
        ("forecast", {"city": "Oslo"}), ("what_to_wear", {"feels_like_c": 1})]
    told = [m.content for m in model.calls[1][0] if m.role == "tool"]
    assert "Call tool 'forecast' first" in told[0] and "50" not in told[0]
    assert [c[2] for c in model.calls] == ["auto"] * 4  # the held round was given back


async def test_a_backend_that_can_be_made_to_is_made_to_call_the_giving_tool(installed_example):
    # The embedded backend writes one tool's call when made to (tool_choice="call:NAME"): after
    # the held call, the forecast is its next call, then the held tool again, now with a
    # figure returned; the held round does not count against the bound on tool rounds.
    forecasts: list[str] = []
    model = ScriptedChatModel([
        ToolCall(name="what_to_wear", arguments={"feels_like_c": 50}),
        ToolCall(name="forecast", arguments={"city": "Oslo"}),
        ToolCall(name="what_to_wear", arguments={"feels_like_c": -4}),
        "Wear a winter coat, hat and gloves."])
    model.supports_forced_calls = True
    events = [e async for e in _weather_agent(model, forecasts).stream(
        "What should I wear in Oslo today?", synthesize=False)]
    assert [c[2] for c in model.calls] == ["auto", "call:forecast", "call:what_to_wear", "auto"]
    results = [e.result.content for e in events if isinstance(e, ToolResultEvent)]
    assert forecasts == ["Oslo"] and results[-1] == "Wear a winter coat, hat and gloves."


async def test_a_reading_that_was_not_got_is_not_guessed(installed_example, embed):
    # The model answers after the held call instead of getting the forecast: its guess is
    # not said, and the caller hears what could not be found out.
    model = ScriptedChatModel([
        ToolCall(name="what_to_wear", arguments={"feels_like_c": 50}),
        "Wear light clothes."])
    reply = await _weather_agent(model, [], embed).arespond(
        "What should I wear in Oslo today?", synthesize=False)
    assert "light clothes" not in reply.text.lower(), reply.text
    assert "couldn't find out the felt temperature" in reply.text, reply.text
