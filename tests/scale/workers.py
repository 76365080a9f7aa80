"""`stepvox serve` workers as child processes (the installed console script), and a text
turn over a real websocket.

Each worker runs the real server with `--model openai` on the loopback `NameEchoServer`,
the energy VAD (turns here are text), no warm-up, and the given database and Redis.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

STEPVOX = shutil.which("stepvox", path=str(Path(sys.executable).parent)) or "stepvox"
START_TIMEOUT_S = 240  # models load from disk on a shared two-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    def __init__(self, name: str, folder: Path, *, llm_url: str | None, database_url: str,
                 redis_url: str | None, tokens_file: Path | None = None,
                 extra: list[str] = ()) -> None:
        self.name = name
        self.port = free_port()
        self.log = folder / f"{name}.log"
        args = [STEPVOX, "serve", "--port", str(self.port), "--vad", "energy", "--no-warm-up",
                "--asr", "tiny.en", "--database-url", database_url, *extra]
        if llm_url is not None:
            args += ["--model", "openai", "--base-url", llm_url]
        if redis_url is not None:
            args += ["--redis-url", redis_url]
        if tokens_file is not None:
            args += ["--tokens-file", str(tokens_file)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEPVOX_")}
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.http = f"http://127.0.0.1:{self.port}"
        self.ws = f"ws://127.0.0.1:{self.port}/v1/realtime"

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}:\n"
                                   f"{self.log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{self.http}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name} not ready in {timeout_s} s:\n"
                           f"{self.log.read_text()[-4000:]}")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)


async def say(client, text: str, timeout: float = 120.0, *, played: bool = True) -> dict:
    """One text turn; returns its `response.done` (the client's earlier events are cleared:
    its waits scan from the first event). `played`: also wait until the server counts the
    reply as played out (a caller that hangs up earlier has heard only part of it)."""
    client.events.clear()
    await client.send("conversation.item.create", item={
        "type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    await client.send("response.create")
    done = await client.wait_type("response.done", timeout=timeout)
    if played:
        await client.wait_type("conversation.state.changed", timeout=timeout,
                               reason="reply_played")
    return done


async def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
