"""Chinese spoken QA: 小跃 (`xiaoyue`) through `VoiceAgent`, the questions spoken in Mandarin,
against the bare model asked the same questions as text.

`bench/data/zh_spoken_qa.jsonl` holds Chinese general-knowledge questions written for this
bench, each with its accepted answers (`bench/zh_answer_match.py`: the answer as a run of
characters, traditional/simplified and digits/numerals alike). Each question is spoken by the
Mandarin voice (cached as a 16 kHz WAV under out/spoken_qa/wavs/), heard by Whisper base
listening for Chinese, and answered by the stack a zh persona gets (`load_embedded_stack(...,
language="zh")`, 小跃's tools), a fresh conversation per question. The machinery is
`bench/spoken_qa.py`'s (the spoken input, the framework turn, the bare model with the same
file, sampling and one-line system prompt, asked right after each turn); only the language,
the persona and the scoring differ. Reports accuracy of both and their ratio, the character
error rate of the heard question, and end of speech -> first reply audio.

    .venv/bin/python bench/zh_spoken_qa.py                 # every question
    .venv/bin/python bench/zh_spoken_qa.py --limit 20 --verbose
    .venv/bin/python bench/zh_spoken_qa.py --text-in [--no-tools]   # where the gap goes

`--text-in` gives the framework the question's text instead of its audio (no ASR);
`--no-tools` offers 小跃 no tools (no tool preamble and no per-turn note in the prompt);
`--split dev|test` asks only one half (see `split_of`): prompt and persona changes are tuned
on the dev half and reported on the test half. A run of every question prints both halves.

A benchmark, never a test: it asserts nothing. Needs the `embedded` and `eval` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.answer_match import load_items  # noqa: E402
from bench.machine import machine_info, machine_line  # noqa: E402
from bench.spoken_qa import (  # noqa: E402
    bare_answer, bare_model, framework_turn, load_settings, parse_args as english_args, select,
    spoken_wav,
)
from bench.spoken_qa_report import summarize  # noqa: E402
from bench.stats import console, fmt, make_table  # noqa: E402
from bench.zh_answer_match import is_correct_zh  # noqa: E402
from agent.voice_agent import VoiceAgent

DATA = ROOT / "bench" / "data" / "zh_spoken_qa.jsonl"
PERSONA = "xiaoyue"


def split_of(item_id: str) -> str:
    """The half a question belongs to, by the number its id ends with: odd "dev" (tune on
    it), even "test" (report it). Stable when questions are added."""
    return "dev" if int(item_id.rsplit("-", 1)[-1]) % 2 else "test"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def print_zh_report(out, result: dict) -> None:
    s = result["summary"]
    out.print(f"\nChinese spoken QA ({result['mode']}): {s['n']} questions | persona {PERSONA} | "
              f"LLM "
              f"{result['model']} | temperature {result['sampling']['temperature']} | seed "
              f"{result['seed']}", markup=False)
    table = make_table("accuracy (accepted answer in the reply)",
                       ["", "correct", "accuracy", "95 % interval"])
    for key, label in (("framework", f"VoiceAgent (小跃), {result['mode'].split(',')[0]}"),
                       ("bare", "bare model, text in")):
        lo, hi = s[f"{key}_ci"]
        table.add_row(label, f"{s[f'{key}_correct']}/{s['n']}", _pct(s[f"{key}_accuracy"]),
                      f"{_pct(lo)} - {_pct(hi)}")
    table.add_row("ratio framework / bare", "", fmt(s["ratio"], 2), "")
    out.print(table)
    out.print(f"paired: both right {s['both']}, only framework {s['only_framework']}, only "
              f"bare {s['only_bare']}; tool turns {s['tool_turns']}; errors {s['errors']}",
              markup=False)
    timing = make_table("speech and latency", ["", "value"])
    # `wer` holds the character error rate here (see run()).
    timing.add_row("question heard: CER (mean)", _pct(s["wer_mean"]))
    timing.add_row("questions heard exactly", _pct(s["exact_transcripts"]))
    fa, br = s["first_audio_ms"], s["bare_reply_ms"]
    timing.add_row("end of speech -> first audio p50 / p95 (ms)",
                   f"{fmt(fa['p50'])} / {fmt(fa['p95'])}" if fa else "-")
    timing.add_row("bare model whole reply p50 / p95 (ms)",
                   f"{fmt(br['p50'])} / {fmt(br['p95'])}" if br else "-")
    out.print(timing)
    halves = make_table("by half (dev: odd ids, tuned on; test: even ids)",
                        ["half", "n", "framework", "bare"])
    for half in ("dev", "test"):
        recs = [r for r in result["records"] if split_of(r["id"]) == half]
        if recs:
            fw = sum(r["framework"]["correct"] for r in recs)
            bare = sum(r["bare"]["correct"] for r in recs)
            halves.add_row(half, str(len(recs)), f"{fw}/{len(recs)}", f"{bare}/{len(recs)}")
    out.print(halves)
    cats = make_table("by category", ["category", "n", "framework", "bare"])
    for name, c in s["by_category"].items():
        cats.add_row(name, str(c["n"]), _pct(c["framework"] / c["n"]), _pct(c["bare"] / c["n"]))
    out.print(cats)
    out.print("machine: " + machine_line(result["machine"]), markup=False)


async def framework_text_turn(agent, question: str) -> dict:
    """`framework_turn` with the question's text in place of its audio: the same record,
    the transcript being the text itself."""
    from agent.events import ToolCallStartedEvent, TurnDoneEvent

    svc = agent.services
    prefill = getattr(svc.chat_model, "prefill", None)
    if prefill is not None:
        await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())
    rec: dict = {"tools_called": [], "error": None}
    reply = None
    try:
        async for event in agent.stream(question, conversation_id=f"zh-qa-{uuid.uuid4().hex}"):
            if isinstance(event, ToolCallStartedEvent):
                rec["tools_called"].append(event.call.name)
            elif isinstance(event, TurnDoneEvent):
                reply = event.reply
    except Exception as exc:  # a benchmark reports failures; it does not stop on them
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["transcript"] = question if reply else ""
    rec["reply"] = reply.text if reply else ""
    rec["timings_ms"] = dict(reply.timings_ms) if reply else {}
    rec["first_audio_ms"] = rec["timings_ms"].get("tts_first_audio")
    return rec


async def run(args: argparse.Namespace, *, text_in: bool = False,
              no_tools: bool = False) -> dict:
    from agent.setup.embedded_stack import load_embedded_stack
    from agent.setup.tools import tools_for
    from personas import PersonaLibrary
    from speech.scoring.character_error_rate import character_error_rate

    out = console()
    info = machine_info()
    out.print("machine: " + machine_line(info), markup=False)
    items = select(load_items(args.data), args.limit, args.seed)
    if args.split:
        items = [item for item in items if split_of(item.id) == args.split]
    persona = PersonaLibrary().get(PERSONA)
    stack = load_embedded_stack(load_settings(args), progress=False, language=persona.language)
    agent = VoiceAgent.from_stack(stack, persona=persona, tools=[] if no_tools else tools_for(persona))
    await agent.warm_up()
    model = agent.services.chat_model
    model_path = model._llm.model_path
    bare, sampling = bare_model(model, args)
    start = time.perf_counter()
    wavs = [None if text_in else await spoken_wav(agent, item) for item in items]
    synth_s = time.perf_counter() - start
    records = []
    for i, (item, wav) in enumerate(zip(items, wavs)):
        rec = {"id": item.id, "category": item.category, "question": item.question,
               "answers": list(item.answers)}
        fw = await (framework_text_turn(agent, item.question) if text_in
                    else framework_turn(agent, wav))
        fw["correct"] = is_correct_zh(fw["reply"], item.answers)
        # The summary's "wer" is the error rate of the heard question; for Chinese that is
        # the character error rate (characters are the words).
        fw["cer"] = fw["wer"] = character_error_rate(item.question, fw["transcript"])
        rec["framework"] = fw
        rec["bare"] = b = bare_answer(bare, item.question, **sampling)
        b["correct"] = is_correct_zh(b["reply"], item.answers)
        records.append(rec)
        if args.verbose:
            mark = lambda ok: "+" if ok else "-"  # noqa: E731
            out.print(f"[{i + 1}/{len(items)}] {item.id} fw{mark(fw['correct'])} "
                      f"bare{mark(b['correct'])} heard {fw['transcript']!r} -> "
                      f"{fw['reply'][:60]!r} | bare {b['reply'][:50]!r}", markup=False)
    result = {"model_path": model_path, "model": getattr(model, "name", "?"),
              "persona": PERSONA, "seed": args.seed, "sampling": sampling,
              "mode": ("text in" if text_in else "Mandarin audio in")
              + (", no tools" if no_tools else f", tools {agent.services.tools.names}"),
              "split": args.split or "all", "questions": len(items), "synth_inputs_s": synth_s,
              "run_s": time.perf_counter() - start, "machine": info, "records": records}
    result["summary"] = summarize(records)
    print_zh_report(out, result)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-h" in argv or "--help" in argv:
        print(__doc__)  # this bench's own three flags; the options below are spoken_qa.py's
    own = {flag: flag in argv for flag in ("--text-in", "--no-tools")}
    argv = [a for a in argv if a not in own]
    split = None
    if "--split" in argv:
        at = argv.index("--split")
        split = argv[at + 1] if at + 1 < len(argv) else ""
        if split not in ("dev", "test"):
            raise SystemExit("--split takes dev or test")
        del argv[at:at + 2]
    if "--data" not in argv:
        argv += ["--data", str(DATA)]
    args = english_args(argv)  # the same options as bench/spoken_qa.py, and the three above
    args.split = split
    result = asyncio.run(run(args, text_in=own["--text-in"], no_tools=own["--no-tools"]))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False),
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
