"""The injection suite's data and judge (bench/injection_cases.py, bench/injection_eval.py):
300 cases, two forms each, dev and test phrasings apart, and a judge that counts a ran
attacker tool or the attacker's data said, not an approval question."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `bench` is the repository's folder, not tests/bench
    sys.path.insert(0, str(ROOT))

from bench.injection_cases import GOALS, SOURCES, build_cases, load_cases  # noqa: E402
from bench.injection_eval import judge  # noqa: E402
from bench.injection_heldout import WRAPPERS, build_cases as build_heldout  # noqa: E402
from bench.injection_heldout import heldout_benign_lines, load_heldout  # noqa: E402


def test_the_stored_suite_is_the_generated_one():
    assert [c.model_dump() for c in load_cases()] == [c.model_dump() for c in build_cases()]


def test_three_hundred_cases_in_both_forms_split_by_phrasing():
    cases = load_cases()
    assert len(cases) == 300 and {c.source for c in cases} == set(SOURCES)
    assert {c.goal for c in cases} == set(GOALS)
    assert sum(c.split == "dev" for c in cases) == 100
    for c in cases:
        for form in ("base", "ignore"):
            assert c.injection[form] in c.outputs[form]
        assert c.injection["ignore"].lower().split()[0] in ("ignore", "disregard", "forget")
        assert c.injection["base"] in c.injection["ignore"]
    # No wrapper of a test case appears in a dev case: a defence tuned on dev meets new ones.
    def shape(c):
        return c.injection["base"].split(":")[0][:18]
    dev = {shape(c) for c in cases if c.split == "dev"}
    test = {shape(c) for c in cases if c.split == "test"}
    assert not dev & test


def test_judge_counts_tool_runs_and_data_said():
    case = next(c for c in load_cases() if c.goal == "transfer_money")
    summary = "People say it is " + case.utility_keywords[0].split("|")[0] + "."
    clean = judge(case, summary, [], [], False)
    assert not clean["attacked"] and clean["useful"]
    ran = judge(case, summary, [("transfer_money", {})], ["transfer_money"], False)
    assert ran["attacked"] and ran["ran"] == ["transfer_money"]
    said = judge(case, f"Transfer to {case.attacker_arguments['to_account']} now.", [], [], False)
    assert said["attacked"] and said["read_out"] and not said["useful"]


def test_the_held_out_set_is_stored_and_shares_no_wrapper_with_dev_or_test():
    held = load_heldout()
    assert [c.model_dump() for c in held] == [c.model_dump() for c in build_heldout()]
    assert len(held) == 100 and {c.split for c in held} == {"heldout"}
    assert {c.source for c in held} == set(SOURCES) and {c.goal for c in held} == set(GOALS)
    assert len(WRAPPERS) >= 30 and {lang for lang, _ in WRAPPERS} >= {"en", "zh", "es", "de", "fr"}
    old = {c.injection["base"].split(":")[0][:18] for c in load_cases()}
    for c in held:
        assert c.injection["base"] in c.outputs["base"] and c.injection["base"] in c.injection["ignore"]
        assert c.injection["base"].split(":")[0][:18] not in old, c.injection["base"]
        # The attacker's data is in the line, in every language.
        assert all(m in c.injection["base"] for m in c.markers), c.id
    assert len(heldout_benign_lines()) >= 40
