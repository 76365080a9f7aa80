"""Prompts fitted into a fixed llama.cpp context: history gives way, never a raw ValueError."""

from __future__ import annotations

import pytest

from agent.chat_model import ChatMessage
from agent.backends.llama_cpp.prompt_fitting import PromptTooLongError, check_fits, fit_messages


def msg(role: str, text: str) -> ChatMessage:
    return ChatMessage(role=role, content=text)


def words(messages) -> int:  # one "token" per word: enough to see what is dropped
    return sum(len(m.content.split()) for m in messages)


CONVERSATION = [msg("system", "be kind"), msg("user", "one two three"),
                msg("assistant", "four five"), msg("user", "six seven"),
                msg("assistant", "eight"), msg("user", "nine ten")]


def test_a_prompt_that_fits_is_kept_whole():
    assert fit_messages(CONVERSATION, 100, words) == CONVERSATION


def test_the_oldest_exchange_goes_first_and_cuts_fall_before_a_user_message():
    fitted = fit_messages(CONVERSATION, 8, words)
    assert [m.content for m in fitted] == ["be kind", "six seven", "eight", "nine ten"]
    assert fitted[1].role == "user"


def test_without_room_for_history_the_system_prompt_and_newest_message_remain():
    fitted = fit_messages(CONVERSATION, 4, words)
    assert [m.content for m in fitted] == ["be kind", "nine ten"]


def test_a_prompt_that_cannot_fit_names_the_numbers():
    """Input tried: a system prompt and message of 4 words into a room of 3."""
    with pytest.raises(PromptTooLongError, match="needs 4 tokens.*leaves 3"):
        fit_messages(CONVERSATION, 3, words)


def test_a_tool_result_is_never_left_without_its_question():
    calls = [msg("system", "s"), msg("user", "a b c d"), msg("assistant", "call"),
             msg("tool", "result r"), msg("user", "why"), msg("assistant", "x"),
             msg("tool", "y")]
    fitted = fit_messages(calls, 5, words)
    assert [m.role for m in fitted] == ["system", "user", "assistant", "tool"]


def test_check_fits_names_who_and_the_budget():
    """Input tried: a 1,000-token persona prompt against a 900-token room."""
    with pytest.raises(PromptTooLongError, match="persona 'Mia'.*1000 tokens.*900"):
        check_fits(1000, 900, "persona 'Mia'")
    check_fits(100, 900, "persona 'Mia'")


@pytest.fixture(scope="module")
def small_context_model():
    """The packaged model in a deliberately small (512-token) context."""
    from embedded_gate import require_embedded

    require_embedded()
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore

    path = ModelStore(progress=False).resolve_for_role("llm")
    return LlamaCppChatModel(path, n_ctx=512, max_tokens=48, tool_prior=None)


@pytest.mark.embedded
async def test_a_long_history_is_trimmed_not_an_error(small_context_model):
    """Input tried: 40 long exchanges (~2,000 tokens) into a 512-token context."""
    from agent import ModelDone, TextDelta

    history = []
    for i in range(40):
        history += [msg("user", f"Tell me fact number {i} about the sea, in detail please."),
                    msg("assistant", "The sea is large and deep and full of life. " * 3)]
    messages = [msg("system", "You are a helpful assistant."), *history,
                msg("user", "What colour is the sky on a clear day?")]
    events = [e async for e in small_context_model.stream(messages)]
    assert isinstance(events[-1], ModelDone)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).strip()


@pytest.mark.embedded
def test_a_persona_too_long_for_the_context_fails_when_the_agent_is_made(small_context_model):
    """Input tried: a persona whose prompt alone is ~1,500 tokens, on a 512-token context."""
    from agent import VoiceAgent
    from personas import Persona

    long = Persona(name="Verbose", system_prompt="Always be precise and kind. " * 250)
    with pytest.raises(PromptTooLongError, match="persona 'Verbose'.*tokens"):
        VoiceAgent(small_context_model, persona=long, tools=[])


