"""Someone else's tools on the embedded default: a request that names two things gets two
calls in one turn, one that names one thing gets one, and small talk none (the packaged
model, greedy; skipped without the embedded extra)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from embedded_gate import require_embedded

require_embedded()

from agent.backends.llama_cpp.chat import LlamaCppChatModel  # noqa: E402
from agent.models.cache import ModelStore  # noqa: E402
from agent.models.catalog import DEFAULT_MODELS  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402
from tools import ToolRegistry, tool_from_function_spec  # noqa: E402

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.timeout(300),
]

# Written as a third party would for an OpenAI-style API: no examples for stepvox.
CIRCLE = {"name": "geometry.circle_area", "description": "Calculate the area of a circle.",
          "parameters": {"type": "object", "properties": {
              "radius": {"type": "number", "description": "The radius of the circle."},
              "unit": {"type": "string", "description": "Unit of length, e.g. 'cm'."}},
              "required": ["radius"]}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent() -> VoiceAgent:
    try:
        path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    except ModelUnavailableError as exc:
        pytest.skip(f"embedded model weights are not installed: {exc}")
    tools = ToolRegistry([tool_from_function_spec(CIRCLE)])
    return VoiceAgent(LlamaCppChatModel(path, temperature=0.0), tools=tools,
                      max_tool_rounds=1, learn_facts=False, fact_embed=None)


def radii(reply) -> list[float]:
    assert all(r.name == "geometry_circle_area" and not r.is_error for r in reply.tool_results)
    return sorted(float(r.arguments["radius"]) for r in reply.tool_results)


async def test_two_circles_named_get_two_calls(agent):
    reply = await agent.arespond("What are the areas of circles with radius 5 and 10?")
    assert radii(reply) == [5.0, 10.0]


async def test_one_circle_named_gets_one_call(agent):
    reply = await agent.arespond("Calculate the area of a circle with a radius of 7 cm.")
    assert radii(reply) == [7.0]


async def test_small_talk_calls_nothing(agent):
    reply = await agent.arespond("Thanks, you've been very helpful today.")
    assert reply.tool_results == [] and reply.text


@pytest.mark.parametrize("question", ["What is a circle?", "How many degrees are in a circle?"])
async def test_a_question_near_the_tool_s_words_that_it_cannot_answer_calls_nothing(
        agent, question):
    # MiniLM puts both near "geometry circle area: Calculate the area of a circle." and the
    # description decision alone called the tool; the model, shown the function, gives a
    # call under 0.01, so the odds floor leaves them to be answered.
    reply = await agent.arespond(question)
    assert reply.tool_results == [] and reply.text
