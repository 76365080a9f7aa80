"""Fit the embedded model's tool-call decision (`agent.tool_choice.decision`) on the calibration half
of bench/data/toolcall_eval.jsonl, and score it on both halves.

Two steps:

    .venv/bin/python bench/fit_call_decision.py collect --out /tmp/call_features.json
    .venv/bin/python bench/fit_call_decision.py fit --features /tmp/call_features.json

`collect` runs every record (dev and test) through the real `LlamaCppChatModel` with the
four StepEval tools offered and stores its `CallFeatures` and tool-name probabilities, with
the time each part took. `fit` fits the logistic-regression `CallCombiner` and the
`ToolChooser` prior weight on the `dev` records only, picks the decision threshold on `dev`,
and prints trigger precision / recall and tool-choice accuracy for dev, test and all, next to
the plain odds threshold (the decision before the combiner), and the constants to put into
`agent/tool_choice/decision.py`. The test half never influences a fitted number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.tool_choice.decision import (  # noqa: E402
    FEATURE_NAMES, CallCombiner, CallFeatures, OddsThreshold, ToolChooser,
)
from agent.chat_model import ChatMessage  # noqa: E402
from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt  # noqa: E402
from agent.tool_choice.logistic import fit_logistic  # noqa: E402
from agent.tool_choice.prior import ToolPrior  # noqa: E402
from agent.backends.llama_cpp.tool_routing import tool_name_probabilities  # noqa: E402
from bench.machine import print_machine  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402
from bench.toolcall_eval import DATA, TOOLS, histories, load  # noqa: E402

SPLITS = ("dev", "test", "all")


async def collect(out: Path, threads: int | None, limit: int | None, model_name: str) -> None:
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from personas import DEFAULT_PERSONA
    from tools import ToolRegistry, stepeval_tools
    from tools.builtin.audio_library_files import builtin_audio_library

    con = console()
    print_machine(con)
    model = LlamaCppChatModel(ModelStore(progress=False).resolve(model_name), n_threads=threads)
    schemas = ToolRegistry(stepeval_tools(builtin_audio_library())).openai_schemas()
    system = ChatMessage(role="system", content=DEFAULT_PERSONA.full_system_prompt())
    await model.prefill(system.content, schemas)
    hist = histories()
    rows = []
    for i, r in enumerate(load(limit, 1)):
        messages = [system, *hist[r["history"]], ChatMessage(role="user", content=r["text"])]
        prompt = render_turn_prompt(messages, schemas)
        t0 = time.perf_counter()
        features = model.call_features(messages, schemas, prompt)
        t1 = time.perf_counter()
        names = tool_name_probabilities(model._llm, prompt, list(TOOLS))
        t2 = time.perf_counter()
        prior = model.tool_prior()
        prior.scores(r["text"], schemas)
        t3 = time.perf_counter()
        alone = render_turn_prompt([messages[0], messages[-1]], schemas)
        names_alone = tool_name_probabilities(model._router(), alone, list(TOOLS))
        rows.append({"id": r["id"], "features": features.model_dump(), "names": names,
                     "names_alone": names_alone,
                     "ms": {"features": (t1 - t0) * 1000, "names": (t2 - t1) * 1000,
                            "prior": (t3 - t2) * 1000}})
        if (i + 1) % 25 == 0:
            print(f"  {i + 1} records", file=sys.stderr, flush=True)
    out.write_text(json.dumps(rows, indent=1))
    for part in ("features", "names", "prior"):
        s = summarize([x["ms"][part] for x in rows])
        con.print(f"{part}: p50 {fmt(s.p50, 1)} ms / p95 {fmt(s.p95, 1)} ms (n={s.n})")


def trigger_scores(records: list[dict], called: list[bool]) -> tuple[float, float, int, int]:
    tp = sum(c for r, c in zip(records, called) if r["label"] == "positive")
    fp = sum(c for r, c in zip(records, called) if r["label"] == "negative")
    pos = sum(r["label"] == "positive" for r in records)
    return tp / max(1, tp + fp), tp / max(1, pos), fp, tp


def pick_threshold(probs: np.ndarray, labels: np.ndarray, min_recall: float) -> float:
    """The highest threshold whose dev recall is still >= min_recall."""
    best = 0.0
    for t in sorted(set(np.floor(probs * 1e4) / 1e4)):
        if labels[probs >= t].sum() / max(1, labels.sum()) >= min_recall:
            best = float(t)
    return best


def fit(path: Path, min_recall: float, l2: float, prior_l2: float, show: bool) -> None:
    from tools import ToolRegistry, stepeval_tools
    from tools.builtin.audio_embeddings import minilm_embedder
    from tools.builtin.audio_library_files import builtin_audio_library

    con = console()
    records = {r["id"]: r for r in load(None, 1)}
    rows = json.loads(path.read_text())
    data = [(records[x["id"]], x) for x in rows]
    # The prior is recomputed from the texts (MiniLM only, seconds), so the written examples
    # can change without re-running the LLM; the model's odds come from `collect`.
    schemas = ToolRegistry(stepeval_tools(builtin_audio_library())).openai_schemas()
    prior = ToolPrior(minilm_embedder(), l2=prior_l2)
    feats = {x["id"]: CallFeatures(with_history=x["features"]["with_history"],
                                   alone=x["features"]["alone"],
                                   prior=prior.scores(r["text"], schemas)) for r, x in data}
    dev = [(r, x) for r, x in data if r["split"] == "dev"]
    X = np.array([feats[x["id"]].vector() for _, x in dev])
    y = np.array([r["label"] == "positive" for r, _ in dev], dtype=float)
    # Standardised for the fit (so one L2 strength suits every feature), then folded back.
    mu, sd = X.mean(0), X.std(0)
    weights, bias = fit_logistic((X - mu) / sd, y, l2)
    weights, bias = weights / sd, bias - float((mu / sd) @ weights)
    combiner = CallCombiner(weights=tuple(round(float(w), 4) for w in weights),
                            bias=round(bias, 4))
    dev_probs = np.array([combiner.probability(feats[x["id"]]) for _, x in dev])
    combiner = combiner.model_copy(update={"threshold": pick_threshold(dev_probs, y, min_recall)})
    positives = [(r, x) for r, x in dev if r["label"] == "positive"]
    best_w, best_acc = 0.0, -1
    for w in np.arange(0.0, 40.5, 0.5):  # prior weight for the tool choice, on dev only
        chooser = ToolChooser(prior_weight=float(w))
        acc = sum(chooser.choose(x["names"], feats[x["id"]].prior) == r["tool"] for r, x in positives)
        if acc > best_acc:
            best_w, best_acc = float(w), acc
    chooser = ToolChooser(prior_weight=best_w)

    table = make_table(f"Call decision fitted on dev ({len(dev)} records), min dev recall "
                       f"{min_recall:.0%}, L2 {l2}",
                       ["decider", "split", "n", "precision", "recall", "false calls",
                        "right tool", "right tool (model names only)"])
    deciders = {"odds >= 0.88 (before)": OddsThreshold(), "combiner (fitted)": combiner}
    for label, decider in deciders.items():
        for split in SPLITS:
            sel = [(r, x) for r, x in data if split == "all" or r["split"] == split]
            called = [decider.decide(feats[x["id"]]) for _, x in sel]
            p, rc, fp, tp = trigger_scores([r for r, _ in sel], called)
            pos = [(r, x) for (r, x), c in zip(sel, called) if c and r["label"] == "positive"]
            right = sum(chooser.choose(x["names"], feats[x["id"]].prior) == r["tool"] for r, x in pos)
            raw = sum(max(x["names"], key=x["names"].get) == r["tool"] for r, x in pos)
            neg = sum(r["label"] == "negative" for r, _ in sel)
            table.add_row(label if split == "dev" else "", split, str(len(sel)), f"{p:.1%}",
                          f"{rc:.1%}", f"{fp}/{neg}", f"{right / max(1, len(pos)):.1%}",
                          f"{raw / max(1, len(pos)):.1%}", end_section=split == "all")
    con.print(table)
    if show:  # calibration records only: the held-out half is never looked at one by one
        for r, x in dev:
            called = combiner.decide(feats[x["id"]])
            if called != (r["label"] == "positive"):
                con.print(f"dev {r['label']} {r['history'] or 'none'}: {r['text']!r} "
                          f"p={combiner.probability(feats[x['id']]):.2f}")
    con.print(f"features: {', '.join(FEATURE_NAMES)}")
    con.print(f"FITTED_COMBINER = {combiner!r}")
    con.print(f"FITTED_CHOOSER = {chooser!r}")
    # `features` timed the odds and the prior together; the prior was also timed alone.
    parts = {
        "model odds (both contexts; the decision before)": [x["ms"]["features"] - x["ms"]["prior"]
                                                            for _, x in data],
        "MiniLM prior (embedding + classifier)": [x["ms"]["prior"] for _, x in data],
        "tool-name probabilities (a turn: calls only)": [x["ms"]["names"] for _, x in data],
    }
    base = summarize(next(iter(parts.values())))
    cost = make_table(f"Per-turn cost of the decision (ms), from `collect` ({path})",
                      ["part", "n", "p50", "p95", "p50 / odds"])
    for label, values in parts.items():
        s = summarize(values)
        cost.add_row(label, str(s.n), fmt(s.p50, 1), fmt(s.p95, 1), f"{s.p50 / base.p50:.2f}")
    con.print(cost)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="step", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--out", type=Path, default=Path("/tmp/call_features.json"))
    c.add_argument("--threads", type=int, default=None)
    c.add_argument("--limit", type=int, default=None)
    c.add_argument("--model", default="qwen2.5-0.5b-instruct",
                   help="catalog name (qwen2.5-1.5b-instruct: extra llm-1-5b)")
    f = sub.add_parser("fit")
    f.add_argument("--features", type=Path, default=Path("/tmp/call_features.json"))
    f.add_argument("--min-recall", type=float, default=0.97)
    f.add_argument("--l2", type=float, default=0.1, help="combiner regularisation")
    f.add_argument("--prior-l2", type=float, default=0.3, help="prior classifier regularisation")
    f.add_argument("--show-dev-errors", action="store_true")
    args = parser.parse_args()
    if args.step == "collect":
        asyncio.run(collect(args.out, args.threads, args.limit, args.model))
    else:
        fit(args.features, args.min_recall, args.l2, args.prior_l2, args.show_dev_errors)
    print(f"data: {DATA.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
