"""Real speech through the realtime server: how `semantic_vad` and `server_vad` cut it into turns.

The synthesized questions of `realtime_latency.py` have no pauses inside them; people do.
This streams third-party recordings from ../shared/testdata (the JFK clip, with long
oratorical pauses, and three LibriVox "cards" utterances) through `/v1/realtime` on the
embedded stack at real-time pace, once per turn-detection type, and prints per clip and
type: the transcripts of the turns the server answered, the turn-end estimates and their
verdicts, how many replies were withdrawn because the user went on ("continued"), and the
turns left in history.

    .venv/bin/python bench/realtime_real_speech.py [--asr tiny.en]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402

from bench.machine import machine_line  # noqa: E402
from bench.realtime_client import PacedClient, ThreadServer  # noqa: E402
from bench.stats import console  # noqa: E402

AUDIO = ROOT.parent / "shared" / "testdata" / "audio"
CLIPS = ["whisper/jfk.flac", "pocketsphinx/001.wav", "pocketsphinx/002.wav",
         "pocketsphinx/003.wav"]
MODES = ("semantic_vad", "server_vad")


def load_16k(path: Path) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, rate = sf.read(str(path), dtype="float32")
    if x.ndim > 1:
        x = x.mean(axis=1)
    return soxr.resample(x, rate, 16_000).astype(np.float32)


async def run_clip(url: str, samples: np.ndarray, mode: str, agent, early: bool = True) -> dict:
    client = await PacedClient.open(url)
    try:
        await client.send("session.update", session={
            "input_sample_rate": 16_000,
            "turn_detection": {"type": mode, "early_transcription": early}})
        created = await client.wait_type("session.updated")
        x = np.concatenate([np.zeros(4_800, np.float32), samples,
                            np.zeros(6 * 16_000, np.float32)])
        await client.stream(x, 16_000, until=lambda: False)
        events = [e for _, e in client.events]
        session_id = created[1]["session"]["id"]
    finally:
        await client.close()
    await asyncio.sleep(0.3)  # the session's close writes what it held
    history = await agent.services.memory.history(session_id) if session_id else []
    return {
        "estimates": [f"{e['probability']:.2f} {e['verdict']}" for e in events
                      if e["type"] == "input_audio_buffer.turn_end_estimate"],
        "answered": [e["transcript"] for e in events
                     if e["type"] == "conversation.item.input_audio_transcription.completed"],
        "continued": sum(e["type"] == "conversation.state.changed"
                         and e["reason"] == "turn_continued" for e in events),
        "history": [t.text for t in history if t.role == "user"],
    }


async def run(args) -> list[tuple[str, str, dict]]:
    from agent.cli.serve import load_serving_agent
    from agent.realtime.persona_agents import PersonaAgents
    from agent.realtime.server import RealtimeServerConfig, create_app
    from agent.settings import StepvoxSettings

    agent = load_serving_agent(StepvoxSettings(asr_model=args.asr), progress=False,
                               persistent_history=False)
    app = create_app(PersonaAgents(agent), RealtimeServerConfig(vad="silero", warm_up=True))
    rows = []
    with ThreadServer(app) as server:
        for clip in CLIPS:
            samples = load_16k(AUDIO / clip)
            for mode in MODES:
                rows.append((clip, mode, await run_clip(server.url, samples, mode, agent,
                                                        early=args.early_asr)))
                print(f"{clip} {mode} done", file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--asr", default="tiny.en")
    p.add_argument("--early-asr", action=argparse.BooleanOptionalAction, default=True,
                   help="turn_detection.early_transcription (the server's default: on)")
    args = p.parse_args(argv)
    out = console()
    out.print(machine_line())
    if not AUDIO.is_dir():
        out.print(f"skipped: the third-party test audio is not at {AUDIO}")
        return 0
    out.print("Real speech, turns as the server cut them (defaults: pause 128 ms, silence "
              f"640 ms, eagerness auto; early ASR {'on' if args.early_asr else 'off'})")
    for clip, mode, r in asyncio.run(run(args)):
        out.print(f"{clip}, {mode}:")
        out.print(f"  turns answered: {' | '.join(r['answered'])}")
        out.print(f"  turn-end estimates: {', '.join(r['estimates']) or '-'}; replies withdrawn "
                  f"because the user went on: {r['continued']}")
        out.print(f"  user turns in history: {' | '.join(r['history'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
