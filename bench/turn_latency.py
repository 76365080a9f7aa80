"""Turn latency of the embedded stack: end of the user's speech -> first audio of the reply.

Synthesizes a fixed set of user questions with the stack's own voice (Piper), pads each with
0.5 s of silence before and 0.7 s after, and feeds the WAV files to `VoiceAgent.stream(audio=...)`
one turn at a time, each turn in a fresh conversation (so the prompt does not grow). The stage
times come from the final `TurnDoneEvent.reply.timings_ms` (ms from the moment the whole
utterance is handed over). Prints p50/p95/mean per stage, for all turns and split by whether the
model called a tool, plus references measured in the same run.

    .venv/bin/python bench/turn_latency.py                 # ASR base, 12 turns after 2 warm-up
    .venv/bin/python bench/turn_latency.py --asr both      # base and tiny.en, turns alternated
    .venv/bin/python bench/turn_latency.py --turns 24 --out /tmp/turns.json --threads 2

A benchmark, never a test: it asserts nothing. Needs the `embedded` extra (the models).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.machine import CpuMeter, load_average, machine_info, machine_line  # noqa: E402
from bench.stats import console, fmt  # noqa: E402
from bench.turn_latency_report import (  # noqa: E402
    LEAD_SILENCE_S, QUESTIONS, STAGES, TAIL_SILENCE_S, TARGET_MS, new_caller, print_comparison,
    print_config, summarize_config,
)
from agent.voice_agent import VoiceAgent  # noqa: E402


# (key, label, how it is computed, function of timings_ms, only for tool turns)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", "", text.lower().replace("'", "")).split())


def cpu_probe_ms(reps: int = 8, size: int = 384) -> float:
    """A fixed CPU workload (float32 matmuls on all BLAS threads): the same-run reference for
    how fast this shared machine is at the moment. Lower is faster."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    a @ b  # first call pays thread start-up
    start = time.perf_counter()
    for _ in range(reps):
        a = (a @ b) * 0.01
    return (time.perf_counter() - start) * 1000


# --------------------------------------------------------------------------------------------
# inputs


async def make_inputs(agent, wav_dir: Path, rate: int) -> tuple[list[Path], float]:
    """One WAV per question: [0.5 s silence][speech in the agent's own voice][0.7 s silence],
    resampled to `rate` Hz."""
    from speech.audio import AudioClip, write_wav

    start = time.perf_counter()
    paths = []
    for i, (question, _) in enumerate(QUESTIONS):
        speech = await agent.say(question)
        voice_rate = agent.sample_rate
        lead = np.zeros(int(LEAD_SILENCE_S * voice_rate), dtype=np.float32)
        tail = np.zeros(int(TAIL_SILENCE_S * voice_rate), dtype=np.float32)
        samples = np.clip(np.concatenate([lead, speech.astype(np.float32), tail]), -1.0, 1.0)
        paths.append(write_wav(wav_dir / f"q{i:02d}.wav",
                               AudioClip(samples, voice_rate).resampled(rate)))
    return paths, time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# one turn


async def run_turn(agent, wav: Path, question: str, expects_tool: bool, index: int,
                   warmup: bool) -> dict:
    from agent.events import (
        AudioChunkEvent, SentenceEvent, ToolCallStartedEvent, TranscriptEvent, TurnDoneEvent,
    )

    await new_caller(agent)
    rec: dict = {"index": index, "warmup": warmup, "question": question,
                 "expects_tool": expects_tool, "wav": wav.name,
                 "conversation_id": f"bench-{uuid.uuid4().hex}",  # fresh: the prompt never grows
                 "probe_ms": cpu_probe_ms(), "tools_called": [], "error": None}
    reply = None
    first_sentence = None
    harness_first_audio = None
    with CpuMeter() as meter:
        t0 = time.perf_counter()
        try:
            async for event in agent.stream(audio=str(wav), conversation_id=rec["conversation_id"]):
                if isinstance(event, TranscriptEvent):
                    rec["transcript"] = event.text
                elif isinstance(event, SentenceEvent) and first_sentence is None:
                    first_sentence = event.text
                elif isinstance(event, ToolCallStartedEvent):
                    rec["tools_called"].append(event.call.name)
                elif isinstance(event, AudioChunkEvent) and harness_first_audio is None:
                    harness_first_audio = (time.perf_counter() - t0) * 1000
                elif isinstance(event, TurnDoneEvent):
                    reply = event.reply
        except Exception as exc:  # a benchmark reports failures; it does not stop on them
            rec["error"] = f"{type(exc).__name__}: {exc}"
    reading = meter.reading
    rec["own_cores"] = reading.own_cores
    rec["other_cores"] = reading.other_cores
    rec["first_sentence_text"] = first_sentence
    rec["harness_first_audio_ms"] = harness_first_audio
    if reply is not None:
        rec["timings_ms"] = dict(reply.timings_ms)
        rec["reply"] = reply.text
        rec["reply_audio_s"] = reply.audio_duration_s
        rec["tool_names"] = reply.tool_names
    else:
        rec["timings_ms"] = {}
    rec["called_tool"] = bool(rec["tools_called"]) or "llm_tool_call" in rec["timings_ms"]
    rec["transcript_ok"] = _norm(rec.get("transcript", "")) == _norm(question)
    rec["stages"] = {key: fn(rec["timings_ms"]) for key, _, _, fn, _ in STAGES}
    # Same-run reference: the turn's first sentence synthesized again, alone on the machine
    # (no LLM decoding next to it). In-turn / alone shows what the overlap costs.
    rec["tts_alone_ms"] = None
    if first_sentence and agent.services.decoder is not None:
        start = time.perf_counter()
        gen = agent.services.decoder.synthesize(first_sentence)
        try:
            await anext(gen, None)
        finally:
            await gen.aclose()
        rec["tts_alone_ms"] = (time.perf_counter() - start) * 1000
    return rec


