"""Turn latency of the embedded stack: end of the user's speech -> first audio of the reply.

Synthesizes a fixed set of user questions with the stack's own voice (Piper), pads each with
0.5 s of silence before and 0.7 s after, and feeds the WAV files to `VoiceAgent.stream(audio=...)`
one turn at a time, each turn in a fresh conversation (so the prompt does not grow). The stage
times come from the final `TurnDoneEvent.reply.timings_ms` (ms from the moment the whole
utterance is handed over). Prints p50/p95/mean per stage, for all turns and split by whether the
model called a tool, plus references measured in the same run.

    .venv/bin/python bench/turn_latency.py                 # ASR base, 12 turns after 2 warm-up
    .venv/bin/python bench/turn_latency.py --asr both      # base and tiny.en, one process each
    .venv/bin/python bench/turn_latency.py --turns 24 --out /tmp/turns.json --threads 2

A benchmark, never a test: it asserts nothing. Needs the `embedded` extra (the models).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import subprocess
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
from bench.stats import (  # noqa: E402
    Summary, console, fmt, make_table, ratio, summarize, summary_cells,
)

TARGET_MS = 800.0
LEAD_SILENCE_S = 0.5
TAIL_SILENCE_S = 0.7

# (question, whether answering it needs the get_date_time tool). Alternating, so any run of an
# even number of turns has as many tool questions as plain ones.
QUESTIONS: list[tuple[str, bool]] = [
    ("What time is it?", True),
    ("Tell me a fun fact about the moon.", False),
    ("What day is it today?", True),
    ("How do I boil an egg?", False),
    ("What time is it in Tokyo right now?", True),
    ("Why is the sky blue?", False),
    ("What is today's date?", True),
    ("Can you suggest a name for my new puppy?", False),
]

# (key, label, how it is computed, function of timings_ms, only for tool turns)
STAGES = [
    ("vad_end", "VAD end", "vad_end", lambda t: t.get("vad_end"), False),
    ("asr", "ASR (stage)", "asr - vad_end", lambda t: _diff(t, "asr", "vad_end"), False),
    ("llm_tool_call", "LLM tool call (stage)", "llm_tool_call - asr",
     lambda t: _diff(t, "llm_tool_call", "asr"), True),
    ("tool_to_token", "tool + answer prefill (stage)", "llm_first_token - llm_tool_call",
     lambda t: _diff(t, "llm_first_token", "llm_tool_call"), True),
    ("llm_ttft", "LLM to first token (stage)", "llm_first_token - asr",
     lambda t: _diff(t, "llm_first_token", "asr"), False),
    ("token_to_sentence", "first token -> sentence (stage)", "first_sentence - llm_first_token",
     lambda t: _diff(t, "first_sentence", "llm_first_token"), False),
    ("first_sentence", "first sentence ready", "first_sentence", lambda t: t.get("first_sentence"),
     False),
    ("tts", "TTS first audio (stage)", "tts_first_audio - first_sentence",
     lambda t: _diff(t, "tts_first_audio", "first_sentence"), False),
    ("e2e", "END OF SPEECH -> FIRST AUDIO", "tts_first_audio", lambda t: t.get("tts_first_audio"),
     False),
    ("done", "turn done", "done", lambda t: t.get("done"), False),
]
GROUPS = ("all", "tool", "no tool")


def _diff(t: dict, a: str, b: str) -> float | None:
    return t[a] - t[b] if a in t and b in t else None


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
    """One WAV per question: [0.5 s silence][speech from the agent's own voice][0.7 s silence],
    at `rate` Hz. Files already in `wav_dir` (from an earlier --asr in the same run) are reused
    so every ASR model hears the same audio."""
    from speech.audio import AudioClip, write_wav

    wav_dir.mkdir(parents=True, exist_ok=True)
    manifest = wav_dir / "questions.json"
    paths = [wav_dir / f"q{i:02d}.wav" for i in range(len(QUESTIONS))]
    wanted = [q for q, _ in QUESTIONS]
    if manifest.exists() and json.loads(manifest.read_text()) == {"rate": rate, "q": wanted} \
            and all(p.exists() for p in paths):
        return paths, 0.0
    start = time.perf_counter()
    for (question, _), path in zip(QUESTIONS, paths):
        speech = await agent.say(question)
        voice_rate = agent.sample_rate
        lead = np.zeros(int(LEAD_SILENCE_S * voice_rate), dtype=np.float32)
        tail = np.zeros(int(TAIL_SILENCE_S * voice_rate), dtype=np.float32)
        samples = np.clip(np.concatenate([lead, speech.astype(np.float32), tail]), -1.0, 1.0)
        write_wav(path, AudioClip(samples, voice_rate).resampled(rate))
    manifest.write_text(json.dumps({"rate": rate, "q": wanted}))
    return paths, time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# one turn


async def run_turn(agent, wav: Path, question: str, expects_tool: bool, index: int,
                   warmup: bool) -> dict:
    from agent.events import (
        AudioChunkEvent, SentenceEvent, ToolCallStartedEvent, TranscriptEvent, TurnDoneEvent,
    )

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
# one ASR configuration, in this process


async def run_config(args, asr: str, wav_dir: Path, nested: bool) -> dict:
    from agent.embedded_stack import load_embedded_stack
    from agent.model_errors import ModelError
    from agent.settings import StepvoxSettings

    out = console()
    info = machine_info()
    if not nested:
        out.print("machine: " + machine_line(info), markup=False)
    settings = StepvoxSettings(asr_model=asr, threads=args.threads)
    try:
        stack = load_embedded_stack(settings, progress=False)
    except ModelError as exc:
        out.print(f"cannot load the embedded stack ({asr}): {exc}", markup=False)
        raise SystemExit(2) from exc
    agent = stack.agent()
    start = time.perf_counter()
    await agent.warm_up()
    warm_up_s = time.perf_counter() - start
    wavs, synth_s = await make_inputs(agent, wav_dir, args.input_rate)

    turns: list[dict] = []
    total = args.warmup + args.turns
    load_before = load_average()
    for i in range(total):
        question, expects_tool = QUESTIONS[(i if i < args.warmup else i - args.warmup)
                                           % len(QUESTIONS)]
        wav = wavs[[q for q, _ in QUESTIONS].index(question)]
        rec = await run_turn(agent, wav, question, expects_tool, i, warmup=i < args.warmup)
        turns.append(rec)
        if args.verbose:
            out.print(f"  turn {i}: {rec['stages'].get('e2e')} ms {rec.get('transcript')!r} -> "
                      f"{rec.get('reply', '')[:80]!r} {rec['error'] or ''}", markup=False)
    load_after = load_average()
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    result = {
        "asr": asr, "threads": args.threads or os.cpu_count(), "turns": turns,
        "warmup_turns": args.warmup, "measured_turns": args.turns,
        "input_rate": args.input_rate, "load_s": stack.load_s, "warm_up_s": warm_up_s,
        "synth_inputs_s": synth_s, "peak_rss_mb": peak_rss_mb, "machine": info,
        "load_average_before": load_before, "load_average_after": load_after,
    }
    result["summary"] = summarize_config(result)
    print_config(out, result)
    return result


def _measured(result: dict) -> list[dict]:
    return [t for t in result["turns"] if not t["warmup"] and not t["error"]]


def _group(turns: list[dict], group: str) -> list[dict]:
    if group == "tool":
        return [t for t in turns if t["called_tool"]]
    if group == "no tool":
        return [t for t in turns if not t["called_tool"]]
    return turns


def summarize_config(result: dict) -> dict:
    turns = _measured(result)
    summary: dict = {}
    for key, *_ in STAGES:
        for group in GROUPS:
            s = summarize(t["stages"].get(key) for t in _group(turns, group))
            summary[f"{key}/{group}"] = s.as_dict() if s else None
    for name, values in {
        "probe_ms": [t["probe_ms"] for t in turns],
        "other_cores": [t["other_cores"] for t in turns],
        "own_cores": [t["own_cores"] for t in turns],
        "tts_alone_ms": [t["tts_alone_ms"] for t in turns],
        "harness_minus_timings_ms": [
            t["harness_first_audio_ms"] - t["timings_ms"]["tts_first_audio"] for t in turns
            if t["harness_first_audio_ms"] is not None and "tts_first_audio" in t["timings_ms"]],
    }.items():
        s = summarize(values)
        summary[name] = s.as_dict() if s else None
    return summary


def _p50(summary: dict, key: str) -> float | None:
    s = summary.get(key)
    return s["p50"] if s else None


def print_config(out, result: dict) -> None:
    asr, summary = result["asr"], result["summary"]
    turns = _measured(result)
    failed = [t for t in result["turns"] if t["error"] and not t["warmup"]]
    n_tool = len(_group(turns, "tool"))
    out.print()
    out.print(
        f"[b]Turn latency, ASR {asr}[/b]: {len(turns)} measured turns ({n_tool} called a tool, "
        f"{len(turns) - n_tool} did not) after {result['warmup_turns']} warm-up turns; "
        f"{result['threads']} model threads; {len(QUESTIONS)} synthesized questions, "
        f"{result['input_rate']} Hz WAV, {LEAD_SILENCE_S} s silence before / {TAIL_SILENCE_S} s "
        "after; a fresh conversation_id per turn (the prompt does not grow). All ms from the "
        "hand-over of the whole utterance.")
    table = make_table(f"Stages, ASR {asr} (ms)",
                       ["stage", "timings_ms", "turns", "n", "p50", "p95", "mean"],
                       numeric_from=3)
    for key, label, span, _, tool_only in STAGES:
        groups = ("tool",) if tool_only else GROUPS
        for j, group in enumerate(groups):
            s = summary.get(f"{key}/{group}")
            cells = summary_cells(None if s is None else _as_summary(s))
            table.add_row(label if j == 0 else "", span if j == 0 else "", group, *cells,
                          end_section=j == len(groups) - 1,
                          style="bold" if key == "e2e" else None)
    out.print(table)

    e2e = _p50(summary, "e2e/all")
    if e2e is not None:
        verdict = "MEETS" if e2e <= TARGET_MS else "MISSES"
        out.print(f"[b]target[/b]: p50 end of speech -> first audio = {fmt(e2e)} ms vs "
                  f"{fmt(TARGET_MS)} ms -> {verdict} ({ratio(e2e, TARGET_MS)} of target; "
                  f"tool {fmt(_p50(summary, 'e2e/tool'))} ms, no tool "
                  f"{fmt(_p50(summary, 'e2e/no tool'))} ms). Not included: the VAD's end-of-speech "
                  "silence hang-over a live microphone loop waits before hand-over.")
    # what the median turn spends its time on
    parts = [("VAD", "vad_end"), ("ASR", "asr"), ("LLM TTFT", "llm_ttft"),
             ("token->sentence", "token_to_sentence"), ("TTS", "tts")]
    for group in ("tool", "no tool"):
        vals = [(name, _p50(summary, f"{key}/{group}")) for name, key in parts]
        total = sum(v for _, v in vals if v is not None)
        if total:
            share = ", ".join(f"{name} {fmt(v)} ({v / total:.0%})" for name, v in vals
                              if v is not None)
            out.print(f"p50 breakdown, {group} turns (sum {fmt(total)} ms): {share}", markup=False)

    ref = make_table("References measured in the same run", ["reference", "n", "p50", "p95",
                                                              "mean"])
    for label, key in [
        ("CPU probe: 8x 384^2 float32 matmul (ms)", "probe_ms"),
        ("TTS first audio of the same first sentence, alone (ms)", "tts_alone_ms"),
        ("cores used by other processes during a turn", "other_cores"),
        ("cores used by this process during a turn", "own_cores"),
        ("harness first AudioChunkEvent - tts_first_audio (ms)", "harness_minus_timings_ms"),
    ]:
        s = summary.get(key)
        digits = 2 if "cores" in key else 0
        ref.add_row(label, *summary_cells(None if s is None else _as_summary(s), digits))
    out.print(ref)
    out.print(
        f"ratios: TTS first audio in turn / alone = "
        f"{ratio(_p50(summary, 'tts/all'), _p50(summary, 'tts_alone_ms'))} (p50); "
        f"end of speech -> first audio / CPU probe = "
        f"{ratio(e2e, _p50(summary, 'probe_ms'), 1)} (p50, for comparing runs on this machine)",
        markup=False)

    load = result["load_s"]
    out.print(
        "model load (s): " + ", ".join(f"{k} {v:.2f}" for k, v in load.items())
        + f", total {sum(load.values()):.2f}; warm_up() {result['warm_up_s']:.2f} s; "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (ru_maxrss of this process)", markup=False)
    ok_tool = sum(t["called_tool"] == t["expects_tool"] for t in turns)
    ok_text = sum(t["transcript_ok"] for t in turns)
    la, lb = result["load_average_before"], result["load_average_after"]
    out.print(
        f"checks: tool routing as expected {ok_tool}/{len(turns)}; transcript == question "
        f"(normalised) {ok_text}/{len(turns)}; failed turns {len(failed)}"
        + (f" ({'; '.join(t['error'][:120] for t in failed)})" if failed else "")
        + (f"; load average {la[0]:.2f} before, {lb[0]:.2f} after" if la and lb else ""),
        markup=False)
    if failed or ok_tool < len(turns) or ok_text < len(turns):
        for t in turns:
            if t["called_tool"] != t["expects_tool"] or not t["transcript_ok"]:
                out.print(f"  turn {t['index']}: asked {t['question']!r}, heard "
                          f"{t.get('transcript')!r}, tools {t['tools_called']}", markup=False)

    per = make_table(f"Per turn, ASR {asr} (ms)",
                     ["#", "question", "tool", "ASR", "LLM TTFT", "1st sent.", "TTS",
                      "first audio", "other cores"], numeric_from=2)
    for t in turns:
        st = t["stages"]
        per.add_row(str(t["index"]), t["question"][:34], "yes" if t["called_tool"] else "no",
                    fmt(st["asr"]), fmt(st["llm_ttft"]), fmt(st["first_sentence"]),
                    fmt(st["tts"]), fmt(st["e2e"]),
                    fmt(t["other_cores"], 2) if t["other_cores"] is not None else "-")
    out.print(per)


def _as_summary(d: dict) -> Summary:
    return Summary(**d)


# --------------------------------------------------------------------------------------------
# several ASR configurations: one child process each, so peak RSS and caches stay separate


def run_both(args) -> list[dict]:
    out = console()
    out.print("machine: " + machine_line(), markup=False)
    out.file.flush()
    results = []
    with tempfile.TemporaryDirectory(prefix="stepvox-bench-") as tmp:
        wav_dir = Path(args.wav_dir) if args.wav_dir else Path(tmp) / "wav"
        for asr in ("base", "tiny.en"):
            child_json = Path(tmp) / f"{asr}.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--asr", asr,
                   "--turns", str(args.turns), "--warmup", str(args.warmup),
                   "--input-rate", str(args.input_rate), "--wav-dir", str(wav_dir),
                   "--child-json", str(child_json), "--nested"]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            if args.verbose:
                cmd.append("--verbose")
            proc = subprocess.run(cmd, check=False)
            if proc.returncode != 0 or not child_json.exists():
                out.print(f"ASR {asr}: child run failed (exit {proc.returncode})", markup=False)
                continue
            results.append(json.loads(child_json.read_text()))
    if len(results) == 2:
        print_comparison(out, *results)
    return results


def print_comparison(out, base: dict, tiny: dict) -> None:
    table = make_table("ASR base vs tiny.en, same run, same input WAVs (ms unless noted)",
                       ["metric", "base", "tiny.en", "tiny.en / base"])
    rows = [("ASR stage p50", "asr/all", "p50"), ("ASR stage p95", "asr/all", "p95"),
            ("first audio p50, all turns", "e2e/all", "p50"),
            ("first audio p95, all turns", "e2e/all", "p95"),
            ("first audio p50, tool turns", "e2e/tool", "p50"),
            ("first audio p50, no-tool turns", "e2e/no tool", "p50"),
            ("CPU probe p50 (noise reference)", "probe_ms", "p50")]
    for label, key, stat in rows:
        a = (base["summary"].get(key) or {}).get(stat)
        b = (tiny["summary"].get(key) or {}).get(stat)
        table.add_row(label, fmt(a), fmt(b), ratio(b, a))
    table.add_row("ASR model load (s)", fmt(base["load_s"].get("asr"), 2),
                  fmt(tiny["load_s"].get("asr"), 2),
                  ratio(tiny["load_s"].get("asr"), base["load_s"].get("asr")))
    table.add_row("peak RSS (MB)", fmt(base["peak_rss_mb"]), fmt(tiny["peak_rss_mb"]),
                  ratio(tiny["peak_rss_mb"], base["peak_rss_mb"]))
    for r, name in ((base, "base"), (tiny, "tiny.en")):
        turns = _measured(r)
        ok = sum(t["transcript_ok"] for t in turns)
        table.add_row(f"transcripts exact, {name}", f"{ok}/{len(turns)}" if name == "base" else "",
                      f"{ok}/{len(turns)}" if name == "tiny.en" else "", "")
    out.print()
    out.print(table)
    e2e_b, e2e_t = (_p50(r["summary"], "e2e/all") for r in (base, tiny))
    if e2e_b is not None and e2e_t is not None and not math.isnan(e2e_t):
        out.print(f"target 800 ms: base p50 {fmt(e2e_b)} ms ({ratio(e2e_b, TARGET_MS)}), "
                  f"tiny.en p50 {fmt(e2e_t)} ms ({ratio(e2e_t, TARGET_MS)})", markup=False)


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--turns", type=int, default=12, help="measured turns (default 12)")
    p.add_argument("--asr", choices=["base", "tiny.en", "both"], default="base",
                   help="packaged Whisper model; 'both' runs base then tiny.en (default base)")
    p.add_argument("--warmup", type=int, default=2,
                   help="turns run first and left out of the stats (default 2)")
    p.add_argument("--out", type=Path, help="write the raw per-turn numbers as JSON here")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for ASR and LLM (default: all cores)")
    p.add_argument("--input-rate", type=int, default=16_000,
                   help="sample rate of the input WAVs (default 16000, a voice front end's rate)")
    p.add_argument("--verbose", action="store_true", help="print each turn as it finishes")
    p.add_argument("--wav-dir", help=argparse.SUPPRESS)
    p.add_argument("--child-json", help=argparse.SUPPRESS)
    p.add_argument("--nested", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.turns < 1 or args.warmup < 0:
        p.error("--turns must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.asr == "both":
        results = run_both(args)
    else:
        with tempfile.TemporaryDirectory(prefix="stepvox-bench-") as tmp:
            wav_dir = Path(args.wav_dir) if args.wav_dir else Path(tmp) / "wav"
            results = [asyncio.run(run_config(args, args.asr, wav_dir, args.nested))]
        if args.child_json:
            Path(args.child_json).write_text(json.dumps(results[0], default=str))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"target_ms": TARGET_MS, "runs": results}, indent=1,
                                       default=str))
    return 0 if results else 1


if __name__ == "__main__":
    raise SystemExit(main())
