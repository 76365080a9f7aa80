"""How well the embedded model's turn-end estimate separates finished requests from cut-off ones.

Finished: the 338 spoken-style requests of `bench/data/toolcall_eval.jsonl` (tool and no-tool
requests, with fillers and hesitations as people say them) and the eight `turn_latency`
questions. Cut off, two ways, from the same requests:
- "at a function word": the words up to an article, preposition, conjunction or auxiliary
  ("what's the weather like in"): unfinished for sure;
- "anywhere": after a random word (seeded), so some cuts are finished requests themselves
  ("is it gonna rain" of "is it gonna rain in London today"): labels with noise.
Each text is scored as the realtime path scores it: the serving agent's own prompt (persona,
tools, `TURN_NOTE`), Whisper-style ("What time is it?"): the first letter upper-case and a
full stop added when there is no final mark, as the ASR writes fragments.

Printed: per threshold, the share of finished requests whose turn would end early
(`semantic_vad` "complete") and the share of cut-off ones that would (a false early end),
per-set p50/p95 of the estimate, ROC AUC, and the per-item time.

    .venv/bin/python bench/turn_end_eval.py [--limit N] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402

from bench.machine import machine_line  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402
from bench.turn_latency_report import QUESTIONS  # noqa: E402
from agent.realtime.turn_taking.policy import CONNECTIVES as FUNCTION_WORDS  # noqa: E402

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
LOW = (0.002, 0.005, 0.01, 0.02)


def asr_style(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".?!" else text + "."


def cut_at_function_word(words: list[str]) -> str | None:
    spots = [i for i, w in enumerate(words[:-1]) if w.lower().strip(",") in FUNCTION_WORDS
             and i >= 1]
    return " ".join(words[: spots[-1] + 1]) if spots else None


def cut_anywhere(words: list[str], rng: random.Random) -> str | None:
    return " ".join(words[: rng.randrange(1, len(words))]) if len(words) >= 2 else None


def load_sets(limit: int | None) -> dict[str, list[str]]:
    rows = [json.loads(line) for line in (ROOT / "bench/data/toolcall_eval.jsonl").open()]
    finished = [r["text"] for r in rows] + [q for q, _ in QUESTIONS]
    if limit:
        finished = finished[:limit]
    rng = random.Random(2026)
    function_cut = [c for t in finished if (c := cut_at_function_word(t.split()))]
    anywhere = [c for t in finished if (c := cut_anywhere(t.split(), rng))]
    return {"finished": finished, "cut at a function word": function_cut,
            "cut anywhere": anywhere}


async def score_all(sets: dict[str, list[str]]) -> tuple[dict[str, list[float]], list[float]]:
    from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt
    from agent.cli.serve import load_serving_agent
    from agent.turn.prompt import build_prompt
    from agent.settings import StepvoxSettings
    from agent.turn.context import TurnContext
    from agent.backends.llama_cpp.turn_end_odds import turn_end_probability

    agent = load_serving_agent(StepvoxSettings(asr_model="tiny.en"), progress=False,
                               persistent_history=False)
    model = agent.services.chat_model
    schemas = agent.services.tools.openai_schemas()
    system = (await build_prompt(TurnContext(agent.services, uuid.uuid4().hex), "hi"))[0]
    await model.prefill(system.content, schemas)
    end_tokens = model._turn_end_tokens()
    scores: dict[str, list[float]] = {}
    times: list[float] = []
    for name, texts in sets.items():
        out = scores.setdefault(name, [])
        for text in texts:
            spoken = asr_style(text)
            messages = await build_prompt(TurnContext(agent.services, uuid.uuid4().hex), spoken)
            prompt = render_turn_prompt(messages, schemas)
            t = time.perf_counter()
            out.append(turn_end_probability(model._llm, prompt, spoken, end_tokens))
            times.append((time.perf_counter() - t) * 1000)
    return scores, times


def auc(pos: list[float], neg: list[float]) -> float:
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (p.size * n.size))


def report(sets: dict[str, list[str]], scores: dict[str, list[float]],
           times: list[float]) -> None:
    from agent.realtime.turn_taking.policy import TurnEndPolicy

    out = console()
    for title, thresholds, above in (
            ("Turn-end estimate: share of texts at or above the threshold (semantic_vad: "
             "'finished', end soon)", THRESHOLDS, True),
            ("Share of texts below a threshold (semantic_vad: 'unfinished', wait longer)",
             LOW, False)):
        table = make_table(title, ["threshold", *scores], numeric_from=0)
        for t in thresholds:
            table.add_row(f"{'>=' if above else '<'} {t:g}", *(
                f"{100 * np.mean((np.asarray(v) >= t) == above):.1f} %"
                for v in scores.values()))
        out.print(table)
    policy = TurnEndPolicy(silence_ms=640)
    verdicts = make_table("semantic_vad's verdicts (agent/realtime/turn_taking/policy.py: "
                          f">= {policy.finished_at:g} finished; < {policy.unfinished_below:g} "
                          "cut off, if the words end in a connective or run to 4+ words and "
                          "have no ? or !)",
                          ["verdict", *scores], numeric_from=1)
    for verdict in ("finished", "unsure", "unfinished"):
        verdicts.add_row(verdict, *(
            f"{100 * np.mean([policy.verdict(p, asr_style(t)) == verdict for p, t in zip(v, sets[name])]):.1f} %"
            for name, v in scores.items()))
    out.print(verdicts)
    dist = make_table("Estimate per set", ["set", "n", "p5", "p50", "p95"], numeric_from=1)
    for name, v in scores.items():
        a = np.asarray(v)
        dist.add_row(name, str(a.size), *(f"{np.percentile(a, q):.3f}" for q in (5, 50, 95)))
    out.print(dist)
    fin = scores["finished"]
    for name in list(scores)[1:]:
        out.print(f"ROC AUC finished vs {name}: {auc(fin, scores[name]):.3f}")
    s = summarize(times)
    out.print(f"time per estimate (prompt prefix not cached past the system block): p50 "
              f"{fmt(s.p50, 1)} ms, p95 {fmt(s.p95, 1)} ms (n={s.n})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--limit", type=int, default=None, help="only the first N finished texts")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    console().print(machine_line())
    sets = load_sets(args.limit)
    scores, times = asyncio.run(score_all(sets))
    report(sets, scores, times)
    if args.json:
        args.json.write_text(json.dumps({"sets": sets, "scores": scores}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
