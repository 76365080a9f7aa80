"""The LLM judge of replies for bench/scenario_eval.py: how far it agrees with hand labels,
and judging calls already run (stored JSON lines), so the judge's model time is spent
after the runs and only where wanted.

Agreement: each hand-labelled call of bench/data/scenario_eval/judge_labels.yaml is judged
once; per question the table gives the calls judged as labelled, the bad calls caught
(recall on the label "no") and the calls without an answer on that question.
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from agent.evals import load_scenarios
from agent.evals.judge import Exchange, persona_facts
from agent.evals.report import read_jsonl, write_jsonl
from agent.evals.runner import scenario_persona

LABELS = Path(__file__).resolve().parent / "data" / "scenario_eval" / "judge_labels.yaml"
QUESTIONS = ("polite", "no_invented_facts", "answered")


def _judge(profile: str):
    from agent.evals.backends import load_judge
    from agent.settings import StepvoxSettings

    return load_judge(StepvoxSettings(profile=profile))


def load_labels(path: Path = LABELS) -> tuple[str, list[dict]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data["persona"], data["calls"]


async def judge_labelled(judge, path: Path = LABELS,
                         only: set[str] | None = None) -> list[tuple[dict, object, float]]:
    """(labelled call, verdict, seconds) for every call of the labels file (or those in
    `only`, by id)."""
    from personas import PersonaLibrary

    persona_name, calls = load_labels(path)
    calls = [c for c in calls if only is None or c["id"] in only]
    policy = persona_facts(PersonaLibrary.for_user().get(persona_name))
    out = []
    for call in calls:
        lines = [Exchange(speaker=who, text=text) for who, text in call["lines"]]
        started = time.perf_counter()
        verdict = await judge.judge(lines, policy, call.get("tools", []))
        out.append((call, verdict, time.perf_counter() - started))
        print(f"judged {call['id']} in {out[-1][2]:.0f} s", flush=True)
    return out


async def judge_agreement(profile: str) -> None:
    judge = _judge(profile)
    judged = await judge_labelled(judge)
    print(f"\nLLM judge on embedded/{profile} (temperature 0), {len(judged)} hand-labelled calls "
          f"({LABELS.relative_to(LABELS.parents[3])})\n")
    print("| question | judged as labelled | bad calls caught | no answer |")
    print("|---|---|---|---|")
    for q in QUESTIONS:
        same = sum(getattr(v, q) == c["labels"][q] for c, v, _ in judged)
        bad = [(c, v) for c, v, _ in judged if c["labels"][q] is False]
        caught = sum(getattr(v, q) is False for _, v in bad)
        missing = sum(getattr(v, q) is None for _, v, _ in judged)
        print(f"| {q} | {same}/{len(judged)} | {caught}/{len(bad)} | {missing} |")
    every = sum(all(getattr(v, q) == c["labels"][q] for q in QUESTIONS) for c, v, _ in judged)
    seconds = sorted(s for _, _, s in judged)
    print(f"\nall three as labelled: {every}/{len(judged)}; seconds per call: "
          f"p50 {seconds[len(seconds) // 2]:.1f}, max {seconds[-1]:.1f}")
    for call, verdict, _ in judged:
        wrong = [q for q in QUESTIONS if getattr(verdict, q) != call["labels"][q]]
        if wrong:
            print(f"- {call['id']}: {', '.join(wrong)} differ; judge said "
                  f"{verdict.raw.strip()!r:.240}")


async def judge_stored(files: list[Path], profile: str, scenarios_path: Path) -> list[Path]:
    """Judge every call of `files`; writes `<name>-judged-<profile>.jsonl` beside each."""
    from personas import PersonaLibrary

    judge = _judge(profile)
    library = PersonaLibrary.for_user()
    by_name = {s.name: s for s in load_scenarios(scenarios_path)}
    written = []
    for file in files:
        out_path = file.with_name(f"{file.stem}-judged-{profile}.jsonl")
        with out_path.open("w", encoding="utf-8") as out:
            for result in read_jsonl(file):
                persona = scenario_persona(by_name[result.scenario], library)
                started = time.perf_counter()
                verdict = await judge.judge_call(result.trace, persona) if result.trace.turns else None
                write_jsonl(result.model_copy(update={"judge": verdict}), out)
                print(f"judged {result.scenario} trial {result.trial + 1}: "
                      f"{verdict.model_dump(exclude={'raw', 'model'}) if verdict else 'no turns'} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
        written.append(out_path)
    return written
