"""Fitting a turn's prompt into a llama.cpp context of fixed size.

A llama.cpp context holds `n_ctx` tokens: the prompt and every token the reply may add. A
prompt that leaves no room for the reply makes llama.cpp raise a bare `ValueError` in the
middle of a turn, so every prompt is fitted here first. History is what gives way: the oldest
messages are dropped, a whole exchange at a time, until the prompt and `max_tokens` fit. The
system prompt (persona, tools) and the user's newest message never do: when those alone
cannot fit, the error says so with the numbers, and `check_fits` says it when the agent is
made, before any caller is waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agent.backends.llama_cpp.chatml_prompt import render_turn_prompt
from agent.chat_model import ChatMessage
from agent.errors import ModelBackendError


class PromptTooLongError(ModelBackendError, ValueError):
    """A prompt that cannot fit into the model's context, even without any history."""


def fit_messages(messages: Sequence[ChatMessage], room: int,
                 count: Callable[[Sequence[ChatMessage]], int]) -> list[ChatMessage]:
    """`messages` (system first, newest last) with the oldest history dropped until
    `count(messages) <= room`. History is cut only before a user message, so the model never
    sees a tool result or an answer without the question it belongs to."""
    fitted = list(messages)
    if count(fitted) <= room:
        return fitted
    starts = [i for i, m in enumerate(fitted) if m.role == "user" and 0 < i < len(fitted) - 1]
    for start in starts:
        trimmed = [fitted[0], *fitted[start:]]
        if count(trimmed) <= room:
            return trimmed
    bare = [fitted[0], fitted[-1]]
    needed = count(bare)
    if needed <= room:
        return bare
    raise PromptTooLongError(
        f"the prompt needs {needed} tokens without any history, but the model's context "
        f"leaves {room} for it; shorten the persona prompt or the message, or load the model "
        f"with a larger context")


def check_fits(system_tokens: int, room: int, who: str) -> None:
    """Raise at set-up when a system prompt leaves no room for a user turn (`who` names the
    persona and model, so the message says what to change)."""
    # A spoken turn's words and template: ~100 tokens for ~30 s of speech.
    turn = 128
    if system_tokens + turn > room:
        raise PromptTooLongError(
            f"{who}: the system prompt with its tools takes {system_tokens} tokens, and a turn "
            f"needs about {turn} more, but the context leaves {room} tokens for the prompt; "
            f"shorten the persona (its lore, examples) or offer fewer tools")


def fit_to_context(llm: Any, messages: Sequence[ChatMessage], tools: Sequence[dict[str, Any]],
                   reserved: int) -> list[ChatMessage]:
    """`messages` fitted into llama.cpp context `llm` with `reserved` tokens left free (the
    reply, and any second sequence), counted with the turn's own prompt template."""
    def count(ms: Sequence[ChatMessage]) -> int:
        return len(llm.tokenize(render_turn_prompt(ms, tools).encode("utf-8"), special=True))

    room = llm.n_ctx() - reserved
    # A token holds at least one byte: a prompt with no more bytes than the room fits as it
    # is, and the usual turn is not tokenized twice (here and for its readings).
    if len(render_turn_prompt(messages, tools).encode("utf-8")) <= room:
        return list(messages)
    return fit_messages(messages, room, count)
