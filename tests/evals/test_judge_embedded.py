"""The LLM judge on the real packaged quality model (1.5B), on two of the hand-labelled calls
(bench/data/scenario_eval/judge_labels.yaml). What this asserts is that the real model
answers the judge's questions in the form the parser reads, and that a verdict is kept
with its raw answer. How often it agrees with the labels is measured, not asserted:
`bench/scenario_eval.py --judge-agreement` (on this CPU the packaged models catch none of
the bad calls, bench/README.md), which is why a judge never decides success."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from embedded_gate import require_embedded

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.embedded
@pytest.mark.timeout(900)
async def test_the_quality_model_answers_every_question_in_form():
    require_embedded()
    sys.path.insert(0, str(ROOT))
    from agent.evals.backends import load_judge
    from agent.settings import StepvoxSettings
    from bench.scenario_judge import LABELS, judge_labelled

    judge = load_judge(StepvoxSettings(profile="quality"))
    judged = await judge_labelled(judge, LABELS, only={"fee-second-bag-right", "cancel-rude"})
    assert {call["id"] for call, _, _ in judged} == {"fee-second-bag-right", "cancel-rude"}
    for call, verdict, _ in judged:
        assert None not in (verdict.polite, verdict.no_invented_facts, verdict.answered), verdict.raw
        assert verdict.model == "embedded/quality" and verdict.raw
