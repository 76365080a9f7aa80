"""SkyWay's booking records: the database file's schema, the tools' result models, and
loading the file (relative dates resolved against "now"). Used by `skyway_desk.desk`."""

from __future__ import annotations

import json
import re
from datetime import date as Date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

DEFAULT_DATA_PATH = Path(__file__).parent / "data" / "skyway_bookings.json"

# SkyWay policy: first checked bag per passenger 35 euros, second 60; a third is not
# priced in the policy, so only a human agent can sell one.
BAG_FEES_EUR = (35, 60)
MAX_BAGS_PER_PASSENGER = len(BAG_FEES_EUR)
FREE_CANCELLATION_HOURS = 24
# Changing a flight: free on Flex fares up to this many hours before departure, else this fee;
# always free when SkyWay cancelled the flight being replaced.
FREE_CHANGE_HOURS = 24
CHANGE_FEE_EUR = 45
INSURED_REASONS = frozenset({"health", "weather"})
REFUND_NOTE = "The refund goes back to the original payment method within 7 working days."

CancelReason = Literal["change_of_plan", "airline_cancelled", "health", "weather", "other"]
FlightState = Literal["scheduled", "delayed", "cancelled", "departed", "landed"]
_FLOWN = frozenset({"departed", "landed"})


class BookingNotFoundError(LookupError):
    """No reservation or flight with the id a caller gave."""


class CancellationRefusedError(ValueError):
    """The booking cannot be cancelled under the policy; the message says why."""


class IdentityNotConfirmedError(PermissionError):
    """The surname the caller gave is not a passenger's on the booking: nothing changes."""


class ChangeRefusedError(ValueError):
    """The flight change is not possible (route, seats, flown); the message says why."""


# --- the stored records (what the JSON file holds) -------------------------------------


class _Airport(BaseModel):
    code: str
    city: str


class _DatedFlight(BaseModel):
    """A flight number on a day: a fixed `date`, or `day_offset` days from the load day."""

    flight_number: str
    date: Date | None = None
    day_offset: int | None = None


class _Flight(_DatedFlight):
    origin: str
    destination: str
    departure: str  # HH:MM local time
    arrival: str
    status: FlightState
    delay_minutes: int = 0
    seats_left: dict[str, int]
    price_eur: dict[str, int]


class _Passenger(BaseModel):
    first_name: str
    last_name: str


class _Segment(_DatedFlight):
    """One flight of a reservation."""


class _Reservation(BaseModel):
    reservation_id: str
    status: Literal["confirmed", "cancelled"]
    booked_at: datetime | None = None
    booked_hours_ago: float | None = None
    passengers: list[_Passenger] = Field(min_length=1)
    cabin: Literal["economy", "business"]
    fare: Literal["basic", "flex"]
    insured: bool
    checked_bags: int = Field(ge=0)
    fare_paid_eur: int
    bag_fees_paid_eur: int = 0
    flights: list[_Segment] = Field(min_length=1)
    cancel_reason: str | None = None
    change_fees_paid_eur: int = 0


class _Handoff(BaseModel):
    """A call passed to a human agent: what it is about, and the booking if one was named."""

    topic: str
    reservation_id: str | None = None


class _Database(BaseModel):
    airports: list[_Airport]
    flights: list[_Flight]
    reservations: list[_Reservation]
    handoffs: list[_Handoff] = Field(default_factory=list)


# --- what the tools return -------------------------------------------------------------


class FlightOnDate(BaseModel):
    """One flight on one date, with its current status (what both tools below report)."""

    flight_number: str
    date: str  # YYYY-MM-DD
    origin: str
    destination: str
    departure: str
    arrival: str
    status: FlightState
    delay_minutes: int


class FlightSegment(FlightOnDate):
    """One flight of a reservation, with its current status."""

    cabin: str


class ReservationDetails(BaseModel):
    """What `get_reservation_details` returns."""

    reservation_id: str
    status: str  # confirmed | cancelled
    passengers: list[str]  # "First Last"
    cabin: str
    fare: str  # basic | flex
    insured: bool
    checked_bags: int
    booked_at: str  # ISO 8601, UTC
    fare_paid_eur: int
    bag_fees_paid_eur: int
    flights: list[FlightSegment]
    spoken: str  # a ready-to-say sentence


class FlightStatus(FlightOnDate):
    """What `get_flight_status` returns."""

    spoken: str  # a ready-to-say sentence


class FlightOption(BaseModel):
    flight_number: str
    departure: str
    arrival: str
    status: FlightState
    bookable: bool  # not cancelled, not yet departed, and a seat left in some cabin
    seats_left: dict[str, int]
    price_eur: dict[str, int]


class FlightSearchResult(BaseModel):
    """What `search_direct_flights` returns; `flights` may be empty."""

    origin: str
    destination: str
    date: str
    flights: list[FlightOption]
    spoken: str  # a ready-to-say sentence


class CancellationResult(BaseModel):
    """What `cancel_reservation` returns when the booking was cancelled."""

    reservation_id: str
    status: Literal["cancelled"]
    rule: str  # which policy rule allowed it
    refund_eur: int
    note: str
    spoken: str = ""  # a ready-to-say sentence


class RebookingResult(BaseModel):
    """What `rebook_flight` returns when the booking was moved to another flight."""

    reservation_id: str
    old_flight: str  # "SK101 on 2026-12-01"
    new_flight: str
    fee_eur: int
    note: str


class HandoffResult(BaseModel):
    """What `transfer_to_human` returns."""

    queued: bool
    position: int  # callers ahead in the queue, counting this one
    note: str
    spoken: str = ""  # a ready-to-say sentence


class BaggageUpdate(BaseModel):
    """What `add_checked_bag` returns."""

    reservation_id: str
    bags_added: int
    checked_bags: int  # total now on the booking
    fee_eur: int  # what the added bags cost
    note: str


# --- the tools ---------------------------------------------------------------------------



def _load(path: Path, now: datetime) -> _Database:
    """Read and check the file, and turn relative dates into absolute ones."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"cannot read the SkyWay booking database {str(path)!r}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the SkyWay booking database {str(path)!r} is not valid JSON: {exc}") from exc
    return _load_data(raw, now, str(path))


def _load_data(raw: dict, now: datetime, source: str = "(given data)") -> _Database:
    """Check database records given as plain data (a scenario's initial database) and turn
    relative dates into absolute ones."""
    try:
        db = _Database.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"the SkyWay booking database {source!r} is malformed: {exc}") from exc
    now = _aware(now)
    today = now.date()
    for item in [*db.flights, *(s for r in db.reservations for s in r.flights)]:
        if item.date is None:
            if item.day_offset is None:
                raise ValueError(f"flight {item.flight_number} in {source!r} has neither date nor day_offset")
            item.date = today + timedelta(days=item.day_offset)
    for res in db.reservations:
        if res.booked_at is None:
            res.booked_at = now - timedelta(hours=res.booked_hours_ago or 0.0)
        res.booked_at = _aware(res.booked_at)
    return db


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _spoken_date(day: Date | None) -> str:
    # English names whatever the machine's locale (strftime's %A would follow it).
    assert day is not None
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"


def _compact(text: str) -> str:
    # Spoken codes arrive as "s k w 1 2 3" or "SK-101".
    return re.sub(r"[\s\-_.]+", "", text).upper()
