"""Tool calls on functions written by others: BFCL v4 through `VoiceAgent`, against the bare model.

Each sampled entry of the Berkeley Function Calling Leaderboard v4 (bench/bfcl_data.py) is
asked twice, in one process, alternating which goes first:

- stepvox: its functions registered with `tools.tool_from_function_spec` (echo tools, no
  runner: only the calls are scored) in a `ToolRegistry`, a fresh `VoiceAgent(chat_model,
  tools=registry, decoder=None, max_tool_rounds=1)` with the default persona, text in
  (`stream(text, synthesize=False)`), every `ToolCallStartedEvent` of the turn collected (the
  turn is stopped at its first tool result: with one tool round no call can follow) and the
  api-safe names mapped back (`math_factorial` -> `math.factorial`). The chat model is the
  profile's packaged LLM as `load_embedded_stack` builds it (same settings), without the
  speech models.
- bare: the same GGUF file in llama.cpp with its own chat template, the functions as
  OpenAI tools, greedy, a tolerant parser (bench/bfcl_bare.py).

Both are scored by BFCL's AST rules (bench/bfcl_ast.py). Reported (`--split reported`, the
default): the non-live categories simple_python, multiple, parallel, parallel_multiple and
irrelevance. `--split calibration` runs the live_* and exec_* categories instead (for fitting
a call decision; the reported set stays untouched). Time per turn: stepvox ms to its first
event (a call started, a filler sentence or the first reply text) and to its first call, bare
ms to its first token and to its whole output (its calls are known only then).

Targets (issue #24): stepvox >= bare + 10 points on every call category; irrelevance >= 85 %.

    .venv/bin/python bench/bfcl_eval.py [--profile default|quality|both] [--per-category 40]
        [--seed 0] [--split reported|calibration] [--categories a,b] [--threads N]
        [--data WHEEL_OR_FOLDER] [--out results.json] [--verbose]

A benchmark, never a test: it asserts nothing. Needs the `embedded` extra (and `llm-1-5b`
for the quality profile); the BFCL wheel is downloaded once (bench/bfcl_data.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bfcl_ast import Verdict, score_case  # noqa: E402
from bench.bfcl_bare import MAX_TOKENS, BareModel  # noqa: E402
from bench.bfcl_data import (  # noqa: E402
    CALIBRATION, REPORTED, BfclCase, load_category, sample, scoring_kind,
)
from bench.machine import CpuMeter, machine_info, machine_line  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402

CALL_MARGIN_POINTS = 10.0
IRRELEVANCE_GOAL = 0.85
PROFILES = ("default", "quality")


def load_chat_model(profile: str, threads: int | None):
    """The profile's LLM exactly as `agent.setup.embedded_stack.load_embedded_stack` builds it."""
    from agent.models.store import model_store
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.settings import StepvoxSettings

    settings = StepvoxSettings(profile=profile, threads=threads)
    path = model_store(settings, progress=False).resolve_for_role("llm")
    return LlamaCppChatModel(path, n_threads=settings.threads,
                             temperature=settings.llm_temperature,
                             max_tokens=settings.llm_max_tokens)


