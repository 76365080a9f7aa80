"""The realtime server with instant fake models, pinned to one core: the server side of
`realtime_capacity.py`. Prints its port on the first line of stdout, then serves until killed.

The fakes are those of `tests/fakes.py` (a scripted LLM, a transcriber that always hears the
same words, a decoder that returns a short tone at once), so what costs time here is stepvox
itself: websocket and JSON handling, resampling, the streaming VAD (Silero, as served), the
controller, speculation and the turn graph.

    .venv/bin/python bench/realtime_fake_server.py [--cpu 0] [--vad silero|energy]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import agent  # noqa: E402,F401  (the real packages first; tests/ shares their names)

sys.path.insert(0, str(ROOT / "tests"))
from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel  # noqa: E402

REPLY = "Sure, here is the answer. It has two sentences."
HEARD = "what time is it"


class _Forgetful(list):
    """The fakes record what they saw; a long run must not measure that record's memory."""

    def append(self, item) -> None:
        return None


def build_app(vad: str):
    from agent import VoiceAgent
    from agent.realtime.protocol import SessionLimits
    from agent.realtime.server import RealtimeServerConfig, create_app

    decoder = RecordingDecoder(seconds_per_char=0.002)
    decoder.texts, decoder.styles = _Forgetful(), _Forgetful()
    tokenizer = FixedTranscriber(HEARD)
    tokenizer.clips = _Forgetful()
    voice = VoiceAgent(ScriptedChatModel([REPLY]), decoder=decoder, tokenizer=tokenizer, tools=[])
    # The load generator sends from one process, so no per-session rate limit should bite.
    limits = SessionLimits(max_audio_speed=100.0, max_queued_events=100_000)
    return create_app(voice, RealtimeServerConfig(vad=vad, max_sessions=10_000, limits=limits))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--vad", default="silero", choices=["silero", "energy"])
    args = p.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    import uvicorn

    app = build_app(args.vad)
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and accepted sockets inherit it. With proto 0 every small
    # server message after a quiet spell waited ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           ws="websockets-sansio", backlog=4096))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
