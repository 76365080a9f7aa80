"""Values copied from a tool's own description (`tools.calls.schema_examples`): found, put back as
the caller said them, dropped, or held for the caller to say."""

from __future__ import annotations

from tools.calls.documented_values import documented_values
from tools.calls.schema_examples import (check_copied_values, examples_in, parameter_phrase,
                                         said_like, said_place, tool_examples)

LOUNGE = {
    "name": "find_lounge",
    "description": "Find the lounges at an airport.",
    "parameters": {"type": "object", "required": ["airport_code"], "properties": {
        "airport_code": {"type": "string",
                         "description": "The airport's IATA code, e.g. 'CDG'."},
        "terminal": {"type": "string", "description": "The terminal, e.g. 'T2'."},
        "tier": {"type": "string", "enum": ["gold", "silver"],
                 "description": "Loyalty tier, e.g. 'gold'."}}},
}
BOOKING = {
    "name": "cancel_booking",
    "description": "Cancel a booking.",
    "parameters": {"type": "object", "required": ["code", "surname"], "properties": {
        "code": {"type": "string", "description": "The 6-character booking code, e.g. 'QX7P2A'."},
        "surname": {"type": "string", "description": "Surname on the booking, e.g. 'Smith'."}}},
}


def test_examples_are_read_quoted_listed_and_unquoted():
    assert examples_in("The city, e.g. 'AMS' or 'Amsterdam'. Ask first.") == ["AMS", "Amsterdam"]
    assert examples_in("The city and state, e.g. San Francisco, CA") == ["San Francisco, CA"]
    assert examples_in('Flight number such as "SK101"; required.') == ["SK101"]
    # "like" without quotes is ordinary prose, not an example
    assert examples_in("Speak like a pirate.") == []
    assert set(tool_examples(LOUNGE)) == {"CDG", "T2", "gold"}


def test_a_copied_required_code_nobody_said_is_held():
    checked = check_copied_values({"airport_code": "CDG"}, LOUNGE,
                                  "When does the lounge at Oslo airport open?",
                                  "When does the lounge at Oslo airport open?")
    assert checked.unsaid == {"airport_code": "CDG"}


def test_the_code_the_caller_said_in_the_examples_shape_is_put_back():
    said = "any lounges in JFK?"
    checked = check_copied_values({"airport_code": "CDG"}, LOUNGE, said, said)
    assert checked.arguments == {"airport_code": "JFK"} and not checked.unsaid
    assert checked.repaired == {"airport_code": ("CDG", "JFK")}
    # letters-only shapes need the same capitals: "any" and "the" are no airports
    assert said_like("CDG", "are there any lounges at the airport") is None
    # with a digit, case is ignored and two spoken words may form the code
    assert said_like("QX7P2A", "my booking is ab 12cd") is None
    assert said_like("SK 482", "is flight sk 640 on time") == "SK640"


def test_a_copied_name_is_not_swapped_for_a_capitalised_word():
    # 'Smith' and 'Could' share a shape; the word that opens the sentence is no surname
    said = "Could you cancel booking ZZ9ABC?"
    assert said_like("Smith", said) is None
    assert said_like("Paris", "Hello, any flights there tonight?") is None
    checked = check_copied_values({"code": "ZZ9ABC", "surname": "Smith"}, BOOKING, said, said)
    assert checked.unsaid == {"surname": "Smith"} and not checked.repaired


def test_values_said_in_the_conversation_are_kept():
    conversation = "My booking is QX7P2A, surname Smith.\ncancel it please"
    checked = check_copied_values({"code": "QX7P2A", "surname": "Smith"}, BOOKING,
                                  conversation, "cancel it please")
    assert checked.arguments == {"code": "QX7P2A", "surname": "Smith"}
    assert not (checked.unsaid or checked.repaired or checked.dropped)


def test_an_unsaid_surname_is_held_and_an_optional_copy_dropped():
    checked = check_copied_values({"code": "ZZ9ABC", "surname": "Smith"}, BOOKING,
                                  "cancel ZZ9ABC", "cancel ZZ9ABC")
    assert checked.unsaid == {"surname": "Smith"}
    checked = check_copied_values({"airport_code": "OSL", "terminal": "T2", "tier": "gold"},
                                  LOUNGE, "lounges at OSL", "lounges at OSL")
    # 'T2' is optional: dropped; 'gold' is an enum option: the model's choice to make
    assert checked.arguments == {"airport_code": "OSL", "tier": "gold"}
    assert checked.dropped == {"terminal": "T2"}


