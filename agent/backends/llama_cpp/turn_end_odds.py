"""Has the user finished? The embedded model's odds that their words end here.

A silence of half a second ends a turn in most voice loops, whatever was said: "What time is
it?" waits as long as "What time is it in...". The model that is about to answer already
reads the user's words, so the probability that the user's turn ends right after them
costs one softmax: the prompt is evaluated up to the user's words (trailing punctuation
removed, since Whisper puts a full stop after every fragment), and the next-token mass on
the end-of-turn token and on sentence-final punctuation is the estimate. That prompt is a
token prefix of the reply's own prompt, so llama.cpp's cache reuses it and the answer's
prefill is not paid twice.

A realtime controller turns the estimate into the end-of-turn wait (`semantic_vad`, see
`agent.realtime.turn_taking.policy`); the measured separation of finished and cut-off requests
is in bench/README.md (turn-end estimate).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.backends.llama_cpp.chatml_prompt import neutralize
from agent.backends.llama_cpp.tool_routing import next_token_probs

_USER_OPEN = "<|im_start|>user\n"
_TURN_END = "<|im_end|>"
# Sentence-final marks in the languages the packaged voices speak (and CJK full-width ones).
_FINAL = ".?!…。？！"


def words_prefix(prompt: str, user_text: str) -> str:
    """The part of `prompt` up to the end of the newest user turn's words, without their
    trailing punctuation (the prompt must contain that turn, rendered by `chatml_prompt`)."""
    words = neutralize(user_text).rstrip()
    start = prompt.rindex(_USER_OPEN) + len(_USER_OPEN)
    # The words close the turn (after the turn note, where the prompt has one), and they
    # may also occur inside the note or the template: the last match before the turn's end.
    end = prompt.find(_TURN_END, start)
    at = prompt.rfind(words, start, len(prompt) if end < 0 else end)
    if at < 0:
        raise ValueError("the prompt's last user turn does not hold these words")
    return prompt[:at] + words.rstrip(_FINAL).rstrip()


def turn_end_tokens(llm: Any) -> list[int]:
    """Tokens that close the user's turn: the end-of-turn marker and sentence-final marks."""
    ids = {int(t) for t in llm.tokenize(b"<|im_end|>", add_bos=False, special=True)}
    for i in range(llm.n_vocab()):
        piece = llm.detokenize([i]).decode("utf-8", errors="ignore").lstrip(" ")
        if piece[:1] and piece[0] in _FINAL:
            ids.add(i)
    return sorted(ids)


def end_probability(probs: np.ndarray, end_tokens: Sequence[int]) -> float:
    """The estimate from the next-token distribution after the user's words."""
    return float(min(1.0, probs[list(end_tokens)].sum()))


def turn_end_probability(llm: Any, prompt: str, user_text: str,
                         end_tokens: Sequence[int]) -> float:
    """P(the user's turn ends after `user_text`), read from `llm` (its cache is left holding
    the prefix, ready for the reply)."""
    tokens = llm.tokenize(words_prefix(prompt, user_text).encode("utf-8"), special=True)
    return end_probability(next_token_probs(llm, tokens), end_tokens)
