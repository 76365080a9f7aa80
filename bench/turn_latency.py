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

    # Leave only the system + tools prefix in the LLM's KV cache, as for a new caller; without
    # this, a turn right after one with the same question would reuse the whole prompt.
    svc = agent.services
    prefill = getattr(svc.chat_model, "prefill", None)
    if prefill is not None:
        await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())
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

    from agent.embedded_stack import load_embedded_stack, model_store
    from agent.model_errors import ModelError
    from agent.settings import StepvoxSettings
    from speech.whisper_asr import WhisperSpeechTokenizer

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
    agents = {asr: st.agent() for asr, st in stacks.items()}
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
        "after; a fresh conversation_id per turn (the prompt does not grow; each turn starts "
        "with only the system + tools prefix in the LLM cache). All ms from the hand-over of the "
        "whole utterance.")
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
        if _p50(summary, "e2e/tool") is not None and _p50(summary, "e2e/no tool") is not None:
            out.print("note: tool turns run a second LLM pass, so the all-turns distribution has "
                      "two clusters and its p50 depends on the tool/no-tool mix (here "
                      f"{n_tool}/{len(turns) - n_tool}); the split rows are the ones to compare.",
                      markup=False)
        quiet = quiet_turns(result)
        parts = []
        for group in GROUPS:
            qs = summarize(t["stages"]["e2e"] for t in _group(quiet, group))
            if qs:
                parts.append(f"{group} p50 {fmt(qs.p50)} / p95 {fmt(qs.p95)} ms (n={qs.n})")
        out.print(f"quiet turns only (other processes used < {args_quiet(result):.2f} cores during "
                  f"the turn): {len(quiet)}/{len(turns)}" + (": " + ", ".join(parts) if parts
                                                              else ""), markup=False)
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
        f"ratio: TTS first audio in the turn / the same sentence alone = "
        f"{ratio(_p50(summary, 'tts/all'), _p50(summary, 'tts_alone_ms'))} (p50; above 1 = the "
        "LLM still decoding the next sentence slows the first one's synthesis). The CPU probe "
        "is a noise indicator only: llama.cpp slows far more than a matmul when the cores are "
        "shared, so no latency is divided by it.", markup=False)
    load = result["load_s"]
    out.print(
        "model load (s): " + ", ".join(f"{k} {v:.2f}" for k, v in load.items())
        + f", total {sum(load.values()):.2f}; warm_up() {result['warm_up_s']:.2f} s; "
        f"peak RSS {result['peak_rss_mb']:.0f} MB (ru_maxrss of this process, "
        f"{' + '.join(result['asr_models_loaded'])} loaded)", markup=False)
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


def args_quiet(result: dict) -> float:
    return float(result.get("quiet_below", 0.3))


def quiet_turns(result: dict) -> list[dict]:
    """Measured turns during which other processes kept fewer than `quiet_below` cores busy."""
    return [t for t in _measured(result) if t["other_cores"] is not None
            and t["other_cores"] < args_quiet(result)]


def _as_summary(d: dict) -> Summary:
    return Summary(**d)


# --------------------------------------------------------------------------------------------
# two ASR models, paired turn by turn


def _paired_ratios(base: dict, tiny: dict, key: str) -> list[float]:
    """tiny.en / base for each pair of turns on the same question, run back to back."""
    pairs = zip(base["turns"], tiny["turns"])
    return [t["stages"][key] / b["stages"][key] for b, t in pairs
            if not b["warmup"] and not b["error"] and not t["error"]
            and b["stages"].get(key) and t["stages"].get(key) is not None]


def print_comparison(out, base: dict, tiny: dict) -> None:
    table = make_table("ASR base vs tiny.en: same process, same WAVs, turns alternated "
                       "(ms unless noted)",
                       ["metric", "base", "tiny.en", "tiny.en / base"])
    rows = [("ASR stage p50", "asr/all", "p50"), ("ASR stage p95", "asr/all", "p95"),
            ("first audio p50, all turns", "e2e/all", "p50"),
            ("first audio p95, all turns", "e2e/all", "p95"),
            ("first audio p50, tool turns", "e2e/tool", "p50"),
            ("first audio p50, no-tool turns", "e2e/no tool", "p50"),
            ("CPU probe p50 (noise reference)", "probe_ms", "p50"),
            ("cores used by others, p50", "other_cores", "p50")]
    for label, key, stat in rows:
        a = (base["summary"].get(key) or {}).get(stat)
        b = (tiny["summary"].get(key) or {}).get(stat)
        digits = 2 if "cores" in key else 0
        table.add_row(label, fmt(a, digits), fmt(b, digits),
                      "" if "cores" in key else ratio(b, a))
    for label, key in (("ASR stage", "asr"), ("first audio", "e2e")):
        s = summarize(_paired_ratios(base, tiny, key))
        table.add_row(f"{label}: p50 of per-pair ratios (n={s.n if s else 0})", "", "",
                      f"{s.p50:.2f}×" if s else "-")
    table.add_row("ASR model load (s)", fmt(base["load_s"].get("asr"), 2),
                  fmt(tiny["load_s"].get("asr"), 2),
                  ratio(tiny["load_s"].get("asr"), base["load_s"].get("asr")))
    extra = tiny.get("extra_asr_rss_mb")
    table.add_row("RSS added by loading tiny.en next to base (MB)", "", fmt(extra), "")
    for r, name in ((base, "base"), (tiny, "tiny.en")):
        turns = _measured(r)
        ok = sum(t["transcript_ok"] for t in turns)
        table.add_row(f"transcripts exact, {name}", f"{ok}/{len(turns)}" if name == "base" else "",
                      f"{ok}/{len(turns)}" if name == "tiny.en" else "", "")
    out.print()
    out.print(table)
    e2e_b, e2e_t = (_p50(r["summary"], "e2e/all") for r in (base, tiny))
    if e2e_b is not None and e2e_t is not None:
        out.print(f"target 800 ms: base p50 {fmt(e2e_b)} ms ({ratio(e2e_b, TARGET_MS)}), "
                  f"tiny.en p50 {fmt(e2e_t)} ms ({ratio(e2e_t, TARGET_MS)}). Peak RSS "
                  f"{base['peak_rss_mb']:.0f} MB is for both Whisper models loaded at once; "
                  "run one --asr alone for a single-model figure.", markup=False)


# --------------------------------------------------------------------------------------------


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
