"""A tool fails mid-turn: it hangs past its timeout (async, or sync in a worker thread), or
it raises. The caller hears a filler while it hangs and then the model's short apology, which
the model can give because it is told what failed; the turn is kept in history with the
failed call, and the next turn is answered.

The model is scripted (it stands in for the LLM server); the tools are real Python functions
that really hang or raise."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from agent import VoiceAgent
from agent.chat_model import ToolCall
from fakes import RecordingDecoder, ScriptedChatModel
from tools import Tool, tool

APOLOGY = "Sorry, I can't look that up right now."
FILLER = "One moment, please."
release_threads = threading.Event()  # set at the end: hung sync tools may finish then


@tool(timeout_s=0.5)
async def flight_status(flight: str) -> str:
    """The live status of a flight."""
    await asyncio.Event().wait()  # the airline's API never answers
    return "on time"


seat_map_started: list[str] = []  # one entry per call that really ran


@tool(timeout_s=0.3)
def seat_map(flight: str) -> str:
    """The free seats on a flight."""
    seat_map_started.append(flight)
    release_threads.wait()  # a blocking client library that never returns
    return "12A"


@tool
def baggage_rules(airline: str) -> str:
    """The baggage allowance of an airline."""
    raise ConnectionError(f"baggage service for {airline} refused the connection")


@pytest.fixture(autouse=True, scope="module")
def _release_hung_threads():
    yield
    release_threads.set()


def apologetic_model(name: str, arguments: dict) -> ScriptedChatModel:
    """Calls `name`, then answers from what the tool gave back: a short apology for an error,
    else the result; later turns get a plain answer."""
    def after_tool(messages, tools, tool_choice) -> str:
        result = messages[-1]
        assert result.role == "tool"
        return APOLOGY if result.content.startswith("ERROR") else f"It says {result.content}."
    return ScriptedChatModel([ToolCall(name=name, arguments=arguments), after_tool,
                              "You're welcome."])


def agent_with(model: ScriptedChatModel) -> tuple[VoiceAgent, RecordingDecoder]:
    decoder = RecordingDecoder()
    agent = VoiceAgent(model, decoder=decoder, tools=[flight_status, seat_map, baggage_rules],
                       learn_facts=False, filler_after_s=0.1)
    return agent, decoder


@pytest.mark.parametrize("name, arguments, failure", [
    ("flight_status", {"flight": "LH 401"}, "timed out after 0.5s"),
    ("seat_map", {"flight": "LH 401"}, "timed out after 0.3s"),
    ("baggage_rules", {"airline": "Lufthansa"}, "ConnectionError: baggage service"),
])
async def test_a_failing_tool_is_apologised_for_and_the_next_turn_works(name, arguments, failure):
    model = apologetic_model(name, arguments)
    agent, decoder = agent_with(model)
    reply = await agent.arespond("Can you check that for me?", conversation_id="c1")

    told = model.calls[1][0][-1]  # what the model was given for the failed call
    assert told.role == "tool" and failure in told.content, told.content
    assert reply.text.endswith(APOLOGY)
    assert APOLOGY in decoder.texts and len(reply.audio) > 0
    if "timed out" in failure:
        assert decoder.texts[0] == FILLER  # said while the tool hung, before the apology
    history = await agent.services.memory.history("c1")
    assert [t.role for t in history] == ["user", "assistant"]
    assert history[1].text == reply.text
    [record] = history[1].tool_calls
    assert record.name == name and record.is_error and failure in record.result

    again = await agent.arespond("Thanks anyway.", conversation_id="c1")
    assert again.text == "You're welcome."
    assert len(await agent.services.memory.history("c1")) == 4


async def test_hung_sync_tools_do_not_starve_the_worker_threads():
    """Threads cannot be killed: each hung sync call keeps one. More hung calls than the
    default executor has threads must not stop the rest of the agent's threaded work
    (ASR, VAD, audio archiving run in `asyncio.to_thread`)."""
    default_workers = min(32, (os.cpu_count() or 1) + 4)

    def call_then_apologise(messages, tools, tool_choice):
        if messages[-1].role == "tool":
            return APOLOGY
        return ToolCall(name="seat_map", arguments={"flight": f"LH {len(seat_map_started)}"})

    agent, _ = agent_with(ScriptedChatModel([call_then_apologise]))
    before = len(seat_map_started)
    for i in range(default_workers + 2):
        reply = await agent.arespond("Which seats are free?", conversation_id=f"c{i}")
        assert reply.text.endswith(APOLOGY)
    assert len(seat_map_started) - before == default_workers + 2  # each one hung in a thread
    async with asyncio.timeout(5):
        assert await asyncio.to_thread(lambda: "still served") == "still served"


@pytest.mark.embedded
async def test_the_embedded_model_apologises_for_a_hung_and_a_failing_tool(tmp_path, monkeypatch):
    """The same faults on the real offline stack (Qwen2.5 0.5B in llama.cpp, Piper): the
    spoken apology is stepvox's own sentence for a failed lookup (`agent.honesty.replies`),
    not left to the small model."""
    from embedded_gate import require_embedded

    require_embedded()
    from agent.setup.embedded_stack import load_embedded_stack

    monkeypatch.setenv("STEPVOX_DATABASE_URL", f"sqlite:///{tmp_path / 'history.db'}")
    # The same functions, with example requests so the call decision knows them.
    hangs = Tool(flight_status.func, timeout_s=1.0,
                 examples=["what's the status of flight LH 401", "is my flight on time"])
    raises = Tool(baggage_rules.func, examples=["how much baggage can I take on Lufthansa",
                                                "baggage allowance of Air France"])
    agent = VoiceAgent.from_stack(load_embedded_stack(progress=False), tools=[hangs, raises],
                                  learn_facts=False)
    try:
        for question, failure in (("What's the status of flight LH 401?", "timed out"),
                                  ("How much baggage can I take on Lufthansa?",
                                   "ConnectionError")):
            reply = await agent.arespond(question, conversation_id="c1")
            [result] = reply.tool_results
            assert result.is_error and failure in result.content
            assert "Sorry, I" in reply.text and len(reply.audio) > reply.sample_rate // 2
        after = await agent.arespond("Thanks. Can you say hello?", conversation_id="c1")
        assert after.text.strip() and not after.tool_results
        assert len(await agent.services.memory.history("c1")) == 6
    finally:
        await agent.aclose()
