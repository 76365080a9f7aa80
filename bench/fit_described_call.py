"""Fit the call decision for tools known by their description only (`agent.tool_choice.decision.
DescribedCall`) on functions no one here wrote, and score it on BFCL's reported categories.

Calibration: BFCL v4's live categories (functions users contributed) and its executable
ones: every request there that needs a call is a positive, every `live_irrelevance` request
(none of the offered functions fits) a negative. The reported non-live categories
(simple_python, multiple, parallel, parallel_multiple: positives; irrelevance: negatives) are
only scored, never fitted on. Features per request, from the packaged MiniLM
(`agent.tool_choice.prior.ToolPrior`, so exactly what a turn computes): the best cosine between the
request and an offered tool's `description_text`, and that minus the best cosine to the
no-tool requests. The threshold is the lowest whose calibration specificity reaches
`--specificity` (irrelevant requests left alone), since a call on a request no tool fits is
an invented action.

    .venv/bin/python bench/fit_described_call.py [--per-category 120] [--specificity 0.85]

Prints the machine, the weights to put into `agent/tool_choice/decision.py`, ROC AUC, and recall /
specificity per category at the chosen threshold and at the one in the code. Asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.tool_choice.decision import FITTED_DESCRIBED, CallFeatures, DescribedCall  # noqa: E402
from agent.tool_choice.logistic import fit_logistic  # noqa: E402
from agent.tool_choice.prior import PriorScores, ToolPrior, description_text  # noqa: E402
from agent.tool_choice.prior_examples import NO_TOOL_REQUESTS  # noqa: E402
from bench.bfcl_data import CALIBRATION, REPORTED, load_category, sample  # noqa: E402
from bench.machine import print_machine  # noqa: E402
from bench.stats import console, make_table  # noqa: E402
from tools import ToolRegistry, tool_from_function_spec  # noqa: E402

CALIBRATION_NEGATIVE = "live_irrelevance"
REPORTED_NEGATIVE = "irrelevance"


def scores(prior: ToolPrior, category: str, n: int, seed: int) -> list[CallFeatures]:
    """The prior's readings for `n` sampled requests of `category`, embedded in batches
    (the same texts `ToolPrior.scores` embeds one turn at a time; the first few are checked
    against it, so the fit sees exactly what a turn computes)."""
    cases = [c for c in sample(load_category(category), n, seed) if c.functions]
    schemas = [ToolRegistry(tool_from_function_spec(f) for f in c.functions).openai_schemas()
               for c in cases]
    queries = prior.embed([c.user_text for c in cases])
    texts = [description_text(t["function"]) for tools in schemas for t in tools]
    owners = np.repeat(np.arange(len(cases)), [len(tools) for tools in schemas])
    described = prior.embed(texts)
    no_tool = prior.embed(list(NO_TOOL_REQUESTS))
    out = []
    for i, (case, tools, query) in enumerate(zip(cases, schemas, queries)):
        cos = described[owners == i] @ query
        names = [t["function"]["name"] for t in tools]
        features = CallFeatures(with_history=0.0, alone=0.0, prior=PriorScores(
            by_tool=dict(zip(names, map(float, cos))), no_tool=float((no_tool @ query).max()),
            by_description=dict(zip(names, map(float, cos))), described_only=names))
        if i < 3:
            turn = prior.scores(case.user_text, tools)
            assert abs(turn.best_described - features.prior.best_described) < 1e-4, case.id
            assert abs(turn.no_tool - features.prior.no_tool) < 1e-4, case.id
        out.append(features)
    return out


def matrix(features: list[CallFeatures]) -> np.ndarray:
    return np.array([[f.prior.best_described, f.prior.best_described - f.prior.no_tool]
                     for f in features])


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a random positive scores above a random negative), ties counted half."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).mean() + 0.5 * (diff == 0).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-category", type=int, default=120)
    parser.add_argument("--negatives", type=int, default=400,
                        help="live_irrelevance requests for calibration")
    parser.add_argument("--specificity", type=float, default=0.85)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    con = console()
    print_machine(con)
    from tools.builtin.audio_embeddings import minilm_embedder

    prior = ToolPrior(minilm_embedder())
    started = time.perf_counter()
    cal = {c: scores(prior, c, args.negatives if c == CALIBRATION_NEGATIVE else
                     args.per_category, args.seed)
           for c in CALIBRATION if c != "live_relevance"}
    rep = {c: scores(prior, c, args.per_category, args.seed) for c in REPORTED}
    con.print(f"features of {sum(map(len, cal.values())) + sum(map(len, rep.values()))} "
              f"requests in {time.perf_counter() - started:.0f} s")
    pos = np.vstack([matrix(v) for c, v in cal.items() if c != CALIBRATION_NEGATIVE and v])
    neg = matrix(cal[CALIBRATION_NEGATIVE])
    weights, bias = fit_logistic(np.vstack([pos, neg]),
                                 np.r_[np.ones(len(pos)), np.zeros(len(neg))], 0.01)
    fitted = DescribedCall(weights=tuple(map(float, weights)), bias=float(bias))
    p_neg = np.array([fitted.probability(f) for f in cal[CALIBRATION_NEGATIVE]])
    # The lowest threshold that leaves --specificity of the irrelevant requests alone.
    threshold = float(np.quantile(p_neg, args.specificity))
    fitted = fitted.model_copy(update={"threshold": round(threshold, 4)})
    con.print(f"DescribedCall(weights=({fitted.weights[0]:.4f}, {fitted.weights[1]:.4f}), "
              f"bias={fitted.bias:.4f}, threshold={fitted.threshold})")
    p_pos = np.array([fitted.probability(f) for c, v in cal.items()
                      if c != CALIBRATION_NEGATIVE for f in v])
    con.print(f"calibration ROC AUC {auc(p_pos, p_neg):.3f}")
    table = make_table("Described-only tools: share of requests that get a call",
                       ["category", "set", "n", "calls (fitted)", "calls (in code)"])
    for label, group in (("calibration", cal), ("reported", rep)):
        for category, feats in group.items():
            if not feats:
                continue
            now = np.mean([fitted.decide(f) for f in feats])
            code = np.mean([FITTED_DESCRIBED.decide(f) for f in feats])
            table.add_row(category, label, str(len(feats)), f"{now:.1%}", f"{code:.1%}")
    con.print(table)
    con.print("A call on live_irrelevance / irrelevance is wrong: there, lower is better.")


if __name__ == "__main__":
    main()
