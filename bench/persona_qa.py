"""Persona QA: does a built-in persona answer general-knowledge questions as well as the bare
model it runs on?

`bench/spoken_qa.py` asks its questions of the default persona. A role-play character
(Captain Bram, Veyra) or a desk agent (Mia) wraps the same model in a much longer prompt, and
a character that stays in character can lose the fact ("A spider has four legs." where the
bare model says eight). This bench asks the questions of `bench/data/spoken_qa.jsonl` as
text of each persona named, through `VoiceAgent` with that persona's own tools and a fresh
conversation per question, and of the bare model (the same GGUF, a one-line system prompt,
the agent's sampling) once per question. Reports, per persona, accuracy against the bare
model's on the same questions and the ratio.

    .venv/bin/python bench/persona_qa.py --limit 60 --seed 0 --verbose
    .venv/bin/python bench/persona_qa.py --personas captain-bram,veyra --split dev

`--split dev|test` asks only one half (odd / even question number): prompt changes are tuned
on dev and reported on test. `--compare-plain` asks each question twice, with the plain
answers for questions about the world (`agent.honesty.world_questions`) on and off, and
compares accuracy and first audio in the same run. A benchmark, never a test: it asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.answer_match import is_correct, load_items  # noqa: E402
from bench.machine import machine_info, machine_line  # noqa: E402
from bench.spoken_qa import DATA, bare_answer, bare_model, load_settings, select  # noqa: E402
from bench.stats import console, make_table, percentile  # noqa: E402
from bench.zh_spoken_qa import framework_text_turn, split_of  # noqa: E402
from agent.honesty.world_questions import asks_about_the_world  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402

ENGLISH_PERSONAS = ("pip", "captain-bram", "veyra", "skyway-agent")


async def run(args: argparse.Namespace) -> dict:
    from agent.setup.embedded_stack import load_embedded_stack
    from agent.setup.tools import tools_for
    from personas import PersonaLibrary

    out = console()
    info = machine_info()
    out.print("machine: " + machine_line(info), markup=False)
    items = select(load_items(args.data), args.limit, args.seed)
    if args.split:
        items = [item for item in items if split_of(item.id) == args.split]
    stack = load_embedded_stack(load_settings(args), progress=False)
    library = PersonaLibrary()
    model = stack.chat_model
    bare, sampling = bare_model(model, args)
    start = time.perf_counter()
    bare_records = {}
    for item in items:
        b = bare_answer(bare, item.question, **sampling)
        b["correct"] = is_correct(b["reply"], item.answers)
        bare_records[item.id] = b
    personas: dict[str, list[dict]] = {}
    plain_capable = getattr(model, "answers_from_another_prompt", False)
    for key in args.personas:
        persona = library.get(key)
        agent = VoiceAgent.from_stack(stack, persona=persona, tools=tools_for(persona))
        await agent.warm_up()
        records = personas[key] = []
        for i, item in enumerate(items):
            record = {"id": item.id, "question": item.question, "answers": list(item.answers),
                      "bare": bare_records[item.id],
                      "world": asks_about_the_world(item.question, persona)}
            # With --compare-plain, each question twice: plain answers on and off, in
            # alternating order (the same machine state for both).
            modes = (("framework", True), ("framework_off", False))[:2 if args.compare_plain else 1]
            for name, on in (modes if i % 2 == 0 else modes[::-1]):
                model.answers_from_another_prompt = on and plain_capable
                record[name] = await framework_text_turn(agent, item.question)
                record[name]["correct"] = is_correct(record[name]["reply"], item.answers)
            model.answers_from_another_prompt = plain_capable
            fw = record["framework"]
            records.append(record)
            if args.verbose:
                b = bare_records[item.id]
                mark = lambda ok: "+" if ok else "-"  # noqa: E731
                out.print(f"{key} [{i + 1}/{len(items)}] {item.id} fw{mark(fw['correct'])} "
                          f"bare{mark(b['correct'])} {fw['reply'][:80]!r} | bare "
                          f"{b['reply'][:50]!r}", markup=False)
    table = make_table(f"persona QA, text in ({len(items)} questions, split "
                       f"{args.split or 'all'}, seed {args.seed})",
                       ["persona", "persona right", "bare right", "ratio", "lost", "gained"])
    summary = {}
    for key, records in personas.items():
        fw = sum(r["framework"]["correct"] for r in records)
        bare_n = sum(r["bare"]["correct"] for r in records)
        lost = sum(r["bare"]["correct"] and not r["framework"]["correct"] for r in records)
        gained = sum(r["framework"]["correct"] and not r["bare"]["correct"] for r in records)
        ratio = fw / bare_n if bare_n else float("nan")
        summary[key] = {"n": len(records), "framework": fw, "bare": bare_n, "ratio": ratio,
                        "lost": lost, "gained": gained}
        table.add_row(key, f"{fw}/{len(records)}", f"{bare_n}/{len(records)}",
                      f"{ratio:.2f}", str(lost), str(gained))
    out.print(table)
    if args.compare_plain:
        out.print(plain_table(personas))
    out.print("machine: " + machine_line(info), markup=False)
    return {"model_path": model._llm.model_path, "seed": args.seed, "split": args.split or "all",
            "sampling": sampling, "questions": len(items), "run_s": time.perf_counter() - start,
            "machine": info, "summary": summary, "personas": personas}


def plain_table(personas: dict[str, list[dict]]):
    """Plain answers on against off, same run: accuracy, and the first audio of the
    questions about the world (the ones that take the plain prompt)."""
    table = make_table("plain answers for questions about the world, on vs off (same run)",
                       ["persona", "right, on", "right, off", "world questions",
                        "first audio p50 / p95 on (ms)", "off (ms)"])
    for key, records in personas.items():
        world = [r for r in records if r["world"]]

        def audio(name: str) -> str:
            ms = [r[name]["first_audio_ms"] for r in world if r[name]["first_audio_ms"]]
            return f"{percentile(ms, 50):,.0f} / {percentile(ms, 95):,.0f}" if ms else "-"

        table.add_row(key, str(sum(r["framework"]["correct"] for r in records)),
                      str(sum(r["framework_off"]["correct"] for r in records)),
                      f"{len(world)}/{len(records)}", audio("framework"),
                      audio("framework_off"))
    return table


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--personas", default=",".join(ENGLISH_PERSONAS),
                   help="built-in personas to ask, comma-separated (default: the English ones)")
    p.add_argument("--limit", type=int, default=None, help="a seeded random N of the questions")
    p.add_argument("--seed", type=int, default=0, help="picks the --limit subset")
    p.add_argument("--split", choices=("dev", "test"), default=None,
                   help="only odd-numbered (dev) or even-numbered (test) questions")
    p.add_argument("--profile", default=None, help="settings profile (STEPVOX_PROFILE)")
    p.add_argument("--data", type=Path, default=DATA, help="questions (JSONL)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for the models")
    p.add_argument("--out", type=Path, help="write every record as JSON here")
    p.add_argument("--verbose", action="store_true", help="print each answer as it comes")
    p.add_argument("--compare-plain", action="store_true",
                   help="also ask each question with plain answers off (agent.honesty."
                        "world_questions) and compare accuracy and first audio")
    args = p.parse_args(argv)
    args.personas = [k.strip() for k in args.personas.split(",") if k.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
