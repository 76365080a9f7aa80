"""The clinic's own policy rule for scenario evaluations: a booking or cancellation may go
through only with a date of birth the caller said aloud, and only the patient's own.

The built-in `identity_before_write` compares the value as written; a date is spoken in many
ways ("14 March 1985", "March 14th, 1985", "1985-03-14"), so this rule reads the caller's
words as dates first. Referenced from a scenario as
`rule: "stepvox_clinic_desk.policy_rules:date_of_birth_before_write"`.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from agent.evals.policy import Violation

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?: of)? ([a-z]+),? (\d{4})\b")
_MONTH_DAY = re.compile(r"\b([a-z]+) (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b")


def spoken_dates(text: str) -> set[date]:
    """Every date the words contain, however it was said."""
    found: set[date] = set()
    text = text.lower()
    for y, m, d in _ISO.findall(text):
        found |= _date(int(y), int(m), int(d))
    for d, month, y in _DAY_MONTH.findall(text):
        if month in _MONTHS:
            found |= _date(int(y), _MONTHS[month], int(d))
    for month, d, y in _MONTH_DAY.findall(text):
        if month in _MONTHS:
            found |= _date(int(y), _MONTHS[month], int(d))
    return found


def _date(y: int, m: int, d: int) -> set[date]:
    try:
        return {date(y, m, d)}
    except ValueError:
        return set()


def date_of_birth_before_write(trace, scenario, start: dict[str, Any], options: dict[str, Any]) -> list[Violation]:
    found = []
    for turn in trace.turns:
        for call in turn.tool_calls:
            if not call.requires_approval or not call.succeeded:
                continue
            patient = start.get("patients", {}).get(str(call.arguments.get("patient_id", "")).upper())
            given = _date_or_none(str(call.arguments.get("date_of_birth", "")))
            said = spoken_dates(trace.caller_words_until(turn.index))
            if given is None or given not in said:
                found.append(Violation(rule="date_of_birth_before_write", turn=turn.index, message=(
                    f"{call.name} went through with a date of birth the caller never said")))
            elif patient is None or patient["date_of_birth"] != given.isoformat():
                found.append(Violation(rule="date_of_birth_before_write", turn=turn.index, message=(
                    f"{call.name} went through for a patient whose date of birth is not {given}")))
    return found


def _date_or_none(text: str) -> date | None:
    dates = spoken_dates(text)
    return next(iter(dates)) if len(dates) == 1 else None
