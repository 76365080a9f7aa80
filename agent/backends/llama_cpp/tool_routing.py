"""What the embedded model's next token says about a tool call, read from llama.cpp's logits.

Sampling the first token lets a small model call tools on greetings; reading the whole
next-token distribution and thresholding the probability of "a call opens here" does much
better. History sways that probability both ways (after a tool turn the 0.5B model wants
tools for small talk; after small talk it ignores them for a real clock question), so the
latest user message is also scored on its own, in a second llama.cpp context that keeps only
the system + tools prefix cached. `agent.tool_choice.decision` turns these scores (and the semantic
prior of `agent.tool_choice.prior`) into the decision. Which tool a decided call uses is read the
same way: the probability of each tool's name after the call's opening `{"name": "`.
Measured figures are in bench/README.md (tool-call quality).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.backends.llama_cpp.batch import evaluate
from agent.backends.llama_cpp.parked_prompt import common_prefix

# How every call the grammar writes begins; the tool's name follows.
CALL_NAME_PREFIX = '{"name": "'


def call_start_tokens(llm: Any) -> list[int]:
    """Every token that could open a tool call ("{", '{"', "<tool_call>", ...)."""
    return [i for i in range(llm.n_vocab())
            if llm.detokenize([i]).lstrip().startswith((b"{", b"<"))]


def code_fence_tokens(llm: Any) -> list[int]:
    """Tokens that open a Markdown code fence ("```", "```json", ...). Banned in spoken text
    with the call openers: when a call was decided against, the 0.5B model otherwise writes
    the call it wanted as a fenced pseudo-call, which a voice would read out."""
    return [i for i in range(llm.n_vocab()) if llm.detokenize([i]).lstrip().startswith(b"``")]


def next_token_probs(llm: Any, tokens: Sequence[int]) -> np.ndarray:
    """Evaluate `tokens` (reusing the longest cached prefix, as generation would) and return
    the next-token distribution (`agent.backends.llama_cpp.batch.evaluate` with one end)."""
    return evaluate(llm, tokens, [len(tokens)])[0][0]


def call_probability(llm: Any, prompt: str, call_tokens: Sequence[int]) -> float:
    """The next-token probability mass on tokens that open a call, after `prompt`."""
    probs = next_token_probs(llm, llm.tokenize(prompt.encode("utf-8"), special=True))
    return float(probs[list(call_tokens)].sum())


def tool_name_probabilities(llm: Any, prompt: str, names: Sequence[str]) -> dict[str, float]:
    """P(tool name | prompt + '{"name": "'), renormalised over `names` (the call grammar
    allows nothing else there).

    The names' token sequences form a tree; only where it branches does the model have a
    choice, so one evaluation per branching point is enough (two for search /
    get_date_time / get_weather / timbre_rag: the first token, then "date" vs "weather").
    """
    if len(names) == 1:
        return {names[0]: 1.0}
    sequences = {n: llm.tokenize((prompt + CALL_NAME_PREFIX + n + '"').encode("utf-8"),
                                 special=True) for n in names}
    first = next(iter(sequences.values()))
    shared = min(common_prefix(first, s) for s in sequences.values())
    out: dict[str, float] = {}
    _walk(llm, first[:shared], {n: s[shared:] for n, s in sequences.items()}, 1.0, out)
    return out


def _walk(llm: Any, path: list[int], group: dict[str, list[int]], mass: float,
          out: dict[str, float]) -> None:
    while len(group) > 1:
        branches: dict[int, dict[str, list[int]]] = defaultdict(dict)
        for name, rest in group.items():
            branches[rest[0]][name] = rest[1:]  # names differ before their closing quote
        if len(branches) == 1:
            (token, group), = branches.items()
            path = [*path, token]
            continue
        probs = next_token_probs(llm, path)
        total = sum(probs[t] for t in branches) or 1.0
        for token, sub in branches.items():
            _walk(llm, [*path, token], sub, mass * probs[token] / total, out)
        return
    out[next(iter(group))] = mass