async def stepvox_turn(chat_model, case: BfclCase) -> dict[str, Any]:
    """One text turn through `VoiceAgent` with the entry's functions as the only tools."""
    from agent.events import SentenceEvent, TextDeltaEvent, ToolCallStartedEvent, ToolResultEvent
    from agent.voice_agent import VoiceAgent
    from tools import ToolRegistry, tool_from_function_spec
    from tools.adapters.function_specs import api_safe_name

    rec: dict[str, Any] = {"calls": [], "text": "", "first_event_ms": None,
                           "first_event": None, "first_call_ms": None, "total_ms": None,
                           "error": None}
    back = {api_safe_name(f["name"]): f["name"] for f in case.functions}
    try:
        registry = ToolRegistry([tool_from_function_spec(f) for f in case.functions])
        agent = VoiceAgent(chat_model, tools=registry, decoder=None, max_tool_rounds=1,
                           learn_facts=False, fact_embed=None)
    except Exception as exc:  # a benchmark reports failures; it does not stop on them
        rec["error"] = f"set-up: {type(exc).__name__}: {exc}"
        return rec
    text: list[str] = []
    started = time.perf_counter()
    try:
        async with contextlib.aclosing(agent.stream(case.user_text, synthesize=False,
                                                    conversation_id=f"bfcl-{case.id}")) as events:
            async for event in events:
                if rec["first_event"] is None and isinstance(
                        event, (ToolCallStartedEvent, TextDeltaEvent, SentenceEvent)):
                    rec["first_event_ms"] = (time.perf_counter() - started) * 1000
                    rec["first_event"] = ("call" if isinstance(event, ToolCallStartedEvent)
                                          else "text")
                if isinstance(event, ToolCallStartedEvent):
                    if rec["first_call_ms"] is None:
                        rec["first_call_ms"] = (time.perf_counter() - started) * 1000
                    name = event.call.name
                    rec["calls"].append({"name": back.get(name, name),
                                         "arguments": dict(event.call.arguments or {})})
                elif isinstance(event, TextDeltaEvent):
                    text.append(event.text)
                elif isinstance(event, ToolResultEvent):
                    break  # the round's calls all came before its results; no round follows
    except Exception as exc:
        rec["error"] = f"turn: {type(exc).__name__}: {exc}"
    rec["total_ms"] = (time.perf_counter() - started) * 1000
    rec["text"] = "".join(text).strip()
    report = chat_model.last_call_report()
    rec["decision"] = None if report is None else report.reason()
    return rec


def bare_turn(bare: BareModel, case: BfclCase) -> dict[str, Any]:
    try:
        answer = bare.ask(case.user_text, case.functions)
    except Exception as exc:
        return {"calls": [], "text": "", "first_token_ms": None, "total_ms": None,
                "error": f"{type(exc).__name__}: {exc}"}
    return {"calls": answer.calls, "text": answer.text, "first_token_ms": answer.first_token_ms,
            "total_ms": answer.total_ms, "prompt_tokens": answer.prompt_tokens,
            "error": answer.error}


def _verdict(case: BfclCase, rec: dict[str, Any]) -> Verdict:
    verdict = score_case(case, rec["calls"])
    if rec.get("error") and not verdict.correct:
        return Verdict(False, f"error: {rec['error']}")
    return verdict


async def warm_up(chat_model, bare: BareModel) -> None:
    """Load what loads lazily (the MiniLM prior and request detector, grammars) on a made-up
    entry, so the first scored turn does not pay for it; not scored."""
    from agent.honesty.replies import warm_up as warm_up_honesty

    await warm_up_honesty(chat_model)
    case = BfclCase(id="warm-up", category="simple_python", question=[
        {"role": "user", "content": "What is 12 plus 30?"}], functions=[{
            "name": "calculator.add", "description": "Add two integers.", "parameters": {
                "type": "dict", "required": ["a", "b"], "properties": {
                    "a": {"type": "integer", "description": "first"},
                    "b": {"type": "integer", "description": "second"}}}}])
    await stepvox_turn(chat_model, case)
    bare_turn(bare, case)


