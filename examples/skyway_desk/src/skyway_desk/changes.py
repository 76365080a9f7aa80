"""SkyWay's flight changes, hand-offs to a human agent, and the database as plain data.

Used by the tools in `skyway_desk.desk`; `snapshot` is what a scenario evaluation compares
field by field after a call (`agent.evals`), so it lists every field a tool may change.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from skyway_desk.service import AirlineDesk
from skyway_desk.records import (
    CHANGE_FEE_EUR, ChangeRefusedError, FREE_CHANGE_HOURS, HandoffResult, RebookingResult,
    _Handoff, _aware, _compact,
)


def rebook(desk: AirlineDesk, reservation_id: str, last_name: str, new_flight_number: str,
           new_date: str | None) -> RebookingResult:
    """Move the booking's flight on the new flight's route to the new flight (its next run
    from today when no date is given: callers name a flight more often than a date)."""
    res = desk.confirmed(reservation_id, last_name)
    code = res.reservation_id
    if res.status == "cancelled":
        raise ChangeRefusedError(f"Booking {code} is cancelled; it cannot be changed. Nothing was changed.")
    number = _compact(new_flight_number)
    runs = sorted((f for f in desk.db.flights if f.flight_number.upper() == number),
                  key=lambda f: f.date)
    if new_date is None or not new_date.strip():
        new = next((f for f in runs if f.date >= desk._today()), None)
        when = "from today on"
    else:
        day = desk._date(new_date)
        new = next((f for f in runs if f.date == day), None)
        when = f"on {day.isoformat()}"
    if new is None:
        raise ChangeRefusedError(
            f"SkyWay has no flight {new_flight_number} {when}. Search the direct "
            "flights on the route first. Nothing was changed.")
    day = new.date
    flights = desk._flights_of(res)
    index = next((i for i, f in enumerate(flights)
                  if (f.origin, f.destination) == (new.origin, new.destination)), None)
    if index is None:
        route = ", ".join(f"{f.origin}-{f.destination}" for f in flights)
        raise ChangeRefusedError(
            f"Booking {code} has no flight from {new.origin} to {new.destination} (it flies {route}); "
            "a change keeps the route. Nothing was changed.")
    old = flights[index]
    if desk._flown(old):
        raise ChangeRefusedError(f"Flight {old.flight_number} of booking {code} has already been flown. "
                                 "Offer a human agent. Nothing was changed.")
    if (old.flight_number, old.date) == (new.flight_number, new.date):
        raise ChangeRefusedError(f"Booking {code} is already on {new.flight_number} that day. Nothing was changed.")
    if new.status not in ("scheduled", "delayed") or new.seats_left.get(res.cabin, 0) < len(res.passengers):
        raise ChangeRefusedError(
            f"Flight {new.flight_number} on {day.isoformat()} has no {res.cabin} seats for "
            f"{len(res.passengers)} passenger(s). Nothing was changed.")
    fee = _change_fee(desk, res.fare, old)
    res.flights[index].flight_number = new.flight_number
    res.flights[index].date = new.date
    res.change_fees_paid_eur += fee
    old.seats_left[res.cabin] = old.seats_left.get(res.cabin, 0) + len(res.passengers)
    new.seats_left[res.cabin] -= len(res.passengers)
    was, now = f"{old.flight_number} on {old.date}", f"{new.flight_number} on {new.date}"
    return RebookingResult(
        reservation_id=code, old_flight=was, new_flight=now, fee_eur=fee,
        note=f"Moved from {was} to {now}, departing {new.departure}. "
             + (f"A change fee of {fee} euros was charged to the original payment method."
                if fee else "No change fee."))


def _change_fee(desk: AirlineDesk, fare: str, old: Any) -> int:
    if old.status == "cancelled":  # SkyWay's own cancellation: free rebooking
        return 0
    hh, mm = (int(x) for x in old.departure.split(":"))
    departs = datetime(old.date.year, old.date.month, old.date.day, hh, mm)
    hours_left = (_aware(departs) - _aware(desk.clock())) / timedelta(hours=1)
    return 0 if fare == "flex" and hours_left > FREE_CHANGE_HOURS else CHANGE_FEE_EUR


def hand_off(desk: AirlineDesk, topic: str, reservation_id: str | None) -> HandoffResult:
    """Queue the call for a human agent (the hand-off is recorded in the database)."""
    code = desk.reservation(reservation_id).reservation_id if reservation_id else None
    desk.db.handoffs.append(_Handoff(topic=topic.strip(), reservation_id=code))
    position = len(desk.db.handoffs)
    about = " and your booking" if code else ""
    return HandoffResult(queued=True, position=position,
                         note="The caller is queued for a human agent, who will see the topic "
                              "and booking. Tell the caller and say goodbye.",
                         spoken=f"I've passed you on to a colleague, who will see what you need"
                                f"{about}; you're number {position} in the queue. Goodbye for now.")


def snapshot(desk: AirlineDesk, load_day: Any) -> dict[str, Any]:
    """The database as nested plain data, keyed by record id, for field-by-field comparison.
    Flight dates are written as days from the load day ("SK101 day+2"), the way scenario
    files write them, so expected values do not depend on the day a test runs."""

    def dated(number: str, day: Any) -> str:
        return f"{number} day{(day - load_day).days:+d}"

    return {
        "reservations": {
            r.reservation_id: {
                "status": r.status, "passengers": [f"{p.first_name} {p.last_name}" for p in r.passengers],
                "cabin": r.cabin, "fare": r.fare, "insured": r.insured, "checked_bags": r.checked_bags,
                "fare_paid_eur": r.fare_paid_eur, "bag_fees_paid_eur": r.bag_fees_paid_eur,
                "change_fees_paid_eur": r.change_fees_paid_eur, "cancel_reason": r.cancel_reason,
                "flights": [dated(s.flight_number, s.date) for s in r.flights],
            } for r in desk.db.reservations
        },
        "flights": {
            dated(f.flight_number, f.date): {"status": f.status, "seats_left": dict(f.seats_left)}
            for f in desk.db.flights
        },
        "handoffs": {
            str(i): {"topic": h.topic, "reservation_id": h.reservation_id}
            for i, h in enumerate(desk.db.handoffs, start=1)
        },
    }
