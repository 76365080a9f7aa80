"""The Lindenhof clinic's appointment desk: an example stepvox plugin that is also
scenario-tested (see ../../scenarios and docs/scenario-evals.md).

Five tools over one in-memory copy of the clinic's records:
- `find_open_slots` and `list_appointments` read;
- `book_appointment` and `cancel_appointment` change the records, so they need the caller's
  yes (`requires_approval`) and the patient's date of birth, which must match the record;
- `transfer_to_nurse` queues the call for the practice nurse (medical questions).

Rules: an appointment can be cancelled here up to 24 hours before it starts; later, the
staff decide (no-show fee), so the caller is transferred. One open booking per patient
and doctor.

`provide_tools()` is the plugin entry point; `scenario_desk(data, now)` is the database
adapter that `stepvox eval scenarios` uses.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field

from tools import Tool

from stepvox_clinic_desk.dates import one_date

DATA_PATH = Path(__file__).with_name("clinic.json")
LATE_CANCEL_HOURS = 24

PatientId = Annotated[str, Field(min_length=1, description="The patient number, e.g. 'P1001'.")]
BirthDate = Annotated[str, Field(min_length=1, description=(
    "The caller's date of birth as YYYY-MM-DD, e.g. '1985-03-14'. Ask for it; it confirms who is calling."))]


class Slot(BaseModel):
    slot_id: str
    doctor: str
    specialty: str
    date: str
    time: str


class Appointment(BaseModel):
    appointment_id: str
    doctor: str
    date: str
    time: str
    status: str


class ClinicDesk:
    """The records and the rules; tools hold `lock` (sync tools run in worker threads)."""

    def __init__(self, data: dict[str, Any], now: datetime) -> None:
        self.data = json.loads(json.dumps(data))  # a private copy: writes never leak out
        self.now = now
        self.today = now.date()
        self.lock = threading.Lock()
        for slot in self.data["slots"]:
            slot.setdefault("date", (self.today + timedelta(days=slot.pop("day_offset", 0))).isoformat())
        self.data.setdefault("handoffs", [])

    def _doctor(self, doctor_id: str) -> dict[str, Any]:
        return next(d for d in self.data["doctors"] if d["doctor_id"] == doctor_id)

    def _slot(self, slot_id: str) -> dict[str, Any]:
        for slot in self.data["slots"]:
            if slot["slot_id"].lower() == slot_id.strip().lower():
                return slot
        raise LookupError(f"No slot {slot_id!r}; use find_open_slots to see the free ones.")

    def patient(self, patient_id: str, date_of_birth: str) -> dict[str, Any]:
        for p in self.data["patients"]:
            if p["patient_id"].lower() == patient_id.strip().lower().replace(" ", ""):
                given = one_date(date_of_birth)
                if given is None:
                    raise ValueError(f"{date_of_birth!r} is not one date of birth; ask the caller "
                                     "for it and pass it as YYYY-MM-DD.")
                if p["date_of_birth"] != given.isoformat():
                    raise PermissionError(f"The date of birth does not match patient {p['patient_id']}; "
                                          "nothing was changed. Ask the caller to repeat it.")
                return p
        raise LookupError(f"No patient {patient_id!r}. Patient numbers look like 'P1001'.")

    def open_slots(self, specialty: str) -> list[Slot]:
        wanted = specialty.strip().lower()
        found = []
        for slot in self.data["slots"]:
            doctor = self._doctor(slot["doctor_id"])
            if slot["free"] and slot["date"] >= self.today.isoformat() and (
                    wanted in doctor["specialty"] or wanted in doctor["name"].lower()):
                found.append(Slot(slot_id=slot["slot_id"], doctor=doctor["name"],
                                  specialty=doctor["specialty"], date=slot["date"], time=slot["time"]))
        return found

    def appointments(self, patient_id: str) -> list[Appointment]:
        out = []
        for a in self.data["appointments"]:
            if a["patient_id"] == patient_id:
                slot = self._slot(a["slot_id"])
                out.append(Appointment(appointment_id=a["appointment_id"], status=a["status"],
                                       doctor=self._doctor(slot["doctor_id"])["name"],
                                       date=slot["date"], time=slot["time"]))
        return out

    def book(self, patient_id: str, slot_id: str) -> Appointment:
        slot = self._slot(slot_id)
        if not slot["free"]:
            raise ValueError(f"Slot {slot['slot_id']} is taken; nothing was booked. Offer another free slot.")
        for a in self.data["appointments"]:
            if a["patient_id"] == patient_id and a["status"] == "booked" and \
                    self._slot(a["slot_id"])["doctor_id"] == slot["doctor_id"]:
                raise ValueError(f"The patient already has appointment {a['appointment_id']} with this "
                                 "doctor; move or cancel that one first. Nothing was booked.")
        slot["free"] = False
        new_id = f"A{501 + len(self.data['appointments'])}"
        self.data["appointments"].append({"appointment_id": new_id, "patient_id": patient_id,
                                          "slot_id": slot["slot_id"], "status": "booked"})
        return self.appointments(patient_id)[-1]

    def cancel(self, patient_id: str, appointment_id: str) -> Appointment:
        for a in self.data["appointments"]:
            if a["appointment_id"].lower() == appointment_id.strip().lower() and a["patient_id"] == patient_id:
                break
        else:
            raise LookupError(f"Patient {patient_id} has no appointment {appointment_id!r}; nothing was cancelled.")
        if a["status"] != "booked":
            raise ValueError(f"Appointment {a['appointment_id']} is already {a['status']}.")
        slot = self._slot(a["slot_id"])
        starts = datetime.fromisoformat(f"{slot['date']}T{slot['time']}").replace(tzinfo=timezone.utc)
        if starts - self.now < timedelta(hours=LATE_CANCEL_HOURS):
            raise ValueError(f"Appointment {a['appointment_id']} starts within {LATE_CANCEL_HOURS} hours; "
                             "only the staff can cancel it now. Offer to transfer the caller. Nothing was changed.")
        a["status"] = "cancelled"
        slot["free"] = True
        return next(x for x in self.appointments(patient_id) if x.appointment_id == a["appointment_id"])

    def snapshot(self) -> dict[str, Any]:
        d = self.data
        return {
            "patients": {p["patient_id"]: {"name": p["name"], "date_of_birth": p["date_of_birth"]}
                         for p in d["patients"]},
            "slots": {s["slot_id"]: {"free": s["free"]} for s in d["slots"]},
            "appointments": {a["appointment_id"]: {"patient_id": a["patient_id"], "slot_id": a["slot_id"],
                                                   "status": a["status"]} for a in d["appointments"]},
            "handoffs": {str(i): h for i, h in enumerate(d["handoffs"], start=1)},
        }


@dataclass
class ClinicSession:
    """What `scenario_desk` returns: the tools and a way to read the records back."""

    tools: list[Tool]
    desk: ClinicDesk

    def snapshot(self) -> dict[str, Any]:
        with self.desk.lock:
            return self.desk.snapshot()


def clinic_tools(desk: ClinicDesk) -> list[Tool]:
    def find_open_slots(
        specialty: Annotated[str, Field(min_length=1, description=(
            "What the caller needs: 'general practice', 'physiotherapy' or 'dermatology' (or a doctor's name)."))],
    ) -> list[Slot]:
        """Find the clinic's free appointment slots for a specialty or doctor, soonest first."""
        with desk.lock:
            return desk.open_slots(specialty)

    def list_appointments(patient_id: PatientId, date_of_birth: BirthDate) -> list[Appointment]:
        """List a patient's appointments at the clinic, after checking their date of birth."""
        with desk.lock:
            desk.patient(patient_id, date_of_birth)
            return desk.appointments(patient_id)

    def book_appointment(patient_id: PatientId, date_of_birth: BirthDate,
                         slot_id: Annotated[str, Field(min_length=1, description="A free slot, e.g. 'S11'.")]
                         ) -> Appointment:
        """Book a free slot for a patient. Get the caller's yes to the doctor, day and time first."""
        with desk.lock:
            desk.patient(patient_id, date_of_birth)
            return desk.book(patient_id, slot_id)

    def cancel_appointment(patient_id: PatientId, date_of_birth: BirthDate,
                           appointment_id: Annotated[str, Field(min_length=1, description="e.g. 'A501'.")]
                           ) -> Appointment:
        """Cancel a patient's appointment, at least 24 hours ahead. Get the caller's yes first."""
        with desk.lock:
            desk.patient(patient_id, date_of_birth)
            return desk.cancel(patient_id, appointment_id)

    def transfer_to_nurse(topic: Annotated[str, Field(min_length=1, description="What the caller needs, briefly.")]
                          ) -> str:
        """Transfer the caller to the practice nurse: medical questions, symptoms, late cancellations."""
        with desk.lock:
            desk.data["handoffs"].append({"topic": topic.strip()})
        return "The caller is queued for the practice nurse. Tell them and say goodbye."

    return [
        Tool(find_open_slots, timeout_s=5.0, examples=["When can I see a physiotherapist?",
                                                       "Is Dr. Okoye free this week?"]),
        Tool(list_appointments, timeout_s=5.0, examples=["When is my next appointment? I'm P1001."]),
        Tool(book_appointment, timeout_s=5.0, requires_approval=True, safe_to_repeat=False,
             examples=["Book me slot S11 please, patient P1001, born 1985-03-14."]),
        Tool(cancel_appointment, timeout_s=5.0, requires_approval=True, safe_to_repeat=False,
             examples=["Cancel my appointment A501, patient P1002."]),
        Tool(transfer_to_nurse, timeout_s=5.0, examples=["Can I talk to a nurse?",
                                                         "I have a question about my medication."]),
    ]


def scenario_desk(data: dict[str, Any] | None, now: datetime) -> ClinicSession:
    """The database adapter for `stepvox eval scenarios`: the records (None: the demo data)
    with the clock stopped at `now`."""
    desk = ClinicDesk(data if data is not None else json.loads(DATA_PATH.read_text()), now)
    return ClinicSession(clinic_tools(desk), desk)


def provide_tools() -> list[Tool]:
    """The plugin entry point: the tools over the demo data, today."""
    return scenario_desk(None, datetime.now(timezone.utc)).tools


__all__ = ["ClinicDesk", "ClinicSession", "clinic_tools", "provide_tools", "scenario_desk"]

