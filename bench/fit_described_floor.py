"""Choose the model-odds floor for tools known by their description only
(`EitherDecision.described_odds_floor`), on functions no one here wrote.

MiniLM reads a request near a function's words as a call ("What is a holy book?" near
`search_holy_books`); the model, shown the function in its own prompt, often does not lean
to a call at all there. The floor is the model's call odds below which a request whose
nearest tool is described-only gets no call. Per request, exactly what a turn reads: the
default persona's prompt with the functions (`render_turn_prompt`), the model's call-opening
odds (`call_probability`), and the MiniLM prior (`ToolPrior.scores`).

Calibration: BFCL v4's live and executable categories, as in `bench/fit_described_call.py`
(requests that need a call, and `live_irrelevance`). The floor is the largest on the grid
that takes away at most `--max-loss` of the calibration calls the decision makes without it.
With `--reported`, the reported non-live categories are only scored with the chosen floor,
never used to choose it.

    .venv/bin/python bench/fit_described_floor.py --profile default [--per-category 60]
        [--negatives 120] [--max-loss 0.01] [--reported]

Prints the machine, the chosen floor, and per category the share of requests that get a
call without and with it. Asserts nothing. Readings are cached under `out/described_odds/`
(shared with `bench/fit_described_sure.py`), so a rerun costs seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt  # noqa: E402
from agent.backends.llama_cpp.tool_routing import call_probability  # noqa: E402
from agent.chat_model import ChatMessage  # noqa: E402
from agent.tool_choice.decision import CallFeatures, EitherDecision, fitted_for  # noqa: E402
from bench.bfcl_data import CALIBRATION, REPORTED, load_category, sample  # noqa: E402
from bench.bfcl_eval import load_chat_model  # noqa: E402
from bench.machine import print_machine  # noqa: E402
from bench.stats import console, make_table  # noqa: E402
from personas.persona import DEFAULT_PERSONA  # noqa: E402
from tools import ToolRegistry, tool_from_function_spec  # noqa: E402

NEGATIVE = ("live_irrelevance", "irrelevance")
CACHE = ROOT / "out" / "described_odds"
# Fine at the low end: the 1.5B gives a call a small fraction of the 0.5B's odds.
GRID = (0.0, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3)


def readings(chat_model, category: str, n: int, seed: int) -> list[CallFeatures]:
    """The call decision's features for `n` sampled requests of `category`."""
    prior = chat_model.tool_prior()
    out = []
    for case in sample(load_category(category), n, seed):
        if not case.functions:
            continue
        tools = ToolRegistry(tool_from_function_spec(f) for f in case.functions).openai_schemas()
        messages = [ChatMessage(role="system",
                                content=DEFAULT_PERSONA.full_system_prompt([case.user_text])),
                    ChatMessage(role="user", content=case.user_text)]
        odds = call_probability(chat_model._llm, render_turn_prompt(messages, tools),
                                chat_model._call_tokens())
        out.append(CallFeatures(with_history=odds, alone=odds,
                                prior=prior.scores(case.user_text, tools)))
    return out


def cached_readings(chat_model, model_file: str, category: str, n: int,
                    seed: int) -> list[CallFeatures]:
    """`readings`, kept under `out/described_odds/` (by model, category, count and seed): the
    floor and sure-call fits read the same requests, and a rerun costs seconds."""
    path = CACHE / f"{model_file}-{category}-{n}-{seed}.json"
    if path.exists():
        return [CallFeatures.model_validate(r) for r in json.loads(path.read_text())]
    feats = readings(chat_model, category, n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([f.model_dump() for f in feats]))
    return feats


def calls(decider: EitherDecision, floor: float, features: list[CallFeatures]) -> int:
    with_floor = decider.model_copy(update={"described_odds_floor": floor})
    return sum(with_floor.decide(f) for f in features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--per-category", type=int, default=60)
    parser.add_argument("--negatives", type=int, default=120,
                        help="live_irrelevance requests for calibration")
    parser.add_argument("--max-loss", type=float, default=0.01)
    parser.add_argument("--reported", action="store_true",
                        help="also score the reported categories with the chosen floor")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    con = console()
    print_machine(con)
    chat_model = load_chat_model(args.profile, None)
    model_file = Path(chat_model._llm.model_path).name
    decider, _ = fitted_for(model_file)
    assert isinstance(decider, EitherDecision), decider
    con.print(f"profile {args.profile}: {model_file}; floor in the code "
              f"{decider.described_odds_floor}")
    started = time.perf_counter()
    cal = {}
    for c in CALIBRATION:
        if c == "live_relevance":
            continue
        cal[c] = cached_readings(chat_model, model_file, c, args.negatives if c in NEGATIVE
                                 else args.per_category, args.seed)
        con.print(f"  {c}: {len(cal[c])} requests, {time.perf_counter() - started:.0f} s")
    positives = [f for c, v in cal.items() if c not in NEGATIVE for f in v]
    base = calls(decider, 0.0, positives)
    floor = max(f for f in GRID if base - calls(decider, f, positives) <= args.max_loss * base)
    con.print(f"chosen floor {floor}: the largest on {GRID} that keeps calibration calls "
              f"within {args.max_loss:.0%} of the {base} made without one")
    rep = {c: cached_readings(chat_model, model_file, c, args.per_category, args.seed)
           for c in REPORTED} if args.reported else {}
    table = make_table(f"Requests that get a call, profile {args.profile}",
                       ["category", "set", "n", "no floor", f"floor {floor}",
                        f"floor in code ({decider.described_odds_floor})"])
    for label, group in (("calibration", cal), ("reported", rep)):
        for category, feats in group.items():
            if feats:
                n = len(feats)
                table.add_row(category, label, str(n),
                              *(f"{calls(decider, f, feats) / n:.1%}"
                                for f in (0.0, floor, decider.described_odds_floor)))
    con.print(table)
    con.print(f"{sum(map(len, cal.values())) + sum(map(len, rep.values()))} requests in "
              f"{time.perf_counter() - started:.0f} s. A call on live_irrelevance / "
              "irrelevance is wrong: there, lower is better.")


if __name__ == "__main__":
    main()
