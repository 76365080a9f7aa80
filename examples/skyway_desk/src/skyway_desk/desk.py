"""SkyWay Air's service-desk tools: the built-in `skyway-agent` persona's own tools.

They work over the demo airline's booking database, `examples/skyway_desk/src/skyway_desk/data/skyway_bookings.json`,
which ships with stepvox: SkyWay is fictional, so this small database is its real data,
not a stand-in for an outside service. `airline_desk_tools()` loads it into memory and
returns seven tools sharing that one copy:

- `get_reservation_details`, `get_flight_status`, `search_direct_flights` only read;
- `cancel_reservation`, `add_checked_bag` and `rebook_flight` change the booking, so they
  ask for the caller's consent first (`requires_approval`), must not be retried blindly
  (`safe_to_repeat=False`), and take the caller's surname: a change happens only when it
  matches a passenger on the booking (SkyWay identifies callers by code and surname);
- `transfer_to_human` queues the call for a human agent (recorded in the database).

`open_airline_desk()` gives the same tools with the database itself, which scenario
evaluations (`stepvox eval scenarios`) start from given records and compare afterwards.

The rules applied are SkyWay's policy (the persona's lore): checked bags cost 35 euros
for a passenger's first and 60 for the second; a booking may be cancelled with a full
refund when it was made in the last 24 hours, SkyWay cancelled one of its flights, it is
a business or Flex booking, or it is insured and the reason is health or weather. Trips
that have already been partly flown go to a human agent. A flight change keeps the route
and costs 45 euros, free on Flex fares more than 24 hours before departure and free when
SkyWay cancelled the flight being replaced.

Dates in the file are relative to the day it is loaded (see its "about" field), so the
demo never goes stale. The module depends only on the tool system.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from skyway_desk.changes import hand_off, rebook, snapshot
from skyway_desk.service import AirlineDesk
from skyway_desk.records import (
    DEFAULT_DATA_PATH, BaggageUpdate, CancelReason, BookingNotFoundError, CancellationRefusedError,
    CancellationResult, ChangeRefusedError, FlightOption, FlightSearchResult, FlightSegment,
    FlightStatus, HandoffResult, IdentityNotConfirmedError, RebookingResult, ReservationDetails,
    _aware, _load, _load_data,
)
from tools.tool import Tool

__all__ = [
    "BaggageUpdate",
    "BookingNotFoundError",
    "CancellationRefusedError",
    "CancellationResult",
    "ChangeRefusedError",
    "DEFAULT_DATA_PATH",
    "AirlineDeskSession",
    "FlightOption",
    "FlightSearchResult",
    "FlightSegment",
    "FlightStatus",
    "HandoffResult",
    "IdentityNotConfirmedError",
    "RebookingResult",
    "ReservationDetails",
    "airline_desk_tools",
    "open_airline_desk",
    "scenario_desk",
]


# The booking code argument, the same in every tool that takes one.
ReservationId = Annotated[
    str, Field(min_length=1, description="The 6-character booking code, e.g. 'SKW123'.")
]
# The caller's surname, as they said it: required by every tool that changes a booking.
LastName = Annotated[
    # The example is no passenger's name: the 0.5B model once copied the example ('de Vries',
    # SKW123's passenger) into a call the caller had given no surname for, and the desk let
    # it through (bench/README.md, "Customer-service scenarios").
    str, Field(min_length=1, description="The caller's surname as they said it, e.g. 'Smith'. "
               "Ask for it; never take it from the booking details.")
]

# The same surname on a look-up: optional (the booking code alone finds a booking), checked
# when the caller said one.
SaidLastName = Annotated[
    str | None, Field(description="The caller's surname, only if they said it in this "
                      "call. Omit when they did not.")
]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def airline_desk_tools(
    data_path: Path | None = None, *, clock: Callable[[], datetime] = _utc_now
) -> list[Tool]:
    """SkyWay's service-desk tools over one in-memory copy of the booking database.

    The database is read from `data_path` (default: the demo database shipped with
    stepvox) once, when this is called; a missing or malformed file raises here, not at
    the first call. Every tool of one call shares that copy, so a cancellation is seen by
    a later `get_reservation_details` from the same call. Writes (cancellations, bags)
    change only that in-memory copy, never the file: each call of this function starts
    again from the file. `clock` gives "now" (tests pass a fixed one); relative dates in
    the file are resolved against it at load time.
    """
    return open_airline_desk(data_path, clock=clock).tools


@dataclass
class AirlineDeskSession:
    """The desk's tools and the one in-memory database they share."""

    tools: list[Tool]
    desk: AirlineDesk
    load_day: Date

    def snapshot(self) -> dict[str, Any]:
        """The database now, as plain nested data keyed by record id."""
        with self.desk.lock:
            return snapshot(self.desk, self.load_day)


