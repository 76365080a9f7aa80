"""Two prompts warm in one llama.cpp context (agent.backends.llama_cpp.parked_prompt), on the
real packaged model: a turn answered from a plain prompt (`answer_from`) neither evicts the
persona's prompt nor pays for its own system prompt again, and what it says is what the
plain prompt says on its own (skipped without the embedded extra)."""

from __future__ import annotations

import asyncio

import pytest
from embedded_gate import require_embedded

from agent import ChatMessage
from agent.chat_model import TextDelta
from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt, system_block
from agent.backends.llama_cpp.parked_prompt import common_prefix, parked
from agent.honesty.world_questions import plain_answer_prompt
from personas import PersonaLibrary

require_embedded()

BRAM = PersonaLibrary().get("captain-bram")
PERSONA = ChatMessage(role="system", content=BRAM.full_system_prompt())
PLAIN = plain_answer_prompt(BRAM, "")[0]  # what a question about the world is answered from
TOOLS = [{"type": "function", "function": {
    "name": "get_date_time", "description": "The current date and time.",
    "parameters": {"type": "object", "properties": {}, "required": []}}}]


@pytest.fixture(scope="module")
def model():
    from agent.backends.llama_cpp.chat import LlamaCppChatModel
    from agent.models.cache import ModelStore
    from agent.models.catalog import DEFAULT_MODELS

    path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    return LlamaCppChatModel(path, n_ctx=2048, max_tokens=16, temperature=0.0)


def tokens(model, text: str) -> list[int]:
    return model._llm.tokenize(text.encode("utf-8"), special=True)


def cached(model) -> list[int]:
    return model._llm.input_ids[:model._llm.n_tokens].tolist()


async def say(model, messages, **kwargs) -> str:
    return "".join([e.text async for e in model.stream(messages, TOOLS, **kwargs)
                    if isinstance(e, TextDelta)])


@pytest.fixture()
def decoded(model, monkeypatch) -> list[int]:
    """The tokens of every llama.cpp batch the model decodes, batch by batch."""
    sizes: list[int] = []
    ctx = model._llm._ctx
    decode = ctx.decode

    def counting(batch):
        sizes.append(batch.batch.n_tokens)
        firsts.append(batch.batch.token[0])
        return decode(batch)

    firsts: list[int] = []
    model._first_tokens = firsts  # the first token of each batch, for a test that asks

    monkeypatch.setattr(ctx, "decode", counting)
    return sizes


def test_a_plain_answer_parks_the_persona_prompt_and_brings_it_back(model, decoded):
    # Tried: both system prompts prefilled (plain first, as `VoiceAgent.warm_up` does), then
    # "What is the capital of France?" answered from the plain prompt while the call is
    # decided on the persona's, then the persona's next turn. Neither turn evaluates a system
    # prompt again: each pass holds the words, the template and the reply's tokens.
    assert model.answers_from_another_prompt
    persona_head = tokens(model, system_block(PERSONA.content, TOOLS))
    plain_head = tokens(model, system_block(PLAIN.content, ()))
    asyncio.run(model.prefill(PLAIN.content, ()))
    asyncio.run(model.prefill(PERSONA.content, TOOLS))
    assert cached(model)[:len(persona_head)] == persona_head
    assert parked(model._llm)[:len(plain_head)] == plain_head
    question = ChatMessage(role="user", content="What is the capital of France?")
    decoded.clear()
    answer = asyncio.run(say(model, [PERSONA, question], answer_from=[PLAIN, question]))
    assert "Paris" in answer
    # One batch holds the persona prompt's words (the call decision) and the plain prompt's,
    # the plain prompt's last: the reply is sampled from its logits and decoded token by
    # token (no pass of the plain words alone, no replayed token).
    persona_words = len(tokens(model, render_turn_prompt([PERSONA, question], TOOLS)))
    plain_words = len(tokens(model, render_turn_prompt([PLAIN, question], [])))
    assert decoded[0] == persona_words - len(persona_head) + plain_words - len(plain_head)
    assert set(decoded[1:]) == {1} and len(decoded) <= 16, decoded
    # The second pass is the reply's first token, not the prompt's last one replayed.
    plain_prompt = tokens(model, render_turn_prompt([PLAIN, question], []))
    assert model._first_tokens[-len(decoded) + 1] == tokens(model, answer)[0] != plain_prompt[-1]
    assert common_prefix(cached(model), plain_head) == len(plain_head)
    assert parked(model._llm)[:len(persona_head)] == persona_head
    decoded.clear()
    follow = ChatMessage(role="user", content="Were you ever afraid at sea?")
    assert asyncio.run(say(model, [PERSONA, follow])).strip()
    assert sum(decoded) < 40 + 2 * 16, decoded
    assert cached(model)[:len(persona_head)] == persona_head


