"""A spoken answer to the user opens with a word, not a bare figure.

With the framework's prompt (speaking rules, tool schemas, the turn note) the 0.5B model
answers "how many ..." questions with a number as its very first token, and that first token
is a guess spread over every digit ("How many days are there in a week?" -> "2": P("2") 0.14,
P("3") 0.10, P("1") 0.09, P("There") 0.08). The bare model opens with "There are ..." and
restates the question before it names the number, which is what lets it get the number
right. So the first token of a text answer to a user turn may not be a digit: the model then
opens with words ("There are 7 days in a week.") and every later token, digits included, is
free. Applied after the call decision has chosen text, so the decision's prompt and
features are unchanged; not applied to answers after a tool result, where "3:45 PM." from a
clock reading is fine as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def digit_tokens(llm: Any) -> list[int]:
    """Every token whose text (leading spaces aside) starts with a digit."""
    out = []
    for i in range(llm.n_vocab()):
        text = llm.detokenize([i]).lstrip()
        if text[:1].isdigit():
            out.append(i)
    return out


def answer_processor(always: Sequence[int], first: Sequence[int]
                     ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A llama-cpp-python logits processor that rules out `always` at every step and `first`
    for the first generated token only (one per generation: it remembers that it has run).

    One processor instead of `logit_bias` beside it: llama-cpp-python 0.3 drops both when a
    call passes `logit_bias` and `logits_processor` together (it assigns the None that
    `list.extend` returns)."""
    every = np.asarray(always, dtype=np.intc)
    once = np.asarray(first, dtype=np.intc)
    pending = [True]

    def process(_input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        scores[every] = -np.inf
        if pending[0]:
            pending[0] = False
            scores[once] = -np.inf
        return scores

    return process
