"""Two prompts kept warm in one llama.cpp context: the one in use, and one parked.

A persona's prompt (~500 tokens with its tools) costs ~2.5 s to evaluate cold on two cores,
and the cache keeps one token prefix: a turn answered from another prompt (a question about
the world, answered plainly: `agent.honesty.world_questions`; a refusal asked again) would
evict it, and the next turn would pay it again. So before a prompt is evaluated, the cells
that sequence 0 holds are parked in sequence 2 when the new prompt shares almost none of
them, and brought back (exchanged with what is parked) when the next prompt shares more of
the parked tokens than of the current ones. In a unified KV cache a copy between sequences
only tags cells (`llama_memory_seq_cp`), so parking and bringing back cost no evaluation.

The parked cells stay occupied: they are trimmed to what leaves room for the prompt in use,
its reply and the side sequence (`agent.backends.llama_cpp.batch`), and dropped when less
than a system prompt's worth would be left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SEQUENCES = 4  # 0: the prompt, 1: the side prompt (batch.py), then these two
PARKED = 2  # the sequence holding the other prompt
_SCRATCH = 3  # used for a moment while two sequences change places
# A new prompt sharing fewer leading tokens than this with the cache has another system
# prompt ("You are Pip." against Pip's card share ~8): the cache is worth parking.
_OTHER_PROMPT = 64
_MIN_PARKED = 64  # less than this left parked is not worth its cells


def common_prefix(a: Sequence[int], b: Sequence[int], limit: int | None = None) -> int:
    """How many leading tokens `a` and `b` share (at most `limit`)."""
    n = 0
    for x, y in zip(a[:limit], b[:limit]):
        if x != y:
            break
        n += 1
    return n


def parked(llm: Any) -> list[int]:
    """The tokens the parked sequence holds."""
    return getattr(llm, "_stepvox_parked", [])


def make_way(llm: Any, tokens: Sequence[int], room: int, *, park: bool = True) -> None:
    """Ready sequence 0 for evaluating `tokens` (then `room` more cells: the reply, the
    side prompt): bring the parked prompt back when it shares more of `tokens`, or park the
    current one when `tokens` is another prompt (unless `park` is False: a guess at the
    next prompt must not push out what is parked). No-op on a context without the
    sequences."""
    import llama_cpp

    if getattr(llm, "_stepvox_sequences", 1) < SEQUENCES:
        return
    mem = llm._ctx.memory
    held = llm.input_ids[:llm.n_tokens].tolist()
    waiting = parked(llm)
    here, there = common_prefix(held, tokens), common_prefix(waiting, tokens)
    limit = llm.n_ctx() - len(tokens) - room  # cells the parked prompt may keep
    if there > here:
        # Exchange: sequence 0 takes the parked cells, the parked sequence the current ones.
        llama_cpp.llama_memory_seq_rm(mem, _SCRATCH, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, 0, _SCRATCH, 0, len(held))
        llama_cpp.llama_memory_seq_rm(mem, 0, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, PARKED, 0, 0, len(waiting))
        llama_cpp.llama_memory_seq_rm(mem, PARKED, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, _SCRATCH, PARKED, 0, len(held))
        llama_cpp.llama_memory_seq_rm(mem, _SCRATCH, -1, -1)
        llm.input_ids[:len(waiting)] = waiting
        llm.n_tokens = len(waiting)
        # The logits on hand are the other prompt's, unless the last batch ended with the
        # parked prompt, whole, and that is the prompt now wanted (batch._answer_room).
        llm._requires_eval = not (getattr(llm, "_stepvox_answer_fresh", False)
                                  and there == len(waiting) == len(tokens))
        _keep(llm, mem, held, limit)
    elif park and here < _OTHER_PROMPT <= len(held) - here:
        llama_cpp.llama_memory_seq_rm(mem, PARKED, -1, -1)
        llama_cpp.llama_memory_seq_cp(mem, 0, PARKED, 0, len(held))
        _keep(llm, mem, held, limit)
    elif waiting and limit < len(waiting):
        _keep(llm, mem, waiting, limit)


def _keep(llm: Any, mem: Any, tokens: list[int], limit: int) -> None:
    """Sequence `PARKED` holds `tokens`, trimmed to `limit` cells (dropped below a prompt)."""
    import llama_cpp

    keep = min(len(tokens), max(limit, 0))
    if keep < _MIN_PARKED:
        keep = 0
    llama_cpp.llama_memory_seq_rm(mem, PARKED, keep, -1)
    llm._stepvox_parked = tokens[:keep]
