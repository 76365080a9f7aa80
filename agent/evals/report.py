"""Results as a table for people and JSON lines for dashboards."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import BaseModel
from rich.table import Table

from agent.evals.runner import TrialResult
from agent.evals.scoring import pass_hat_k


class JudgeTally(BaseModel):
    """How many judged calls the judge found polite, free of invented facts, answering."""

    judged: int
    polite: int
    no_invented_facts: int
    answered: int

    @classmethod
    def of(cls, results: Sequence[TrialResult]) -> JudgeTally | None:
        verdicts = [r.judge for r in results if r.judge is not None]
        if not verdicts:
            return None
        return cls(judged=len(verdicts), polite=sum(v.polite is True for v in verdicts),
                   no_invented_facts=sum(v.no_invented_facts is True for v in verdicts),
                   answered=sum(v.answered is True for v in verdicts))

    def cell(self) -> str:
        return (f"polite {self.polite}/{self.judged}, no invented {self.no_invented_facts}/"
                f"{self.judged}, answered {self.answered}/{self.judged}")


class ScenarioSummary(BaseModel):
    scenario: str
    trials: int
    successes: int
    pass_k: float  # pass^k with k = trials
    violations: int
    mean_turns: float
    tool_errors: int
    mean_latency_ms: float | None
    failures: list[str]  # the reasons of the first failed trial
    judge: JudgeTally | None = None  # the LLM judge's verdicts, when it ran


class RunSummary(BaseModel):
    scenarios: int
    trials: int
    k: int
    pass_1: float
    pass_k: float
    violations: int
    approval_write_violations: int
    mean_turn_latency_ms: float | None
    judge: JudgeTally | None = None


def summarise(results: Sequence[TrialResult]) -> tuple[list[ScenarioSummary], RunSummary]:
    by_name: dict[str, list[TrialResult]] = {}
    for r in results:
        by_name.setdefault(r.scenario, []).append(r)
    rows = []
    for name, runs in by_name.items():
        latencies = [t.latency_ms for r in runs for t in r.trace.turns]
        failed = next((r for r in runs if not r.success), None)
        reasons = [] if failed is None else (
            [f"call error: {failed.trace.error}"] if failed.trace.error else []) + failed.score.reasons()
        rows.append(ScenarioSummary(
            scenario=name, trials=len(runs), successes=sum(r.success for r in runs),
            pass_k=pass_hat_k(sum(r.success for r in runs), len(runs), len(runs)),
            violations=sum(len(r.score.violations) for r in runs),
            mean_turns=statistics.fmean(len(r.trace.turns) for r in runs),
            tool_errors=sum(r.tool_errors for r in runs),
            mean_latency_ms=statistics.fmean(latencies) if latencies else None,
            failures=reasons, judge=JudgeTally.of(runs)))
    k = min((s.trials for s in rows), default=1)
    latencies = [t.latency_ms for r in results for t in r.trace.turns]
    run = RunSummary(
        scenarios=len(rows), trials=len(results), k=k,
        pass_1=statistics.fmean(pass_hat_k(s.successes, s.trials, 1) for s in rows) if rows else 0.0,
        pass_k=statistics.fmean(pass_hat_k(s.successes, s.trials, k) for s in rows) if rows else 0.0,
        violations=sum(s.violations for s in rows),
        approval_write_violations=sum(1 for r in results for v in r.score.violations
                                      if v.rule in ("approval_before_write", "identity_before_write")),
        mean_turn_latency_ms=statistics.fmean(latencies) if latencies else None,
        judge=JudgeTally.of(results))
    return rows, run


def results_table(results: Sequence[TrialResult], title: str = "Scenario evaluation") -> Table:
    rows, run = summarise(results)
    table = Table(title=title)
    judged = run.judge is not None
    columns = ["scenario", "success", f"pass^{run.k}", "policy violations", "turns",
               "tool errors", "latency ms (mean/turn)"]
    if judged:
        columns.append("LLM judge (not part of success)")
    for column in (*columns, "why it failed (first failed trial)"):
        table.add_column(column, overflow="fold")
    for s in rows:
        mark = "[green]" if s.successes == s.trials else "[red]" if s.successes == 0 else "[yellow]"
        cells = [s.scenario, f"{mark}{s.successes}/{s.trials}[/]", f"{s.pass_k:.2f}",
                 str(s.violations), f"{s.mean_turns:.1f}", str(s.tool_errors),
                 "" if s.mean_latency_ms is None else f"{s.mean_latency_ms:.0f}"]
        if judged:
            cells.append(s.judge.cell() if s.judge is not None else "")
        table.add_row(*cells, "; ".join(s.failures[:3]))
    table.add_section()
    cells = [f"all {run.scenarios}", f"pass^1 {run.pass_1:.1%}", f"{run.pass_k:.1%}",
             str(run.violations), "", str(sum(s.tool_errors for s in rows)),
             "" if run.mean_turn_latency_ms is None else f"{run.mean_turn_latency_ms:.0f}"]
    if judged:
        cells.append(run.judge.cell())
    table.add_row(*cells, "")
    return table


def result_record(result: TrialResult) -> dict[str, Any]:
    """One JSON line: the outcome, why, and the whole trace."""
    record = result.model_dump(mode="json")
    record["success"] = result.success
    record["tool_errors"] = result.tool_errors
    return record


def write_jsonl(result: TrialResult, stream: IO[str]) -> None:
    stream.write(json.dumps(result_record(result), ensure_ascii=False) + "\n")
    stream.flush()


def read_jsonl(path: str | Path) -> list[TrialResult]:
    with open(path, encoding="utf-8") as handle:
        return [TrialResult.model_validate(json.loads(line)) for line in handle if line.strip()]
