"""`agent.backends.llama_cpp.answer_opening`: a text answer to the user may not open with a digit; later tokens,
and answers after a tool result, are free. No model is loaded (a fake vocabulary); how
`LlamaCppChatModel` applies it is in test_llama_chat_parsing."""

from __future__ import annotations

import numpy as np

from agent.backends.llama_cpp.answer_opening import answer_processor, digit_tokens


class Vocabulary:
    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    def n_vocab(self) -> int:
        return len(self.pieces)

    def detokenize(self, ids: list[int]) -> bytes:
        return b"".join(self.pieces[i] for i in ids)


def test_digit_tokens_are_the_ones_that_start_with_a_digit():
    vocab = Vocabulary([b"2", b" 7", b"There", b"x2", b" ", b"19", b"\xe4\xb8\x80"])
    assert digit_tokens(vocab) == [0, 1, 5]


def test_the_first_step_bans_both_sets_and_later_steps_only_the_always_set():
    process = answer_processor([3], [1, 2])
    first = process(np.zeros(1, dtype=np.intc), np.zeros(5, dtype=np.float32))
    second = process(np.zeros(2, dtype=np.intc), np.zeros(5, dtype=np.float32))
    assert list(np.isneginf(first)) == [False, True, True, True, False]
    assert list(np.isneginf(second)) == [False, False, False, True, False]