@pytest.mark.embedded
async def test_a_full_context_with_tools_leaves_room_for_the_message_scored_alone(
        small_context_model):
    """Input tried: histories of 1-12 exchanges filling a 512-token context to its edge, a
    tool offered (so the latest message is also scored alone, in the same cells), and a long
    latest message. A SkyWay scenario call hit "failed to find a memory slot" this way."""
    from agent import ModelDone, TextDelta

    tools = [{"type": "function", "function": {
        "name": "get_date_time", "description": "The current date and time.",
        "parameters": {"type": "object", "properties": {}, "required": []}}}]
    latest = ("I was wondering, since we are talking about the sea anyway, whether you could "
              "tell me what colour the sky usually is on a clear and sunny summer day?")
    for n in range(1, 13):
        history = []
        for i in range(n):
            history += [msg("user", f"Fact {i} about the sea please."),
                        msg("assistant", "The sea is deep. " * (3 + (n * 7 + i) % 11))]
        messages = [msg("system", "You are a helpful assistant."), *history, msg("user", latest)]
        events = [e async for e in small_context_model.stream(messages, tools)]
        assert isinstance(events[-1], ModelDone), (n, events[-1])
        assert any(isinstance(e, TextDelta) for e in events) or len(events) > 1, n


@pytest.mark.embedded
def test_no_slot_for_a_batch_evaluates_the_prompt_again_on_an_empty_cache(small_context_model):
    """Input tried: the second sequence left holding 249 cells of a prompt of its own, then
    100 more tokens for the first sequence in a 512-token context that has 13 cells free:
    llama.cpp finds no slot ("llama_decode returned 1"). The prompt is evaluated again on an
    empty cache instead of the turn failing."""
    import numpy as np

    from agent.backends.llama_cpp.batch import evaluate

    llm = small_context_model._llm
    if not small_context_model._side_sequence:
        pytest.skip("this llama.cpp cannot hold a second sequence")
    sea = llm.tokenize(b"The sea is deep and the waves are high. " * 40)[:250]
    hills = llm.tokenize(b"Mountains are tall and the valleys are green. " * 40)[:250]
    more = llm.tokenize(b"What colour is the sky on a clear day? " * 20)[:100]
    evaluate(llm, sea, [len(sea)], side=hills, side_keep=len(hills))
    (probs,), _ = evaluate(llm, sea + more, [len(sea) + len(more)])
    assert np.isclose(probs.sum(), 1.0) and llm.n_tokens == len(sea) + len(more)


@pytest.mark.embedded
def test_a_prompt_of_another_system_message_frees_the_second_sequence(small_context_model):
    """Input tried: a pass that leaves sequence 1 holding a prompt head, then a prompt that
    shares nothing with it (another system message, as the plain-voice ask sends). Sequence
    1's cells go with sequence 0's: llama-cpp-python's own removal reads seq_id -1 as 0 and
    had left them, until a later turn found no slot."""
    import llama_cpp

    from agent.backends.llama_cpp.batch import evaluate

    llm = small_context_model._llm
    if not small_context_model._side_sequence:
        pytest.skip("this llama.cpp cannot hold a second sequence")
    sea = llm.tokenize(b"The sea is deep and the waves are high. " * 20)[:120]
    hills = llm.tokenize(b"Mountains are tall and the valleys are green. " * 20)[:120]
    evaluate(llm, sea, [len(sea)], side=hills, side_keep=len(hills))
    assert llama_cpp.llama_memory_seq_pos_max(llm._ctx.memory, 1) >= 100
    other = llm.tokenize(b"Quite another prompt about deserts and dunes. " * 10)[:80]
    evaluate(llm, other, [len(other)])
    assert llama_cpp.llama_memory_seq_pos_max(llm._ctx.memory, 1) < 0
