"""Spoken factual QA: does the framework answer general-knowledge questions as well as the bare
model it runs on?

`bench/data/spoken_qa.jsonl` holds general-knowledge questions written for this bench, each
with its accepted answers (`bench/answer_match.py` scores a reply: any accepted answer in it,
numbers as digits or words). Each question is spoken with the packaged Piper voice (cached
as a 16 kHz WAV under out/spoken_qa/wavs/, git-ignored) and run through `VoiceAgent` with
audio in: default persona, default tools, a fresh conversation per question. In the same run
the bare model (the same GGUF file the agent loaded, through llama_cpp's
`create_chat_completion`, a one-line system prompt, the agent's temperature, top_p and reply
length) gets each question as text, right after the framework's turn, so both see the same
machine load. Reports accuracy of both and their ratio, ASR WER against the question, and
end of speech -> first reply audio (reply.timings_ms["tts_first_audio"]).

    .venv/bin/python bench/spoken_qa.py                     # every question
    .venv/bin/python bench/spoken_qa.py --limit 50 --seed 1  # a seeded random 50
    .venv/bin/python bench/spoken_qa.py --profile quality --out out/spoken_qa/run.json

A benchmark, never a test: it asserts nothing. Needs the `embedded` and `eval` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.answer_match import QAItem, is_correct, load_items  # noqa: E402
from bench.machine import machine_info, machine_line  # noqa: E402
from bench.spoken_qa_report import print_report, summarize  # noqa: E402
from bench.stats import console  # noqa: E402
from agent.voice_agent import VoiceAgent

DATA = ROOT / "bench" / "data" / "spoken_qa.jsonl"
WAV_DIR = ROOT / "out" / "spoken_qa" / "wavs"  # /out/ is git-ignored
BARE_SYSTEM = "You are a helpful assistant. Answer briefly."
LEAD_SILENCE_S = 0.5
TAIL_SILENCE_S = 0.7
INPUT_RATE = 16_000  # what a voice front end sends


def select(items: list[QAItem], limit: int | None, seed: int) -> list[QAItem]:
    """All questions in file order, or a seeded random `limit` of them (in file order, so
    two runs with the same seed ask the same questions in the same order)."""
    if limit is None or limit >= len(items):
        return items
    keep = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in keep]


async def spoken_wav(agent, item: QAItem) -> Path:
    """The question in the agent's voice: [0.5 s silence][speech][0.7 s silence] at 16 kHz,
    cached by the question's text (an edited question is synthesized again)."""
    from speech.audio import AudioClip, write_wav

    digest = hashlib.sha1(item.question.encode("utf-8")).hexdigest()[:10]
    path = WAV_DIR / f"{item.id}-{digest}.wav"
    if path.is_file():
        return path
    speech = (await agent.say(item.question)).astype(np.float32)
    rate = agent.sample_rate
    lead = np.zeros(int(LEAD_SILENCE_S * rate), dtype=np.float32)
    tail = np.zeros(int(TAIL_SILENCE_S * rate), dtype=np.float32)
    samples = np.clip(np.concatenate([lead, speech, tail]), -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_wav(path, AudioClip(samples, rate).resampled(INPUT_RATE))


async def framework_turn(agent, wav: Path) -> dict:
    """One turn with audio in, in a fresh conversation, after the model's cache is back to
    the system prefix alone (as for a new caller)."""
    from agent.events import ToolCallStartedEvent, TurnDoneEvent

    svc = agent.services
    prefill = getattr(svc.chat_model, "prefill", None)
    if prefill is not None:
        await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())
    rec: dict = {"tools_called": [], "error": None}
    reply = None
    try:
        async for event in agent.stream(audio=str(wav),
                                        conversation_id=f"spoken-qa-{uuid.uuid4().hex}"):
            if isinstance(event, ToolCallStartedEvent):
                rec["tools_called"].append(event.call.name)
            elif isinstance(event, TurnDoneEvent):
                reply = event.reply
    except Exception as exc:  # a benchmark reports failures; it does not stop on them
        rec["error"] = f"{type(exc).__name__}: {exc}"
    rec["transcript"] = reply.transcript if reply else ""
    rec["reply"] = reply.text if reply else ""
    rec["timings_ms"] = dict(reply.timings_ms) if reply else {}
    rec["first_audio_ms"] = rec["timings_ms"].get("tts_first_audio")
    return rec