def test_the_plain_answer_is_what_the_plain_prompt_says_alone(model):
    # Tried: the same question answered (a) from a cache holding nothing of the plain
    # prompt and (b) after the swaps above. Cells moved between sequences must hold the
    # same keys and values: the greedy answers agree.
    import llama_cpp

    question = ChatMessage(role="user", content="Who painted the Mona Lisa?")
    llama_cpp.llama_memory_clear(model._llm._ctx.memory, True)
    model._llm.n_tokens, model._llm._stepvox_parked = 0, []
    alone = asyncio.run(say(model, [PLAIN, question], tool_choice="none"))
    asyncio.run(model.prefill(PLAIN.content, ()))
    asyncio.run(model.prefill(PERSONA.content, TOOLS))
    routed = asyncio.run(say(model, [PERSONA, question], answer_from=[PLAIN, question]))
    assert "Leonardo" in alone
    assert routed.split()[:4] == alone.split()[:4], (routed, alone)


def test_the_parked_prompt_leaves_room_for_a_long_one(model):
    # Tried: a persona prompt padded to fill most of the 2,048 cells while the plain prompt
    # is parked. The parked cells are trimmed or dropped so the long prompt and its reply
    # still fit; the turn answers instead of failing with "no KV slot".
    asyncio.run(model.prefill(PLAIN.content, ()))
    filler = " ".join(["The harbour was quiet that night and the ropes creaked."] * 106)
    long = ChatMessage(role="system", content=PERSONA.content + " " + filler)
    n = len(tokens(model, system_block(long.content, TOOLS)))
    assert 1780 < n < 1850
    text = asyncio.run(say(model, [long, ChatMessage(role="user", content="Hello there.")]))
    assert text.strip()
    plain_head = tokens(model, system_block(PLAIN.content, ()))
    assert len(parked(model._llm)) < len(plain_head)  # trimmed or dropped, not kept whole
    assert len(parked(model._llm)) + n + 16 <= model._llm.n_ctx()


def test_anticipation_brings_the_parked_persona_back_and_parks_nothing(model):
    # Tried: a world question answered plainly (the persona's prompt is parked), then
    # `anticipate` for the persona's next turn: it brings the persona's cells back and
    # prepares the turn head. A guess at another system prompt then parks nothing: what is
    # parked (the plain prompt) stays.
    from agent.backends.llama_cpp.chatml_prompt import turn_head

    asyncio.run(model.prefill(PLAIN.content, ()))
    asyncio.run(model.prefill(PERSONA.content, TOOLS))
    question = ChatMessage(role="user", content="What is the capital of Japan?")
    assert "Tokyo" in asyncio.run(say(model, [PERSONA, question], answer_from=[PLAIN, question]))
    plain_head = tokens(model, system_block(PLAIN.content, ()))
    assert cached(model)[:len(plain_head)] == plain_head  # the plain prompt is in use
    assert asyncio.run(model.anticipate([PERSONA], TOOLS)) is True
    head = tokens(model, turn_head([PERSONA], TOOLS))
    assert cached(model)[:len(head)] == head
    assert parked(model._llm)[:len(plain_head)] == plain_head
    other = ChatMessage(role="system", content="You are a pirate who hates questions.")
    assert asyncio.run(model.anticipate([other], TOOLS)) is False
    assert parked(model._llm)[:len(plain_head)] == plain_head


def test_a_later_turn_with_its_side_prompt_keeps_the_plain_prompt_parked(model):
    # Tried: a persona prompt padded to ~1,000 tokens (the SkyWay desk's is ~2,000 in its
    # 4,096 cells), the plain prompt parked, then a turn with history, which evaluates the
    # latest message alone beside it (the side sequence). The side prompt shares the
    # persona's system block: counted whole, it left the parked prompt no room and it was
    # dropped every turn, so the next plain answer paid its system prompt again (~3 s).
    import llama_cpp

    llama_cpp.llama_memory_clear(model._llm._ctx.memory, True)
    model._llm.n_tokens, model._llm._stepvox_parked = 0, []
    model._llm._stepvox_side_kept = []
    filler = " ".join(["The harbour was quiet that night and the ropes creaked."] * 55)
    long = ChatMessage(role="system", content=PERSONA.content + " " + filler)
    n = len(tokens(model, system_block(long.content, TOOLS)))
    assert 1000 < n < 1300
    asyncio.run(model.prefill(PLAIN.content, ()))
    asyncio.run(model.prefill(long.content, TOOLS))
    plain_head = tokens(model, system_block(PLAIN.content, ()))
    history = [long, ChatMessage(role="user", content="Hello there."),
               ChatMessage(role="assistant", content="Ahoy.")]
    turn = [*history, ChatMessage(role="user", content="Were you ever afraid at sea?")]
    assert asyncio.run(say(model, turn)).strip()
    assert parked(model._llm)[:len(plain_head)] == plain_head