def test_values_that_are_not_examples_are_left_alone():
    checked = check_copied_values({"airport_code": "LHR"}, LOUNGE, "lounges please",
                                  "lounges please")
    assert checked.arguments == {"airport_code": "LHR"} and not checked.unsaid


def test_parameter_phrase_asks_in_the_descriptions_words():
    spec = BOOKING["parameters"]["properties"]["code"]
    assert parameter_phrase("code", spec) == "the 6-character booking code"
    assert parameter_phrase("seat_id", {}) == "the seat id"
    # said to the caller, so their own things are "your" (the SkyWay desk's surname field)
    surname = {"description": "The caller's surname as they said it, e.g. 'Smith'. Required."}
    assert parameter_phrase("passenger_surname", surname) == "your surname"
    assert parameter_phrase("dob", {"description": "The patient's date of birth."}) == (
        "your date of birth")


SEARCH = {
    "name": "search_direct_flights",
    "parameters": {"type": "object", "required": ["origin", "destination"], "properties": {
        "origin": {"type": "string", "description": "Departure airport code or city, e.g. 'AMS' or 'Amsterdam'."},
        "destination": {"type": "string", "description": "Arrival airport code or city, e.g. 'LIS' or 'Lisbon'."},
    }},
}


def test_the_other_example_the_caller_said_is_the_one_they_meant():
    # skyway-agent, "Are there direct flights from Amsterdam to Lisbon tomorrow?": the 0.5B
    # wrote origin='AMS' (the description's first example), which nobody said; the caller
    # said 'Amsterdam', the same parameter's other example.
    said = "Are there direct flights from Amsterdam to Lisbon tomorrow?"
    out = check_copied_values({"origin": "AMS", "destination": "Lisbon"}, SEARCH, said, said)
    assert out.arguments == {"origin": "Amsterdam", "destination": "Lisbon"}
    assert out.repaired == {"origin": ("AMS", "Amsterdam")} and not out.unsaid


def test_the_models_own_spelling_of_a_said_example_is_put_back_as_said():
    # stepvox chat --persona skyway-agent, "Are there direct flights from Amsterdam to Lisbon
    # on Friday?": the 0.5B wrote destination='Lisboa' and the desk found no such airport.
    said = "Are there direct flights from Amsterdam to Lisbon on Friday?"
    out = check_copied_values({"origin": "Amsterdam", "destination": "Lisboa"}, SEARCH, said,
                              said)
    assert out.arguments == {"origin": "Amsterdam", "destination": "Lisbon"}
    assert out.repaired == {"destination": ("Lisboa", "Lisbon")}
    # a value the caller said is theirs, example or not; and with no example said, an
    # unsaid value is left for the tool to judge
    out = check_copied_values({"origin": "Amsterdam", "destination": "Porto"}, SEARCH,
                              "flights from amsterdam to porto", "flights from amsterdam to porto")
    assert out.arguments == {"origin": "Amsterdam", "destination": "Porto"} and not out.repaired
    out = check_copied_values({"origin": "Amsterdam", "destination": "Oporto"}, SEARCH,
                              "flights from amsterdam to porto", "flights from amsterdam to porto")
    assert out.arguments["destination"] == "Oporto" and not out.repaired
    # the example already given to another argument is not taken twice
    out = check_copied_values({"origin": "Lisbon", "destination": "Lisboa"}, SEARCH,
                              "from lisbon to lisbon?", "from lisbon to lisbon?")
    assert out.arguments == {"origin": "Lisbon", "destination": "Lisboa"}


def test_an_example_said_only_inside_another_word_is_not_taken():
    said = "Any flights from Amsterdamse Bos?"  # not the word 'Amsterdam'
    out = check_copied_values({"origin": "Amsterdam", "destination": "LIS"}, SEARCH, said, said)
    assert out.unsaid == {"destination": "LIS"}
    assert out.arguments["origin"] == "Amsterdam"  # no example put in for the word inside
    # 'AMS' does abbreviate "Amsterdamse" (the park is in Amsterdam): the model's own code
    out = check_copied_values({"origin": "AMS", "destination": "LIS"}, SEARCH, said, said)
    assert out.unsaid == {"destination": "LIS"}


STOCK = {
    "name": "get_stock_quote",
    "parameters": {"type": "object", "required": ["symbol"], "properties": {
        "symbol": {"type": "string", "description": "Ticker, currency pair or coin, e.g. 'AAPL'."},
    }},
}
CDG_LOUNGE = {
    "name": "find_lounge",
    "parameters": {"type": "object", "required": ["airport_code"], "properties": {
        "airport_code": {"type": "string", "description": "The airport's IATA code, e.g. 'CDG'."},
    }},
}


