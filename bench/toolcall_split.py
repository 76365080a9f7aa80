"""Split `bench/data/toolcall_eval.jsonl` into a calibration part (`dev`) and a held-out part
(`test`), written into each record's `split` field.

Stratified by (batch, tool, label, history): every stratum is shuffled with a fixed seed and
its first half (rounded up) goes to `dev`. Records added later carry a `batch` name and are
split among themselves, after the original records (batch ""), so adding records never moves
an earlier record between the halves (a calibration record must not turn up as held out). Thresholds, prompts and the learned call combiner are
tuned on `dev` only; `test` is only scored. Re-running with the same seed gives the same
split, so the committed field can be checked:

    .venv/bin/python bench/toolcall_split.py [--seed 2026] [--check]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "toolcall_eval.jsonl"
SEED = 2026


def assign_splits(records: list[dict], seed: int = SEED) -> dict[str, str]:
    """Record id -> "dev" or "test"."""
    strata: dict[tuple, list[str]] = defaultdict(list)
    for r in records:
        strata[(r.get("batch", ""), r["tool"], r["label"], r["history"] or "none")].append(r["id"])
    rng = random.Random(seed)
    out: dict[str, str] = {}
    for key in sorted(strata):
        ids = sorted(strata[key])
        rng.shuffle(ids)
        half = (len(ids) + 1) // 2
        out.update({i: "dev" for i in ids[:half]})
        out.update({i: "test" for i in ids[half:]})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="only verify the committed field")
    args = parser.parse_args()
    records = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    splits = assign_splits(records, args.seed)
    if args.check:
        wrong = [r["id"] for r in records if r.get("split") != splits[r["id"]]]
        print(f"{len(wrong)} records differ from seed {args.seed}: {wrong[:10]}")
        sys.exit(1 if wrong else 0)
    for r in records:
        r["split"] = splits[r["id"]]
    DATA.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    print(f"dev {sum(s == 'dev' for s in splits.values())}, test "
          f"{sum(s == 'test' for s in splits.values())} (seed {args.seed})")


if __name__ == "__main__":
    main()
