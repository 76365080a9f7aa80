"""The embedded backend's `anticipate`: the next turn's prompt up to the user's words is
evaluated while the user speaks (skipped without the embedded extra)."""

from __future__ import annotations

import asyncio

import pytest
from embedded_gate import require_embedded

from agent import ChatMessage
from agent.tool_choice.decision import logit
from agent.chat_model import AnticipatingChatModel, TextDelta, TurnEndEstimate
from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt, turn_head
from agent.backends.llama_cpp.parked_prompt import common_prefix

require_embedded()

SYSTEM = ChatMessage(role="system", content="You are a helpful voice assistant.")
TOOLS = [{"type": "function", "function": {
    "name": "get_date_time", "description": "The current date and time.",
    "parameters": {"type": "object", "properties": {}, "required": []}}}]
HISTORY = [ChatMessage(role="user", content="Hi there."),
           ChatMessage(role="assistant", content="Hello! How can I help you today?")]


@pytest.fixture(scope="module")
def model():
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from agent.models.catalog import DEFAULT_MODELS

    path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    return LlamaCppChatModel(path, n_ctx=1024, max_tokens=12, temperature=0.0)


def cached(model) -> list[int]:
    return model._llm.input_ids[:model._llm.n_tokens].tolist()


def tokens(model, text: str) -> list[int]:
    return model._llm.tokenize(text.encode("utf-8"), special=True)


async def reply(model, messages) -> tuple[float, str]:
    estimate, text = None, []
    async for event in model.stream(messages, TOOLS):
        if isinstance(event, TurnEndEstimate):
            estimate = event.probability
        elif isinstance(event, TextDelta):
            text.append(event.text)
    return estimate, "".join(text)


def readings(model, messages) -> tuple[float, float]:
    prompt = render_turn_prompt(messages, TOOLS)
    estimate, (call, _) = model._turn_readings(messages, TOOLS, prompt, True)
    return logit(estimate), logit(call)


def test_the_head_is_evaluated_ahead_and_the_turn_then_evaluates_only_its_words(
        model, monkeypatch):
    # Tried: a first turn and a turn after one exchange, each with and without anticipation
    # (temperature 0). After `anticipate` the cache holds the turn's prompt up to the words;
    # the turn's pass then starts there (only the words and the closing template are
    # evaluated), and the turn-end estimate and call odds are those of the turn without it
    # (up to float rounding: llama.cpp's sums differ a little with how a prompt is split
    # into batches, enough to flip a greedy choice between two near-equal words).
    import agent.backends.llama_cpp.call_readings as llama_chat

    assert isinstance(model, AnticipatingChatModel)
    starts: list[int] = []
    real = llama_chat.evaluate

    def spy(llm, toks, ends, *side, **answer):
        starts.append(common_prefix(llm.input_ids[:llm.n_tokens].tolist(), toks))
        return real(llm, toks, ends, *side, **answer)

    monkeypatch.setattr(llama_chat, "evaluate", spy)
    for before in ([SYSTEM], [SYSTEM, *HISTORY]):
        messages = [*before, ChatMessage(role="user", content="Why is the sky blue?")]
        head = tokens(model, turn_head(before, TOOLS))
        asyncio.run(model.prefill(SYSTEM.content, TOOLS))
        plain = readings(model, messages)
        asyncio.run(model.prefill(SYSTEM.content, TOOLS))
        assert asyncio.run(model.anticipate(before, TOOLS)) is True
        assert cached(model) == head
        starts.clear()
        estimate, text = asyncio.run(reply(model, messages))
        full = tokens(model, render_turn_prompt(messages, TOOLS))
        assert starts[0] == len(head) and len(full) - len(head) <= 12  # words + template
        assert text.strip() and estimate is not None
        asyncio.run(model.prefill(SYSTEM.content, TOOLS))
        asyncio.run(model.anticipate(before, TOOLS))
        assert readings(model, messages) == pytest.approx(plain, abs=0.3)