def bare_answer(llm, question: str, *, temperature: float, top_p: float,
                max_tokens: int) -> dict:
    """The same question as text to the bare model: no framework, a one-line system prompt."""
    start = time.perf_counter()
    out = llm.create_chat_completion(
        messages=[{"role": "system", "content": BARE_SYSTEM},
                  {"role": "user", "content": question}],
        temperature=temperature, top_p=top_p, max_tokens=max_tokens)
    return {"reply": out["choices"][0]["message"]["content"] or "",
            "ms": (time.perf_counter() - start) * 1000}


def bare_model(model, args: argparse.Namespace) -> tuple[object, dict]:
    """The bare model beside the agent's: the same file the agent loaded (the requantized one
    by default) in its own context, so the agent's KV cache is untouched (the weights are
    memory-mapped, so shared), and the agent's sampling."""
    import llama_cpp

    bare = llama_cpp.Llama(model._llm.model_path, n_ctx=2048,
                           n_threads=args.threads or os.cpu_count(), seed=args.seed, verbose=False)
    return bare, {"temperature": model.temperature, "top_p": model.top_p,
                  "max_tokens": model.max_tokens}


def load_settings(args: argparse.Namespace):
    from agent.settings import StepvoxSettings

    values: dict = {"threads": args.threads}
    if args.profile:
        if "profile" not in StepvoxSettings.model_fields:
            raise SystemExit("--profile: this stepvox has no `profile` setting yet")
        values["profile"] = args.profile
    return StepvoxSettings(**values)


async def run(args: argparse.Namespace) -> dict:
    from agent.setup.embedded_stack import load_embedded_stack
    from speech.scoring.word_error_rate import word_error_rate

    out = console()
    info = machine_info()
    out.print("machine: " + machine_line(info), markup=False)
    items = select(load_items(args.data), args.limit, args.seed)
    settings = load_settings(args)
    stack = load_embedded_stack(settings, progress=False)
    agent = VoiceAgent.from_stack(stack)
    await agent.warm_up()
    model = agent.services.chat_model
    model_path = model._llm.model_path
    bare, sampling = bare_model(model, args)
    start = time.perf_counter()
    wavs = [await spoken_wav(agent, item) for item in items]
    synth_s = time.perf_counter() - start

    records = []
    for i, (item, wav) in enumerate(zip(items, wavs)):
        rec = {"id": item.id, "category": item.category, "question": item.question,
               "answers": list(item.answers)}
        fw = await framework_turn(agent, wav)
        fw["correct"] = is_correct(fw["reply"], item.answers)
        fw["wer"] = word_error_rate(item.question, fw["transcript"])
        rec["framework"] = fw
        rec["bare"] = b = bare_answer(bare, item.question, **sampling)
        b["correct"] = is_correct(b["reply"], item.answers)
        records.append(rec)
        if args.verbose:
            mark = lambda ok: "+" if ok else "-"  # noqa: E731
            out.print(f"[{i + 1}/{len(items)}] {item.id} fw{mark(fw['correct'])} "
                      f"bare{mark(b['correct'])} heard {fw['transcript']!r} -> "
                      f"{fw['reply'][:80]!r} | bare {b['reply'][:60]!r}", markup=False)
    result = {
        "model_path": model_path, "model": getattr(model, "name", "?"),
        "profile": args.profile, "seed": args.seed, "sampling": sampling,
        "bare_system": BARE_SYSTEM, "persona_prompt": agent.persona.full_system_prompt(),
        "questions": len(items), "synth_inputs_s": synth_s,
        "run_s": time.perf_counter() - start, "machine": info, "records": records,
    }
    result["summary"] = summarize(records)
    print_report(out, result)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None,
                   help="ask a seeded random N of the questions (default: all)")
    p.add_argument("--seed", type=int, default=0,
                   help="picks the --limit subset; also the bare model's sampling seed")
    p.add_argument("--profile", default=None,
                   help="settings profile (STEPVOX_PROFILE), passed through to the agent")
    p.add_argument("--data", type=Path, default=DATA, help="questions (JSONL)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for the models (default: all cores)")
    p.add_argument("--out", type=Path, help="write every question's record as JSON here")
    p.add_argument("--verbose", action="store_true", help="print each question as it finishes")
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be >= 1")
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
