"""Next-token distributions at several places of a prompt, and of a second prompt, from ONE
llama.cpp batch.

On two cores a small batch costs far more per token than a large one (8 tokens ~80-100 ms,
24 ~135-200 ms, 1 ~25 ms: bench/README.md), and a user turn needs three readings: the
turn-end estimate after the user's words, the call odds after the whole prompt, and, with
history, the call odds for the latest message on its own. Read one pass at a time they cost
two or three fixed overheads; here they share one.

The second prompt runs as llama.cpp sequence 1 of the same context: it shares the first
prompt's cached system + tools prefix (`llama_memory_seq_cp`, no copy in a unified KV cache).
After the pass sequence 1 keeps only its first `side_keep` tokens (the part every turn's
second prompt has: the system prompt and the user-turn opening), so the next pass evaluates
only its new words there as well. llama-cpp-python's `Llama` drives one sequence, so this
uses its `_ctx` / `_batch` internals (pinned with the package version) and a context rebuilt
with two sequences (`enable_side_sequence`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent.backends.llama_cpp.parked_prompt import (
    PARKED, SEQUENCES, common_prefix, make_way, parked,
)

_SIDE = 1  # the sequence id of the second prompt
_ANSWER_PARKED = 32  # an answer prompt whose system prompt is parked shares at least this
_REPLY_ROOM = 256  # cells a reply after an evaluation may take (agent max_tokens is 160)
log = logging.getLogger(__name__)


def enable_side_sequence(llm: Any) -> bool:
    """Rebuild `llm`'s context with room for a second sequence in one unified KV cache (the
    same cells as before: the side prompt only borrows some for one pass). False when this
    llama.cpp cannot, and the caller keeps scoring the second prompt on its own."""
    from llama_cpp import _internals

    params = llm.context_params
    # The prompt, the side prompt, and a parked prompt with its scratch sequence
    # (agent.backends.llama_cpp.parked_prompt).
    params.n_seq_max, params.kv_unified = SEQUENCES, True
    try:
        ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
    except Exception:
        params.n_seq_max = 1
        return False
    old, llm._ctx = llm._ctx, ctx
    old.close()
    llm._stack.enter_context(contextlib.closing(ctx))
    llm.n_tokens = 0
    llm._stepvox_sequences = SEQUENCES
    return True


def _side_held(llm: Any) -> list[int]:
    """The tokens sequence 1 still holds: what the last pass kept, as far as its cells are
    still there (llama-cpp-python's own removals touch sequence 0 only, but a cell of both
    sequences stays valid for sequence 1 when sequence 0 drops it)."""
    import llama_cpp

    kept = getattr(llm, "_stepvox_side_kept", [])
    if not kept:
        return []
    return kept[:llama_cpp.llama_memory_seq_pos_max(llm._ctx.memory, _SIDE) + 1]


def evaluate(llm: Any, tokens: Sequence[int], ends: Sequence[int],
             side: Sequence[int] | None = None, side_keep: int = 0, *,
             answer: Sequence[int] | None = None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """`_evaluate`, once more on an empty cache when llama.cpp finds no slot for the batch
    (`llama_decode` returns 1; cells held by a path that evaluates outside this module, or
    a cache fuller than its fitting counted): the whole prompt is evaluated again, a second
    or two, instead of the turn failing."""
    # The side prompt opens with the same system block as `tokens`, whose cells both
    # sequences share: only its own tail takes room. (Counted whole, a 2,000-token desk
    # prompt left the parked prompt no room, so it was dropped every turn.)
    side_room = len(side) - common_prefix(tokens, side) if side else 0
    make_way(llm, tokens, _REPLY_ROOM + side_room + len(answer or ()))
    try:
        return _evaluate(llm, tokens, ends, side, side_keep, answer)
    except RuntimeError as exc:
        if "returned 1" not in str(exc):
            raise
        import llama_cpp

        log.warning("no KV slot for the batch; evaluating the prompt again on an empty cache")
        llama_cpp.llama_memory_clear(llm._ctx.memory, True)
        llm.n_tokens = 0
        llm._stepvox_side_kept = llm._stepvox_parked = []
        return _evaluate(llm, tokens, ends, side, side_keep, answer)


def _evaluate(llm: Any, tokens: Sequence[int], ends: Sequence[int],
              side: Sequence[int] | None = None, side_keep: int = 0,
              answer: Sequence[int] | None = None) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The next-token distributions after `tokens[:end]` for each of `ends`, and after all of
    `side` when given, from one evaluation. The cache is left holding `tokens` (sequence 0)
    as generation expects, and sequence 1 the first `side_keep` tokens of `side`. Needs
    `enable_side_sequence` for `side`; falls back to None for it when the batch would not
    fit. `answer`, a prompt a text reply may be written from instead
    (`LlamaCppChatModel.stream(answer_from=...)`), is evaluated in the same batch into the
    parked sequence when that already holds its system prompt, last, so the reply can be
    sampled from it once `make_way` brings it in: its words cost no pass of their own."""
    import llama_cpp

    tokens = list(tokens)
    if not ends or min(ends) < 1 or max(ends) > len(tokens):
        raise ValueError(f"ends must lie in 1..{len(tokens)}, got {list(ends)}")
    cached = llm.input_ids[: min(llm.n_tokens, len(tokens) - 1)].tolist()
    # Every end's last token is evaluated afresh, so its logits exist.
    start = min(common_prefix(cached, tokens, len(cached)), min(ends) - 1)
    llm.n_tokens = start
    mem = llm._ctx.memory
    # Both sequences' cells from `start` on: llama-cpp-python's `kv_cache_seq_rm` reads
    # seq_id -1 as 0, which left sequence 1 holding cells no prompt shared any more (a
    # persona's prompt head after a prompt of another system message) until llama.cpp
    # found no slot for a turn's batch. The parked prompt's cells stay.
    for seq in (0, _SIDE):
        llama_cpp.llama_memory_seq_rm(mem, seq, start, -1)
    shared = 0
    if side is not None:
        side = list(side)
        held = _side_held(llm)
        own = common_prefix(held, side, len(side) - 1)
        shared = common_prefix(tokens, side, min(start, len(side) - 1))
        if len(tokens) - start + len(side) - max(own, shared) > llm.n_batch:
            side = None
        elif own >= shared:  # sequence 1's own cells go further than the shared prefix
            llama_cpp.llama_memory_seq_rm(mem, _SIDE, own, -1)
            shared = own
        else:
            llama_cpp.llama_memory_seq_rm(mem, _SIDE, -1, -1)
            llama_cpp.llama_memory_seq_cp(mem, 0, _SIDE, 0, shared)
    llm._stepvox_answer_fresh = False
    answer, answer_at = _answer_room(llm, mem, tokens, start, side, answer)
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
            if answer is not None and i + llm.n_batch >= len(tokens):
                entries += [(t, answer_at + j, PARKED, answer_at + j == len(answer) - 1)
                            for j, t in enumerate(answer[answer_at:])]
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
                if seq == PARKED:
                    continue
                if seq == _SIDE:
                    side_row = row
                elif pos in want:
                    rows[pos] = row
            llm.input_ids[i:i + len(chunk)] = chunk
            llm.n_tokens = i + len(chunk)
        if side is not None:
            keep = min(side_keep, len(side) - 1)
            llama_cpp.llama_memory_seq_rm(mem, _SIDE, keep, -1)
            llm._stepvox_side_kept = side[:keep]
            side = None
        # The last logits are the answer's when it was evaluated (make_way lets a reply be
        # sampled from them once it is brought in), else sequence 0's: generation may sample.
        llm._requires_eval = llm._stepvox_answer_fresh = answer is not None
        if answer is not None:
            llm._stepvox_parked, answer = list(answer), None
    finally:
        if side is not None:  # the pass failed: keep nothing of sequence 1
            llama_cpp.llama_memory_seq_rm(mem, _SIDE, -1, -1)
            llm._stepvox_side_kept = []
        if answer is not None:  # nor of the answer's prompt
            llama_cpp.llama_memory_seq_rm(mem, PARKED, -1, -1)
            llm._stepvox_parked = []
    return ([softmax(rows[end - 1]) for end in ends],
            None if side_row is None else softmax(side_row))


def _answer_room(llm: Any, mem: Any, tokens: Sequence[int], start: int,
                 side: Sequence[int] | None, answer: Sequence[int] | None
                 ) -> tuple[list[int] | None, int]:
    """(`answer`, where its new tokens start) when they go into this batch: the parked
    sequence holds its system prompt and the batch stays within `n_batch`; else (None, 0)."""
    if answer is None:
        return None, 0
    import llama_cpp

    answer = list(answer)
    at = common_prefix(parked(llm), answer, len(answer) - 1)
    batch = len(tokens) - start + len(side or ()) + len(answer) - at
    if at < _ANSWER_PARKED or batch > llm.n_batch:
        return None, 0  # written after the decision, in a pass of its own
    llama_cpp.llama_memory_seq_rm(mem, PARKED, at, -1)
    llm._stepvox_parked = answer[:at]
    return answer, at


def softmax(logits: np.ndarray) -> np.ndarray:
    """Logits (float64) to probabilities."""
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()
