"""One worker of `scale_out.py`: the realtime server as `stepvox serve` runs it (history in
PostgreSQL through the buffered store, signals through Redis, the reply journal, take-over
and resume), with instant fake models so that what costs time is stepvox, not a model.
Prints its port on the first line of stdout, then serves until killed.

The fakes are those of `tests/fakes.py` (a scripted LLM, a transcriber that always hears the
same words, a decoder that returns a short tone at once). Facts are not learnt at the end of
a session (that would run the MiniLM embedder, a model, on every hang-up).

    .venv/bin/python bench/scale_out_worker.py --database-url postgresql://... \
        [--redis-url redis://127.0.0.1:6379/14] [--cpu 0] [--vad silero|energy]
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


def build_app(database_url: str, redis_url: str | None, vad: str):
    from agent import VoiceAgent
    from agent.realtime.protocol import SessionLimits
    from agent.realtime.server import RealtimeServerConfig, create_app
    from memory import BufferedDialogueStore, SqlDialogueStore

    decoder = RecordingDecoder(seconds_per_char=0.002)
    decoder.texts, decoder.styles = _Forgetful(), _Forgetful()
    tokenizer = FixedTranscriber(HEARD)
    tokenizer.clips = _Forgetful()
    model = ScriptedChatModel([REPLY])
    model.calls = _Forgetful()
    memory = BufferedDialogueStore(SqlDialogueStore(database_url))
    voice = VoiceAgent(model, decoder=decoder, tokenizer=tokenizer, tools=[], memory=memory,
                       learn_facts=False)
    # The load generator sends from one process, so no per-session rate limit should bite.
    limits = SessionLimits(max_audio_speed=100.0, max_queued_events=100_000,
                           max_events_per_s=1e6)
    return create_app(voice, RealtimeServerConfig(vad=vad, max_sessions=10_000, limits=limits,
                                                  redis_url=redis_url))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--database-url", required=True)
    p.add_argument("--redis-url", default=None)
    p.add_argument("--cpu", type=int, default=None)
    p.add_argument("--vad", default="silero", choices=["silero", "energy"])
    args = p.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    import uvicorn

    app = build_app(args.database_url, args.redis_url, args.vad)
    # IPPROTO_TCP: accepted sockets get TCP_NODELAY (see realtime_fake_server.py).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on",
                                           ws="websockets-sansio", backlog=4096))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
