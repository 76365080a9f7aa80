"""The scenario format: the shipped SkyWay set loads, and a wrong file fails with its name."""

from pathlib import Path

import pytest

from agent.evals import ScenarioFormatError, load_scenarios
from agent.evals.database import initial_records, open_database
from agent.evals.format import ScriptedTurn

ROOT = Path(__file__).resolve().parents[2]
SKYWAY = ROOT / "examples" / "skyway_scenarios"

MINIMAL = """
persona: skyway-agent
caller: {goal: Ask about SK512., turns: ["Is SK512 on time?"]}
database: {adapter: "skyway_desk.desk:scenario_desk"}
expect: {said: ["delay"]}
"""


def test_skyway_set_has_forty_scenarios_covering_the_issue_topics():
    scenarios = load_scenarios(SKYWAY)
    assert len(scenarios) >= 40
    tags = {t for s in scenarios for t in s.tags}
    wanted = {"cancellation", "allowed", "refused", "rebooking", "baggage", "flight-status",
              "identity", "changes-mind", "wrong-code", "out-of-scope", "handoff"}
    assert wanted <= tags, wanted - tags
    for s in scenarios:
        assert s.persona == "skyway-agent" and s.caller.turns and s.caller.goal
        assert {p.rule for p in s.policy} >= {"approval_before_write", "identity_before_write"}


def test_defaults_merge_under_each_scenario_and_files_resolve_next_to_the_scenario():
    by_name = {s.name: s for s in load_scenarios(SKYWAY)}
    bag = by_name["bag-on-cancelled-booking"]
    # its own database block merged over the defaults' (adapter and ignore kept)
    assert bag.database.adapter == "skyway_desk.desk:scenario_desk"
    assert bag.database.file == (ROOT / "examples" / "skyway_desk" / "src" / "skyway_desk" / "data" / "skyway_bookings.json").resolve()
    records = initial_records(bag.database)
    assert [r["reservation_id"] for r in records["reservations"]] == ["SKW123"]
    assert len(records["flights"]) >= 10  # the file's other tables stay
    assert by_name["cancel-changes-mind"].caller.approval_answer.startswith("No")
    assert isinstance(by_name["cancel-booked-today"].caller.turns[1], ScriptedTurn)


def test_every_skyway_scenario_opens_its_database():
    from datetime import datetime, timezone

    for scenario in load_scenarios(SKYWAY):
        snapshot = open_database(scenario.database, datetime.now(timezone.utc)).snapshot()
        assert snapshot["reservations"], scenario.name
        for path in scenario.expect.changes:  # every expected change names a real table
            assert path.split("/")[0] in snapshot, (scenario.name, path)


def test_single_scenario_file(tmp_path):
    file = tmp_path / "one.yaml"
    file.write_text("name: status-check\n" + MINIMAL)
    (scenario,) = load_scenarios(file)
    assert scenario.name == "status-check" and scenario.max_turns == 8 and scenario.source == file


@pytest.mark.parametrize(("text", "mentions"), [
    ("name: typo\n" + MINIMAL + "forbiden_calls: []\n", "forbiden_calls"),
    ("name: Bad Name\n" + MINIMAL, "name"),
    ("name: no-adapter\n" + MINIMAL.replace('"skyway_desk.desk:scenario_desk"', "skyway_desk.desk"), "module:function"),
    ("name: [unclosed\n", "cannot read"),
    ("- just a list\n", "mapping"),
])
def test_wrong_files_fail_naming_the_file_and_problem(tmp_path, text, mentions):
    file = tmp_path / "wrong.yaml"
    file.write_text(text)
    with pytest.raises(ScenarioFormatError) as raised:
        load_scenarios(file)
    assert "wrong.yaml" in str(raised.value) and mentions in str(raised.value)


def test_duplicate_names_and_empty_folders_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text("name: same\n" + MINIMAL)
    (tmp_path / "b.yaml").write_text("name: same\n" + MINIMAL)
    with pytest.raises(ScenarioFormatError, match="repeated: same"):
        load_scenarios(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ScenarioFormatError, match="no \\*.yaml"):
        load_scenarios(empty)
    with pytest.raises(ScenarioFormatError, match="no scenario file"):
        load_scenarios(tmp_path / "missing.yaml")


def test_unknown_adapter_is_named(tmp_path):
    from datetime import datetime, timezone

    file = tmp_path / "x.yaml"
    file.write_text("name: x\n" + MINIMAL.replace("skyway_desk.desk:scenario_desk", "no_such_module:desk"))
    (scenario,) = load_scenarios(file)
    with pytest.raises(ScenarioFormatError, match="no_such_module"):
        open_database(scenario.database, datetime.now(timezone.utc))
