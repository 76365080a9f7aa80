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

import json
import re
import threading
from collections.abc import Callable
from datetime import date as Date, datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationError

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

DEFAULT_DATA_PATH = Path(__file__).parent / "data" / "skyway_bookings.json"

# SkyWay policy: first checked bag per passenger 35 euros, second 60; a third is not
# priced in the policy, so only a human agent can sell one.
BAG_FEES_EUR = (35, 60)
MAX_BAGS_PER_PASSENGER = len(BAG_FEES_EUR)
FREE_CANCELLATION_HOURS = 24
INSURED_REASONS = frozenset({"health", "weather"})
REFUND_NOTE = "The refund goes back to the original payment method within 7 working days."

CancelReason = Literal["change_of_plan", "airline_cancelled", "health", "weather", "other"]
FlightState = Literal["scheduled", "delayed", "cancelled", "departed", "landed"]
_FLOWN = frozenset({"departed", "landed"})


class BookingNotFoundError(LookupError):
    """No reservation or flight with the id a caller gave."""


class CancellationRefusedError(ValueError):
    """The booking cannot be cancelled under the policy; the message says why."""


# --- the stored records (what the JSON file holds) -------------------------------------


class _Airport(BaseModel):
    code: str
    city: str


class _Flight(BaseModel):
    flight_number: str
    date: Date | None = None
    day_offset: int | None = None
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


class _Segment(BaseModel):
    flight_number: str
    date: Date | None = None
    day_offset: int | None = None


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


class _Database(BaseModel):
    airports: list[_Airport]
    flights: list[_Flight]
    reservations: list[_Reservation]


# --- what the tools return -------------------------------------------------------------


class FlightSegment(BaseModel):
    """One flight of a reservation, with its current status."""

    flight_number: str
    date: str  # YYYY-MM-DD
    origin: str
    destination: str
    departure: str
    arrival: str
    status: FlightState
    delay_minutes: int
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


class FlightStatus(BaseModel):
    """What `get_flight_status` returns."""

    flight_number: str
    date: str
    origin: str
    destination: str
    departure: str
    arrival: str
    status: FlightState
    delay_minutes: int
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


class CancellationResult(BaseModel):
    """What `cancel_reservation` returns when the booking was cancelled."""

    reservation_id: str
    status: Literal["cancelled"]
    rule: str  # which policy rule allowed it
    refund_eur: int
    note: str


class BaggageUpdate(BaseModel):
    """What `add_checked_bag` returns."""

    reservation_id: str
    bags_added: int
    checked_bags: int  # total now on the booking
    fee_eur: int  # what the added bags cost
    note: str


