"""Next-token distributions at several places of a prompt, and of a second prompt, from ONE
llama.cpp batch.

On two cores a small batch costs far more per token than a large one (8 tokens ~80-100 ms,
24 ~135-200 ms, 1 ~25 ms: bench/README.md), and a user turn needs three readings: the
turn-end estimate after the user's words, the call odds after the whole prompt, and, with
history, the call odds for the latest message on its own. Read one pass at a time they cost
two or three fixed overheads; here they share one.

The second prompt runs as llama.cpp sequence 1 of the same context: it shares the first
prompt's cached system + tools prefix (`llama_memory_seq_cp`, no copy in a unified KV cache)
and is removed again after the pass. llama-cpp-python's `Llama` drives one sequence, so this
uses its `_ctx` / `_batch` internals (pinned with the package version) and a context rebuilt
with two sequences (`enable_side_sequence`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

_SIDE = 1  # the sequence id of the second prompt


def enable_side_sequence(llm: Any) -> bool:
    """Rebuild `llm`'s context with room for a second sequence in one unified KV cache (the
    same cells as before: the side prompt only borrows some for one pass). False when this
    llama.cpp cannot, and the caller keeps scoring the second prompt on its own."""
    from llama_cpp import _internals

    params = llm.context_params
    params.n_seq_max, params.kv_unified = 2, True
    try:
        ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
    except Exception:
        params.n_seq_max = 1
        return False
    old, llm._ctx = llm._ctx, ctx
    old.close()
    llm._stack.enter_context(contextlib.closing(ctx))
    llm.n_tokens = 0
    return True


def _common(a: Sequence[int], b: Sequence[int], limit: int) -> int:
    n = 0
    for x, y in zip(a[:limit], b[:limit]):
        if x != y:
            break
        n += 1
    return n


def evaluate(llm: Any, tokens: Sequence[int], ends: Sequence[int],
             side: Sequence[int] | None = None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The next-token distributions after `tokens[:end]` for each of `ends`, and after all of
    `side` when given, from one evaluation. The cache is left holding `tokens` (sequence 0)
    as generation expects; `side` leaves nothing behind. Needs `enable_side_sequence` for
    `side`; falls back to None for it when the batch would not fit."""
    import llama_cpp

    tokens = list(tokens)
    if not ends or min(ends) < 1 or max(ends) > len(tokens):
        raise ValueError(f"ends must lie in 1..{len(tokens)}, got {list(ends)}")
    cached = llm.input_ids[: min(llm.n_tokens, len(tokens) - 1)].tolist()
    # Every end's last token is evaluated afresh, so its logits exist.
    start = min(_common(cached, tokens, len(cached)), min(ends) - 1)
    shared = 0
    if side is not None:
        side = list(side)
        shared = _common(tokens, side, min(start, len(side) - 1))
        if len(tokens) - start + len(side) - shared > llm.n_batch:
            side = None
    llm.n_tokens = start
    llm._ctx.kv_cache_seq_rm(-1, start, -1)
    mem = llm._ctx.memory
    if side is not None:
        llama_cpp.llama_memory_seq_rm(mem, _SIDE, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, 0, _SIDE, 0, shared)
    want = {end - 1 for end in ends}
    rows: dict[int, np.ndarray] = {}
    side_row: np.ndarray | None = None
    try:
        for i in range(start, len(tokens), llm.n_batch):
            chunk = tokens[i:i + llm.n_batch]
            batch = llm._batch.batch
            entries = [(t, i + j, 0, i + j in want or j == len(chunk) - 1)
                       for j, t in enumerate(chunk)]
            if side is not None and i + llm.n_batch >= len(tokens):  # with the last chunk
                # First in the batch, so the batch's last logits stay sequence 0's: the
                # reply is sampled from them without evaluating its last token again.
                entries = [(t, shared + j, _SIDE, shared + j == len(side) - 1)
                           for j, t in enumerate(side[shared:])] + entries
            for k, (token, pos, seq, logits) in enumerate(entries):
                batch.token[k], batch.pos[k] = token, pos
                batch.seq_id[k][0], batch.n_seq_id[k] = seq, 1
                batch.logits[k] = logits
            batch.n_tokens = len(entries)
            llm._ctx.decode(llm._batch)
            for k, (_, pos, seq, logits) in enumerate(entries):
                if not logits:
                    continue
                row = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, k),
                                            shape=(llm.n_vocab(),)).astype(np.float64)
                if seq == _SIDE:
                    side_row = row
                elif pos in want:
                    rows[pos] = row
            llm.input_ids[i:i + len(chunk)] = chunk
            llm.n_tokens = i + len(chunk)
    finally:
        if side is not None:
            llama_cpp.llama_memory_seq_rm(mem, _SIDE, -1, -1)
    llm._requires_eval = False  # the last logits are sequence 0's: generation may sample
    return ([softmax(rows[end - 1]) for end in ends],
            None if side_row is None else softmax(side_row))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Logits (float64) to probabilities."""
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()