def test_an_example_that_abbreviates_what_the_caller_said_is_theirs():
    # honesty_eval, "what's apple stock trading at": the forced call wrote the example
    # 'AAPL', which is Apple's ticker, and the caller was asked for the ticker.
    said = "what's apple stock trading at"
    assert check_copied_values({"symbol": "AAPL"}, STOCK, said, said).arguments == {"symbol": "AAPL"}
    said = "when does the lounge at charles de gaulle open"
    out = check_copied_values({"airport_code": "CDG"}, CDG_LOUNGE, said, said)
    assert not out.unsaid and out.arguments == {"airport_code": "CDG"}
    # the example for another place is still a copy
    said = "when does the lounge at Oslo airport open"
    assert check_copied_values({"airport_code": "CDG"}, CDG_LOUNGE, said, said).unsaid == {
        "airport_code": "CDG"}
    said = "what's microsoft trading at"
    assert check_copied_values({"symbol": "AAPL"}, STOCK, said, said).unsaid == {"symbol": "AAPL"}


HANDOFF = {
    "name": "transfer_to_human",
    "description": "Transfer the caller to a human agent.",
    "parameters": {"type": "object", "required": ["topic"], "properties": {
        "topic": {"type": "string", "description":
                  "What the caller needs, in a few words, e.g. 'partly flown trip refund'."},
        "reservation_id": {"type": "string", "description": "The booking code, e.g. 'SKW123'."}}},
}


def test_a_copied_example_in_a_free_words_parameter_becomes_the_callers_words():
    # Tried: the SkyWay desk's hand-off after "Then please put me through to a human agent.":
    # the 0.5B model wrote the schema's example topic, and the caller was asked to say "what
    # the caller needs, in a few words".
    latest = "Then please put me through to a human agent."
    checked = check_copied_values({"topic": "partly flown trip refund"}, HANDOFF,
                                  "I won't use the return. Can I get a refund? " + latest, latest)
    assert checked.arguments == {"topic": latest} and not checked.unsaid
    # A code in the same tool is still held back when nobody said it.
    held = check_copied_values({"topic": "a refund", "reservation_id": "SKW123"}, HANDOFF,
                               latest, latest)
    assert "reservation_id" not in held.arguments and held.dropped == {"reservation_id": "SKW123"}


def test_a_parameter_with_listed_options_or_a_format_is_not_free_words():
    from tools.calls.schema_examples import asks_for_free_words

    assert asks_for_free_words("reason", {"type": "string"})
    assert asks_for_free_words("details", {"description": "Describe the problem."})
    assert not asks_for_free_words("reason", {"enum": ["health", "other"]})
    assert not asks_for_free_words("summary_date", {"format": "date", "description": "summary day"})
    assert not asks_for_free_words("airport_code", LOUNGE["parameters"]["properties"]["airport_code"])


BAGS = {
    "name": "add_checked_bag",
    "description": "Add checked bags to a booking: 35 euros for the first bag, 60 for the second.",
    "parameters": {"type": "object", "required": ["reservation_id"], "properties": {
        "reservation_id": {"type": "string", "description": "The booking code."},
        "count": {"type": "integer", "minimum": 1, "maximum": 10,
                  "description": "How many checked bags to add (23 kg each), e.g. 1."}}},
}


def test_a_number_taken_from_the_description_and_never_said_is_dropped():
    # Tried: "I need to bring a third checked bag on SKW357" -> count=35, the fee in the
    # tool's description (and no number the caller said: the 35 inside SKW357 is a code).
    said = "I need to bring a third checked bag on SKW357, surname Okafor."
    checked = check_copied_values({"reservation_id": "SKW357", "count": 35}, BAGS, said, said)
    assert checked.arguments == {"reservation_id": "SKW357"} and checked.dropped == {"count": 35}


def test_numbers_the_caller_said_stay_in_digits_or_words():
    for said, count in (("Add 2 bags to SKW357.", 2), ("Add two bags to SKW357.", 2),
                        ("Add a bag to SKW357.", 1), ("Add 35 bags to SKW357.", 35)):
        checked = check_copied_values({"reservation_id": "SKW357", "count": count}, BAGS,
                                      said, said)
        assert checked.arguments["count"] == count, said
    # A number the description does not hold is the model's own reading, left to the tool.
    said = "Add bags for all three of us to SKW357."
    assert check_copied_values({"reservation_id": "SKW357", "count": 3}, BAGS, said,
                               said).arguments["count"] == 3