# --- the tools ---------------------------------------------------------------------------


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
    desk = _Desk(_load(data_path or DEFAULT_DATA_PATH, clock()), clock)

    def get_reservation_details(
        reservation_id: Annotated[
            str, Field(min_length=1, description="The 6-character booking code, e.g. 'SKW123'.")
        ],
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
        reservation_id: Annotated[
            str, Field(min_length=1, description="The 6-character booking code, e.g. 'SKW123'.")
        ],
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
        reservation_id: Annotated[
            str, Field(min_length=1, description="The 6-character booking code, e.g. 'SKW123'.")
        ],
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


# --- the database and the rules ------------------------------------------------------------


def _load(path: Path, now: datetime) -> _Database:
    """Read and check the file, and turn relative dates into absolute ones."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"cannot read the SkyWay booking database {str(path)!r}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"the SkyWay booking database {str(path)!r} is not valid JSON: {exc}") from exc
    try:
        db = _Database.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(f"the SkyWay booking database {str(path)!r} is malformed: {exc}") from exc
    now = _aware(now)
    today = now.date()
    for item in [*db.flights, *(s for r in db.reservations for s in r.flights)]:
        if item.date is None:
            if item.day_offset is None:
                raise ValueError(f"flight {item.flight_number} in {str(path)!r} has neither date nor day_offset")
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


class _Desk:
    """The in-memory database and the rules; tools hold `lock` while using it (sync tools
    run in worker threads, so two calls may overlap)."""

    def __init__(self, db: _Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self.lock = threading.Lock()
        self.cities = {a.code.upper(): a.city for a in db.airports}

    # lookups

    def reservation(self, reservation_id: str) -> _Reservation:
        wanted = _compact(reservation_id)
        for res in self.db.reservations:
            if res.reservation_id.upper() == wanted:
                return res
        example = self.db.reservations[0].reservation_id if self.db.reservations else "SKW123"
        raise BookingNotFoundError(
            f"No SkyWay booking with code {reservation_id!r}. Booking codes have {len(example)} "
            f"characters, like '{example}'; ask the caller to read the code from the confirmation "
            "e-mail again, letter by letter."
        )

    def flight(self, flight_number: str, day: Date) -> _Flight:
        number = _compact(flight_number)
        for flight in self.db.flights:
            if flight.flight_number.upper() == number and flight.date == day:
                return flight
        raise BookingNotFoundError(f"flight {flight_number} on {day} is missing from the database")

    def _today(self) -> Date:
        return _aware(self.clock()).date()

    def _date(self, text: str) -> Date:
        word = text.strip().lower()
        if word == "today":
            return self._today()
        if word == "tomorrow":
            return self._today() + timedelta(days=1)
        try:
            return Date.fromisoformat(text.strip())
        except ValueError:
            raise ValueError(
                f"Cannot read the date {text!r}. Use YYYY-MM-DD (e.g. "
                f"'{self._today().isoformat()}'), 'today' or 'tomorrow'."
            ) from None

    def _airport(self, text: str, role: str) -> str:
        code = text.strip().upper()
        if code in self.cities:
            return code
        for known, city in self.cities.items():
            if city.lower() == text.strip().lower():
                return known
        served = ", ".join(f"{c} ({city})" for c, city in sorted(self.cities.items()))
        raise BookingNotFoundError(f"SkyWay does not fly to or from {text!r} ({role}). Airports served: {served}.")

    # reading

    def details(self, res: _Reservation) -> ReservationDetails:
        segments = []
        for seg in res.flights:
            flight = self.flight(seg.flight_number, seg.date)  # type: ignore[arg-type]
            segments.append(FlightSegment(
                flight_number=flight.flight_number, date=flight.date.isoformat(),  # type: ignore[union-attr]
                origin=flight.origin, destination=flight.destination, departure=flight.departure,
                arrival=flight.arrival, status=flight.status, delay_minutes=flight.delay_minutes,
                cabin=res.cabin,
            ))
        return ReservationDetails(
            reservation_id=res.reservation_id, status=res.status,
            passengers=[f"{p.first_name} {p.last_name}" for p in res.passengers],
            cabin=res.cabin, fare=res.fare, insured=res.insured, checked_bags=res.checked_bags,
            booked_at=res.booked_at.isoformat(timespec="minutes"),  # type: ignore[union-attr]
            fare_paid_eur=res.fare_paid_eur, bag_fees_paid_eur=res.bag_fees_paid_eur, flights=segments,
        )

    def flight_status(self, flight_number: str, date: str | None) -> FlightStatus:
        number = _compact(flight_number)
        runs = sorted((f for f in self.db.flights if f.flight_number.upper() == number),
                      key=lambda f: f.date)  # type: ignore[arg-type, return-value]
        if not runs:
            known = ", ".join(sorted({f.flight_number for f in self.db.flights}))
            raise BookingNotFoundError(
                f"No SkyWay flight numbered {flight_number!r}. SkyWay flight numbers look like "
                f"'SK101'; flights in the schedule: {known}."
            )
        if date is None or not date.strip():
            today = self._today()
            upcoming = [f for f in runs if f.date >= today]  # type: ignore[operator]
            flight = upcoming[0] if upcoming else runs[-1]
        else:
            day = self._date(date)
            matching = [f for f in runs if f.date == day]
            if not matching:
                dates = ", ".join(f.date.isoformat() for f in runs)  # type: ignore[union-attr]
                raise BookingNotFoundError(
                    f"Flight {number} does not fly on {day.isoformat()}; it flies on: {dates}."
                )
            flight = matching[0]
        return FlightStatus(
            flight_number=flight.flight_number, date=flight.date.isoformat(),  # type: ignore[union-attr]
            origin=flight.origin, destination=flight.destination, departure=flight.departure,
            arrival=flight.arrival, status=flight.status, delay_minutes=flight.delay_minutes,
            spoken=self._spoken(flight),
        )

    def _spoken(self, f: _Flight) -> str:
        route = f"Flight {f.flight_number} from {self.cities.get(f.origin, f.origin)} to " \
                f"{self.cities.get(f.destination, f.destination)} on {_spoken_date(f.date)}"
        if f.status == "delayed":
            return f"{route} is delayed by {f.delay_minutes} minutes; it was scheduled to leave at {f.departure}."
        if f.status == "cancelled":
            return f"{route} has been cancelled by SkyWay."
        if f.status == "departed":
            return f"{route} has departed and is due to land at {f.arrival}."
        if f.status == "landed":
            return f"{route} has landed."
        return f"{route} is on schedule, leaving at {f.departure} and landing at {f.arrival}."

    def search(self, origin: str, destination: str, date: str) -> FlightSearchResult:
        frm, to = self._airport(origin, "origin"), self._airport(destination, "destination")
        if frm == to:
            raise ValueError("Origin and destination are the same airport; ask the caller where they fly to.")
        day = self._date(date)
        found = sorted((f for f in self.db.flights if (f.origin, f.destination, f.date) == (frm, to, day)),
                       key=lambda f: f.departure)
        return FlightSearchResult(origin=frm, destination=to, date=day.isoformat(), flights=[
            FlightOption(
                flight_number=f.flight_number, departure=f.departure, arrival=f.arrival, status=f.status,
                bookable=f.status in ("scheduled", "delayed") and any(v > 0 for v in f.seats_left.values()),
                seats_left=dict(f.seats_left), price_eur=dict(f.price_eur),
            ) for f in found
        ])

    # writing

    def _flights_of(self, res: _Reservation) -> list[_Flight]:
        return [self.flight(s.flight_number, s.date) for s in res.flights]  # type: ignore[arg-type]

    def _flown(self, flight: _Flight) -> bool:
        return flight.status in _FLOWN or flight.date < self._today()  # type: ignore[operator]

    def cancel(self, reservation_id: str, reason: str) -> CancellationResult:
        res = self.reservation(reservation_id)
        code = res.reservation_id
        if res.status == "cancelled":
            raise CancellationRefusedError(f"Booking {code} is already cancelled; nothing was changed.")
        flights = self._flights_of(res)
        if any(self._flown(f) for f in flights):
            raise CancellationRefusedError(
                f"Booking {code} cannot be cancelled here: part of the trip has already been flown. "
                "Offer to transfer the caller to a human agent."
            )
        rule = self._cancellation_rule(res, flights, reason)
        if rule is None:
            raise CancellationRefusedError(
                f"Booking {code} cannot be cancelled under SkyWay policy: it is a Basic {res.cabin} fare "
                f"booked more than {FREE_CANCELLATION_HOURS} hours ago, SkyWay has not cancelled its flights, "
                + ("and the reason is not covered by its travel insurance (health or weather only)."
                   if res.insured else "and it has no travel insurance.")
                + " Nothing was changed; the caller may keep the booking or ask for a human agent."
            )
        res.status = "cancelled"
        res.cancel_reason = reason
        refund = res.fare_paid_eur + res.bag_fees_paid_eur
        for flight in flights:  # the seats go back on sale
            flight.seats_left[res.cabin] = flight.seats_left.get(res.cabin, 0) + len(res.passengers)
        return CancellationResult(reservation_id=code, status="cancelled", rule=rule, refund_eur=refund,
                                  note=f"Full refund of {refund} euros. {REFUND_NOTE}")

    def _cancellation_rule(self, res: _Reservation, flights: list[_Flight], reason: str) -> str | None:
        """The first policy rule that allows cancelling, or None."""
        if _aware(self.clock()) - res.booked_at < timedelta(hours=FREE_CANCELLATION_HOURS):  # type: ignore[operator]
            return f"booked within the last {FREE_CANCELLATION_HOURS} hours"
        if any(f.status == "cancelled" for f in flights):
            return "a flight was cancelled by SkyWay"
        if res.cabin == "business":
            return "business cabin"
        if res.fare == "flex":
            return "Flex fare (refundable)"
        if res.insured and reason in INSURED_REASONS:
            return f"travel insurance covers {reason}"
        return None

    def add_bags(self, reservation_id: str, count: int) -> BaggageUpdate:
        res = self.reservation(reservation_id)
        code = res.reservation_id
        if res.status == "cancelled":
            raise ValueError(f"Booking {code} is cancelled; bags cannot be added to it.")
        if all(self._flown(f) for f in self._flights_of(res)):
            raise ValueError(f"Every flight of booking {code} has already been flown; bags cannot be added.")
        limit = MAX_BAGS_PER_PASSENGER * len(res.passengers)
        if res.checked_bags + count > limit:
            room = limit - res.checked_bags
            raise ValueError(
                f"Booking {code} has {res.checked_bags} checked bag(s) for {len(res.passengers)} passenger(s); "
                f"at most {MAX_BAGS_PER_PASSENGER} per passenger can be added here, so "
                + (f"at most {room} more." if room else "no more.")
                + " A human agent can help with extra bags. Nothing was changed."
            )
        # Bags are spread over the passengers: everyone's first bag before anyone's second.
        passengers = len(res.passengers)
        fee = sum(BAG_FEES_EUR[n // passengers] for n in range(res.checked_bags, res.checked_bags + count))
        res.checked_bags += count
        res.bag_fees_paid_eur += fee
        return BaggageUpdate(
            reservation_id=code, bags_added=count, checked_bags=res.checked_bags, fee_eur=fee,
            note=f"{count} checked bag(s) of up to 23 kg added for {fee} euros, "
                 "charged to the booking's original payment method.",
        )

