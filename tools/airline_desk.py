"""SkyWay Air's service-desk tools: the built-in `skyway-agent` persona's own tools.

They work over the demo airline's booking database, `tools/data/skyway_bookings.json`,
which ships with stepvox: SkyWay is fictional, so this small database is its real data,
not a stand-in for an outside service. `airline_desk_tools()` loads it into memory and
returns five tools sharing that one copy:

- `get_reservation_details`, `get_flight_status`, `search_direct_flights` only read;
- `cancel_reservation` and `add_checked_bag` change the booking, so they ask for the
  caller's consent first (`requires_approval`) and must not be retried blindly
  (`safe_to_repeat=False`).

The rules applied are SkyWay's policy (the persona's lore): checked bags cost 35 euros
for a passenger's first and 60 for the second; a booking may be cancelled with a full
refund when it was made in the last 24 hours, SkyWay cancelled one of its flights, it is
a business or Flex booking, or it is insured and the reason is health or weather. Trips
that have already been partly flown go to a human agent.

Dates in the file are relative to the day it is loaded (see its "about" field), so the
demo never goes stale. The module depends only on the tool system.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from pydantic import Field

from tools.airline_desk_service import AirlineDesk
from tools.airline_records import (
    DEFAULT_DATA_PATH, BaggageUpdate, CancelReason, BookingNotFoundError, CancellationRefusedError,
    CancellationResult, FlightOption, FlightSearchResult, FlightSegment, FlightStatus,
    ReservationDetails, _load,
)
from tools.tool import Tool

__all__ = [
    "BaggageUpdate",
    "BookingNotFoundError",
    "CancellationRefusedError",
    "CancellationResult",
    "DEFAULT_DATA_PATH",
    "FlightOption",
    "FlightSearchResult",
    "FlightSegment",
    "FlightStatus",
    "ReservationDetails",
    "airline_desk_tools",
]


# The booking code argument, the same in every tool that takes one.
ReservationId = Annotated[
    str, Field(min_length=1, description="The 6-character booking code, e.g. 'SKW123'.")
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
    desk = AirlineDesk(_load(data_path or DEFAULT_DATA_PATH, clock()), clock)

    def get_reservation_details(
        reservation_id: ReservationId,
    ) -> ReservationDetails:
        """Get a SkyWay booking: passengers, flights and their status, cabin, fare, bags, insurance."""
        with desk.lock:
            return desk.details(desk.reservation(reservation_id))

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
        reason: Annotated[
            CancelReason,
            Field(description="Why the caller cancels: 'change_of_plan', 'airline_cancelled', "
                  "'health', 'weather' or 'other'."),
        ],
    ) -> CancellationResult:
        """Cancel a whole SkyWay booking with a full refund, if the policy allows it.

        Refused, with the reason, when no policy rule applies or part of the trip was flown.
        Get the caller's explicit yes before calling.
        """
        with desk.lock:
            return desk.cancel(reservation_id, reason)

    def add_checked_bag(
        reservation_id: ReservationId,
        count: Annotated[
            int, Field(ge=1, le=10, description="How many checked bags to add (23 kg each), e.g. 1.")
        ] = 1,
    ) -> BaggageUpdate:
        """Add checked bags to a SkyWay booking: 35 euros for a passenger's first bag, 60 for the second.

        Get the caller's explicit yes to the fee before calling.
        """
        with desk.lock:
            return desk.add_bags(reservation_id, count)

    return [
        Tool(get_reservation_details, timeout_s=5.0),
        Tool(get_flight_status, timeout_s=5.0),
        Tool(search_direct_flights, timeout_s=5.0),
        Tool(cancel_reservation, timeout_s=5.0, requires_approval=True, safe_to_repeat=False),
        Tool(add_checked_bag, timeout_s=5.0, requires_approval=True, safe_to_repeat=False),
    ]
