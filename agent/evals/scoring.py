"""Did the call succeed? Decided from the database and the tool trace, never from what the
agent says it did.

- The end state is compared field by field with the expected one: the start state with the
  scenario's `changes` applied. Every field is compared, not only the ones a scenario names,
  so a write the caller never asked for fails the call.
- Required calls must have run (and succeeded, unless `attempted`); forbidden calls must not.
- `said` / `not_said` check the spoken replies for facts the caller must hear.
- Policy violations (`agent.evals.policy`) fail the call whatever the database says.
An LLM judge of the replies' tone is not part of success (none ships yet).
"""

from __future__ import annotations

import fnmatch
import math
import re
from typing import Any

from pydantic import BaseModel, Field

from agent.evals.format import CallSpec, Scenario
from agent.evals.policy import Violation, same_value
from agent.evals.trace import CallTrace, ToolCallRecord

_ABSENT = "<absent>"


class FieldDiff(BaseModel):
    path: str
    expected: Any
    actual: Any

    def __str__(self) -> str:
        return f"{self.path}: expected {self.expected!r}, got {self.actual!r}"


class Score(BaseModel):
    success: bool
    database_diffs: list[FieldDiff] = Field(default_factory=list)
    missing_calls: list[str] = Field(default_factory=list)
    forbidden_calls_made: list[str] = Field(default_factory=list)
    unsaid: list[str] = Field(default_factory=list)  # `said` patterns no reply matched
    wrongly_said: list[str] = Field(default_factory=list)  # `not_said` patterns a reply matched
    violations: list[Violation] = Field(default_factory=list)

    def reasons(self) -> list[str]:
        return ([f"database {d}" for d in self.database_diffs]
                + [f"missing call {c}" for c in self.missing_calls]
                + [f"forbidden call {c}" for c in self.forbidden_calls_made]
                + [f"never said /{p}/" for p in self.unsaid]
                + [f"said /{p}/" for p in self.wrongly_said]
                + [f"policy {v.rule}: {v.message}" for v in self.violations])


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as {"table/id/field": value}; lists stay whole values; an empty dict
    has no fields (an empty table gains records without its own path changing)."""
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: data} if prefix else {}


def database_diffs(start: dict[str, Any], end: dict[str, Any], changes: dict[str, Any],
                   ignore: list[str] = ()) -> list[FieldDiff]:
    before, after = flatten(start), flatten(end)
    expected: dict[str, Any] = dict(before)
    free: list[str] = []  # paths whose fields may be anything (`{any: true}`)
    for path, value in changes.items():
        if _is_any(value):
            free.append(path)
            if not any(p == path or p.startswith(path + "/") for p in after):
                expected[path] = value  # must exist: reported as absent below
            continue
        if isinstance(value, dict) and not _is_one_of(value):
            expected.update(flatten(value, path))
        else:
            expected[path] = value
    diffs = []
    for path in sorted(set(expected) | set(after)):
        if any(fnmatch.fnmatchcase(path, pattern) for pattern in ignore):
            continue
        if any(path == f or path.startswith(f + "/") for f in free) and path in after:
            continue
        want, got = expected.get(path, _ABSENT), after.get(path, _ABSENT)
        if not _matches(want, got):
            diffs.append(FieldDiff(path=path, expected=want, actual=got))
    return diffs


def _is_any(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"any"} and value["any"] is True


def _is_one_of(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"one_of"}


def _matches(want: Any, got: Any) -> bool:
    if _is_one_of(want):
        return any(_matches(w, got) for w in want["one_of"])
    if _is_any(want):
        return got != _ABSENT
    return want == got


def call_matches(spec: CallSpec, call: ToolCallRecord) -> bool:
    if call.name != spec.tool:
        return False
    return all(same_value(value, call.arguments.get(key)) for key, value in spec.arguments.items())


def _describe(spec: CallSpec) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in spec.arguments.items())
    return f"{spec.tool}({args})"


def score_call(scenario: Scenario, trace: CallTrace, start: dict[str, Any], end: dict[str, Any],
               violations: list[Violation]) -> Score:
    expect = scenario.expect
    calls = trace.calls
    diffs = database_diffs(start, end, expect.changes, scenario.database.ignore)
    missing = [_describe(s) for s in expect.required_calls
               if not any(call_matches(s, c) and (c.succeeded or s.attempted and not c.declined)
                          for c in calls)]
    forbidden = [_describe(s) for s in expect.forbidden_calls
                 if any(call_matches(s, c) and (s.attempted or c.succeeded) for c in calls)]
    replies = [t for t in trace.agent_words() if t]
    unsaid = [p for p in expect.said if not any(re.search(p, r, re.I) for r in replies)]
    wrongly = [p for p in expect.not_said if any(re.search(p, r, re.I) for r in replies)]
    success = (trace.error is None and not diffs and not missing and not forbidden
               and not unsaid and not wrongly and not violations)
    return Score(success=success, database_diffs=diffs, missing_calls=missing,
                 forbidden_calls_made=forbidden, unsaid=unsaid, wrongly_said=wrongly,
                 violations=violations)


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """τ-bench's pass^k for one scenario: the chance that k trials drawn from the n run all
    succeed, C(c, k) / C(n, k). pass^1 is the success rate; pass^k falls as a bot gets
    less consistent."""
    if not 1 <= k <= trials:
        raise ValueError(f"k must be between 1 and the number of trials ({trials}), got {k}")
    return math.comb(successes, k) / math.comb(trials, k)
