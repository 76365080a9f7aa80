"""The clinic example plugin, really installed (pip, offline, into a temporary folder): its
entry point, its desk rules, its own policy rule, and its scenarios' databases."""

import importlib.metadata
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from agent.evals import load_scenarios
from agent.evals.database import open_database
from agent.evals.trace import CallTrace, CallTurn, ToolCallRecord
from tools import ToolRegistry, load_plugins

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "clinic_desk"
# 10:00 UTC: A503 (today 17:00) is within 24 hours, A501 (in two days) is not.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clinic")
    source, target = tmp / "src", tmp / "site"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           "--no-build-isolation", "--no-index", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.skip(f"pip could not build the example offline: {done.stderr[-500:]}")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    import stepvox_clinic_desk

    yield stepvox_clinic_desk
    sys.path.remove(str(target))
    for name in [m for m in sys.modules if m.startswith("stepvox_clinic_desk")]:
        sys.modules.pop(name)


def test_installed_entry_point_gives_the_five_tools(clinic):
    (entry,) = [ep for ep in importlib.metadata.entry_points(group="stepvox.tools") if ep.name == "clinic_desk"]
    registry = ToolRegistry()
    report = load_plugins(registry, entry_points=[entry])
    assert report.loaded["clinic_desk"] == ["find_open_slots", "list_appointments", "book_appointment",
                                            "cancel_appointment", "transfer_to_nurse"]
    assert [t.name for t in registry if t.requires_approval] == ["book_appointment", "cancel_appointment"]


async def test_desk_rules(clinic):
    session = clinic.scenario_desk(None, NOW)
    desk = ToolRegistry(session.tools)
    wrong = await desk.invoke("book_appointment", {"patient_id": "P1001", "date_of_birth": "1985-04-14", "slot_id": "S11"})
    assert wrong.is_error and "does not match" in wrong.content
    booked = await desk.invoke("book_appointment", {"patient_id": "P1001", "date_of_birth": "1985-03-14", "slot_id": "S11"})
    assert not booked.is_error and '"appointment_id":"A504"' in booked.content
    again = await desk.invoke("book_appointment", {"patient_id": "P1001", "date_of_birth": "1985-03-14", "slot_id": "S13"})
    assert again.is_error and "already has appointment A504" in again.content
    late = await desk.invoke("cancel_appointment", {"patient_id": "P1003", "date_of_birth": "1999-07-30", "appointment_id": "A503"})
    assert late.is_error and "within 24 hours" in late.content
    ahead = await desk.invoke("cancel_appointment", {"patient_id": "P1002", "date_of_birth": "1972-11-02", "appointment_id": "a501"})
    assert not ahead.is_error
    snap = session.snapshot()
    assert snap["slots"]["S11"] == {"free": False} and snap["slots"]["S12"] == {"free": True}
    assert snap["appointments"]["A501"]["status"] == "cancelled"
    assert snap["appointments"]["A504"] == {"patient_id": "P1001", "slot_id": "S11", "status": "booked"}
    # A date of birth is read however it was written: the spoken form a model passes on
    # is the patient's date, not a mismatch; something that is not one date is named.
    spoken = await desk.invoke("list_appointments", {"patient_id": "P1001", "date_of_birth": "14 March 1985"})
    assert not spoken.is_error and "A504" in spoken.content
    vague = await desk.invoke("list_appointments", {"patient_id": "P1001", "date_of_birth": "in March"})
    assert vague.is_error and "not one date of birth" in vague.content and "'in March'" in vague.content
    # a fresh desk starts again from the demo data
    assert clinic.scenario_desk(None, NOW).snapshot()["slots"]["S11"] == {"free": True}


def test_spoken_dates_in_every_usual_form(clinic):
    from stepvox_clinic_desk.policy_rules import spoken_dates

    want = {datetime(1985, 3, 14).date()}
    for said in ["born 14 March 1985", "the 14th of March, 1985", "March 14th, 1985", "1985-03-14"]:
        assert spoken_dates(said) == want, said
    assert spoken_dates("31 February 1985 or on the 40th") == set()


def test_clinic_rule_needs_a_spoken_matching_birth_date(clinic):
    from stepvox_clinic_desk.policy_rules import date_of_birth_before_write

    start = clinic.scenario_desk(None, NOW).snapshot()

    def trace(heard: str, dob: str) -> CallTrace:
        call = ToolCallRecord(turn=0, name="book_appointment", requires_approval=True, declined=False,
                              is_error=False, content="{}",
                              arguments={"patient_id": "P1001", "date_of_birth": dob, "slot_id": "S11"})
        return CallTrace(greeting="Hi", turns=[CallTurn(index=0, caller_text=heard, heard=heard, agent_text="",
                                                        tool_calls=[call], latency_ms=1.0)])

    assert date_of_birth_before_write(trace("I'm P1001, born 14 March 1985.", "1985-03-14"), None, start, {}) == []
    (never,) = date_of_birth_before_write(trace("I'm P1001.", "1985-03-14"), None, start, {})
    assert "never said" in never.message
    (other,) = date_of_birth_before_write(trace("born 1 May 1990", "1990-05-01"), None, start, {})
    assert "not 1990-05-01" in other.message


def test_clinic_scenarios_load_and_open_their_database(clinic):
    scenarios = load_scenarios(EXAMPLE / "scenarios")
    assert len(scenarios) >= 10
    for scenario in scenarios:
        assert scenario.persona.endswith("clinic-receptionist.yaml")
        snapshot = open_database(scenario.database, NOW).snapshot()
        assert snapshot["patients"] and snapshot["slots"], scenario.name
