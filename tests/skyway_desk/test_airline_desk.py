"""SkyWay Air's service-desk tools over the shipped demo database, with a fixed clock."""

import ast
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import skyway_desk.desk as airline_desk
from personas import PersonaLibrary
from tools import ToolRegistry, builtin_tools
from skyway_desk.desk import DEFAULT_DATA_PATH, airline_desk_tools, open_airline_desk

# Wednesday 25 November 2026, 09:00 UTC. Relative dates in the file resolve against it.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
TODAY = NOW.date()
NAMES = ["get_reservation_details", "get_flight_status", "search_direct_flights",
         "cancel_reservation", "add_checked_bag", "rebook_flight", "transfer_to_human"]
# The tools the shipped skyway-agent persona lists (rebooking and hand-off are newer).
PERSONA_NAMES = NAMES[:5]
SURNAMES = {"SKW123": "de Vries", "SKW456": "Berger", "SKW789": "Rossi", "SKW246": "Lindqvist",
            "SKW357": "Okafor", "SKW864": "Nowak", "SKW975": "Martin"}


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.fixture
def desk() -> ToolRegistry:
    return ToolRegistry(airline_desk_tools(clock=lambda: NOW))


async def ok(desk: ToolRegistry, name: str, arguments) -> dict:
    result = await desk.invoke(name, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content)


async def error(desk: ToolRegistry, name: str, arguments) -> str:
    result = await desk.invoke(name, arguments)
    assert result.is_error, result.content
    return result.content


# --- schemas and flags -------------------------------------------------------------------


def test_schemas_names_required_arguments_and_descriptions():
    tools = airline_desk_tools()
    assert [t.name for t in tools] == NAMES
    required = {t.name: t.parameters_schema.get("required", []) for t in tools}
    assert required == {
        "get_reservation_details": ["reservation_id"],
        "get_flight_status": ["flight_number"],
        "search_direct_flights": ["origin", "destination", "date"],
        "cancel_reservation": ["reservation_id", "last_name", "reason"],
        "add_checked_bag": ["reservation_id", "last_name"],
        "rebook_flight": ["reservation_id", "last_name", "new_flight_number"],
        "transfer_to_human": ["topic"],
    }
    for t in tools:
        assert t.description and len(t.description) > 20
        for prop, schema in t.parameters_schema["properties"].items():
            assert schema.get("description"), f"{t.name}.{prop} has no description"
        json.dumps(t.openai_schema())  # serialisable as sent to a model
    reasons = tools[3].parameters_schema["properties"]["reason"]["enum"]
    assert {"change_of_plan", "airline_cancelled", "health", "weather", "other"} == set(reasons)


def test_only_the_writing_tools_need_approval_and_must_not_be_repeated():
    flags = {t.name: (t.requires_approval, t.safe_to_repeat) for t in airline_desk_tools()}
    assert flags["cancel_reservation"] == flags["add_checked_bag"] == (True, False)
    assert flags["rebook_flight"] == (True, False)
    for name in [*NAMES[:3], "transfer_to_human"]:
        assert flags[name] == (False, True)