def test_a_required_number_copied_from_the_description_is_asked_for():
    tool = {**BAGS, "parameters": {**BAGS["parameters"], "required": ["reservation_id", "count"]}}
    said = "Can I add bags to SKW357?"
    checked = check_copied_values({"reservation_id": "SKW357", "count": 60}, tool, said, said)
    assert checked.unsaid == {"count": 60}


def test_a_surname_said_in_so_many_words_replaces_the_copied_example():
    # Tried: "My surname is Lindqvist." answered with cancel(surname='Smith'), the example.
    for said, name in (("My surname is Lindqvist.", "Lindqvist"),
                       ("Cancel it, surname Okafor.", "Okafor"),
                       ("The last name is de Vries.", "de Vries")):
        checked = check_copied_values({"code": "QX7P2A", "surname": "Smith"}, BOOKING,
                                      "Cancel QX7P2A. " + said, said)
        assert checked.arguments["surname"] == name and not checked.unsaid, said
    # A lower-case word after "surname" is no name: still asked for.
    said = "what is the surname on it?"
    assert check_copied_values({"code": "QX7P2A", "surname": "Smith"}, BOOKING,
                               "Cancel QX7P2A. " + said, said).unsaid == {"surname": "Smith"}


LOOKUP = {
    "name": "get_booking",
    "description": "Read a booking.",
    "parameters": {"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "description": "The 6-character booking code."},
        "last_name": {"type": "string", "description": "The caller's surname, if said."},
        "hotel_name": {"type": "string", "description": "Hotel, if any."}}},
}


def test_a_surname_said_but_left_out_of_the_call_is_put_in():
    # Tried: the greedy 0.5B as the SkyWay desk, "My booking is SKW123, surname Smith. What
    # time is my flight?" -> get_reservation_details(reservation_id='SKW123'): the desk,
    # which checks a surname it is given, read Anna de Vries's booking to a Mr Smith.
    for said, name in (("My booking is QX7P2A, surname Smith. When do I fly?", "Smith"),
                       ("Booking QX7P2A, my name is Tom Berger.", "Berger"),
                       ("My name is Anna de Vries, booking QX7P2A.", "de Vries")):
        checked = check_copied_values({"code": "QX7P2A"}, LOOKUP, said, said)
        assert checked.arguments == {"code": "QX7P2A", "last_name": name}, said
    # No name said, a first name alone, or a name for a parameter about no person: left out.
    for said in ("When do I fly? Booking QX7P2A.", "My name is Tom, booking QX7P2A.",
                 "Booking QX7P2A, the name is Hilton."):
        assert check_copied_values({"code": "QX7P2A"}, LOOKUP, said, said).arguments == \
            {"code": "QX7P2A"}, said


STATUS = {
    "name": "get_flight_status",
    "description": "Status of a SkyWay flight.",
    "parameters": {"type": "object", "required": ["flight_number"], "properties": {
        "flight_number": {"type": "string", "description": "The flight number."},
        "date": {"type": "string", "description": "Day of the flight."}}},
}


def test_a_code_nobody_said_or_returned_is_asked_for():
    # Tried: "My flight was delayed by four hours last week. Do I get any compensation?" ->
    # get_flight_status(flight_number="SK641"): a real flight, but not the caller's.
    said = "My flight was delayed by four hours last week. Do I get any compensation?"
    checked = check_copied_values({"flight_number": "SK641"}, STATUS, said, said)
    assert checked.unsaid == {"flight_number": "SK641"}
    # Said (also as two words), or returned by an earlier tool: it stands.
    for conversation in ("Is SK 641 on time?", "Your booking: flight SK641 on Friday."):
        assert check_copied_values({"flight_number": "SK641"}, STATUS, conversation,
                                   "is it on time?").arguments == {"flight_number": "SK641"}
    # Words are no code: left to the tool to judge.
    assert not check_copied_values({"flight_number": "the morning one"}, STATUS, said,
                                   said).unsaid


# Functions written by others (BFCL v4 simple_python_212 and multiple_179, as published).
STOCK_INFO = {"name": "get_stock_info", "parameters": {"type": "dict", "required": [
    "company_name", "detail_level"], "properties": {
    "company_name": {"type": "string", "description": "The name of the company."},
    "detail_level": {"type": "string", "description": "Level of detail for stock "
                     "information. Can be 'summary' or 'detailed'."},
    "market": {"type": "string", "description": "The stock market of interest. Default is "
               "'NASDAQ'"}}}}