def open_airline_desk(
    data: Path | dict | None = None, *, clock: Callable[[], datetime] = _utc_now
) -> AirlineDeskSession:
    """The desk over `data`: a database file (default: the shipped demo database) or its
    records as a dict (a scenario's initial database). Same rules as `airline_desk_tools`."""
    now = clock()
    db = _load_data(data, now) if isinstance(data, dict) else _load(data or DEFAULT_DATA_PATH, now)
    desk = AirlineDesk(db, clock)
    return AirlineDeskSession(_desk_tools(desk), desk, _aware(now).date())


def _desk_tools(desk: AirlineDesk) -> list[Tool]:

    def get_reservation_details(
        reservation_id: ReservationId,
        last_name: SaidLastName = None,
    ) -> ReservationDetails:
        """Get a SkyWay booking: passengers, flights and their status, cabin, fare, bags, insurance."""
        with desk.lock:
            # A surname the caller gave must be on the booking: read back anyway, a wrong
            # surname would tell a stranger whose booking the code is.
            res = desk.reservation(reservation_id) if last_name is None \
                else desk.confirmed(reservation_id, last_name, looking_up=True)
            return desk.details(res)

    def get_flight_status(
        flight_number: Annotated[
            str, Field(min_length=1, description="SkyWay flight number, e.g. 'SK101'.")
        ],
        date: Annotated[
            str | None,
            Field(description="Date of the flight as YYYY-MM-DD, or 'today' / 'tomorrow'. "
                  "Omit for the next flight with this number."),
        ] = None,
    ) -> FlightStatus:
        """Get the status of a SkyWay flight on a date: on schedule, delayed, cancelled or landed."""
        with desk.lock:
            return desk.flight_status(flight_number, date)

    def search_direct_flights(
        origin: Annotated[
            str, Field(min_length=1, description="Departure airport code or city, e.g. 'AMS' or 'Amsterdam'.")
        ],
        destination: Annotated[
            str, Field(min_length=1, description="Arrival airport code or city, e.g. 'BCN' or 'Barcelona'.")
        ],
        date: Annotated[
            str, Field(min_length=1, description="Travel date as YYYY-MM-DD, or 'today' / 'tomorrow'.")
        ],
    ) -> FlightSearchResult:
        """Search SkyWay's direct flights between two airports on a date, with seats left and prices."""
        with desk.lock:
            return desk.search(origin, destination, date)

    def cancel_reservation(
        reservation_id: ReservationId,
        last_name: LastName,
        reason: Annotated[
            CancelReason,
            Field(description="Why the caller cancels: 'health' (the caller or a companion "
                  "is ill or injured), 'weather' (a storm, snow), 'airline_cancelled' (SkyWay "
                  "cancelled the flight), 'change_of_plan' (their plans changed) or 'other'."),
        ],
    ) -> CancellationResult:
        """Cancel a whole SkyWay booking with a full refund, if the policy allows it.

        Refused, with the reason, when no policy rule applies or part of the trip was flown.
        Get the caller's explicit yes before calling.
        """
        with desk.lock:
            return desk.cancel(reservation_id, last_name, reason)

    def add_checked_bag(
        reservation_id: ReservationId,
        last_name: LastName,
        count: Annotated[
            int, Field(ge=1, le=10, description="How many checked bags to add (23 kg each), e.g. 1.")
        ] = 1,
    ) -> BaggageUpdate:
        """Add checked bags to a SkyWay booking: 35 euros for a passenger's first bag, 60 for the second.

        Get the caller's explicit yes to the fee before calling.
        """
        with desk.lock:
            return desk.add_bags(reservation_id, last_name, count)

    def rebook_flight(
        reservation_id: ReservationId,
        last_name: LastName,
        new_flight_number: Annotated[
            str, Field(min_length=1, description="The SkyWay flight to move to, e.g. 'SK641'.")
        ],
        new_date: Annotated[
            str | None, Field(description="Date of the new flight as YYYY-MM-DD, or 'today' / "
                              "'tomorrow'. Omit for the flight's next departure.")
        ] = None,
    ) -> RebookingResult:
        """Move a SkyWay booking to another flight on the same route: 45 euros, free on Flex fares.

        Search the direct flights first. Get the caller's explicit yes to the fee before calling.
        """
        with desk.lock:
            return rebook(desk, reservation_id, last_name, new_flight_number, new_date)

    def transfer_to_human(
        topic: Annotated[
            str, Field(min_length=1, description="What the caller needs, in a few words, e.g. 'partly flown trip refund'.")
        ],
        reservation_id: Annotated[
            str | None, Field(description="The booking code, if the caller gave one.")
        ] = None,
    ) -> HandoffResult:
        """Transfer the caller to a human SkyWay agent, when they ask for a person or need what you cannot do."""
        with desk.lock:
            return hand_off(desk, topic, reservation_id)

    return [
        # The third example gives a surname, as a caller may on a look-up: without it, "Booking
        # SKW123, last name de Vries. When is my flight?" lay nearer cancel_reservation's
        # examples (which all give one) and was taken for a cancellation.
        Tool(get_reservation_details, timeout_s=5.0, examples=[
            "What's on my booking SKW456?", "Can you check my reservation, the code is SKW123?",
            "When do I fly? Booking SKW246, my surname is Lindqvist."]),
        Tool(get_flight_status, timeout_s=5.0, examples=[
            "Is flight SK512 on time?", "What's the status of SK330 tomorrow?"]),
        Tool(search_direct_flights, timeout_s=5.0, examples=[
            "Are there flights from Amsterdam to Barcelona on Friday?",
            "What other flights go from Rome to Amsterdam?"]),
        Tool(cancel_reservation, timeout_s=5.0, requires_approval=True, safe_to_repeat=False,
             examples=["Please cancel my booking SKW123, my surname is de Vries.",
                       "I want to cancel reservation SKW456, name Berger."]),
        Tool(add_checked_bag, timeout_s=5.0, requires_approval=True, safe_to_repeat=False,
             examples=["Add a checked bag to booking SKW123, surname de Vries.",
                       "I need one more suitcase on SKW456, my name is Berger."]),
        Tool(rebook_flight, timeout_s=5.0, requires_approval=True, safe_to_repeat=False,
             examples=["Move my booking SKW864 to flight SK641 instead, surname Nowak.",
                       "Can you change me to the later flight SK641?"]),
        Tool(transfer_to_human, timeout_s=5.0, examples=[
            "I want to speak to a real person.", "Put me through to a human agent, please.",
            "Transfer me to someone, please.", "Can I talk to somebody else about this?"]),
    ]


def scenario_desk(data: dict | None, now: datetime) -> AirlineDeskSession:
    """The database adapter for scenario evaluations (`stepvox eval scenarios`): the desk
    over the scenario's records (None: the shipped database) with the clock stopped at
    `now`, so every turn of a simulated call sees the same day."""
    return open_airline_desk(data, clock=lambda: now)
