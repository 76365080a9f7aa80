"""Scoring the arguments of the tool-call eval (`bench/toolcall_eval.py`): what counts as the
expected arguments, and the per-tool argument accuracy on each half of the labelled set."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from bench.stats import make_table
from tools.builtin.datetime import timezone_key


def norm(text: object) -> str:
    return " ".join(re.sub(r"[_/,.\-]+", " ", str(text or "")).lower().split())


def arguments_exact(record: dict, arguments: dict) -> bool:
    """Right tool assumed; the arguments the record expects, exactly after normalising: a zone
    in the tool's own form (`timezone_key`: "tokyo", "JST" and "Asia/Tokyo" are one zone), no
    zone when none is expected; a place's name (before a ", country" qualifier) equal to an
    accepted spelling after normalising case, whitespace and separators; and no argument the
    record does not expect. Queries are free text: every key word contained."""
    exp = record["expected"]
    if "query_keywords" in exp:
        return set(arguments) <= {"query"} and arguments_ok(record, arguments)
    key = "location" if "location" in exp else "timezone"
    if not set(arguments) <= {key}:
        return False
    got = arguments.get(key)
    if exp[key] is None:
        return not norm(got)
    if not isinstance(got, str) or not got.strip():
        return False
    if key == "timezone":
        zone = timezone_key(got)
        return zone is not None and zone in {timezone_key(a) for a in exp[key]}
    return norm(got.split(",")[0]) in {norm(a) for a in exp[key]}


def arguments_ok(record: dict, arguments: dict) -> bool:
    """The looser score of earlier runs. Place/zone: equal or contained (either way) after
    normalising case, whitespace and separators, against any accepted spelling; no expected
    zone: none given. Queries: every key word contained."""
    exp = record["expected"]
    if "query_keywords" in exp:
        query = norm(arguments.get("query"))
        return bool(query) and all(norm(k) in query for k in exp["query_keywords"])
    key = "location" if "location" in exp else "timezone"
    got = norm(arguments.get(key))
    if exp[key] is None:
        return not got
    return bool(got) and any(norm(a) == got or norm(a) in got or got in norm(a) for a in exp[key])


def argument_table(con, records: Sequence[dict], results: Sequence[dict],
                   tools: Sequence[str], goal: float) -> None:
    """Exact arguments among right-tool calls, per tool and half (the goal is judged on the
    held-out half), with the looser score of earlier runs beside it."""
    counts: dict[tuple[str, str], Counter] = {}
    for r, res in zip(records, results, strict=True):
        if r["label"] != "positive" or res["called"] != r["tool"]:
            continue
        for tool in (r["tool"], "all"):
            for split in (r["split"], "all"):
                c = counts.setdefault((tool, split), Counter())
                c["calls"] += 1
                c["exact"] += res["args_ok"]
                c["loose"] += res.get("args_loose", res["args_ok"])
    table = make_table("Arguments per tool and half (right-tool calls; exact after normalising)",
                       ["tool", "dev calls", "dev exact", "test calls", "test exact",
                        "all exact", "all loose", f"test >= {goal:.0%}"])
    for tool in (*tools, "all"):
        dev, test, every = (counts.get((tool, s), Counter()) for s in ("dev", "test", "all"))
        share = test["exact"] / test["calls"] if test["calls"] else 0.0
        table.add_row(tool, str(dev["calls"]), _pct(dev["exact"], dev["calls"]),
                      str(test["calls"]), _pct(test["exact"], test["calls"]),
                      _pct(every["exact"], every["calls"]), _pct(every["loose"], every["calls"]),
                      "met" if share >= goal else "not met", end_section=tool == tools[-1])
    con.print(table)
    con.print("exact: zone in the clock tool's own form (Tokyo = JST = Asia/Tokyo), none when "
              "none is asked for; place name before any ', country' equal to an accepted "
              "spelling; queries: every key word (free text); no unexpected argument. loose: "
              "the score of earlier runs (place or zone contained either way).")


def _pct(num: int, den: int) -> str:
    return f"{num / den:.1%}" if den else "-"
