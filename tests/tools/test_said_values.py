"""Values the caller said, as the model failed to write them (tools.calls.said_values), and
the check that applies them before a call (tools.calls.schema_examples.check_copied_values).

Inputs tried are the 0.5B model's own calls heard through `stepvox chat --persona
skyway-agent`, and their neighbours: a misspelt city, an invented date, a translation.
"""

from __future__ import annotations

import datetime as dt

from tools.calls.said_values import (
    date_for_call, is_date_parameter, said_date, said_magnitude, said_spelling,
)
from tools.calls.schema_examples import check_copied_values

SUNDAY = dt.date(2026, 12, 6)

SEARCH = {
    "name": "search_direct_flights",
    "parameters": {"type": "object", "required": ["origin", "destination", "date"], "properties": {
        "origin": {"type": "string", "description": "Departure airport code or city, e.g. 'AMS' or 'Amsterdam'."},
        "destination": {"type": "string", "description": "Arrival airport code or city, e.g. 'BCN' or 'Barcelona'."},
        "date": {"type": "string", "description": "Travel date as YYYY-MM-DD, or 'today' / 'tomorrow'."},
    }},
}


def test_a_near_spelling_of_the_callers_word_is_their_word():
    said = "Are there direct flights from Amsterdam to Lisbon on Friday?"
    assert said_spelling("Lisboa", said) == "Lisbon"
    assert said_spelling("Amsterdm", said) == "Amsterdam"
    assert said_spelling("lisboa", said) == "Lisbon"  # the caller's spelling wins
    # too far (a translation), too short, a code, or already another argument's value
    assert said_spelling("Munchen", "flights to Munich") is None
    assert said_spelling("Rom", "flights to Rome") is None
    assert said_spelling("SK101", "is SK110 on time") is None
    assert said_spelling("Lisboa", said, taken=["Lisbon"]) is None
    # two words equally near: no guess
    assert said_spelling("Bern", "from Berne to Born") is None


def test_the_day_the_caller_named():
    assert said_date("any flights on friday", SUNDAY) == dt.date(2026, 12, 11)
    assert said_date("flights tomorrow morning", SUNDAY) == dt.date(2026, 12, 7)
    assert said_date("the day after tomorrow", SUNDAY) == dt.date(2026, 12, 8)
    assert said_date("anything today", SUNDAY) == SUNDAY
    assert said_date("on sunday", SUNDAY) == SUNDAY
    assert said_date("next sunday", SUNDAY) == dt.date(2026, 12, 13)
    assert said_date("on the 8th of December", SUNDAY) == dt.date(2026, 12, 8)
    assert said_date("January 3rd", SUNDAY) == dt.date(2027, 1, 3)  # passed this year
    assert said_date("on 2026-12-20", SUNDAY) == dt.date(2026, 12, 20)
    assert said_date("flights to lisbon", SUNDAY) is None
    assert said_date("friday or saturday", SUNDAY) is None  # two days: no guess
    assert said_date("on the 31st of February", SUNDAY) is None


def test_date_parameters_are_known_by_format_or_description():
    assert is_date_parameter({"type": "string", "format": "date"})
    assert is_date_parameter(SEARCH["parameters"]["properties"]["date"])
    assert not is_date_parameter({"type": "string", "description": "The city."})


def test_a_date_nobody_named_is_the_models_invention():
    spec = SEARCH["parameters"]["properties"]["date"]
    assert date_for_call("2023-05-01", spec, "flights on friday", "", SUNDAY) == ("2026-12-11", True)
    assert date_for_call("2023-05-01", spec, "flights to lisbon", "", SUNDAY) == (None, False)
    # named earlier in the conversation ("on friday"), confirmed now ("yes please")
    assert date_for_call("2026-12-11", spec, "yes please", "user: on friday", SUNDAY) == (
        "2026-12-11", True)
    assert date_for_call("tomorrow", spec, "flights to lisbon", "", SUNDAY) == ("tomorrow", True)
    # a day said in words this does not read: the model's value goes to the tool as written
    for said in ("flights on the eleventh", "sometime next week", "in three days"):
        assert date_for_call("2026-12-11", spec, said, "", SUNDAY) == ("2026-12-11", True), said


def test_the_check_repairs_the_whole_call_heard_in_chat():
    said = "Are there direct flights from Amsterdam to Lisbon on Friday?"
    out = check_copied_values(
        {"origin": "Amsterdam", "destination": "Lisboa", "date": "2023-05-01"}, SEARCH, said, said)
    assert out.arguments["origin"] == "Amsterdam"
    assert out.arguments["destination"] == "Lisbon"
    friday = said_date("friday", dt.date.today())
    assert out.arguments["date"] == friday.isoformat()
    assert set(out.repaired) == {"destination", "date"} and not out.unsaid


