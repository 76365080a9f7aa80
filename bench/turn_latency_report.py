"""The inputs, stages and tables of `bench/turn_latency.py` (kept apart so each file stays small)."""

from __future__ import annotations

from bench.stats import Summary, fmt, make_table, ratio, summarize, summary_cells

async def new_caller(agent) -> None:
    """Leave only the system + tools prefix in the LLM's KV cache, as for a new caller: a turn
    right after one with the same question would otherwise reuse the whole prompt."""
    svc = agent.services
    prefill = getattr(svc.chat_model, "prefill", None)
    if prefill is not None:
        await prefill(svc.persona.full_system_prompt(), svc.tools.openai_schemas())


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


def _diff(t: dict, a: str, b: str) -> float | None:
    return t[a] - t[b] if a in t and b in t else None

def _filler_first(t: dict) -> bool:
    """The turn's first audio was a filler (said while a tool call was prepared or ran),
    not the answer's first sentence."""
    return t.get("tts_first_audio", 0.0) < t.get("first_sentence", float("inf"))


STAGES = [
    ("vad_end", "VAD end", "vad_end", lambda t: t.get("vad_end"), False),
    ("asr", "ASR (stage)", "asr - vad_end", lambda t: _diff(t, "asr", "vad_end"), False),
    ("call_decided", "LLM call decided (stage)", "llm_call_decided - asr",
     lambda t: _diff(t, "llm_call_decided", "asr"), True),
    ("filler", "filler first audio (stage)", "tts_first_audio - llm_call_decided",
     lambda t: _diff(t, "tts_first_audio", "llm_call_decided") if _filler_first(t) else None,
     True),
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
     lambda t: None if _filler_first(t) else _diff(t, "tts_first_audio", "first_sentence"),
     False),
    ("e2e", "END OF SPEECH -> FIRST AUDIO", "tts_first_audio", lambda t: t.get("tts_first_audio"),
     False),
    ("done", "turn done", "done", lambda t: t.get("done"), False),
]
GROUPS = ("all", "tool", "no tool")



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
    # Tool turns whose first audio is the filler: decided call, then the (cached) filler.
    filler_parts = [("VAD", "vad_end"), ("ASR", "asr"), ("call decided", "call_decided"),
                    ("filler", "filler")]
    for group in ("tool", "no tool"):
        use = filler_parts if group == "tool" and _p50(summary, "filler/tool") else parts
        vals = [(name, _p50(summary, f"{key}/{group}")) for name, key in use]
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
