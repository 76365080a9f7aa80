"""The LLM server fails mid-conversation (`--model openai`): through a fault-injecting proxy
in front of an OpenAI-compatible server on loopback (a scripted one, and llama-cpp-python's
real server on the packaged Qwen2.5 0.5B GGUF where the embedded extra is installed), the
server answers HTTP 5xx,
stalls before its first token or mid-reply, drops the stream mid-reply, or is down. Each
time the caller hears the words that arrived and then a short apology, one error line is
logged, the turn is kept in history, and once the server is healthy the next turn is
answered with that history in its prompt."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import httpx
import pytest

from agent import VoiceAgent
from agent.turn.apology import APOLOGY
from agent.backends.openai.chat import OpenAIChatModel
from fakes import RecordingDecoder
from embedded_gate import require, require_embedded
from fault_proxy import FaultProxy
from openai_loopback import MODEL, ScriptedOpenAIServer

REPLY = "It is sunny in Lyon today, with a light wind."
# Where a mid-reply fault strikes: the role chunk and the first words. The scripted server's
# chunks are ~200 bytes; llama.cpp's are ~290, and the backend holds back a reply's first
# token or two (it could open a tool call), so the cut comes later there.
MID_REPLY_BYTES = {"scripted": 600, "llama_cpp": 1_500}

FAULTS = {
    "http_503": lambda p, mid: p.answer_http(503),
    "http_500": lambda p, mid: p.answer_http(500),
    "stall_before_first_token": lambda p, mid: p.stall_after(0),
    "stall_mid_reply": lambda p, mid: p.stall_after(mid),
    "stream_dropped_mid_reply": lambda p, mid: p.cut_after(mid),
    "server_down": lambda p, mid: p.go_down(),
}
MID_REPLY = {"stall_mid_reply", "stream_dropped_mid_reply"}


class LlamaCppServer:
    """`python -m llama_cpp.server` on the packaged GGUF, on a free loopback port."""

    def __init__(self, log_path) -> None:
        from agent.models.store import model_store
        from agent.settings import StepvoxSettings
        from fault_proxy import free_port

        gguf = model_store(StepvoxSettings(), progress=False).resolve_for_role("llm")
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                 "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048"],
                stdout=log, stderr=subprocess.STDOUT)

    def wait_until_up(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base_url + "/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"llama_cpp.server did not come up:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module", params=["scripted", pytest.param(
    "llama_cpp", marks=pytest.mark.embedded)])
def upstream(request, tmp_path_factory):
    if request.param == "scripted":
        with ScriptedOpenAIServer(REPLY) as server:
            yield server
        return
    require_embedded()
    require("uvicorn", "fastapi", "sse_starlette", "starlette_context", extra="dev")
    server = LlamaCppServer(tmp_path_factory.mktemp("llama-server") / "server.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(upstream):
    with FaultProxy(upstream.port) as fault_proxy:
        yield fault_proxy


def agent_through(proxy: FaultProxy, upstream) -> tuple[VoiceAgent, RecordingDecoder]:
    scripted = isinstance(upstream, ScriptedOpenAIServer)
    # Short timeouts so a stall is noticed in seconds (defaults: 20 s and 30 s); the real
    # model on a busy CPU needs longer to read the prompt.
    model = OpenAIChatModel(base_url=proxy.url("/v1"), model=MODEL if scripted else None,
                            connect_timeout_s=1, first_token_timeout_s=2 if scripted else 60,
                            # llama-cpp-python sends its headers with the first token: the
                            # read timeout covers the prompt's processing too.
                            read_timeout_s=1 if scripted else 30, max_tokens=32,
                            temperature=0.0)
    decoder = RecordingDecoder()
    return VoiceAgent(model, decoder=decoder, tools=[], learn_facts=False), decoder


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_the_caller_hears_an_apology_and_the_next_turn_works(fault, proxy, upstream,
                                                                   caplog):
    agent, decoder = agent_through(proxy, upstream)
    scripted = isinstance(upstream, ScriptedOpenAIServer)
    mid_reply_bytes = MID_REPLY_BYTES["scripted" if scripted else "llama_cpp"]
    FAULTS[fault](proxy, mid_reply_bytes)
    with caplog.at_level(logging.ERROR, logger="agent.turn.apology"):
        failed = await agent.arespond("What's the weather in Lyon?", conversation_id="c1")

    assert failed.text.endswith(APOLOGY), failed.text
    assert APOLOGY in " ".join(decoder.texts), decoder.texts  # spoken, not only shown
    assert len(failed.audio) > 0
    if fault in MID_REPLY:
        assert proxy.fired == [mid_reply_bytes]  # the reply's stream, mid-reply
        heard_first = failed.text[:-len(APOLOGY)].strip()  # the words that had arrived
        assert heard_first, failed.text
        assert not scripted or REPLY.startswith(heard_first), failed.text
    logged = [r for r in caplog.records if r.name == "agent.turn.apology"]
    assert len(logged) == 1, [r.getMessage() for r in logged]

    history = await agent.services.memory.history("c1")
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[1].text == failed.text

    proxy.heal()
    proxy.come_up()
    answered = await agent.arespond("And tomorrow?", conversation_id="c1")
    assert answered.text.strip() and APOLOGY not in answered.text
    assert len(await agent.services.memory.history("c1")) == 4
    if scripted:
        assert answered.text == REPLY
        # The failed turn is in the next prompt: its question, and the words said before the
        # failure, without the apology (a small model repeats it).
        sent = [m["content"] for m in upstream.requests[-1]]
        said = failed.text[:-len(APOLOGY)].strip()
        assert sent[-3 if said else -2:] == [
            "What's the weather in Lyon?", *([said] if said else []), "And tomorrow?"]


async def test_a_realtime_caller_hears_the_apology_then_the_next_answer():
    """The same through `/v1/realtime`: the LLM server answers 503 to the first turn; the
    client gets the apology as text and audio in a completed response, then a real answer."""
    from realtime_server import open_client, serve

    with ScriptedOpenAIServer(REPLY) as upstream, FaultProxy(upstream.port) as proxy:
        agent, _ = agent_through(proxy, upstream)
        with serve(agent) as live:
            client = await open_client(live.url)
            try:
                replies = []
                for text in ("What's the weather in Lyon?", "And tomorrow?"):
                    if not replies:
                        proxy.answer_http(503)
                    else:
                        proxy.heal()
                    before = len(client.events)
                    await client.send("conversation.item.create", item={
                        "type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": text}]})
                    await client.send("response.create")
                    done = await client.wait_for(lambda e: e["type"] == "response.done"
                                                 and e["response"]["id"] not in
                                                 [r["response"]["id"] for r in replies])
                    replies.append(done)
                    events = client.events[before:]
                    said = "".join(e["delta"] for e in events
                                   if e["type"] == "response.text.delta")
                    assert done["response"]["status"] == "completed"
                    assert any(e["type"] == "response.audio.delta" for e in events)
                    assert not [e for e in events if e["type"] == "error"]
                    if len(replies) == 1:
                        assert said.strip() == APOLOGY
                    else:
                        assert said.strip() == REPLY
            finally:
                await client.close()