def test_anticipation_never_evicts_another_system_prompt_or_waits_for_a_busy_model(model):
    # Tried: a guess with another system prompt (as when lore the words trigger would change
    # it), and a call while a turn holds the model. Both decline and leave the cache as it
    # was: the cached system + tools prefix is worth far more than the head start.
    asyncio.run(model.prefill(SYSTEM.content, TOOLS))
    before = cached(model)
    other = ChatMessage(role="system", content="You are a pirate.")
    assert asyncio.run(model.anticipate([other], TOOLS)) is False
    assert cached(model) == before
    with model._lock:
        assert asyncio.run(model.anticipate([SYSTEM], TOOLS)) is False
    assert cached(model) == before
    # Already prepared: nothing to evaluate again, and the cache is the head.
    assert asyncio.run(model.anticipate([SYSTEM], TOOLS)) is True
    prepared = cached(model)
    assert asyncio.run(model.anticipate([SYSTEM], TOOLS)) is True
    assert cached(model) == prepared == tokens(model, turn_head([SYSTEM], TOOLS))


def test_the_message_alone_keeps_its_opening_in_sequence_1_between_turns(model, monkeypatch):
    # Tried: two turns after one exchange, then both sequences cut inside the system prompt
    # (llama-cpp-python's own removals touch sequence 0 only; this checks that sequence 1 is
    # not trusted beyond the cells it still has), then a third turn. Sequence 1 keeps the
    # message-alone prompt's opening (system, user-turn opening, note) after each pass, so
    # the second turn's batch holds only the new words of both prompts; after the cut the
    # opening is evaluated again, from where the system prompt is shared again. In every turn the odds for the message alone equal
    # those of the separate history-free context.
    import llama_cpp

    from agent.backends.llama_cpp.call_readings import _alone_prompt

    llm = model._llm
    sizes: list[int] = []
    decode = llm._ctx.decode

    def counting(batch):
        sizes.append(batch.batch.n_tokens)
        return decode(batch)

    monkeypatch.setattr(llm._ctx, "decode", counting)
    opening = tokens(model, turn_head([SYSTEM], TOOLS))
    asyncio.run(model.prefill(SYSTEM.content, TOOLS))
    llama_cpp.llama_memory_seq_rm(llm._ctx.memory, 1, -1, -1)  # as before any such pass
    for i, text in enumerate(("What time is it?", "Why is the sky blue?", "What day is it?")):
        if i == 2:
            for seq in (0, 1):  # both sequences lose all from position 100
                llama_cpp.llama_memory_seq_rm(llm._ctx.memory, seq, 100, -1)
            llm.n_tokens = 100
        messages = [SYSTEM, *HISTORY, ChatMessage(role="user", content=text)]
        prompt = render_turn_prompt(messages, TOOLS)
        full, side = tokens(model, prompt), tokens(model, _alone_prompt(messages, TOOLS))
        start = common_prefix(cached(model), full)
        sizes.clear()
        _, (_, alone) = model._turn_readings(messages, TOOLS, prompt, True)
        evaluated = sum(sizes)
        separate = model.call_features(messages, TOOLS, prompt)
        assert logit(alone) == pytest.approx(logit(separate.alone), abs=0.4)
        assert llm._stepvox_side_kept == opening
        assert llama_cpp.llama_memory_seq_pos_max(llm._ctx.memory, 1) == len(opening) - 1
        main = len(full) - min(start, len(full) - 1)
        if i == 1:  # only the new words of the message-alone prompt
            assert evaluated == main + len(side) - len(opening)
        else:  # its opening after the system prompt too
            assert evaluated > main + len(side) - len(opening)


def test_every_llama_call_runs_on_the_one_llama_thread(model, monkeypatch):
    # Tried: a prefill, an anticipation, a tool-deciding reply and a plain reply, each from
    # the event loop. Every llama.cpp decode of the model (and of its router context) must
    # run on the same thread: OpenMP teams from several threads outnumber two cores and
    # make every barrier sleep (agent/backends/llama_cpp/thread.py).
    import threading

    import llama_cpp

    threads: set[str] = set()
    real = llama_cpp.llama_decode

    def recording(ctx, batch):
        threads.add(threading.current_thread().name)
        return real(ctx, batch)

    monkeypatch.setattr(llama_cpp, "llama_decode", recording)
    monkeypatch.setattr("llama_cpp._internals.llama_cpp.llama_decode", recording)

    async def run():
        await model.prefill(SYSTEM.content, TOOLS)
        await model.anticipate([SYSTEM, *HISTORY], TOOLS)
        await reply(model, [SYSTEM, *HISTORY, ChatMessage(role="user", content="What time is it?")])
        await reply(model, [SYSTEM, ChatMessage(role="user", content="Tell me a joke.")])

    asyncio.run(run())
    assert len(threads) == 1 and next(iter(threads)).startswith("llama.cpp"), threads