def test_module_depends_only_on_the_tool_system():
    tree = ast.parse(Path(airline_desk.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    roots = {m.split(".")[0] for m in imported if m}
    assert not roots & {"agent", "speech", "memory", "personas"}


def test_shipped_database_has_the_demo_bookings():
    data = json.loads(DEFAULT_DATA_PATH.read_text())
    ids = [r["reservation_id"] for r in data["reservations"]]
    assert len(ids) >= 6 and len(set(ids)) == len(ids) and "SKW123" in ids
    assert len(data["flights"]) >= 8


def test_persona_tools_all_exist():
    mia = PersonaLibrary().get("skyway-agent")
    available = {t.name for t in airline_desk_tools() + builtin_tools()}
    assert mia.allowed_tools and set(mia.allowed_tools) <= available
    assert set(PERSONA_NAMES) <= set(mia.allowed_tools)


# --- reading -------------------------------------------------------------------------------


async def test_reservation_details(desk):
    res = await ok(desk, "get_reservation_details", {"reservation_id": "SKW456"})
    assert res["passengers"] == ["Tom Berger", "Lisa Berger"]
    assert (res["status"], res["cabin"], res["fare"], res["insured"], res["checked_bags"]) == (
        "confirmed", "economy", "flex", False, 1)
    assert [(f["flight_number"], f["date"], f["origin"], f["destination"]) for f in res["flights"]] == [
        ("SK220", day(5), "MUC", "LIS"), ("SK221", day(12), "LIS", "MUC")]
    assert all(f["status"] == "scheduled" and f["cabin"] == "economy" for f in res["flights"])


async def test_reservation_code_as_spoken_is_normalised(desk):
    res = await ok(desk, "get_reservation_details", {"reservation_id": " s k w-1 2 3 "})
    assert res["reservation_id"] == "SKW123" and res["passengers"] == ["Anna de Vries"]


async def test_a_surname_said_on_a_look_up_must_be_on_the_booking(desk):
    # Tried: "My booking is SKW123, surname Smith." SKW123 is Anna de Vries's; reading it
    # back would tell a stranger whose booking the code is.
    message = await error(desk, "get_reservation_details",
                          {"reservation_id": "SKW123", "last_name": "Smith"})
    assert "Smith" in message and "nothing was read out" in message
    assert "de Vries" not in message and "Anna" not in message
    res = await ok(desk, "get_reservation_details",
                   {"reservation_id": "SKW123", "last_name": "DE VRIES"})
    assert res["passengers"] == ["Anna de Vries"]
    # The code alone still finds the booking: the surname is optional on a look-up.
    assert (await ok(desk, "get_reservation_details", {"reservation_id": "SKW123"}))["status"]


async def test_unknown_reservation_names_the_id_and_gives_a_hint(desk):
    message = await error(desk, "get_reservation_details", {"reservation_id": "ZZZ999"})
    assert "ZZZ999" in message and "SKW123" in message and "6 characters" in message


async def test_flight_status_on_a_date_and_next_one(desk):
    delayed = await ok(desk, "get_flight_status", {"flight_number": "SK512", "date": day(4)})
    assert (delayed["status"], delayed["delay_minutes"]) == ("delayed", 95)
    assert "delayed by 95 minutes" in delayed["spoken"] and "Paris to Amsterdam" in delayed["spoken"]
    nxt = await ok(desk, "get_flight_status", {"flight_number": "sk 101"})
    assert (nxt["flight_number"], nxt["date"]) == ("SK101", day(2))
    cancelled = await ok(desk, "get_flight_status", {"flight_number": "SK330", "date": "tomorrow"})
    assert cancelled["status"] == "cancelled" and "cancelled by SkyWay" in cancelled["spoken"]
    landed = await ok(desk, "get_flight_status", {"flight_number": "SK640"})  # only a past run
    assert landed["status"] == "landed" and landed["date"] == day(-1)


async def test_flight_status_errors(desk):
    unknown = await error(desk, "get_flight_status", {"flight_number": "SK999"})
    assert "SK999" in unknown and "SK101" in unknown
    wrong_day = await error(desk, "get_flight_status", {"flight_number": "SK101", "date": day(9)})
    assert day(9) in wrong_day and day(2) in wrong_day and day(3) in wrong_day
    bad_date = await error(desk, "get_flight_status", {"flight_number": "SK101", "date": "next Fryday"})
    assert "next Fryday" in bad_date and "YYYY-MM-DD" in bad_date


async def test_search_direct_flights_by_code_or_city(desk):
    found = await ok(desk, "search_direct_flights", {"origin": "amsterdam", "destination": "BCN", "date": day(2)})
    assert (found["origin"], found["destination"], found["date"]) == ("AMS", "BCN", day(2))
    assert [(f["flight_number"], f["departure"]) for f in found["flights"]] == [("SK101", "07:40"), ("SK103", "16:20")]
    assert all(f["bookable"] for f in found["flights"])
    assert found["flights"][1]["seats_left"]["economy"] == 0 and found["flights"][0]["price_eur"]["economy"] == 129
    cancelled = await ok(desk, "search_direct_flights", {"origin": "FCO", "destination": "AMS", "date": "tomorrow"})
    assert [f["bookable"] for f in cancelled["flights"]] == [False]
    none = await ok(desk, "search_direct_flights", {"origin": "AMS", "destination": "BCN", "date": day(4)})
    assert none["flights"] == []


async def test_search_errors(desk):
    where = await error(desk, "search_direct_flights", {"origin": "Atlantis", "destination": "AMS", "date": day(1)})
    assert "Atlantis" in where and "AMS (Amsterdam)" in where
    same = await error(desk, "search_direct_flights", {"origin": "AMS", "destination": "Amsterdam", "date": day(1)})
    assert "same airport" in same
    when = await error(desk, "search_direct_flights", {"origin": "AMS", "destination": "BCN", "date": "31/12"})
    assert "31/12" in when


# --- cancelling: the policy branches ---------------------------------------------------------


@pytest.mark.parametrize(
    ("reservation_id", "reason", "rule", "refund"),
    [
        ("SKW123", "change_of_plan", "within the last 24 hours", 129),
        ("SKW789", "airline_cancelled", "cancelled by SkyWay", 154),
        ("SKW246", "other", "business", 610),
        ("SKW456", "change_of_plan", "Flex", 651),
        ("SKW357", "health", "insurance covers health", 184),
        ("SKW357", "weather", "insurance covers weather", 184),
    ],
)
async def test_cancellation_allowed_by_each_rule(desk, reservation_id, reason, rule, refund):
    done = await ok(desk, "cancel_reservation", {"reservation_id": reservation_id,
                                                 "last_name": SURNAMES[reservation_id], "reason": reason})
    assert done["status"] == "cancelled" and rule in done["rule"] and done["refund_eur"] == refund
    assert "7 working days" in done["note"]
    after = await ok(desk, "get_reservation_details", {"reservation_id": reservation_id})
    assert after["status"] == "cancelled"


async def test_cancellation_refused_without_a_rule(desk):
    message = await error(desk, "cancel_reservation", {"reservation_id": "SKW864", "last_name": "Nowak", "reason": "change_of_plan"})
    assert "SKW864" in message and "cannot be cancelled" in message and "no travel insurance" in message
    assert (await ok(desk, "get_reservation_details", {"reservation_id": "SKW864"}))["status"] == "confirmed"


async def test_insurance_only_covers_health_and_weather(desk):
    message = await error(desk, "cancel_reservation", {"reservation_id": "SKW357", "last_name": "Okafor", "reason": "change_of_plan"})
    assert "health or weather" in message


async def test_claimed_airline_cancellation_is_checked_against_the_flights(desk):
    message = await error(desk, "cancel_reservation", {"reservation_id": "SKW864", "last_name": "Nowak", "reason": "airline_cancelled"})
    assert "has not cancelled" in message


async def test_partly_flown_trip_goes_to_a_human(desk):
    message = await error(desk, "cancel_reservation", {"reservation_id": "SKW975", "last_name": "Martin", "reason": "health"})
    assert "already been flown" in message and "human agent" in message


async def test_booking_24_hours_old_is_no_longer_free():
    # A desk whose clock moved 22 hours on after loading: SKW123 is now 25 hours old.
    clock = {"now": NOW}
    desk = ToolRegistry(airline_desk_tools(clock=lambda: clock["now"]))
    clock["now"] = NOW + timedelta(hours=22)
    message = await error(desk, "cancel_reservation", {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "change_of_plan"})
    assert "more than 24 hours" in message


async def test_cancelling_twice_is_refused_and_frees_seats(desk):
    before = await ok(desk, "search_direct_flights", {"origin": "MUC", "destination": "LIS", "date": day(5)})
    await ok(desk, "cancel_reservation", {"reservation_id": "SKW456", "last_name": "Berger", "reason": "change_of_plan"})
    again = await error(desk, "cancel_reservation", {"reservation_id": "SKW456", "last_name": "Berger", "reason": "change_of_plan"})
    assert "already cancelled" in again
    after = await ok(desk, "search_direct_flights", {"origin": "MUC", "destination": "LIS", "date": day(5)})
    assert after["flights"][0]["seats_left"]["economy"] == before["flights"][0]["seats_left"]["economy"] + 2


# --- bags ------------------------------------------------------------------------------------


async def test_add_checked_bags_prices_first_and_second_bags(desk):
    one = await ok(desk, "add_checked_bag", {"reservation_id": "SKW123", "last_name": "de Vries", "count": 1})
    assert (one["bags_added"], one["checked_bags"], one["fee_eur"]) == (1, 1, 35)
    two = await ok(desk, "add_checked_bag", {"reservation_id": "SKW123", "last_name": "de Vries"})  # count defaults to 1
    assert (two["checked_bags"], two["fee_eur"]) == (2, 60)
    # two passengers with one bag: the other passenger's first bag, then a second bag
    family = await ok(desk, "add_checked_bag", {"reservation_id": "SKW456", "last_name": "Berger", "count": 2})
    assert (family["checked_bags"], family["fee_eur"]) == (3, 35 + 60)
    res = await ok(desk, "get_reservation_details", {"reservation_id": "SKW456"})
    assert (res["checked_bags"], res["bag_fees_paid_eur"]) == (3, 35 + 35 + 60)


async def test_add_checked_bag_refusals(desk):
    full = await error(desk, "add_checked_bag", {"reservation_id": "SKW357", "last_name": "Okafor", "count": 1})
    assert "no more" in full and "human agent" in full
    too_many = await error(desk, "add_checked_bag", {"reservation_id": "SKW456", "last_name": "Berger", "count": 4})
    assert "at most 3 more" in too_many
    await ok(desk, "cancel_reservation", {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "change_of_plan"})
    cancelled = await error(desk, "add_checked_bag", {"reservation_id": "SKW123", "last_name": "de Vries", "count": 1})
    assert "cancelled" in cancelled
    unknown = await error(desk, "add_checked_bag", {"reservation_id": "NOPE42", "last_name": "Smith", "count": 1})
    assert "NOPE42" in unknown


# --- bad arguments become error results -----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments", "mentions"),
    [
        ("get_reservation_details", {}, "reservation_id"),
        ("get_reservation_details", {"reservation_id": 123}, "reservation_id"),
        ("get_reservation_details", {"reservation_id": ""}, "reservation_id"),
        ("get_flight_status", {"flight_number": ["SK101"]}, "flight_number"),
        ("search_direct_flights", {"origin": "AMS", "destination": "BCN"}, "date"),
        ("cancel_reservation", {"reservation_id": "SKW123"}, "reason"),
        ("cancel_reservation", {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "bored"}, "reason"),
        ("add_checked_bag", {"reservation_id": "SKW123", "last_name": "de Vries", "count": "two"}, "count"),
        ("add_checked_bag", {"reservation_id": "SKW123", "last_name": "de Vries", "count": 0}, "count"),
        ("add_checked_bag", '{"reservation_id": "SKW123", "count": 1', "add_checked_bag"),
        ("get_reservation_details", {"reservation_id": "SKW123", "surname": "x"}, "surname"),
    ],
)
async def test_bad_arguments_become_error_results(desk, name, arguments, mentions):
    result = await desk.get(name).invoke(arguments)
    assert result.is_error and mentions in result.content


async def test_refused_write_changes_nothing(desk):
    await error(desk, "cancel_reservation", {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "sometime"})
    assert (await ok(desk, "get_reservation_details", {"reservation_id": "SKW123"}))["status"] == "confirmed"


# --- one shared in-memory copy per factory call ----------------------------------------------


async def test_writes_are_shared_within_one_factory_call_only():
    first = ToolRegistry(airline_desk_tools(clock=lambda: NOW))
    await ok(first, "cancel_reservation", {"reservation_id": "SKW123", "last_name": "de Vries", "reason": "change_of_plan"})
    await ok(first, "add_checked_bag", {"reservation_id": "SKW456", "last_name": "Berger", "count": 1})
    assert (await ok(first, "get_reservation_details", {"reservation_id": "SKW123"}))["status"] == "cancelled"
    assert (await ok(first, "get_reservation_details", {"reservation_id": "SKW456"}))["checked_bags"] == 2
    second = ToolRegistry(airline_desk_tools(clock=lambda: NOW))
    assert (await ok(second, "get_reservation_details", {"reservation_id": "SKW123"}))["status"] == "confirmed"
    assert (await ok(second, "get_reservation_details", {"reservation_id": "SKW456"}))["checked_bags"] == 1
    # and the file itself is untouched
    stored = json.loads(DEFAULT_DATA_PATH.read_text())
    assert {r["reservation_id"]: r["status"] for r in stored["reservations"]}["SKW123"] == "confirmed"


# --- other databases -------------------------------------------------------------------------


def _small_db(tmp_path: Path) -> Path:
    data = {
        "airports": [{"code": "AAA", "city": "Alpha"}, {"code": "BBB", "city": "Beta"}],
        "flights": [{"flight_number": "SK1", "date": "2030-01-02", "origin": "AAA", "destination": "BBB",
                     "departure": "10:00", "arrival": "11:00", "status": "scheduled",
                     "seats_left": {"economy": 1}, "price_eur": {"economy": 50}}],
        "reservations": [{"reservation_id": "ABC123", "status": "confirmed",
                          "booked_at": "2029-12-01T10:00:00+00:00",
                          "passengers": [{"first_name": "A", "last_name": "B"}], "cabin": "economy",
                          "fare": "basic", "insured": False, "checked_bags": 0, "fare_paid_eur": 50,
                          "flights": [{"flight_number": "SK1", "date": "2030-01-02"}]}],
    }
    path = tmp_path / "db.json"
    path.write_text(json.dumps(data))
    return path


async def test_own_database_with_absolute_dates(tmp_path):
    desk = ToolRegistry(airline_desk_tools(_small_db(tmp_path), clock=lambda: NOW))
    res = await ok(desk, "get_reservation_details", {"reservation_id": "abc123"})
    assert res["flights"][0]["date"] == "2030-01-02" and res["booked_at"].startswith("2029-12-01T10:00")
    message = await error(desk, "get_reservation_details", {"reservation_id": "SKW123"})
    assert "like 'ABC123'" in message  # the hint comes from the database in use


def test_broken_database_fails_at_load_with_the_path(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError, match="missing.json"):
        airline_desk_tools(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        airline_desk_tools(bad)
    bad.write_text(json.dumps({"airports": [], "flights": [], "reservations": [{"reservation_id": "X"}]}))
    with pytest.raises(ValueError, match="malformed"):
        airline_desk_tools(bad)


# --- identity, rebooking, hand-off, snapshot -------------------------------------------------


@pytest.mark.parametrize("said", ["de Vries", "DE VRIES", "De-Vries", "devries", "Anna de Vries"])
async def test_surname_as_heard_confirms_the_caller(desk, said):
    done = await ok(desk, "cancel_reservation", {"reservation_id": "SKW123", "last_name": said,
                                                 "reason": "change_of_plan"})
    assert done["status"] == "cancelled"


@pytest.mark.parametrize("tool,extra", [("cancel_reservation", {"reason": "change_of_plan"}),
                                        ("add_checked_bag", {"count": 1}),
                                        ("rebook_flight", {"new_flight_number": "SK641", "new_date": day(6)})])
async def test_wrong_surname_changes_nothing(desk, tool, extra):
    message = await error(desk, tool, {"reservation_id": "SKW864", "last_name": "Smith", **extra})
    assert "IdentityNotConfirmedError" in message and "Smith" in message and "nothing was changed" in message
    assert "Nowak" not in message  # the passengers' names are never given away
    res = await ok(desk, "get_reservation_details", {"reservation_id": "SKW864"})
    assert (res["status"], res["checked_bags"], res["flights"][0]["flight_number"]) == ("confirmed", 0, "SK101")


async def test_rebooking_basic_fare_costs_the_change_fee():
    session = open_airline_desk(clock=lambda: NOW)
    desk = ToolRegistry(session.tools)
    done = await ok(desk, "rebook_flight", {"reservation_id": "SKW864", "last_name": "Nowak",
                                            "new_flight_number": "sk 641", "new_date": day(6)})
    assert (done["fee_eur"], done["new_flight"]) == (45, f"SK641 on {day(6)}")
    after = session.snapshot()
    assert after["reservations"]["SKW864"]["flights"] == ["SK641 day+6"]
    assert after["reservations"]["SKW864"]["change_fees_paid_eur"] == 45
    assert after["flights"]["SK641 day+6"]["seats_left"]["economy"] == 26
    assert after["flights"]["SK101 day+3"]["seats_left"]["economy"] == 32


async def test_rebooking_is_free_on_flex_and_after_a_skyway_cancellation(desk):
    flex = await ok(desk, "rebook_flight", {"reservation_id": "SKW456", "last_name": "Berger",
                                            "new_flight_number": "SK223", "new_date": day(13)})
    assert flex["fee_eur"] == 0 and flex["old_flight"] == f"SK221 on {day(12)}"  # the return leg
    cancelled = await ok(desk, "rebook_flight", {"reservation_id": "SKW789", "last_name": "Rossi",
                                                 "new_flight_number": "SK332", "new_date": day(2)})
    assert cancelled["fee_eur"] == 0 and "No change fee" in cancelled["note"]


async def test_rebooking_refusals(desk):
    route = await error(desk, "rebook_flight", {"reservation_id": "SKW864", "last_name": "Nowak",
                                                "new_flight_number": "SK512", "new_date": day(4)})
    assert "CDG" in route and "Nothing was changed" in route
    full = await error(desk, "rebook_flight", {"reservation_id": "SKW864", "last_name": "Nowak",
                                               "new_flight_number": "SK103", "new_date": day(2)})
    assert "no economy seats" in full
    flown = await error(desk, "rebook_flight", {"reservation_id": "SKW975", "last_name": "Martin",
                                                "new_flight_number": "SK641", "new_date": day(6)})
    assert "already on SK641" in flown  # the outbound leg was flown; the return is unchanged
    missing = await error(desk, "rebook_flight", {"reservation_id": "SKW864", "last_name": "Nowak",
                                                  "new_flight_number": "SK641", "new_date": day(7)})
    assert "no flight SK641" in missing
    # without a date: the flight's next run
    moved = await ok(desk, "rebook_flight", {"reservation_id": "SKW864", "last_name": "Nowak",
                                             "new_flight_number": "SK641"})
    assert moved["new_flight"] == f"SK641 on {day(6)}"


async def test_transfer_to_human_is_recorded():
    session = open_airline_desk(clock=lambda: NOW)
    desk = ToolRegistry(session.tools)
    first = await ok(desk, "transfer_to_human", {"topic": " refund for a flown trip ", "reservation_id": "skw975"})
    assert first["queued"] and first["position"] == 1
    assert session.snapshot()["handoffs"] == {"1": {"topic": "refund for a flown trip", "reservation_id": "SKW975"}}
    await error(desk, "transfer_to_human", {"topic": "x", "reservation_id": "NOPE42"})


def test_open_airline_desk_takes_records_as_data():
    data = json.loads(DEFAULT_DATA_PATH.read_text())
    data["reservations"] = data["reservations"][:1]
    session = open_airline_desk(data, clock=lambda: NOW)
    assert list(session.snapshot()["reservations"]) == ["SKW123"]
    with pytest.raises(ValueError, match="malformed"):
        open_airline_desk({"airports": []}, clock=lambda: NOW)