def test_a_required_date_nobody_named_is_asked_for():
    said = "any direct flights from amsterdam to barcelona"
    out = check_copied_values(
        {"origin": "Amsterdam", "destination": "Barcelona", "date": "2023-05-01"}, SEARCH, said, said)
    assert out.unsaid == {"date": "2023-05-01"}
    # a flight number's digits are no day
    out = check_copied_values(
        {"origin": "Amsterdam", "destination": "Barcelona", "date": "2023-05-01"}, SEARCH,
        "is there a seat on sk101 from amsterdam to barcelona", "is there a seat on sk101 from amsterdam to barcelona")
    assert out.unsaid == {"date": "2023-05-01"}
    optional = {**SEARCH, "parameters": {**SEARCH["parameters"], "required": ["origin", "destination"]}}
    out = check_copied_values(
        {"origin": "Amsterdam", "destination": "Barcelona", "date": "2023-05-01"}, optional, said, said)
    assert "date" not in out.arguments and out.dropped == {"date": "2023-05-01"}


ROUTE = {"name": "search_direct_flights", "parameters": {"type": "object",
         "required": ["origin", "destination"], "properties": {
             "origin": {"type": "string"}, "destination": {"type": "string"},
             "date": {"type": "string"}}}}


def test_a_route_written_the_wrong_way_round_is_turned_back():
    # Tried: "Are there any flights from Rome to Amsterdam tomorrow?" -> the 0.5B wrote
    # origin='Amsterdam', destination='Rome', and the caller heard about the other direction.
    said = "Are there any flights from Rome to Amsterdam tomorrow?"
    checked = check_copied_values({"origin": "Amsterdam", "destination": "Rome"}, ROUTE,
                                  said, said)
    assert checked.arguments == {"origin": "Rome", "destination": "Amsterdam"}
    # Right already, or said without from/to: left alone.
    assert check_copied_values({"origin": "Rome", "destination": "Amsterdam"}, ROUTE, said,
                               said).arguments == {"origin": "Rome", "destination": "Amsterdam"}
    said = "Rome and Amsterdam, any flights?"
    assert check_copied_values({"origin": "Amsterdam", "destination": "Rome"}, ROUTE, said,
                               said).arguments == {"origin": "Amsterdam", "destination": "Rome"}


def test_route_parameters_are_found_by_their_names():
    from tools.calls.said_values import route_ends

    def props(*names):
        return {"parameters": {"properties": {n: {} for n in names}}}

    assert route_ends(props("from_city", "to_city")) == ("from_city", "to_city")
    assert route_ends(props("departureAirport", "arrivalAirport")) == (
        "departureAirport", "arrivalAirport")
    assert route_ends(props("city", "date")) is None


DIVIDEND = {"name": "finance.calculate_quarterly_dividend_per_share", "parameters": {
    "type": "dict", "required": ["total_payout", "outstanding_shares"], "properties": {
        "total_payout": {"type": "integer", "description": "The total amount of dividends "
                         "paid out in USD"},
        "outstanding_shares": {"type": "integer", "description": "Total number of "
                               "outstanding shares"}}}}


def test_an_amount_written_with_the_wrong_count_of_zeros_is_the_amount_said():
    # Tried (BFCL v4 simple_python_128, as published): "What's the quarterly dividend per
    # share of a company with 100 million outstanding shares and total dividend payout of
    # 50 million USD?" -> total_payout=500000000 from the 0.5B.
    said = ("What's the quarterly dividend per share of a company with 100 million "
            "outstanding shares and total dividend payout of 50 million USD?")
    checked = check_copied_values({"total_payout": 500000000, "outstanding_shares": 100000000},
                                  DIVIDEND, said, said)
    assert checked.arguments == {"total_payout": 50000000, "outstanding_shares": 100000000}
    assert checked.repaired == {"total_payout": (500000000, 50000000)}
    # The bare figure of a worded amount, and "k" for money.
    assert said_magnitude(50, "a payout of 50 million", "") == 50000000
    assert said_magnitude(2000, "a budget of $20k", "") == 20000


def test_amounts_that_fit_no_said_amount_or_fit_two_are_left_alone():
    # Tried: a right value; a value no said amount fits; two said amounts that both fit;
    # a description that counts in millions; "5k" of a run, whose 5 may be kilometres.
    assert said_magnitude(50000000, "a payout of 50 million", "") is None
    assert said_magnitude(123, "a payout of 50 million", "") is None
    assert said_magnitude(5000000, "5 million now and 50 million later", "") is None
    assert said_magnitude(50, "a payout of 50 million", "Payout in millions of USD") is None
    assert said_magnitude(5, "I ran a 5k this morning", "") is None
    # The amount another argument already holds is theirs.
    assert said_magnitude(500000000, "50 million", "", taken=[50000000]) is None
