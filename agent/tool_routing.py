"""Whether the embedded model's reply should be a tool call, read from its first-token odds.

Sampling the first token lets a small model call tools on greetings; reading the whole
next-token distribution and thresholding the probability of "a call opens here" does much
better. History sways that probability both ways (after a tool turn the 0.5B model wants
tools for small talk; after small talk it ignores them for a real clock question), so the
latest user message is also scored on its own, in a second llama.cpp context that keeps only
the system + tools prefix cached: a call is made when either score clears the threshold.
Measured figures are in bench/README.md (tool trigger).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def call_start_tokens(llm: Any) -> list[int]:
    """Every token that could open a tool call ("{", '{"', "<tool_call>", ...)."""
    return [i for i in range(llm.n_vocab())
            if llm.detokenize([i]).lstrip().startswith((b"{", b"<"))]


def call_probability(llm: Any, prompt: str, call_tokens: Sequence[int]) -> float:
    """Evaluate `prompt` (reusing the cached prefix, as generation would) and return the
    next-token probability mass on tokens that open a call."""
    import llama_cpp

    tokens = llm.tokenize(prompt.encode("utf-8"), special=True)
    cached = np.asarray(llm.input_ids[: min(llm.n_tokens, len(tokens) - 1)])
    differs = np.nonzero(cached != np.asarray(tokens[: len(cached)]))[0]
    llm.n_tokens = int(differs[0]) if len(differs) else len(cached)
    llm.eval(tokens[llm.n_tokens:])
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1),
                                   shape=(llm.n_vocab(),)).astype(np.float64)
    probs = np.exp(logits - logits.max())
    return float(probs[list(call_tokens)].sum() / probs.sum())