# --------------------------------------------------------------------------------------------
# the run: load, warm up, synthesize the inputs, run the turns, print


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


async def run_configs(args, asrs: list[str], wav_dir: Path) -> list[dict]:
    """Load the stack once per process; with several ASR models, load each extra Whisper next
    to it and alternate the models turn by turn on the same question, so each pair of turns
    sees the same machine load (the ratio between them is then meaningful on a busy box)."""
    from dataclasses import replace

    from agent.setup.embedded_stack import load_embedded_stack, model_store
    from agent.models.errors import ModelError
    from agent.settings import StepvoxSettings
    from speech.whisper.asr import WhisperSpeechTokenizer

    out = console()
    info = machine_info()
    out.print("machine: " + machine_line(info), markup=False)
    settings = StepvoxSettings(asr_model=asrs[0], threads=args.threads)
    rss_start = _rss_mb()
    stacks = {}
    extra_rss: dict[str, float] = {}
    try:
        stack = load_embedded_stack(settings, progress=False)
        stacks[asrs[0]] = stack
        for asr in asrs[1:]:
            extra = StepvoxSettings(asr_model=asr, threads=args.threads)
            path = model_store(extra, progress=False).resolve_for_role("asr")
            before, start = _rss_mb(), time.perf_counter()
            tokenizer = WhisperSpeechTokenizer(path, cpu_threads=args.threads)
            load = dict(stack.load_s, asr=time.perf_counter() - start)
            stacks[asr] = replace(stack, tokenizer=tokenizer, load_s=load)
            extra_rss[asr] = (_rss_mb() or 0) - (before or 0)
    except ModelError as exc:
        out.print(f"cannot load the embedded stack: {exc}", markup=False)
        raise SystemExit(2) from exc
    rss_loaded = _rss_mb()
    agents = {asr: VoiceAgent.from_stack(st) for asr, st in stacks.items()}
    warm_up_s = {}
    for asr, agent in agents.items():
        start = time.perf_counter()
        await agent.warm_up()
        warm_up_s[asr] = time.perf_counter() - start
    wavs, synth_s = await make_inputs(agents[asrs[0]], wav_dir, args.input_rate)

    turns: dict[str, list[dict]] = {asr: [] for asr in asrs}
    total = args.warmup + args.turns
    load_before = load_average()
    for i in range(total):
        q = (i if i < args.warmup else i - args.warmup) % len(QUESTIONS)
        question, expects_tool = QUESTIONS[q]
        order = asrs if i % 2 == 0 else asrs[::-1]  # alternate who goes first
        for asr in order:
            rec = await run_turn(agents[asr], wavs[q], question, expects_tool, i,
                                 warmup=i < args.warmup)
            turns[asr].append(rec)
            if args.verbose:
                out.print(f"  {asr} turn {i}: first audio {fmt(rec['stages'].get('e2e'))} ms, "
                          f"heard {rec.get('transcript')!r} -> {rec.get('reply', '')[:70]!r} "
                          f"{rec['error'] or ''}", markup=False)
    load_after = load_average()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    results = []
    for asr in asrs:
        result = {
            "asr": asr, "asr_models_loaded": asrs, "threads": args.threads or os.cpu_count(),
            "turns": turns[asr], "warmup_turns": args.warmup, "measured_turns": args.turns,
            "input_rate": args.input_rate, "quiet_below": args.quiet_below,
            "load_s": stacks[asr].load_s, "warm_up_s": warm_up_s[asr],
            "extra_asr_rss_mb": extra_rss.get(asr),
            "synth_inputs_s": synth_s, "peak_rss_mb": peak_rss_mb,
            "rss_after_load_mb": rss_loaded, "rss_at_start_mb": rss_start, "machine": info,
            "load_average_before": load_before, "load_average_after": load_after,
        }
        result["summary"] = summarize_config(result)
        print_config(out, result)
        results.append(result)
    if len(results) == 2:
        print_comparison(out, *results)
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--turns", type=int, default=12, help="measured turns (default 12)")
    p.add_argument("--asr", choices=["base", "tiny.en", "both"], default="base",
                   help="packaged Whisper model; 'both' loads both and alternates them turn by "
                   "turn on the same questions (default base)")
    p.add_argument("--warmup", type=int, default=2,
                   help="turns run first and left out of the stats (default 2)")
    p.add_argument("--out", type=Path, help="write the raw per-turn numbers as JSON here")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for ASR and LLM (default: all cores)")
    p.add_argument("--input-rate", type=int, default=16_000,
                   help="sample rate of the input WAVs (default 16000, a voice front end's rate)")
    p.add_argument("--quiet-below", type=float, default=0.3,
                   help="a turn is 'quiet' when other processes used fewer cores than this "
                   "during it (default 0.3); quiet turns get their own p50 line")
    p.add_argument("--verbose", action="store_true", help="print each turn as it finishes")
    args = p.parse_args(argv)
    if args.turns < 1 or args.warmup < 0:
        p.error("--turns must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    asrs = ["base", "tiny.en"] if args.asr == "both" else [args.asr]
    with tempfile.TemporaryDirectory(prefix="stepvox-bench-") as tmp:
        results = asyncio.run(run_configs(args, asrs, Path(tmp)))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"target_ms": TARGET_MS, "runs": results}, indent=1,
                                       default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
