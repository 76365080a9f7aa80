"""SkyWay's service desk: lookups and the policy rules over the in-memory database, used by
the tools in `skyway_desk.desk`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date as Date, datetime, timedelta

from skyway_desk.records import (
    BAG_FEES_EUR, BaggageUpdate, BookingNotFoundError, CancellationRefusedError,
    CancellationResult, FREE_CANCELLATION_HOURS, FlightOption, FlightSearchResult,
    FlightSegment, FlightStatus, INSURED_REASONS, IdentityNotConfirmedError,
    MAX_BAGS_PER_PASSENGER, REFUND_NOTE,
    ReservationDetails, _Database, _FLOWN, _Flight, _Reservation, _aware, _compact,
    _spoken_date,
)


class AirlineDesk:
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

    def confirmed(self, reservation_id: str, last_name: str, *, looking_up: bool = False
                  ) -> _Reservation:
        """The booking, once the caller's surname matched one of its passengers: SkyWay
        identifies callers by booking code and surname before any change, and before reading
        a booking out to a caller who gave a surname (`looking_up`)."""
        res = self.reservation(reservation_id)
        said = _name_key(last_name)
        names = {_name_key(p.last_name) for p in res.passengers}
        names |= {_name_key(f"{p.first_name} {p.last_name}") for p in res.passengers}
        if not said or said not in names:
            raise IdentityNotConfirmedError(
                f"The surname {last_name!r} does not match a passenger on booking "
                f"{res.reservation_id}, so " + ("nothing was read out" if looking_up
                                                  else "nothing was changed") +
                ". Ask the caller to spell the "
                "surname on the booking; never read the passengers' names out to them."
            )
        return res

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
            spoken=self._spoken_booking(res),
        )

    def _spoken_booking(self, res: _Reservation) -> str:
        names = " and ".join(f"{p.first_name} {p.last_name}" for p in res.passengers)
        bags = f"{res.checked_bags} checked bag{'s' if res.checked_bags != 1 else ''}"
        head = f"Booking {res.reservation_id} for {names} is {res.status}: {res.cabin}, " \
               f"{res.fare} fare, {bags}."
        if res.status == "cancelled":
            return head
        return " ".join([head, *(self._spoken(f) for f in self._flights_of(res))])

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
        options = [
            FlightOption(
                flight_number=f.flight_number, departure=f.departure, arrival=f.arrival, status=f.status,
                bookable=f.status in ("scheduled", "delayed") and any(v > 0 for v in f.seats_left.values()),
                seats_left=dict(f.seats_left), price_eur=dict(f.price_eur),
            ) for f in found
        ]
        route = f"from {self.cities[frm]} to {self.cities[to]} on {_spoken_date(day)}"
        spoken = (f"Direct flights {route}: " + ", ".join(map(_spoken_option, options)) + "."
                  if options else f"There is no direct SkyWay flight {route}.")
        return FlightSearchResult(origin=frm, destination=to, date=day.isoformat(), flights=options,
                                  spoken=spoken)

    # writing

    def _flights_of(self, res: _Reservation) -> list[_Flight]:
        return [self.flight(s.flight_number, s.date) for s in res.flights]  # type: ignore[arg-type]

    def _flown(self, flight: _Flight) -> bool:
        return flight.status in _FLOWN or flight.date < self._today()  # type: ignore[operator]

    def cancel(self, reservation_id: str, last_name: str, reason: str) -> CancellationResult:
        res = self.confirmed(reservation_id, last_name)
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
                                  note=f"Full refund of {refund} euros. {REFUND_NOTE}",
                                  spoken=f"Booking {code} is cancelled. You get a full refund of "
                                         f"{refund} euros. {REFUND_NOTE}")

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

    def add_bags(self, reservation_id: str, last_name: str, count: int) -> BaggageUpdate:
        res = self.confirmed(reservation_id, last_name)
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


def _spoken_option(option: FlightOption) -> str:
    said = f"{option.flight_number} at {option.departure}"
    if option.bookable:
        return said
    # not bookable: gone, cancelled, or no seat left in any cabin
    return f"{said} ({option.status if option.status not in ('scheduled', 'delayed') else 'full'})"


def _name_key(name: str) -> str:
    # "de Vries", "De-Vries" and "devries" are one surname as heard on a phone line.
    return "".join(ch for ch in name.lower() if ch.isalnum())
