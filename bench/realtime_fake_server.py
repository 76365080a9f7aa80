"""The realtime server with instant fake models, pinned to one core: the server side of
`realtime_capacity.py`. Prints its port on the first line of stdout, then serves until killed.

The fakes are those of `tests/fakes.py` (a scripted LLM, a transcriber that always hears the
same words, a decoder that returns a short tone at once), so what costs time here is stepvox
itself: websocket and JSON handling, resampling, the streaming VAD (Silero, as served), the
controller, speculation and the turn graph.

    .venv/bin/python bench/realtime_fake_server.py [--cpu 0] [--vad silero|energy]
                                                   [--history-db sqlite:///history.db]
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


def build_app(vad: str, history_db: str | None = None):
    from agent import VoiceAgent
    from agent.realtime.protocol import SessionLimits
    from agent.realtime.server import RealtimeServerConfig, create_app

    decoder = RecordingDecoder(seconds_per_char=0.002)
    decoder.texts, decoder.styles = _Forgetful(), _Forgetful()
    tokenizer = FixedTranscriber(HEARD)
    tokenizer.clips = _Forgetful()
    model = ScriptedChatModel([REPLY])
    model.calls = _Forgetful()
    memory = None
    if history_db:  # history on disk, as `stepvox serve` keeps it (`bench/soak.py`)
        from memory import BufferedDialogueStore, SqlDialogueStore

        memory = BufferedDialogueStore(SqlDialogueStore(history_db))
    voice = VoiceAgent(model, decoder=decoder, tokenizer=tokenizer, tools=[], memory=memory)
    # The load generator sends from one process, so no per-session rate limit should bite.
    limits = SessionLimits(max_audio_speed=100.0, max_queued_events=100_000,
                           max_events_per_s=1e6)
    return create_app(voice, RealtimeServerConfig(vad=vad, max_sessions=10_000, limits=limits))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--vad", default="silero", choices=["silero", "energy"])
    p.add_argument("--history-db", default=None, help="a SQLAlchemy URL for the history")
    args = p.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    import uvicorn

    app = build_app(args.vad, args.history_db)
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



def spawn(*args: str, timeout_s: float = 60.0):
    """Start this server in a subprocess; return (process, port) once it answers /healthz
    (the port is printed before uvicorn listens on it)."""
    import subprocess
    import time

    import httpx

    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *args],
                               stdout=subprocess.PIPE, text=True)
    port = int(process.stdout.readline().strip())
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process, port
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the fake realtime server did not start") from None
        time.sleep(0.1)


if __name__ == "__main__":
    main()