POKER = {"name": "poker_probability.full_house", "parameters": {"type": "dict", "required": [
    "deck_size", "hand_size"], "properties": {
    "deck_size": {"type": "integer", "description": "The size of the deck. Default is 52."},
    "hand_size": {"type": "integer", "description": "The size of the hand. Default is 5."}}}}


def test_a_choice_the_parameter_lists_in_prose_is_kept_as_chosen():
    # Tried: "Give me detail information about stocks of Apple Inc." -> 'detailed' was
    # "repaired" to the caller's near spelling 'detail', which the tool does not take.
    said = "Give me detail information about stocks of Apple Inc."
    args = {"company_name": "Apple Inc.", "detail_level": "detailed", "market": "NASDAQ"}
    checked = check_copied_values(args, STOCK_INFO, said, said)
    assert checked.arguments == args and not checked.repaired and not checked.unsaid
    assert documented_values(STOCK_INFO["parameters"]["properties"]["detail_level"]) == [
        "summary", "detailed"]


def test_a_documented_default_is_not_a_made_up_number():
    # Tried: "What is the probability of getting a full house in poker?": the 52-card deck
    # and 5-card hand are the defaults the author wrote, so the call is made.
    said = "What is the probability of getting a full house in poker?"
    checked = check_copied_values({"deck_size": 52, "hand_size": 5}, POKER, said, said)
    assert checked.arguments == {"deck_size": 52, "hand_size": 5} and not checked.unsaid
    # Another number from the description, not the default, is still asked for.
    assert check_copied_values({"deck_size": 5, "hand_size": 5}, POKER, said,
                               said).unsaid == {"deck_size": 5}


def test_an_example_after_must_be_is_still_an_example_not_a_choice():
    spec = {"type": "string", "description": "The airport. Must be a valid IATA code, e.g. 'CDG'."}
    assert documented_values(spec) == []
    assert documented_values({"description": "Sort order, one of: 'asc', 'desc'.",
                              "default": "asc"}) == ["asc", "desc", "asc"]
    assert documented_values({"description": "Include details (default: false)."}) == [False]


def test_the_schema_written_as_a_value_is_no_value():
    # Tried (BFCL v4 simple_python_227, the function simplified): "Get me strength and
    # weakness traits for ENFJ personality type." -> type='string', from the 0.5B and the
    # bare model alike. Calling with the schema's own word finds nothing; asking does.
    function = {"name": "get_personality_traits", "parameters": {"type": "dict", "required": [
        "type"], "properties": {
        "type": {"type": "string", "description": "The personality type."},
        "traits": {"type": "string", "description": "The traits to list."}}}}
    said = "Get me strength and weakness traits for ENFJ personality type."
    checked = check_copied_values({"type": "string", "traits": "array"}, function, said, said)
    assert checked.unsaid == {"type": "string"}        # required: the caller is asked
    assert checked.dropped == {"traits": "array"}      # optional: the tool's default
    # Said by the caller, it is their value.
    said = "How do I reverse a string in Python?"
    assert check_copied_values({"type": "string"}, function, said, said).arguments == {
        "type": "string"}


FORECAST = {
    "name": "forecast",
    "description": "Weather forecast for a city.",
    "parameters": {"type": "object", "required": ["city"], "properties": {
        "city": {"type": "string", "description": "City name, e.g. 'Lyon'."}}},
}


def test_a_copied_place_is_the_one_place_the_caller_named():
    # Tried: the 0.5B, made to call forecast for "What should I wear in Oslo today?", wrote
    # city='Lyon', the description's example.
    latest = "What should I wear in Oslo today?"
    checked = check_copied_values({"city": "Lyon"}, FORECAST, latest, latest)
    assert checked.arguments == {"city": "Oslo"} and checked.repaired == {"city": ("Lyon", "Oslo")}
    assert said_place("city", {}, "Is it cold in New York tonight?") == "New York"
    # A route's end takes what follows its own word only.
    assert said_place("destination", {}, "flights from Oslo to Rome") == "Rome"
    assert said_place("origin_city", {}, "flights from Oslo to Rome") == "Oslo"
    # Two places named, or none: nothing to put back, and the caller is asked.
    for said in ("Is it colder in Oslo or in Bergen?", "what should i wear today?"):
        checked = check_copied_values({"city": "Lyon"}, FORECAST, said, said)
        assert checked.unsaid == {"city": "Lyon"}, said
    # Not a place parameter: a capitalised word after "for" is not taken.
    assert said_place("surname", {"description": "Surname on the booking"}, "for Smith") is None
