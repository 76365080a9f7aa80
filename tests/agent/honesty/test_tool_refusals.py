"""A tool that refused for a stated reason, a call that did not validate, and a broken
service each get their own sentence (agent.honesty.tool_refusals, agent.honesty.replies).

The results are real ones: the SkyWay desk's own errors as `Tool.invoke` reports them, a
pydantic validation failure of a real tool, and what failing services raise."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field

from agent.honesty.knowledge_gaps import GapVerdict
from agent.honesty.replies import failure_kind, failure_sentence
from agent.honesty.tool_refusals import advised_tool, invalid_argument, refusal_reason
from tools import Tool, ToolResult

THAT = GapVerdict(needs_outside_data=False, probability=0.1, topic="bookings", kind="private",
                  phrase="your booking")


def failed(content: str) -> ToolResult:
    return ToolResult(name="desk", arguments={}, content=content, is_error=True, latency_ms=1.0)


IDENTITY = ("IdentityNotConfirmedError: The surname 'de Vries' does not match a passenger on "
            "booking SKW246, so nothing was changed. Ask the caller to spell the surname.")


def test_a_stated_refusal_is_said_as_the_reason():
    assert failure_kind(failed(IDENTITY)) == "refused"
    sentence = failure_sentence(failed(IDENTITY), THAT, "en")
    assert sentence == ("Sorry, the surname de Vries does not match a passenger on booking "
                        "SKW246, so nothing was changed.")
    assert "Ask the caller" not in sentence  # the line for the model is not read out
    bags = failed("ValueError: Booking SKW123 is cancelled; bags cannot be added to it.")
    assert failure_sentence(bags, THAT, "en") == \
        "Sorry, booking SKW123 is cancelled; bags cannot be added to it."


@pytest.mark.parametrize("content", [
    "ConnectionError: the baggage service could not be reached",
    "RuntimeError: Backend down",
    "HTTPStatusError: Server error '503 Service Unavailable' for url 'https://api.example'",
    "ValueError: invalid literal for int() with base 10: 'abc'",  # a programmer's error
    "KeyError: 'flight'",
    "PolicyError: Please call +1 555 010 9999 to finish this change.",  # a number to call
    "PolicyError: " + "Word " * 40 + "end.",  # too long to be one spoken reason
])
def test_a_broken_service_or_unsafe_text_keeps_the_generic_sentence(content):
    assert refusal_reason(failed(content)) is None
    assert failure_kind(failed(content)) == "error"
    assert "isn't working" in failure_sentence(failed(content), THAT, "en")


def add_checked_bag(reservation_id: str, count: Annotated[int, Field(ge=1, le=10)] = 1) -> str:
    """Add checked bags to a booking."""
    return "added"


async def test_a_call_that_did_not_validate_asks_for_that_value_again():
    # "35 euros" in the request became count=35 on the 0.5B model.
    result = await Tool(add_checked_bag).invoke({"reservation_id": "SKW357", "count": 35})
    assert result.is_error and invalid_argument(result) == "count"
    assert failure_kind(result) == "invalid_arguments"
    assert failure_sentence(result, THAT, "en") == \
        "Sorry, I didn't get the count right; could you tell me again?"


def test_other_languages_keep_their_generic_sentences():
    assert failure_sentence(failed(IDENTITY), THAT, "zh").startswith("抱歉")


def test_a_long_reason_is_said_up_to_its_first_colon():
    policy = failed("CancellationRefusedError: Booking SKW357 cannot be cancelled under SkyWay "
                    "policy: it is a Basic economy fare booked more than 24 hours ago, SkyWay has "
                    "not cancelled its flights, and the reason is not covered by its travel "
                    "insurance (health or weather only). Nothing was changed.")
    assert failure_sentence(policy, THAT, "en") == \
        "Sorry, booking SKW357 cannot be cancelled under SkyWay policy."


@pytest.fixture(scope="module")
def desk_schemas():
    desk = pytest.importorskip("skyway_desk", reason="the SkyWay desk plugin is not installed")
    return [t.openai_schema() for t in desk.airline_desk_tools()]


def test_the_tools_advice_becomes_an_offer_and_is_not_read_out(embed, desk_schemas):
    # The desk's own refusal of a partly flown trip (skyway_desk.service).
    flown = failed("CancellationRefusedError: Booking SKW975 cannot be cancelled here: part of "
                   "the trip has already been flown. Offer to transfer the caller to a human agent.")
    flown = flown.model_copy(update={"name": "cancel_reservation"})
    advised = advised_tool(flown, embed, desk_schemas)
    assert advised is not None and advised["function"]["name"] == "transfer_to_human"
    sentence = failure_sentence(flown, THAT, "en", advised)
    assert sentence == ("Sorry, booking SKW975 cannot be cancelled here: part of the trip has "
                        "already been flown; I can transfer you to a human SkyWay agent if you like.")
    # Advice that names no tool's job adds nothing.
    identity = failed(IDENTITY).model_copy(update={"name": "cancel_reservation"})
    assert advised_tool(identity, embed, desk_schemas) is None
