"""Reading tool-call odds from the packaged LLM's logits (`agent.backends.llama_cpp.tool_routing`), with the
real model through llama.cpp (skipped without the embedded extra)."""

from __future__ import annotations

import pytest
from embedded_gate import require_embedded

from agent import ChatMessage
from agent.backends.llama_cpp.chatml_prompt import render_prompt
from agent.backends.llama_cpp.tool_routing import (
    call_probability, call_start_tokens, code_fence_tokens, tool_name_probabilities,
)

require_embedded()


def schema(name: str, description: str, param: str | None = None) -> dict:
    props = {param: {"type": "string"}} if param else {}
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": props, "required": list(props)}}}


TOOLS = [schema("search", "Search the web for news, prices and events.", "query"),
         schema("get_date_time", "The current date and time."),
         schema("get_weather", "The current weather in a place.", "location"),
         schema("timbre_rag", "Find a voice or an audio clip to play.", "query")]
NAMES = [t["function"]["name"] for t in TOOLS]


@pytest.fixture(scope="module")
def llm(packaged_llama):
    return packaged_llama


def prompt(text: str) -> str:
    return render_prompt([ChatMessage(role="system", content="You are a helpful assistant."),
                          ChatMessage(role="user", content=text)], TOOLS)


def test_name_probabilities_cover_every_offered_tool_and_sum_to_one(llm):
    probs = tool_name_probabilities(llm, prompt("what's the weather in oslo right now"), NAMES)
    assert set(probs) == set(NAMES)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert max(probs, key=probs.get) == "get_weather"


def test_tools_sharing_a_name_prefix_are_told_apart(llm):
    # get_date_time and get_weather share "get_": the second branch point decides.
    probs = tool_name_probabilities(llm, prompt("what time is it right now"), NAMES)
    assert probs["get_date_time"] > probs["get_weather"]


def test_a_single_tool_needs_no_model_evaluation(llm):
    assert tool_name_probabilities(None, "anything", ["search"]) == {"search": 1.0}


def test_call_odds_are_a_probability_and_higher_for_a_tool_request(llm):
    starts = call_start_tokens(llm)
    assert starts  # "{" and friends exist in the vocabulary
    tool_odds = call_probability(llm, prompt("what's the weather in oslo right now"), starts)
    chat_odds = call_probability(llm, prompt("thanks, that was lovely talking to you"), starts)
    assert 0.0 <= chat_odds < tool_odds <= 1.0


def test_code_fence_tokens_are_the_fence_openers_and_not_ordinary_words(llm):
    fences = code_fence_tokens(llm)
    assert fences and all(llm.detokenize([t]).lstrip().startswith(b"``") for t in fences)
    first_of_fence = llm.tokenize(b"```json", add_bos=False)[0]
    assert first_of_fence in fences
    assert llm.tokenize(b"Your", add_bos=False)[0] not in fences
