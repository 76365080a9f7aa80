"""The browser page in real headless Chromium, driven over the DevTools protocol: a fake
microphone plays a WAV (a tone burst as the question), the page streams it through its
AudioWorklet, and the spoken reply and the transcript show up on the page.

Chromium comes from Debian's `chromium` package; as root the test installs it when missing
(`apt-get install -y chromium`), otherwise it is skipped with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from websockets.asyncio.client import connect

from realtime_signals import silence, tone
from realtime_server import HEARD, SHORT, make_agent, serve


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                       check=False, capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return found


class Page:
    """The smallest CDP client: evaluate JavaScript in one page."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0

    async def eval(self, expression: str, *, gesture: bool = False):
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": "Runtime.evaluate", "params": {
            "expression": expression, "returnByValue": True, "awaitPromise": True,
            "userGesture": gesture}}))
        while True:
            message = json.loads(await self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {}).get("result", {}).get("value")


def _devtools_port(profile: Path, timeout: float = 30.0) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text().strip():
            return int(marker.read_text().split()[0])
        time.sleep(0.1)
    raise AssertionError("Chromium did not open its DevTools port")


def _page_target(port: int, url: str, timeout: float = 20.0) -> str:
    """The DevTools websocket of the tab showing `url` (headless Chromium may also open a
    blank tab first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for target in httpx.get(f"http://127.0.0.1:{port}/json/list").json():
            if target["type"] == "page" and target["url"].startswith(url):
                return target["webSocketDebuggerUrl"]
        time.sleep(0.1)
    raise AssertionError(f"no Chromium tab shows {url}")


async def test_page_speaks_and_shows_the_reply(tmp_path):
    binary = _chromium()
    wav = tmp_path / "question.wav"
    sf.write(wav, np.concatenate([silence(0.5), tone(1.0), silence(3.0)]), 16_000,
             subtype="PCM_16")
    agent, model, decoder = make_agent(seconds_per_char=0.01)
    with serve(agent) as server:
        profile = tmp_path / "profile"
        browser = subprocess.Popen([
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
            "--no-first-run", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", server.http + "/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = _devtools_port(profile)
            page_ws = _page_target(port, server.http)
            async with connect(page_ws, max_size=None) as ws:
                page = Page(ws)
                deadline = time.monotonic() + 20
                # The tab starts on about:blank; wait for the page and its script.
                while not await page.eval("document.readyState === 'complete' && "
                                          "typeof start === 'function'"):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.1)
                await page.eval("document.getElementById('start').click()", gesture=True)
                stats = None
                while time.monotonic() < deadline + 20:
                    stats = await page.eval("JSON.stringify(window.stepvoxStats)")
                    if stats and json.loads(stats)["responses"] >= 1:
                        break
                    await asyncio.sleep(0.2)
                stats = json.loads(stats or "{}")
                user = await page.eval("document.querySelector('.user')?.textContent")
                bot = await page.eval("document.querySelector('.bot')?.textContent")
                latency = await page.eval("document.querySelector('.lat')?.textContent")
                error = await page.eval(
                    "[document.getElementById('error').textContent,"
                    " document.getElementById('state').textContent,"
                    " String(typeof ws !== 'undefined' && ws && ws.readyState),"
                    " String(typeof micCtx !== 'undefined' && micCtx && micCtx.sampleRate)]"
                    ".join(' | ')")
        finally:
            browser.terminate()
            browser.wait(timeout=10)
    assert stats.get("responses", 0) >= 1, (stats, error)
    assert stats["audioDeltas"] >= 1 and stats["audioSeconds"] > 0.05
    assert user == f"You: {HEARD}" and bot == f"Bot: {SHORT}"
    assert "first audio sent" in latency
    # The question reached the server through the page's AudioWorklet, as 16 kHz speech.
    clip = agent.services.tokenizer.clips[-1]
    assert clip.sample_rate == 16_000 and 0.9 < clip.duration_s < 1.6