async def run_profile(profile: str, cases: list[BfclCase], args: argparse.Namespace,
                      con) -> dict[str, Any]:
    t0 = time.perf_counter()
    chat_model = load_chat_model(profile, args.threads)
    gguf = chat_model._llm.model_path
    bare = BareModel(gguf, n_threads=args.threads or os.cpu_count())
    load_s = time.perf_counter() - t0
    await warm_up(chat_model, bare)
    records = []
    started = time.perf_counter()
    with CpuMeter() as meter:
        for i, case in enumerate(cases):
            if i % 2 == 0:
                sv = await stepvox_turn(chat_model, case)
                bb = bare_turn(bare, case)
            else:
                bb = bare_turn(bare, case)
                sv = await stepvox_turn(chat_model, case)
            sv_v, bb_v = _verdict(case, sv), _verdict(case, bb)
            sv.update(correct=sv_v.correct, reason=sv_v.reason)
            bb.update(correct=bb_v.correct, reason=bb_v.reason)
            records.append({"id": case.id, "category": case.category, "kind": case.kind,
                            "question": case.user_text,
                            "functions": [f["name"] for f in case.functions],
                            "expected": case.possible_answer, "stepvox": sv, "bare": bb})
            if args.verbose:
                mark = lambda ok: "+" if ok else "-"  # noqa: E731
                con.print(f"[{i + 1}/{len(cases)}] {case.id} stepvox{mark(sv_v.correct)} "
                          f"bare{mark(bb_v.correct)} | {sv_v.reason[:70] or 'ok'} | "
                          f"{bb_v.reason[:50] or 'ok'}", markup=False)
                if not sv["calls"]:
                    con.print(f"    stepvox's decision: {sv.get('decision')}; said: "
                              f"{sv['text'][:120]!r}", markup=False)
            elif (i + 1) % 10 == 0:
                print(f"  {profile}: {i + 1}/{len(cases)} entries, "
                      f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    reading = meter.reading
    del bare, chat_model
    return {"profile": profile, "gguf": str(gguf), "load_s": load_s,
            "run_s": time.perf_counter() - started, "own_cores": reading.own_cores,
            "other_cores": reading.other_cores, "records": records}


# --- report ----------------------------------------------------------------------------------

def _pct(num: int, den: int) -> str:
    return f"{num / den:.1%}" if den else "-"


def category_rows(records: list[dict]) -> list[dict[str, Any]]:
    rows = []
    order = list(dict.fromkeys(r["category"] for r in records))
    for category in order:
        sel = [r for r in records if r["category"] == category]
        n = len(sel)
        sv = sum(r["stepvox"]["correct"] for r in sel)
        bb = sum(r["bare"]["correct"] for r in sel)
        kind = scoring_kind(category)
        rows.append({"category": category, "kind": kind, "n": n, "stepvox": sv, "bare": bb,
                     "stepvox_called": sum(bool(r["stepvox"]["calls"]) for r in sel),
                     "bare_called": sum(bool(r["bare"]["calls"]) for r in sel)})
    return rows


def _target(row: dict[str, Any]) -> str:
    n = row["n"]
    if not n:
        return "-"
    if row["kind"] == "irrelevance":
        return "met" if row["stepvox"] / n >= IRRELEVANCE_GOAL else "not met"
    if row["kind"] == "relevance":
        return "-"
    diff = (row["stepvox"] - row["bare"]) / n * 100
    return "met" if diff >= CALL_MARGIN_POINTS else "not met"


def report(con, result: dict[str, Any]) -> None:
    profile, records = result["profile"], result["records"]
    rows = category_rows(records)
    table = make_table(f"BFCL v4, AST rules, profile {profile} ({Path(result['gguf']).name})",
                       ["category", "n", "stepvox", "bare", "diff (pts)", "stepvox called",
                        "bare called", "target"])
    for row in rows:
        n = row["n"]
        diff = (row["stepvox"] - row["bare"]) / n * 100 if n else 0.0
        table.add_row(row["category"], str(n), _pct(row["stepvox"], n), _pct(row["bare"], n),
                      f"{diff:+.1f}", f"{row['stepvox_called']}/{n}", f"{row['bare_called']}/{n}",
                      _target(row))
    calls = [r for r in rows if r["kind"] not in ("irrelevance", "relevance")]
    if len(calls) > 1:
        n = sum(r["n"] for r in calls)
        sv, bb = sum(r["stepvox"] for r in calls), sum(r["bare"] for r in calls)
        table.add_row("all call categories", str(n), _pct(sv, n), _pct(bb, n),
                      f"{(sv - bb) / n * 100:+.1f}" if n else "-",
                      f"{sum(r['stepvox_called'] for r in calls)}/{n}",
                      f"{sum(r['bare_called'] for r in calls)}/{n}", "", style="bold")
    con.print(table)
    con.print("stepvox / bare = entries right by BFCL's AST rules (irrelevance: no call made); "
              "called = entries with at least one call; target: call categories stepvox >= "
              f"bare + {CALL_MARGIN_POINTS:.0f} points, irrelevance >= {IRRELEVANCE_GOAL:.0%}.")

    kinds = make_table(f"Why entries were wrong, profile {profile} (call categories)",
                       ["reason", "stepvox", "bare"])
    counts = {s: Counter(r[s]["reason"].split(":", 1)[0] for r in records
                         if r["kind"] not in ("irrelevance", "relevance") and not r[s]["correct"])
              for s in ("stepvox", "bare")}
    for reason in sorted(set(counts["stepvox"]) | set(counts["bare"]),
                         key=lambda k: -(counts["stepvox"][k] + counts["bare"][k])):
        kinds.add_row(reason, str(counts["stepvox"][reason]), str(counts["bare"][reason]))
    con.print(kinds)

    timing = make_table(f"Time per turn (ms), profile {profile}",
                        ["system", "measure", "n", "p50", "p95"])
    sv_call = summarize(r["stepvox"]["first_call_ms"] for r in records)
    sv_text = summarize(r["stepvox"]["first_event_ms"] for r in records
                        if not r["stepvox"]["calls"])
    sv_all = summarize(r["stepvox"]["first_event_ms"] for r in records)
    bb_first = summarize(r["bare"]["first_token_ms"] for r in records)
    bb_call = summarize(r["bare"]["total_ms"] for r in records if r["bare"]["calls"])
    bb_text = summarize(r["bare"]["total_ms"] for r in records if not r["bare"]["calls"])
    for system, measure, s in (
            ("stepvox", "first event (all turns)", sv_all),
            ("stepvox", "first call started, turns with a call", sv_call),
            ("stepvox", "first event (text), no call", sv_text),
            ("bare", "first token (all turns)", bb_first),
            ("bare", "whole output, turns with a call", bb_call),
            ("bare", f"whole output (<= {MAX_TOKENS} tokens), no call", bb_text)):
        timing.add_row(system, measure, str(s.n if s else 0), fmt(s and s.p50),
                       fmt(s and s.p95))
    con.print(timing)
    other = result.get("other_cores")
    con.print(f"{len(records)} entries in {result['run_s']:.0f} s (both systems; models loaded in "
              f"{result['load_s']:.1f} s); cores used meanwhile: this process "
              f"{result['own_cores']:.2f}, others {fmt(other, 2)}.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=(*PROFILES, "both"), default="default")
    p.add_argument("--per-category", type=int, default=40,
                   help="seeded random entries per category (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", choices=("reported", "calibration"), default="reported",
                   help="reported: the non-live categories; calibration: live_* and exec_*")
    p.add_argument("--categories", default=None,
                   help="comma-separated categories (default: those of --split)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    p.add_argument("--data", type=Path, default=None,
                   help="the bfcl-eval wheel, an unpacked wheel or the excerpt folder "
                        "(default: the cached wheel, downloaded when missing)")
    p.add_argument("--out", type=Path, default=None, help="every entry's record as JSON")
    p.add_argument("--verbose", action="store_true", help="print each entry as it finishes")
    p.add_argument("--ids", default=None,
                   help="comma-separated entry ids (e.g. simple_python_72) to rerun, in place "
                        "of the seeded sample; their categories are read from the ids")
    p.add_argument("--log", action="store_true",
                   help="show the agent's INFO log (dropped, filled, moved arguments)")
    args = p.parse_args(argv)
    if args.per_category < 0:
        p.error("--per-category must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.log:
        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    for name in ("agent", "tools"):
        logging.getLogger(name).setLevel(logging.INFO if args.log else logging.WARNING)
    con = console()
    info = machine_info()
    con.print("machine: " + machine_line(info), markup=False)
    categories = ([c.strip() for c in args.categories.split(",") if c.strip()]
                  if args.categories else list(REPORTED if args.split == "reported"
                                               else CALIBRATION))
    if args.ids:
        wanted = [i.strip() for i in args.ids.split(",") if i.strip()]
        categories = sorted({i.rsplit("_", 1)[0] for i in wanted})
        by_id = {case.id: case for category in categories
                 for case in load_category(category, args.data)}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            con.print(f"no such entries: {', '.join(missing)}")
            return 2
        cases = [by_id[i] for i in wanted]
    else:
        cases = [case for category in categories
                 for case in sample(load_category(category, args.data),
                                    args.per_category or None, args.seed)]
    con.print(f"BFCL v4 ({args.split}): {len(cases)} entries, up to {args.per_category or 'all'} "
              f"per category (seed {args.seed}) of {', '.join(categories)}")
    profiles = list(PROFILES) if args.profile == "both" else [args.profile]
    started = time.perf_counter()
    results = []
    for profile in profiles:
        result = asyncio.run(run_profile(profile, cases, args, con))
        report(con, result)
        results.append(result)
    con.print(f"total {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "machine": info, "split": args.split, "categories": categories,
            "per_category": args.per_category, "seed": args.seed,
            "profiles": {r["profile"]: r | {"rows": category_rows(r["records"])}
                         for r in results}}, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
