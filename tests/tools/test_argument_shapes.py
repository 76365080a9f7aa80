"""Calls moved between look-alike tools by the shape of their value (tools.argument_shapes),
on the SkyWay desk's real tool schemas and through the embedded backend's call path."""

from __future__ import annotations

import pytest

from agent.backends.llama_cpp.calls import ground_call
from agent.chat_model import ChatMessage, ToolCall
from tools.argument_shapes import code_left_out, example_shapes, moved_call, repaired_codes, shape

skyway_desk = pytest.importorskip("skyway_desk", reason="the SkyWay desk plugin (examples/skyway_desk) is not installed")


@pytest.fixture(scope="module")
def desk():
    return [t.openai_schema() for t in skyway_desk.airline_desk_tools()]


def test_shapes():
    assert shape("SK640") == shape("sk 101") == "AA999"
    assert shape("SKW123") == "AAA999"
    assert example_shapes({"description": "The 6-character booking code, e.g. 'SKW123'."}) == {"AAA999"}
    assert example_shapes({"description": "The caller's surname, e.g. 'Smith'."}) == set()


def test_a_flight_number_sent_to_the_booking_tool_goes_to_the_flight_tool(desk):
    # "Has flight SK640 landed yet?" -> get_reservation_details(reservation_id="SK640").
    assert moved_call("get_reservation_details", {"reservation_id": "SK640"}, desk) == \
        ("get_flight_status", {"flight_number": "SK640"})


def test_a_booking_code_sent_to_the_flight_tool_goes_to_the_booking_tool(desk):
    # "What time does my flight leave? Booking SKW246." -> get_flight_status("SKW246").
    assert moved_call("get_flight_status", {"flight_number": "SKW246", "date": None}, desk) == \
        ("get_reservation_details", {"reservation_id": "SKW246"})


@pytest.mark.parametrize("name, arguments", [
    ("get_flight_status", {"flight_number": "SK101"}),  # already the right shape
    ("get_reservation_details", {"reservation_id": "SKW123"}),
    ("get_reservation_details", {"reservation_id": "banana"}),  # no digit: says nothing
    # A write is never the target of a move: cancel needs a surname the call does not hold.
    ("get_flight_status", {"flight_number": "SKW2468"}),  # matches no tool's examples
])
def test_calls_that_fit_or_fit_nowhere_stay(desk, name, arguments):
    assert moved_call(name, arguments, desk) is None


def test_the_embedded_call_path_moves_the_call(desk):
    messages = [ChatMessage(role="user", content="Has flight SK640 landed yet?")]
    call = ground_call(ToolCall(name="get_reservation_details",
                                arguments={"reservation_id": "SK640"}), messages, desk)
    assert call.name == "get_flight_status" and call.arguments == {"flight_number": "SK640"}


@pytest.mark.parametrize("written, said, expected", [
    ("SK123", "what's the status of booking skw123", "SKW123"),  # the 0.5B dropped a letter
    ("SKW123", "booking s k w 123 please", "SKW123"),  # said, letter by letter: kept
    ("SKW132", "cancel SKW132, surname de Vries", "SKW132"),  # as said, even if wrong
    ("SKW321", "what's the status of booking skw123", "SKW321"),  # other digits: not ours to guess
    ("SK101", "is SK101 or SK103 on time", "SK101"),
])
def test_a_miscopied_code_is_put_back_as_said(written, said, expected):
    assert repaired_codes({"reservation_id": written, "count": 2}, said) == \
        {"reservation_id": expected, "count": 2}


def test_a_miscopied_booking_code_reaches_the_booking_tool(desk):
    # Put back first, so the shape then says it is a booking code, not a flight number.
    messages = [ChatMessage(role="user", content="what's the status of booking skw123")]
    call = ground_call(ToolCall(name="get_reservation_details",
                                arguments={"reservation_id": "SK123"}), messages, desk)
    assert call.name == "get_reservation_details" and call.arguments == {"reservation_id": "SKW123"}


def test_a_code_the_chosen_tool_cannot_take_moves_the_call(desk):
    # Tried: the SkyWay scenario status-on-schedule after a desk description change, "When
    # does flight SK101 depart?" -> get_date_time({}).
    from tools.builtin.datetime import get_date_time  # the clock, offered beside the desk

    tools = [*desk, get_date_time.openai_schema()]
    assert code_left_out("get_date_time", {}, tools, "When does flight SK101 depart?") == \
        ("get_flight_status", {"flight_number": "SK101"})
    called = ground_call(ToolCall(name="get_date_time", arguments={}),
                         [ChatMessage(role="user", content="When does flight SK101 depart?")],
                         tools)
    assert called.name == "get_flight_status" and called.arguments["flight_number"] == "SK101"


@pytest.mark.parametrize("name, arguments, said", [
    # The call already uses the code.
    ("get_flight_status", {"flight_number": "SK101"}, "When does flight SK101 depart?"),
    # No code said, or two of them: nothing to go by.
    ("get_date_time", {}, "What time is it in Tokyo?"),
    ("get_date_time", {}, "Is SK101 or SK202 earlier?"),
    # The chosen tool takes codes of that shape itself (the model just left it out).
    ("get_reservation_details", {}, "Booking SKW123 please."),
])
def test_calls_that_stay_where_the_model_put_them(desk, name, arguments, said):
    from tools.builtin.datetime import get_date_time

    assert code_left_out(name, arguments, [*desk, get_date_time.openai_schema()], said) is None
