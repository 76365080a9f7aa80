"""A tool's answer read out from its own fields (agent.honesty.result_readout): said when the
model twice only repeated the caller's question. Only what the tool returned may be said."""

from __future__ import annotations

import json

from agent.honesty.result_readout import ready_line, readout, unanswered
from tools.result import ToolResult


def result(content, *, error: bool = False, name: str = "lookup") -> ToolResult:
    text = content if isinstance(content, str) else json.dumps(content)
    return ToolResult(name=name, arguments={}, content=text, is_error=error, latency_ms=1.0)


BOOKING = {
    "reservation_id": "SKW123", "status": "confirmed", "passengers": ["Ana Lopez"],
    "cabin": "economy", "insured": False, "checked_bags": 1, "fare_paid_eur": 180,
    "flights": [{"flight_number": "SK101", "date": "2026-12-08", "origin": "AMS",
                 "destination": "LIS", "departure": "09:40", "status": "scheduled"}],
}


def test_a_record_without_a_spoken_line_is_read_field_by_field():
    line = readout([result(BOOKING)])
    assert line.startswith("Here is what I found: reservation id SKW123; status confirmed;")
    assert "insured no" in line and "fare paid eur 180" in line
    # the list comes after the record's own fields, its first item read
    assert line.index("flights") > line.index("cabin")
    assert "flight number SK101" in line and "departure 09:40" in line
    # every value said is one the tool returned
    for value in ("SKW123", "confirmed", "Ana Lopez", "economy", "AMS", "LIS", "2026-12-08"):
        assert value in line


def test_the_tools_own_spoken_line_wins():
    assert readout([result({**BOOKING, "spoken": "Booking SKW123 is confirmed."})]) == \
        "Booking SKW123 is confirmed."
    assert ready_line([result(BOOKING)]) is None


def test_errors_are_never_read_out_as_answers():
    # the booking tool failed after an earlier tool answered: the earlier answer is read
    failed = result("Booking ZZZ999 was not found.", error=True)
    assert readout([failed]) is None
    assert readout([result({"temperature_c": 4.5}), failed]) == \
        "Here is what I found: temperature c 4.5."


def test_a_note_is_read_after_the_facts():
    line = readout([result({"reservation_id": "SKW123", "status": "cancelled", "refund_eur": 180,
                            "note": "Full refund of 180 euros."})])
    assert line == ("Here is what I found: reservation id SKW123; status cancelled; "
                    "refund eur 180; Full refund of 180 euros.")


def test_plain_text_and_lists_of_values():
    assert readout([result("shipped on Tuesday")]) == "Here is what I found: shipped on Tuesday."
    assert readout([result({"open_days": ["Mon", "Tue"]})]) == \
        "Here is what I found: open days Mon, Tue."
    assert readout([result("")]) is None and readout([]) is None


def test_a_long_record_is_cut_to_a_spoken_length():
    many = readout([result({f"field_{i}": f"value {i}" for i in range(40)})])
    assert "field 7 value 7" in many and "field 8" not in many  # eight fields at most
    wordy = readout([result({f"field_{i}": f"a value of many words number {i}" for i in range(8)})])
    assert len(wordy.split()) <= 46 and wordy.endswith("...")


def test_chinese_reply_language():
    line = readout([result({"city": "东京", "open": True})], "zh")
    assert line == "我查到的是：city 东京；open 是。"


FLIGHT_LINE = ("Booking SKW123 for Anna de Vries is confirmed: economy, basic fare, 0 checked bags. "
               "Flight SK101 from Amsterdam to Lisbon on Tuesday 8 December is on schedule, "
               "leaving at 07:40 and landing at 10:05.")


def test_an_opening_without_the_lines_figures_or_names_gives_the_line():
    # skyway-agent, "When is my flight? My booking is SKW123": the 0.5B said this.
    booked = [result({**BOOKING, "spoken": FLIGHT_LINE})]
    assert unanswered("My flight is on schedule.", booked) == FLIGHT_LINE
    # figures, or a name from the line, are the model's own answer: kept
    for kept in ("It leaves at 7:40 in the morning.", "You fly on Tuesday.",
                 "Your flight goes to Lisbon.", "您的航班八点起飞。"):
        assert unanswered(kept, booked) is None, kept
    # "Flight" opens a sentence of the line: no name, so "my flight" is no answer
    assert unanswered("Your flight is fine.", booked) == FLIGHT_LINE
    # the caller's own code read back is no figure of the answer (heard in `stepvox chat`)
    said = "When is my flight? SKW123"
    assert unanswered("Your flight is on SKW123.", booked, said) == FLIGHT_LINE
    assert unanswered("Your flight SKW123 leaves at 07:40.", booked, said) is None
    assert unanswered("Your flight is on SKW123.", booked) is None  # nothing said: kept


def test_no_line_no_figures_or_a_record_without_a_line_leave_the_opening_alone():
    assert unanswered("It is shipped.", [result({"status": "shipped"})]) is None
    assert unanswered("It is fine.", [result({"spoken": "All is fine."})]) is None
    # A booking record with no line of its own beside the clock's line: not skipped.
    mixed = [result(BOOKING), result({"spoken": "It is 9:23."})]
    assert unanswered("Sure.", mixed) is None
    failed = [result({"spoken": "x 1"}, error=True)]
    assert unanswered("Sure.", failed) is None


def test_plain_sentences_and_several_worded_answers_are_read_in_order():
    # A plugin's tools return plain sentences. Tried with the example weather plugin: "How
    # cold does it feel in Oslo right now?" -> the forecast, feels_like twice, and the 0.5B
    # answered "Yes".
    forecast = result("Oslo on 2026-12-07: high 1 °C, low -4 °C, 10 % chance of rain.")
    felt = result("It feels like -4 degrees Celsius.")
    assert unanswered("Yes", [forecast, felt, felt]) == (
        "Oslo on 2026-12-07: high 1 °C, low -4 °C, 10 % chance of rain. "
        "It feels like -4 degrees Celsius.")
    two = [result({"spoken": "It is 9:23."}), result({"spoken": "It is 4 degrees."})]
    assert unanswered("Sure.", two) == "It is 9:23. It is 4 degrees."
    # Plain text is read only after an opening of three words at most: a summary is kept.
    reviews = result("5 stars: Battery lasts two days. 3 stars: The app is slow.")
    assert unanswered("People like the battery.", [reviews]) is None
    # A number in words is the model's own answer: kept.
    assert unanswered("It feels like minus four degrees.", [forecast, felt]) is None
    # Data, or a long text, is no line for people.
    assert unanswered("Yes", [result("[1, 2, 3]")]) is None
    assert unanswered("Yes", [result("word " * 60 + "1.")]) is None
