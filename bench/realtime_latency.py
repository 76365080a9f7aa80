"""End of user speech -> first reply audio through the realtime server, speculation on and off.

The embedded stack (Silero VAD, faster-whisper, Qwen2.5-0.5B on llama.cpp, Piper) serves
`/v1/realtime` on 127.0.0.1 from a thread of this process; each turn is a fresh websocket
session (a new caller: the prompt never grows) that streams one question spoken by the
stack's own voice as a microphone would: 20 ms pcm16 frames at real-time pace, then silence
until the reply is done. Turns alternate speculation on / off question by question, so each
pair sees the same machine load.

Clocks: "end of speech" is the wall time the last loud sample (> -40 dBFS) of the question
was recorded by the simulated microphone; "first audio" is when the first
`response.audio.delta` reached the client. The server's own stages (`response.done.
stages_ms`, counted from the end of speech as the VAD placed it) show where the time goes.

Then `realtime_capacity.py` (sessions per core with instant fake models, memory per idle
session) and a PNG of the latency distributions (`realtime_plot.py`).

    .venv/bin/python bench/realtime_latency.py [--turns 30] [--asr base|tiny.en]
        [--pause-ms 128] [--end-ms 640] [--turn-detection semantic_vad|server_vad]
        [--eagerness auto] [--png bench/realtime_latency.png] [--no-capacity]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402

from bench.machine import CpuMeter, machine_line  # noqa: E402
from bench.realtime_client import PacedClient, ThreadServer, speech_end_s  # noqa: E402
from bench.stats import console, fmt, make_table, ratio, summarize, summary_cells  # noqa: E402
from bench.turn_latency_report import QUESTIONS, new_caller  # noqa: E402

STAGES = ["end_of_speech_detected", "final_transcript", "llm_first_token", "first_sentence",
          "first_audio_sent"]
LEAD_S = 0.3


async def run_turn(url: str, question: dict, *, speculative: bool, args,
                   early: bool = True) -> dict:
    client = await PacedClient.open(url)
    try:
        await client.send("session.update", session={
            "input_sample_rate": question["rate"], "turn_detection": {
                # Speculation off is the plain silence rule: semantic_vad needs the
                # speculative run's estimate.
                "type": args.turn_detection if speculative else "server_vad",
                "eagerness": args.eagerness,
                "pause_duration_ms": args.pause_ms, "silence_duration_ms": args.end_ms,
                "speculative": speculative, "early_transcription": early}})
        await client.wait_type("session.updated")
        rate = question["rate"]
        # The microphone keeps sending silence after the question, as a real one does.
        x = np.concatenate([np.zeros(int(LEAD_S * rate), np.float32), question["samples"],
                            np.zeros(int(args.max_wait_s * rate), np.float32)])
        meter = CpuMeter()
        with meter:
            t0 = time.perf_counter()
            await client.stream(x, rate, t0=t0,
                                until=lambda: client.first("response.done") is not None)
        end_wall = t0 + LEAD_S + question["speech_end_s"]
        # The client shares the process and the cores with the server: how late the frame
        # holding the end of speech left is time the server could not have seen it.
        end_frame = int((LEAD_S + question["speech_end_s"]) * 1000 // 20)
        late = client.sent_late_s
        end_late_ms = late[end_frame] * 1000 if end_frame < len(late) else None
        first = client.first("response.audio.delta")
        done = client.first("response.done")
        response = done[1]["response"] if done else {}
        created = [e for _, e in client.events if e["type"] == "response.created"]
        estimates = [e for _, e in client.events
                     if e["type"] == "input_audio_buffer.turn_end_estimate"]
        stats = [e for _, e in client.events if e["type"] == "session.stats"]
        speculations = stats[-1]["session"]["speculation"] if stats else {}
        return {
            "question": question["text"], "tool": question["tool"], "speculative": speculative,
            "first_audio_ms": (first[0] - end_wall) * 1000 if first else None,
            "stages_ms": response.get("stages_ms", {}), "status": response.get("status"),
            "timings_ms": response.get("timings_ms", {}),
            "speculation": response.get("speculation"),
            "saved_ms": response.get("speculation_saved_ms"),
            "transcript": response.get("transcript"), "responses": len(created),
            "turn_end": estimates[-1] if estimates else None,
            "speculations_started": speculations.get("started", 0),
            "other_cores": meter.reading.other_cores if meter.reading else None,
            "end_frame_late_ms": end_late_ms,
        }
    finally:
        await client.close()


async def make_questions(agent) -> list[dict]:
    out = []
    for text, tool in QUESTIONS:
        samples = (await agent.say(text)).astype(np.float32)
        out.append({"text": text, "tool": tool, "samples": samples, "rate": agent.sample_rate,
                    "speech_end_s": speech_end_s(samples, agent.sample_rate)})
    return out


async def run_embedded(args) -> tuple[list[dict], dict]:
    from agent.cli.serve import load_serving_agent
    from agent.realtime.persona_agents import PersonaAgents
    from agent.realtime.server import RealtimeServerConfig, create_app
    from agent.settings import StepvoxSettings

    t = time.perf_counter()
    agent = load_serving_agent(StepvoxSettings(asr_model=args.asr, threads=args.threads),
                               progress=False,
                               persistent_history=False)
    load_s = time.perf_counter() - t
    questions = await make_questions(agent)
    app = create_app(PersonaAgents(agent), RealtimeServerConfig(vad="silero", warm_up=True))
    turns: list[dict] = []
    with ThreadServer(app) as server:
        total = args.warmup + args.turns
        for i in range(total):
            q = questions[i % len(questions)]
            # Each question twice in a row, one turn per mode, in alternating order: speculation
            # on / off, or (--early-asr compare) speculation on with the early ASR on / off.
            modes = ([(True, True), (True, False)] if args.early_asr == "compare" else
                     [(True, args.early_asr == "on"), (False, args.early_asr == "on")])
            for speculative, early in modes if i % 2 == 0 else modes[::-1]:
                await new_caller(agent)
                runs = getattr(agent.services.tokenizer, "runs", 0)
                turn = await run_turn(server.url, q, speculative=speculative, args=args,
                                      early=early)
                turn["early"] = early
                turn["asr_runs"] = getattr(agent.services.tokenizer, "runs", 0) - runs
                turn["warmup"] = i < args.warmup
                turns.append(turn)
                if args.verbose:
                    print(json.dumps({k: v for k, v in turn.items() if k != "stages_ms"}),
                          flush=True)
                else:  # progress on stderr: a run takes many minutes
                    ms = turn["first_audio_ms"]
                    print(f"turn {len(turns)}/{total * 2}: speculation "
                          f"{'on ' if speculative else 'off'}{', early ASR off' * (not early)} "
                          f"{fmt(ms)} ms", file=sys.stderr, flush=True)
                await asyncio.sleep(0.2)
    return turns, {"load_s": load_s, "questions": len(questions)}


def paired_saving(measured: list[dict], mode: str, keep=lambda t: True):
    """First audio off - on per question run twice in a row, once with `mode` on and once
    off: the pair saw the same machine load, so its difference is steadier than the
    difference of the two p50s."""
    return summarize(off["first_audio_ms"] - on["first_audio_ms"]
                     for a, b in zip(measured[::2], measured[1::2])
                     if a["question"] == b["question"] and keep(a)
                     for on, off in [(a, b) if a[mode] else (b, a)]
                     if on["first_audio_ms"] is not None and off["first_audio_ms"] is not None)


def report_early_asr(turns: list[dict], args, info: dict) -> None:
    """--early-asr compare: speculation-on turns with the pause's ASR started at the first
    silent window (early) or at the pause, each question back to back in both modes."""
    out = console()
    measured = [t for t in turns if not t["warmup"]]
    out.print(f"{len(measured)} measured speculation-on turns ({args.turns} per mode); ASR "
              f"{args.asr}; pause {args.pause_ms} ms; {args.turn_detection}; model load "
              f"{info['load_s']:.1f} s")
    table = make_table("Early ASR on / off: end of speech -> first reply audio at the client (ms)",
                       ["early ASR", "turns", "n", "p50", "p95", "mean", "ASR passes / turn",
                        "pause -> transcript p50"], numeric_from=2)
    for early in (True, False):
        for group, keep in (("all", lambda t: True), ("no tool", lambda t: not t["tool"]),
                            ("tool", lambda t: t["tool"])):
            mine = [t for t in measured if t["early"] == early and keep(t)]
            asr = summarize(t["timings_ms"].get("speculation_asr") for t in mine)
            table.add_row("on" if early else "off", group,
                          *summary_cells(summarize(t["first_audio_ms"] for t in mine)),
                          f"{sum(t['asr_runs'] for t in mine) / max(1, len(mine)):.2f}",
                          fmt(asr.p50 if asr else None))
    out.print(table)
    for group, keep in (("all", lambda t: True), ("no tool", lambda t: not t["tool"])):
        diff = paired_saving(measured, "early", keep)
        if diff:
            out.print(f"Paired saving of the early ASR (off - on, same question back to back), "
                      f"{group}: p50 {fmt(diff.p50)} ms, mean {fmt(diff.mean)} ms over "
                      f"{diff.n} pairs")


def report_latency(turns: list[dict], args, info: dict) -> None:
    out = console()
    measured = [t for t in turns if not t["warmup"]]
    out.print(f"{len(measured)} measured turns ({args.turns} per mode) + {args.warmup * 2} "
              f"warm-up; ASR {args.asr}; model threads {args.threads or os.cpu_count()}; pause {args.pause_ms} ms, end of turn {args.end_ms} ms; "
              f"{info['questions']} questions in the stack's voice; model load "
              f"{info['load_s']:.1f} s")
    table = make_table("End of speech -> first reply audio at the client (ms)",
                       ["speculation", "turns", "n", "p50", "p95", "mean"], numeric_from=2)
    p50 = {}
    for spec in (True, False):
        for group, keep in (("all", lambda t: True), ("no tool", lambda t: not t["tool"]),
                            ("tool", lambda t: t["tool"])):
            s = summarize(t["first_audio_ms"] for t in measured
                          if t["speculative"] == spec and keep(t))
            p50[(spec, group)] = s.p50 if s else None
            table.add_row("on" if spec else "off", group, *summary_cells(s))
    out.print(table)
    out.print(f"p50 on / off: all {ratio(p50[(True, 'all')], p50[(False, 'all')])}, no tool "
              f"{ratio(p50[(True, 'no tool')], p50[(False, 'no tool')])}; measured saving "
              f"(p50 off - on, all): {fmt((p50[(False, 'all')] or 0) - (p50[(True, 'all')] or 0))}"
              " ms")
    saving = paired_saving(measured, "speculative")
    if saving:
        out.print(f"Paired saving (off - on, same question back to back): p50 "
                  f"{fmt(saving.p50)} ms, mean {fmt(saving.mean)} ms over {saving.n} pairs")
    stages = make_table("Where the time goes: server stages, ms from the end of speech (p50 / p95)",
                        ["stage", "on p50", "on p95", "off p50", "off p95"], numeric_from=1)
    for stage in STAGES:
        cells = []
        for spec in (True, False):
            s = summarize(t["stages_ms"].get(stage) for t in measured if t["speculative"] == spec)
            cells += [fmt(s.p50) if s else "-", fmt(s.p95) if s else "-"]
        stages.add_row(stage, *cells)
    out.print(stages)
    on = [t for t in measured if t["speculative"]]
    committed = [t for t in on if t["speculation"] == "committed"]
    saved = summarize(t["saved_ms"] for t in committed)
    quiet = summarize(t["first_audio_ms"] for t in on if (t["other_cores"] or 0) < 0.3)
    out.print(f"Speculation: {len(committed)} of {len(on)} turns committed "
              f"({100 * len(committed) / max(1, len(on)):.0f} %), the rest rerun; estimated saving "
              f"per committed turn p50 {fmt(saved.p50 if saved else None)} ms. Turns with another "
              f"reply than expected: {sum(t['responses'] != 1 for t in measured)}; failed: "
              f"{sum(t['status'] != 'completed' for t in measured)}. Speculation-on p50 on quiet "
              f"turns (< 0.3 other cores): {fmt(quiet.p50 if quiet else None)} ms (n="
              f"{quiet.n if quiet else 0}). Goal: <= 500 ms p50 with speculation.")
    late = summarize(t.get("end_frame_late_ms") for t in on)
    if late:
        out.print(f"Client pacing (same process and cores as the server): the frame holding "
                  f"the end of speech left p50 {fmt(late.p50, 1)} / p95 {fmt(late.p95, 1)} ms "
                  "after it was recorded (included in the latencies above)")
    verdicts: dict[str, int] = {}
    for t in on:
        key = t["turn_end"]["verdict"] if t.get("turn_end") else "no estimate"
        verdicts[key] = verdicts.get(key, 0) + 1
    estimate = summarize(t["turn_end"]["probability"] for t in on if t.get("turn_end"))
    detected = summarize(t["stages_ms"].get("end_of_speech_detected") for t in on)
    started = sum(t.get("speculations_started", 0) for t in on)
    asr_runs = {mode: sum(t.get("asr_runs", 0) for t in turns) / max(1, len(turns))
                for mode, turns in (("on", on), ("off", [t for t in measured
                                                         if not t["speculative"]]))}
    out.print(f"ASR passes per turn: speculation on {asr_runs['on']:.2f}, off "
              f"{asr_runs['off']:.2f} (on: one per pause, started at its first silent window, "
              f"plus one per silent window the user talked through)")
    out.print(f"Speculations started per speculation-on turn: {started / max(1, len(on)):.2f} "
              f"(more than one: the user paused inside the question and went on)")
    out.print(f"Turn detection ({args.turn_detection}, eagerness {args.eagerness}) of the "
              f"speculation-on turns: last estimate per turn "
              f"{', '.join(f'{k} {v}' for k, v in sorted(verdicts.items()))}; estimate p50 "
              f"{fmt(estimate.p50 if estimate else None, 3)}; end of turn detected p50 "
              f"{fmt(detected.p50 if detected else None)} ms after the end of speech.")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--turns", type=int, default=30, help="measured turns per mode")
    p.add_argument("--warmup", type=int, default=1, help="warm-up turn pairs, not counted")
    p.add_argument("--asr", default="base")
    p.add_argument("--threads", type=int, default=None,
                   help="ASR + LLM threads (default: all cores)")
    p.add_argument("--turn-detection", default="semantic_vad",
                   choices=["semantic_vad", "server_vad"],
                   help="turn detection of the speculation-on turns (off: server_vad)")
    p.add_argument("--eagerness", default="auto", choices=["low", "medium", "high", "auto"])
    p.add_argument("--pause-ms", type=int, default=128)  # the server's default
    p.add_argument("--early-asr", default="on", choices=["on", "off", "compare"],
                   help="turn_detection.early_transcription; compare: speculation-on turns "
                        "with it on and off instead of speculation on and off")
    p.add_argument("--end-ms", type=int, default=640)
    p.add_argument("--max-wait-s", type=float, default=30.0)
    p.add_argument("--png", type=Path, default=ROOT / "bench" / "realtime_latency.png")
    p.add_argument("--json", type=Path, help="write the raw turns here")
    p.add_argument("--capacity", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure sessions per core with fake models")
    p.add_argument("--embedded", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--sessions", type=int, nargs="+", default=[1, 10, 25, 50, 100])
    p.add_argument("--capacity-seconds", type=float, default=12.0)
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = console()
    out.print(machine_line())
    turns, capacity = [], None
    if args.embedded:
        turns, info = asyncio.run(run_embedded(args))
        (report_early_asr if args.early_asr == "compare" else report_latency)(turns, args, info)
    if args.capacity:
        from bench.realtime_capacity import print_capacity, run_capacity

        capacity = run_capacity(args.sessions, args.capacity_seconds)
        print_capacity(capacity)
    if args.json:
        args.json.write_text(json.dumps({"turns": turns, "capacity": capacity}, indent=1))
    if args.png and args.early_asr != "compare":
        from bench.realtime_plot import plot

        plot(turns, capacity, args.png)
        out.print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
