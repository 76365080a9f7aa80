"""The packaged Qwen2.5 0.5B (llama.cpp, the embedded stack's LLM) extracts a preference the
caller stated, as valid JSON facts."""

from __future__ import annotations

import pytest
from embedded_gate import require_embedded

require_embedded()

from agent.models.store import model_store  # noqa: E402
from agent.recall.fact_extraction import extract_facts  # noqa: E402
from agent.backends.llama_cpp.chat import LlamaCppChatModel  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402
from memory import DialogueTurn  # noqa: E402


@pytest.fixture(scope="module")
def qwen() -> LlamaCppChatModel:
    path = model_store(StepvoxSettings(), progress=False).resolve_for_role("llm")
    # Temperature 0: the same answer every run.
    return LlamaCppChatModel(path, temperature=0.0, max_tokens=160)


async def test_a_stated_preference_becomes_a_fact(qwen):
    turns = [
        DialogueTurn(role="user", text="Hi, I'd like to book a flight to Oslo next Friday."),
        DialogueTurn(role="assistant", text="Sure. Do you have a seat preference?"),
        DialogueTurn(role="user", text="Yes, I always want an aisle seat, never the window."),
        DialogueTurn(role="assistant", text="Got it, an aisle seat for you."),
    ]
    facts = await extract_facts(qwen, turns)
    assert any("aisle" in f.text.lower() for f in facts), facts


async def test_a_tool_free_answer_that_starts_with_a_brace_is_text(qwen):
    # Input tried: no tools offered and a request for bare JSON. The backend used to read any
    # answer opening with "{" as a tool call and fail with KeyError; without tools it is text.
    from agent.chat_model import ChatMessage, complete_text

    text = await complete_text(qwen, [
        ChatMessage(role="system", content="Answer with JSON only, no other words."),
        ChatMessage(role="user", content='Repeat exactly: {"city": "Oslo"}')])
    assert text.lstrip().startswith("{") and "Oslo" in text, text
