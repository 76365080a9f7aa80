"""The agent decodes greedily by default; a simulated caller on the same loaded model samples,
so repeated trials of a scenario are not one call replayed k times (skipped without the
embedded extra)."""

from __future__ import annotations

import pytest
from embedded_gate import require_embedded

from agent.chat_model import ChatMessage, complete_text
from agent.evals.callers import CALLER_TEMPERATURE, make_caller
from agent.evals.format import CallerSpec
from agent.settings import StepvoxSettings

require_embedded()

ASK = [ChatMessage(role="system", content="You are a traveller phoning an airline."),
       ChatMessage(role="user", content="Hello, SkyWay, Mia speaking. How can I help?")]


@pytest.fixture(scope="module")
def model():
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from agent.models.catalog import DEFAULT_MODELS

    path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    return LlamaCppChatModel(path, n_ctx=1024, max_tokens=20,
                             temperature=StepvoxSettings().llm_temperature)


def test_the_shipped_setting_is_greedy():
    assert StepvoxSettings().llm_temperature == 0.0


async def test_greedy_agent_repeats_itself_and_the_caller_view_varies(model):
    # Tried: the same opening line asked five times of the agent's model, then of the
    # caller's view of that same loaded model.
    agent_lines = {await complete_text(model, ASK) for _ in range(3)}
    assert len(agent_lines) == 1
    caller = make_caller("llm", CallerSpec(goal="Ask whether flight SK101 is on time."), model)
    assert caller.chat_model is not model and caller.chat_model._llm is model._llm
    assert caller.chat_model.temperature == CALLER_TEMPERATURE and model.temperature == 0.0
    caller_lines = {await complete_text(caller.chat_model, ASK) for _ in range(5)}
    assert len(caller_lines) > 1
