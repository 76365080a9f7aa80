"""Dates as callers say them and models pass them on: "14 March 1985", "March 14th, 1985",
"1985-03-14". The desk's identity check and the clinic's policy rule read them the same way,
so a date of birth the caller gave right is never refused for its spelling."""

from __future__ import annotations

import re
from datetime import date

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


def one_date(text: str) -> date | None:
    """The date `text` holds, or None when it holds none or several."""
    dates = spoken_dates(text)
    return next(iter(dates)) if len(dates) == 1 else None
