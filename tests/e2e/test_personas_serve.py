"""Every built-in persona in a real `stepvox serve` session, and through `VoiceAgent.for_persona`.

The server is the installed console script in a child process on a free loopback port, with
the real embedded models; the client speaks the realtime protocol over a real websocket.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from embedded_gate import require_embedded
from personas import PersonaLibrary

require_embedded()
pytestmark = pytest.mark.embedded

STEPVOX = shutil.which("stepvox", path=str(Path(sys.executable).parent)) or "stepvox"
BUILT_IN = sorted(PersonaLibrary().names())
QUESTION = {"xiaoyue": "你好，你是谁？", "skyway-agent": "How much is a second checked bag?"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`stepvox serve` on loopback; yields its websocket URL once /healthz answers."""
    port = free_port()
    env = dict(os.environ)
    env["STEPVOX_DATABASE_URL"] = (
        f"sqlite:///{tmp_path_factory.mktemp('serve') / 'history.db'}")
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([STEPVOX, "serve", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300  # loading the models on two busy cores
        while True:
            if proc.poll() is not None:
                pytest.fail(f"stepvox serve exited {proc.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"stepvox serve did not come up:\n{log.read_text()}")
            time.sleep(0.5)
        yield f"ws://127.0.0.1:{port}/v1/realtime"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("key", BUILT_IN)
async def test_each_builtin_persona_answers_in_a_serve_session(key, server):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "realtime"))
    from realtime_server import open_client  # the realtime tests' websocket client

    client = await open_client(server)
    try:
        assert key in client.of("session.created")[0]["personas"]
        await client.send("session.update", session={"persona": key})
        updated = await client.wait_type("session.updated")
        assert updated["session"]["persona"] == key
        await client.send("conversation.item.create", item={
            "role": "user",
            "content": [{"type": "input_text", "text": QUESTION.get(key, "Who are you?")}]})
        await client.send("response.create")
        done = await client.wait_type("response.done", timeout=180)
    finally:
        await client.close()
    assert not client.of("error"), client.of("error")
    assert done["response"]["status"] == "completed"
    text = "".join(e["delta"] for e in client.of("response.text.delta"))
    assert text.strip(), f"{key} said nothing"
    assert client.of("response.audio.delta"), f"{key} sent no audio"


async def test_the_airline_persona_looks_up_a_booking_in_a_serve_session(server):
    """The server is built for the default persona (the clock only); a session that picks
    skyway-agent must still get the SkyWay desk, or no booking can be looked up."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "realtime"))
    from realtime_server import open_client

    client = await open_client(server)
    try:
        await client.send("session.update", session={"persona": "skyway-agent"})
        await client.wait_type("session.updated")
        await client.send("conversation.item.create", item={
            "role": "user", "content": [{"type": "input_text",
                                         "text": "When is my flight? My booking is SKW123"}]})
        await client.send("response.create")
        done = await client.wait_type("response.done", timeout=240)
    finally:
        await client.close()
    assert done["response"]["status"] == "completed"
    calls = client.of("response.function_call_output.done")
    assert [c["name"] for c in calls] == ["get_reservation_details"], calls
    assert not calls[0]["is_error"] and "SKW123" in calls[0]["output"]
    text = "".join(e["delta"] for e in client.of("response.text.delta"))
    assert "lost my words" not in text and text.strip()


@pytest.fixture(scope="module")
def embedded_agent():
    from agent import VoiceAgent

    return VoiceAgent.embedded()


@pytest.mark.parametrize("key", BUILT_IN)
async def test_each_builtin_persona_through_for_persona(key, embedded_agent):
    """The Python API: one loaded agent, each persona on top of it."""
    agent = embedded_agent.for_persona(PersonaLibrary().get(key))
    reply = await agent.arespond(text=QUESTION.get(key, "Who are you?"))
    assert reply.text.strip()
    assert reply.audio is not None and len(reply.audio) > reply.sample_rate // 4


STORY = {"xiaoyue": "给我讲一个小故事吧。"}


@pytest.mark.parametrize("key", BUILT_IN)
async def test_each_builtin_persona_tells_a_story(key, embedded_agent):
    """"Tell me a short story." on the real model: once refused by Pip and Veyra, said back
    by the default persona, and answered by Captain Bram and 小跃 with their own cards."""
    from agent.honesty.needless_refusal import NO_ANSWER_BY_LANGUAGE
    from agent.honesty.plain_voice import recites_card
    from agent.honesty.refusal_after_tool import REFUSAL

    persona = PersonaLibrary().get(key)
    asked = STORY.get(key, "Tell me a short story.")
    reply = await embedded_agent.for_persona(persona).arespond(text=asked, synthesize=False)
    text = reply.text.strip()
    assert text and text not in NO_ANSWER_BY_LANGUAGE.values(), text
    assert not REFUSAL.search(text) and asked.rstrip("。.") not in text, text
    assert not any(recites_card(s, persona, asked) for s in text.replace("。", ". ").split(". ")), text
